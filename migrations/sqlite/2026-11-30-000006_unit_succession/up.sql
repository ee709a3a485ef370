-- A unit that ceased (merged, split, renamed) and the units that took over its duties.
-- One row per successor; a merge or rename has one, a split several.
CREATE TABLE unit_successions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    predecessor_code  TEXT NOT NULL REFERENCES units (code),
    successor_code    TEXT NOT NULL REFERENCES units (code),
    -- The successor's share of the predecessor (area, population, staff), informative only.
    share             REAL CHECK (share IS NULL OR (share > 0 AND share <= 1)),
    effective_on      DATE NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    UNIQUE (predecessor_code, successor_code),
    CHECK (predecessor_code <> successor_code)
);
CREATE INDEX unit_successions_successor_code_idx ON unit_successions (successor_code);

-- Who was responsible for an indicator or led a task before a succession moved it, so that a
-- view "as of" an earlier date shows the organisation of that date. The item's own column holds
-- the latest holder.
CREATE TABLE responsibility_transfers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    succession_of   TEXT NOT NULL REFERENCES units (code),
    plan_id         BIGINT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    indicator_id    BIGINT REFERENCES indicators (id) ON DELETE CASCADE,
    task_id         BIGINT REFERENCES tasks (id) ON DELETE CASCADE,
    from_unit_code  TEXT NOT NULL REFERENCES units (code),
    to_unit_code    TEXT NOT NULL REFERENCES units (code),
    effective_on    DATE NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((indicator_id IS NULL) <> (task_id IS NULL))
);
CREATE INDEX responsibility_transfers_plan_idx ON responsibility_transfers (plan_id, effective_on);
CREATE INDEX responsibility_transfers_indicator_idx ON responsibility_transfers (indicator_id);
CREATE INDEX responsibility_transfers_task_idx ON responsibility_transfers (task_id);
CREATE INDEX responsibility_transfers_succession_idx ON responsibility_transfers (succession_of);
