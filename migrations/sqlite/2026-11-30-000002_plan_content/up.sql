-- Indicators (chỉ tiêu) of a plan, with their baseline and target.
CREATE TABLE indicators (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id                  BIGINT NOT NULL REFERENCES plans (id),
    code                     TEXT NOT NULL,
    name                     TEXT NOT NULL,
    measure_unit             TEXT NOT NULL,
    parent_id                BIGINT REFERENCES indicators (id),
    baseline_value           DOUBLE PRECISION,
    baseline_label           TEXT,
    target_kind              TEXT NOT NULL CHECK (target_kind IN ('at_least', 'at_most', 'equal', 'rank_at_most')),
    target_value             DOUBLE PRECISION NOT NULL,
    target_scope             TEXT NOT NULL CHECK (target_scope IN ('plan_period', 'each_year')),
    target_text              TEXT,
    aggregation              TEXT NOT NULL CHECK (aggregation IN ('sum', 'last', 'min', 'max', 'mean', 'sum_of_children')),
    responsible_unit_code    TEXT REFERENCES units (code),
    coordinating_unit_codes  TEXT NOT NULL DEFAULT '[]',
    search_key               TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    UNIQUE (plan_id, code)
);
CREATE INDEX indicators_parent_id_idx ON indicators (parent_id);
CREATE INDEX indicators_responsible_unit_code_idx ON indicators (responsible_unit_code);

-- Tasks (nhiệm vụ) of a plan. `due_date` is the deadline in force (after extensions);
-- `original_due_date` the one the plan set.
CREATE TABLE tasks (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id                  BIGINT NOT NULL REFERENCES plans (id),
    code                     TEXT NOT NULL,
    title                    TEXT NOT NULL,
    description              TEXT,
    lead_unit_code           TEXT REFERENCES units (code),
    coordinating_unit_codes  TEXT NOT NULL DEFAULT '[]',
    coordinating_note        TEXT,
    original_due_date        DATE,
    due_date                 DATE,
    due_precision            TEXT CHECK (due_precision IN ('day', 'month', 'quarter', 'year')),
    due_label                TEXT,
    output_form              TEXT,
    decision_authority       TEXT,
    legal_basis              TEXT NOT NULL DEFAULT '[]',
    status                   TEXT NOT NULL CHECK (status IN ('not_started', 'in_progress', 'completed', 'cancelled')),
    progress_percent         INTEGER NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    completed_on             DATE,
    search_key               TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    UNIQUE (plan_id, code)
);
CREATE INDEX tasks_lead_unit_code_idx ON tasks (lead_unit_code);
CREATE INDEX tasks_status_idx ON tasks (status);
CREATE INDEX tasks_due_date_idx ON tasks (due_date);

-- Deadline extensions (gia hạn), kept as history.
CREATE TABLE task_extensions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id             BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    previous_due_date   DATE,
    new_due_date        DATE NOT NULL,
    reason              TEXT NOT NULL,
    approved_by         TEXT NOT NULL,
    created_by_user_id  BIGINT REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX task_extensions_task_id_idx ON task_extensions (task_id);
CREATE INDEX task_extensions_created_by_user_id_idx ON task_extensions (created_by_user_id);
