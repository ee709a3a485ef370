//! The audit trail (nhật ký): who changed what, when, and the state before and after.
//! Append-only: the API offers no way to change or delete it.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, audit::AuditRow};
use crate::error::ApiError;
use crate::startup::AppState;

/// One audited change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The entry's number; entries are numbered in the order they were recorded.
    pub id: i64,
    /// When the change was made (RFC 3339, UTC).
    pub occurred_at: DateTime<Utc>,
    /// The local user who made it; `null` for API clients, users known only to a trusted
    /// token issuer, the command line and start-up tasks.
    pub actor_user_id: Option<i64>,
    /// Who made it, for every kind of caller: `user:<id>`, `client:<id>` (an API client) or
    /// `external:<issuer>#<subject>` (a user known only to a trusted token issuer); `null` for
    /// the command line and start-up tasks.
    #[schema(example = "client:3")]
    pub actor_subject: Option<String>,
    /// `create`, `update`, `delete`, `import`, `extend`, `submit`, `accept`, `return`, `reopen`,
    /// `succession` (a unit ceased) or `transfer` (an item moved to a successor unit).
    #[schema(example = "accept")]
    pub action: String,
    /// What changed: `user`, `api_client`, `unit`, `plan`, `indicator`, `task`, `schedules`,
    /// `submission` or `webhook`.
    #[schema(example = "submission")]
    pub entity_type: String,
    /// The changed entity's id, as text: the numeric id for most entities, the code for a
    /// `unit`, the plan's id for `schedules`.
    #[schema(example = "12")]
    pub entity_id: String,
    /// The request that made the change (its `X-Request-Id`).
    pub request_id: Option<String>,
    /// A summary of the change.
    pub detail: serde_json::Value,
    /// The entity's state before the change, where kept.
    pub before: Option<serde_json::Value>,
    /// The entity's state after the change, where kept.
    pub after: Option<serde_json::Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditEntry {
            id: row.id,
            occurred_at: row.occurred_at.and_utc(),
            // Rows written before subjects were recorded name only the user.
            actor_subject: row
                .actor_subject
                .or_else(|| row.actor_user_id.map(|id| format!("user:{id}"))),
            actor_user_id: row.actor_user_id,
            action: row.action,
            entity_type: row.entity,
            entity_id: row.entity_id,
            request_id: row.request_id,
            detail: serde_json::from_str(&row.detail).unwrap_or_default(),
            before: json(row.before_state),
            after: json(row.after_state),
        }
    }
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes to entities of this type (the entries' `entity_type`, exact match).
    #[param(example = "submission")]
    pub entity_type: Option<String>,
    /// Only changes to the entity with this id (the entries' `entity_id`, exact match); ids of
    /// different types overlap, so pair it with `entity_type`.
    pub entity_id: Option<String>,
    /// Only changes by this user id.
    pub actor: Option<i64>,
    /// Only changes by this caller subject (`user:<id>`, `client:<id>`,
    /// `external:<issuer>#<subject>`).
    #[param(example = "client:3")]
    pub actor_subject: Option<String>,
    /// Only changes at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
}

fn page_of(
    conn: &mut db::DbConnection,
    filter: &db::audit::AuditFilter,
    page: &db::PageRequest,
) -> Result<(Vec<AuditRow>, i64), ApiError> {
    db::audit::list(conn, filter, page)
}

/// The audit trail, oldest first (`sort=-id` for newest first). Planners, leaders and admins.
#[utoipa::path(
    tag = "audit",
    params(ListParams, AuditQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id)$", description = "Sort field, `-field` for descending: `id` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of audit entries", body = Page<AuditEntry>))
)]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    authorize(&caller, Action::ReadAudit)?;
    let listing = list.resolve(&["id"])?;
    let query = query.into_inner();
    let filter = db::audit::AuditFilter {
        entity: query.entity_type,
        entity_id: query.entity_id,
        actor_user_id: query.actor,
        actor_subject: query.actor_subject,
        since: query.since.map(|s| s.naive_utc()),
    };
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| page_of(conn, &filter, &page)).await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}

/// A submission's history: every audited step, oldest first, for whoever may see it.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id"), ListParams,
        ("sort" = Option<String>, Query, pattern = r"^-?(id)$", description = "Sort field, `-field` for descending: `id` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of the submission's audit entries", body = Page<AuditEntry>))
)]
#[get("/submissions/{id}/history")]
pub async fn submission_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    list: web::Query<ListParams>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    let listing = list.resolve(&["id"])?;
    let id = id.into_inner();
    let filter = db::audit::AuditFilter {
        entity: Some("submission".into()),
        entity_id: Some(id.to_string()),
        ..Default::default()
    };
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| {
        super::submissions::require_visible(conn, &caller, id)?;
        page_of(conn, &filter, &page)
    })
    .await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}
