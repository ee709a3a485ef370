-- Reporting schedules of a plan: when each kind of period's report is due, for which units
-- and indicators (NULL: all).
CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id        BIGINT NOT NULL REFERENCES plans (id),
    position       INTEGER NOT NULL,
    period_type    TEXT NOT NULL CHECK (period_type IN ('year', 'half_year', 'quarter', 'month')),
    deadline       TEXT NOT NULL,
    unit_codes     TEXT,
    indicator_ids  TEXT
);
CREATE INDEX schedules_plan_id_idx ON schedules (plan_id);

-- A unit's report (báo cáo) for one plan and one period. `version` changes on every write
-- and is the ETag; `deadline_at` is the exclusive cut-off from the schedules (UTC).
CREATE TABLE submissions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id             BIGINT NOT NULL REFERENCES plans (id),
    unit_code           TEXT NOT NULL REFERENCES units (code),
    period              TEXT NOT NULL,
    period_type         TEXT NOT NULL CHECK (period_type IN ('year', 'half_year', 'quarter', 'month')),
    status              TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'returned', 'accepted')),
    results             TEXT,
    difficulties        TEXT,
    proposals           TEXT,
    return_reason       TEXT,
    review_comments     TEXT NOT NULL DEFAULT '[]',
    version             INTEGER NOT NULL DEFAULT 1,
    deadline_at         TIMESTAMP,
    first_submitted_at  TIMESTAMP,
    last_submitted_at   TIMESTAMP,
    accepted_at         TIMESTAMP,
    created_by_user_id  BIGINT REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    UNIQUE (plan_id, unit_code, period)
);
CREATE INDEX submissions_unit_code_idx ON submissions (unit_code);
CREATE INDEX submissions_period_idx ON submissions (period);
CREATE INDEX submissions_status_idx ON submissions (status);
CREATE INDEX submissions_created_by_user_id_idx ON submissions (created_by_user_id);

-- Indicator values a submission reports: one per indicator.
CREATE TABLE submission_values (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id  BIGINT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    indicator_id   BIGINT NOT NULL REFERENCES indicators (id),
    value          DOUBLE PRECISION NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('actual', 'estimate')),
    note           TEXT,
    out_of         INTEGER,
    published_on   DATE,
    UNIQUE (submission_id, indicator_id)
);
CREATE INDEX submission_values_indicator_id_idx ON submission_values (indicator_id);

-- Task progress a submission reports; applied to the task when the submission is accepted.
CREATE TABLE submission_task_updates (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id     BIGINT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    task_id           BIGINT NOT NULL REFERENCES tasks (id),
    status            TEXT NOT NULL CHECK (status IN ('not_started', 'in_progress', 'completed', 'cancelled')),
    progress_percent  INTEGER NOT NULL CHECK (progress_percent BETWEEN 0 AND 100),
    completed_on      DATE,
    note              TEXT,
    UNIQUE (submission_id, task_id)
);
CREATE INDEX submission_task_updates_task_id_idx ON submission_task_updates (task_id);

-- What was accepted, exactly, each time: immutable snapshots.
CREATE TABLE submission_versions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id        BIGINT NOT NULL REFERENCES submissions (id),
    number               INTEGER NOT NULL,
    snapshot             TEXT NOT NULL,
    accepted_by_user_id  BIGINT REFERENCES users (id),
    accepted_at          TIMESTAMP NOT NULL,
    UNIQUE (submission_id, number)
);
CREATE INDEX submission_versions_accepted_by_user_id_idx ON submission_versions (accepted_by_user_id);

-- Idempotency-Key records: a retried create replays the first answer.
CREATE TABLE idempotency_keys (
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
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- The audit trail keeps the state before and after each change.
ALTER TABLE audit_log ADD COLUMN before_state TEXT;
ALTER TABLE audit_log ADD COLUMN after_state TEXT;
CREATE INDEX audit_log_action_idx ON audit_log (action);

-- Audit rows are append-only, whatever client touches the database.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
