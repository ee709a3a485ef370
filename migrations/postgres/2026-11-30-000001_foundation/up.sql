-- Organisational units: departments, their divisions and outside agencies named in plans.
-- `code` is the stable key; names change when units merge or are renamed.
CREATE TABLE units (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    short_name      TEXT,
    kind            TEXT NOT NULL CHECK (kind IN ('internal', 'external')),
    parent_code     TEXT REFERENCES units (code),
    aliases         TEXT NOT NULL DEFAULT '[]',
    gov_code        TEXT UNIQUE,
    valid_from      DATE,
    valid_to        DATE,
    successor_code  TEXT REFERENCES units (code),
    search_key      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to)
);
CREATE INDEX units_parent_code_idx ON units (parent_code);
CREATE INDEX units_successor_code_idx ON units (successor_code);
CREATE INDEX units_kind_idx ON units (kind);

CREATE TABLE users (
    id              BIGSERIAL PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    unit_code       TEXT REFERENCES units (code),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    search_key      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX users_unit_code_idx ON users (unit_code);
CREATE INDEX users_active_idx ON users (active);

CREATE TABLE user_roles (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('admin', 'planner', 'leader', 'officer', 'viewer')),
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role_idx ON user_roles (role);

CREATE TABLE plans (
    id                       BIGSERIAL PRIMARY KEY,
    number                   TEXT NOT NULL UNIQUE,
    title                    TEXT NOT NULL,
    issuer_unit_code         TEXT NOT NULL REFERENCES units (code),
    issued_on                DATE NOT NULL,
    period_start_year        INTEGER NOT NULL,
    period_end_year          INTEGER NOT NULL,
    vision_year              INTEGER,
    signer                   TEXT,
    consolidating_unit_code  TEXT NOT NULL REFERENCES units (code),
    basis                    TEXT NOT NULL DEFAULT '[]',
    search_key               TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    CHECK (period_start_year <= period_end_year)
);
CREATE INDEX plans_issuer_unit_code_idx ON plans (issuer_unit_code);
CREATE INDEX plans_consolidating_unit_code_idx ON plans (consolidating_unit_code);
CREATE INDEX plans_period_idx ON plans (period_start_year, period_end_year);

-- Who changed what, written in the same transaction as the change itself.
CREATE TABLE audit_log (
    id             BIGSERIAL PRIMARY KEY,
    occurred_at    TIMESTAMP NOT NULL,
    actor_user_id  BIGINT REFERENCES users (id),
    action         TEXT NOT NULL,
    entity         TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}',
    request_id     TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_user_id_idx ON audit_log (actor_user_id);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
