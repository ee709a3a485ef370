-- Webhooks: subscribers the service tells about events, by signed HTTP POST.
-- `secret` signs every payload (HMAC-SHA256); it must be kept to sign, so it is stored as
-- given and never returned after creation. `plan_id` limits the webhook to one plan's events.
CREATE TABLE webhooks (
    id                  BIGSERIAL PRIMARY KEY,
    url                 TEXT NOT NULL,
    secret              TEXT NOT NULL,
    plan_id             BIGINT REFERENCES plans (id) ON DELETE CASCADE,
    description         TEXT,
    created_by_user_id  BIGINT REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_plan_id_idx ON webhooks (plan_id);
CREATE INDEX webhooks_created_by_user_id_idx ON webhooks (created_by_user_id);

-- The events each webhook wants: one row per (webhook, event type), so fan-out is a join.
CREATE TABLE webhook_events (
    webhook_id  BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_type)
);
CREATE INDEX webhook_events_event_type_idx ON webhook_events (event_type);

-- The outbox: every event, written in the same transaction as the change that causes it.
-- `dedupe_key` makes an event happen once (overdue events are raised by a periodic scan;
-- `INSERT … ON CONFLICT DO NOTHING` on this key is what keeps them single). `data` is JSON.
CREATE TABLE outbox_events (
    id           BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL UNIQUE,
    plan_id      BIGINT,
    data         TEXT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL
);
CREATE INDEX outbox_events_occurred_at_idx ON outbox_events (occurred_at);

-- One delivery of one event to one webhook, created when the event is enqueued. A worker
-- claims a due delivery by setting `locked_until` (a lease: a crashed worker's claim expires);
-- on PostgreSQL the claim also skips rows another worker is claiming (FOR UPDATE SKIP LOCKED).
CREATE TABLE webhook_deliveries (
    id                BIGSERIAL PRIMARY KEY,
    webhook_id        BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    outbox_event_id   BIGINT NOT NULL REFERENCES outbox_events (id),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_http_status  INTEGER,
    last_error        TEXT,
    next_attempt_at   TIMESTAMP NOT NULL,
    locked_until      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (webhook_id, outbox_event_id)
);
CREATE INDEX webhook_deliveries_outbox_event_id_idx ON webhook_deliveries (outbox_event_id);
-- What the worker polls: pending deliveries by due time (partial: finished ones drop out).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
