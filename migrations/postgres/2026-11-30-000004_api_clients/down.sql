-- Keys of callers other than local users cannot be kept under a user id; they are dropped.
CREATE TABLE idempotency_keys_by_user (
    user_id        BIGINT NOT NULL REFERENCES users (id),
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status_code    INTEGER,
    location       TEXT,
    body           TEXT,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
INSERT INTO idempotency_keys_by_user
    (user_id, key, request_hash, state, status_code, location, body, created_at)
    SELECT CAST(SUBSTR(owner, 6) AS BIGINT), key, request_hash, state, status_code, location,
        body, created_at
    FROM idempotency_keys
    WHERE owner LIKE 'user:%';
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_user RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

DROP INDEX audit_log_actor_subject_idx;
ALTER TABLE audit_log DROP COLUMN actor_subject;
DROP TABLE api_clients;
ALTER TABLE idempotency_keys RENAME CONSTRAINT idempotency_keys_by_user_pkey TO idempotency_keys_pkey;
