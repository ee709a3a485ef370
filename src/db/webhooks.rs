//! Queries on webhooks, their subscribed events and their deliveries, including the worker's
//! claim of due deliveries.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::schema::{outbox_events, webhook_deliveries, webhook_events, webhooks};
use super::{Db, DbConnection, PageRequest};
use crate::domain::webhook::EventType;
use crate::error::ApiError;

/// A webhook's row; inserted as is, with the id left to the database.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub url: String,
    /// Needed to sign payloads; never returned by the API after creation.
    pub secret: String,
    pub plan_id: Option<i64>,
    pub description: Option<String>,
    pub created_by_user_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A webhook with the events it wants.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub row: WebhookRow,
    pub events: Vec<EventType>,
}

/// One delivery of an event to a webhook, with the event it carries.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryRow {
    pub id: i64,
    pub status: String,
    pub attempts: i32,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
}

/// A delivery the worker claimed, with what it needs to send it.
#[derive(Debug, Clone, Queryable)]
pub struct Claimed {
    pub delivery_id: i64,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event_type: String,
    pub data: String,
    pub occurred_at: NaiveDateTime,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        http_status: i32,
    },
    /// Failed; tried again at `next_attempt_at`.
    Retry {
        http_status: Option<i32>,
        error: String,
        next_attempt_at: NaiveDateTime,
    },
    /// Failed, and the retry window is exhausted.
    Failed {
        http_status: Option<i32>,
        error: String,
    },
}

fn with_events(conn: &mut DbConnection, rows: Vec<WebhookRow>) -> Result<Vec<Webhook>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let pairs: Vec<(i64, String)> = webhook_events::table
        .filter(webhook_events::webhook_id.eq_any(&ids))
        .select((webhook_events::webhook_id, webhook_events::event_type))
        .load(conn)?;
    let mut events: HashMap<i64, Vec<EventType>> = HashMap::new();
    for (id, name) in pairs {
        let event = EventType::parse(&name)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored event type {name:?}")))?;
        events.entry(id).or_default().push(event);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut events = events.remove(&row.id).unwrap_or_default();
            events.sort();
            Webhook { row, events }
        })
        .collect())
}

pub fn insert(
    conn: &mut DbConnection,
    new: &WebhookRow,
    events: &[EventType],
) -> Result<Webhook, ApiError> {
    let id: i64 = diesel::insert_into(webhooks::table)
        .values(new)
        .returning(webhooks::id)
        .get_result(conn)?;
    // One insert per row: batch inserts do not compile through the multi-backend connection.
    for event in events {
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::webhook_id.eq(id),
                webhook_events::event_type.eq(event.as_str()),
            ))
            .execute(conn)?;
    }
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("webhook {id}")))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Webhook>, ApiError> {
    let row: Option<WebhookRow> = super::find_by_key!(conn, webhooks::table, id)?;
    Ok(with_events(conn, row.into_iter().collect())?.pop())
}

/// One page of webhooks and how many there are.
pub fn list(conn: &mut DbConnection, page: &PageRequest) -> Result<(Vec<Webhook>, i64), ApiError> {
    let query = webhooks::table.into_boxed::<Db>();
    let query = if page.descending {
        query.order(webhooks::id.desc())
    } else {
        query.order(webhooks::id.asc())
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    let (rows, total) = super::counted(page, rows, || webhooks::table.count().get_result(conn))?;
    Ok((with_events(conn, rows)?, total))
}

/// Deletes the webhook with its subscriptions and delivery log.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// One page of the webhook's deliveries, newest first unless sorted ascending, optionally
/// only those in `status`, and how many match.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: i64,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<(Vec<DeliveryRow>, i64), ApiError> {
    let filtered = || {
        let mut query = webhook_deliveries::table
            .inner_join(outbox_events::table)
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .into_boxed::<Db>();
        if let Some(status) = status {
            query = query.filter(webhook_deliveries::status.eq(status.to_owned()));
        }
        query
    };
    let query = filtered();
    let query = if page.descending {
        query.order(webhook_deliveries::id.desc())
    } else {
        query.order(webhook_deliveries::id.asc())
    };
    let rows = query
        .select((
            webhook_deliveries::id,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::last_http_status,
            webhook_deliveries::last_error,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::created_at,
            webhook_deliveries::updated_at,
            outbox_events::event_id,
            outbox_events::event_type,
            outbox_events::occurred_at,
        ))
        .limit(page.limit)
        .offset(page.offset)
        .load(conn)?;
    super::counted(page, rows, || filtered().count().get_result(conn))
}

/// Whether any delivery is due at `now`: a cheap read, so an idle worker never takes a write
/// lock (on SQLite, `BEGIN IMMEDIATE` would serialise it with every request's writes).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<bool, ApiError> {
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.le(now)),
        )
        .select(webhook_deliveries::id)
        .first::<i64>(conn)
        .optional()?;
    Ok(due.is_some())
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims up to `limit` due deliveries until `lease_until`, in one transaction: no other
/// worker claims them before the lease ends. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets
/// concurrent workers pass over rows another is claiming instead of waiting and claiming them
/// again; on SQLite the write transaction (`BEGIN IMMEDIATE`) serialises claims.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, ApiError> {
    let skip_locked = match conn {
        DbConnection::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    super::write_transaction(conn, |conn| {
        let ids: Vec<ClaimedId> = diesel::sql_query(format!(
            "UPDATE webhook_deliveries SET locked_until = $1 WHERE id IN (\
             SELECT id FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) \
             ORDER BY next_attempt_at, id LIMIT $3{skip_locked}) RETURNING id"
        ))
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        let ids: Vec<i64> = ids.into_iter().map(|c| c.id).collect();
        Ok(webhook_deliveries::table
            .inner_join(webhooks::table)
            .inner_join(outbox_events::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order(webhook_deliveries::id.asc())
            .select((
                webhook_deliveries::id,
                webhook_deliveries::attempts,
                webhooks::url,
                webhooks::secret,
                outbox_events::event_id,
                outbox_events::event_type,
                outbox_events::data,
                outbox_events::occurred_at,
            ))
            .load(conn)?)
    })
}

/// Records an attempt on a delivery claimed until `lease_until` and releases the claim. A
/// claim that expired and was taken by another worker is left to that worker.
pub fn record_attempt(
    conn: &mut DbConnection,
    delivery_id: i64,
    lease_until: NaiveDateTime,
    outcome: &Outcome,
) -> Result<(), ApiError> {
    let (status, http_status, error, next) = match outcome {
        Outcome::Delivered { http_status } => ("delivered", Some(*http_status), None, None),
        Outcome::Retry {
            http_status,
            error,
            next_attempt_at,
        } => ("pending", *http_status, Some(error), Some(*next_attempt_at)),
        Outcome::Failed { http_status, error } => ("failed", *http_status, Some(error), None),
    };
    let target = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(delivery_id))
        .filter(webhook_deliveries::locked_until.eq(lease_until));
    let now = super::now();
    let common = (
        webhook_deliveries::status.eq(status),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_http_status.eq(http_status),
        webhook_deliveries::last_error.eq(error),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::updated_at.eq(now),
    );
    match next {
        Some(next) => diesel::update(target)
            .set((common, webhook_deliveries::next_attempt_at.eq(next)))
            .execute(conn)?,
        None => diesel::update(target).set(common).execute(conn)?,
    };
    Ok(())
}
