//! The audit trail: one row per change, written inside the change's own transaction.

use diesel::prelude::*;

use super::schema::audit_log;
use super::DbConnection;
use crate::error::ApiError;

/// Who made a change, as the audit trail records it.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub request_id: Option<String>,
}

/// Records `action` on `entity`/`entity_id` with `detail` (a JSON object describing the change;
/// never a password or secret).
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::occurred_at.eq(super::now()),
            audit_log::actor_user_id.eq(actor.user_id),
            audit_log::action.eq(action),
            audit_log::entity.eq(entity),
            audit_log::entity_id.eq(entity_id),
            audit_log::detail.eq(detail.to_string()),
            audit_log::request_id.eq(actor.request_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}
