//! The audit trail: one row per change, written inside the change's own transaction. Rows
//! are append-only (database triggers refuse UPDATE and DELETE).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_log;
use super::{Db, DbConnection, PageRequest};
use crate::error::ApiError;

/// Who made a change, as the audit trail records it.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The local account, for a caller that has one.
    pub user_id: Option<i64>,
    /// Who acted, for every kind of caller: `user:<id>`, `client:<id>` or
    /// `external:<issuer>#<subject>`; `None` for the command line and start-up tasks.
    pub subject: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
    pub request_id: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub actor_subject: Option<String>,
}

/// One audited change: `detail` describes it (never a password or secret); `before` and
/// `after` are the entity's state around it, where the entity keeps one.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub detail: serde_json::Value,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Records `action` on `entity`/`entity_id` with a `detail` JSON object.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let change = Change {
        detail,
        ..Change::default()
    };
    record_change(conn, actor, action, entity, entity_id, &change)
}

/// Records `action` on `entity`/`entity_id` with its state before and after.
pub fn record_change(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    change: &Change,
) -> Result<(), ApiError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::occurred_at.eq(super::now()),
            audit_log::actor_user_id.eq(actor.user_id),
            audit_log::action.eq(action),
            audit_log::entity.eq(entity),
            audit_log::entity_id.eq(entity_id),
            audit_log::detail.eq(change.detail.to_string()),
            audit_log::request_id.eq(actor.request_id.as_deref()),
            audit_log::before_state.eq(change.before.as_ref().map(|v| v.to_string())),
            audit_log::after_state.eq(change.after.as_ref().map(|v| v.to_string())),
            audit_log::actor_subject.eq(actor.subject.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_user_id: Option<i64>,
    pub actor_subject: Option<String>,
    pub since: Option<NaiveDateTime>,
}

fn filtered<'a>(filter: &'a AuditFilter) -> audit_log::BoxedQuery<'a, Db> {
    let mut query = audit_log::table.into_boxed();
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::entity.eq(entity));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(id));
    }
    if let Some(actor) = filter.actor_user_id {
        query = query.filter(audit_log::actor_user_id.eq(actor));
    }
    if let Some(subject) = &filter.actor_subject {
        query = query.filter(audit_log::actor_subject.eq(subject));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::occurred_at.ge(since));
    }
    query
}

/// One page of audit rows, oldest first (or newest first with a descending sort).
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<(Vec<AuditRow>, i64), ApiError> {
    let query = filtered(filter);
    let query = if page.descending {
        query.order(audit_log::id.desc())
    } else {
        query.order(audit_log::id.asc())
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    super::counted(page, rows, || filtered(filter).count().get_result(conn))
}
