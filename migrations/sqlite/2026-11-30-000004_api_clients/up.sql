-- API clients for server-to-server use (OAuth2 client-credentials grant). The secret is kept
-- only as an Argon2id hash; `active = FALSE` revokes the client and every token it holds.
CREATE TABLE api_clients (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    unit_code    TEXT REFERENCES units (code),
    -- JSON array of role names, checked by the API against the role list.
    roles        TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    search_key   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX api_clients_unit_code_idx ON api_clients (unit_code);
CREATE INDEX api_clients_active_idx ON api_clients (active);

-- Who acted, for every kind of caller: `user:<id>`, `client:<id>`, or
-- `external:<issuer>#<subject>` for a user known only to a trusted token issuer. Rows written
-- before this migration carry only actor_user_id.
ALTER TABLE audit_log ADD COLUMN actor_subject TEXT;
CREATE INDEX audit_log_actor_subject_idx ON audit_log (actor_subject);

-- Idempotency keys belong to a caller subject (as above) instead of a local user id, so API
-- clients and external users can retry creates too. The table is rebuilt to change its key.
CREATE TABLE idempotency_keys_by_subject (
    owner          TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status_code    INTEGER,
    location       TEXT,
    body           TEXT,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, key)
);
INSERT INTO idempotency_keys_by_subject
    (owner, key, request_hash, state, status_code, location, body, created_at)
    SELECT 'user:' || user_id, key, request_hash, state, status_code, location, body, created_at
    FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_subject RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
