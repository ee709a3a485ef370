//! The outbox: events written in the same transaction as the change that causes them, and
//! fanned out at once to one delivery per webhook that wants them.
//!
//! Fan-out happens here, at enqueue, rather than in the worker: the delivery rows then exist
//! exactly when the event does (one transaction), a webhook receives the events that happen
//! after it was created and no others, and the worker's only job is to claim due deliveries.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::plans::PlanRow;
use super::DbConnection;
use crate::domain::webhook::EventType;
use crate::error::ApiError;

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Writes event `event_type` about `plan_id` with `data` (the payload's `data` object) and a
/// delivery for every webhook that subscribes to it, unless an event with `dedupe_key` already
/// exists (`None`: the event is unique by nature, its own id is the key). Call it inside the
/// write transaction of the change the event reports, so both land or neither does.
/// Returns whether the event was new.
pub fn enqueue(
    conn: &mut DbConnection,
    event_type: EventType,
    dedupe_key: Option<&str>,
    plan_id: Option<i64>,
    data: serde_json::Value,
) -> Result<bool, ApiError> {
    let event_id = uuid::Uuid::new_v4().to_string();
    let now = super::now();
    // Raw SQL: `ON CONFLICT DO NOTHING` does not compile through the multi-backend connection,
    // and this statement means the same on SQLite (≥ 3.35, for RETURNING) and PostgreSQL.
    let inserted: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO outbox_events (event_id, event_type, dedupe_key, plan_id, data, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind::<Text, _>(&event_id)
    .bind::<Text, _>(event_type.as_str())
    .bind::<Text, _>(dedupe_key.unwrap_or(&event_id))
    .bind::<Nullable<BigInt>, _>(plan_id)
    .bind::<Text, _>(data.to_string())
    .bind::<Timestamp, _>(now)
    .load(conn)?;
    let Some(event) = inserted.first() else {
        return Ok(false);
    };
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (webhook_id, outbox_event_id, status, attempts, \
         next_attempt_at, created_at, updated_at) \
         SELECT w.id, $1, 'pending', 0, $2, $2, $2 FROM webhooks w \
         JOIN webhook_events e ON e.webhook_id = w.id \
         WHERE e.event_type = $3 AND (w.plan_id IS NULL OR w.plan_id = $4)",
    )
    .bind::<BigInt, _>(event.id)
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(event_type.as_str())
    .bind::<Nullable<BigInt>, _>(plan_id)
    .execute(conn)?;
    Ok(true)
}

/// Raises `plan.updated` for `plan`; `source` tells what changed it: `update` (its own
/// fields) or `import` (its appendix tables).
pub fn plan_updated(
    conn: &mut DbConnection,
    plan: &PlanRow,
    source: &str,
) -> Result<bool, ApiError> {
    enqueue(
        conn,
        EventType::PlanUpdated,
        None,
        Some(plan.id),
        serde_json::json!({"plan_id": plan.id, "number": plan.number, "title": plan.title,
            "source": source}),
    )
}

/// Which of `keys` are already taken by an event.
pub fn existing_keys(conn: &mut DbConnection, keys: &[String]) -> Result<Vec<String>, ApiError> {
    use super::schema::outbox_events;
    Ok(outbox_events::table
        .filter(outbox_events::dedupe_key.eq_any(keys))
        .select(outbox_events::dedupe_key)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{outbox_events, webhook_deliveries, webhook_events, webhooks};

    fn counts(conn: &mut DbConnection) -> (i64, i64) {
        (
            outbox_events::table.count().get_result(conn).unwrap(),
            webhook_deliveries::table.count().get_result(conn).unwrap(),
        )
    }

    #[test]
    fn an_event_lands_with_its_transaction_or_not_at_all() {
        let (_dir, pool) = super::super::test_database();
        let conn: &mut DbConnection = &mut pool.get().unwrap();
        diesel::insert_into(webhooks::table)
            .values((
                webhooks::url.eq("https://example.vn/h"),
                webhooks::secret.eq("0123456789abcdef"),
                webhooks::created_at.eq(super::super::now()),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::webhook_id.eq(1),
                webhook_events::event_type.eq("plan.updated"),
            ))
            .execute(conn)
            .unwrap();
        let data = || serde_json::json!({"plan_id": 1});
        let rolled_back: Result<(), ApiError> = super::super::write_transaction(conn, |conn| {
            enqueue(conn, EventType::PlanUpdated, None, Some(1), data())?;
            Err(ApiError::conflict(
                "the change failed after the event was written",
            ))
        });
        assert!(rolled_back.is_err());
        assert_eq!(counts(conn), (0, 0), "no event without the change");
        let committed = super::super::write_transaction(conn, |conn| {
            enqueue(conn, EventType::PlanUpdated, None, Some(1), data())
        });
        assert_eq!(committed.ok(), Some(true));
        assert_eq!(counts(conn), (1, 1), "the event and its delivery");
        // A second event with a taken dedupe key is not written; an unwanted type has no
        // delivery.
        assert!(enqueue(conn, EventType::TaskOverdue, Some("k"), Some(1), data()).unwrap());
        assert!(!enqueue(conn, EventType::TaskOverdue, Some("k"), Some(1), data()).unwrap());
        assert_eq!(counts(conn), (2, 1));
    }
}
