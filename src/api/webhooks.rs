//! Webhooks (admin only): where the service POSTs signed events, and each one's delivery log.

use actix_web::{delete, get, http::header, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::ApiJson;
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, webhooks::WebhookRow};
use crate::domain::text::nfc;
use crate::domain::validate::Checks;
use crate::domain::webhook::{url_problem, EventType};
use crate::error::ApiError;
use crate::startup::AppState;

const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 200;

/// A webhook. Its secret is shown only once, when it is created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookResponse {
    /// The webhook's id, as in `/webhooks/{id}`.
    #[schema(example = 1)]
    pub id: i64,
    /// Where events are POSTed.
    #[schema(example = "https://dichvucong.dongthap.gov.vn/hooks/plan-tracker")]
    pub url: String,
    /// The events sent to it.
    pub events: Vec<EventType>,
    /// Only events of this plan are sent; `null`: events of every plan (events without a plan
    /// are sent to every webhook that wants them).
    #[schema(example = 1)]
    pub plan_id: Option<i64>,
    /// What the webhook is for, as its creator wrote it; `null` if none was given.
    #[schema(example = "Cổng dịch vụ công tỉnh")]
    pub description: Option<String>,
    /// The local user who created it; `null` when an API client or a user known only to a
    /// trusted token issuer did.
    pub created_by_user_id: Option<i64>,
    /// When the webhook was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

impl From<db::webhooks::Webhook> for WebhookResponse {
    fn from(w: db::webhooks::Webhook) -> Self {
        WebhookResponse {
            id: w.row.id,
            url: w.row.url,
            events: w.events,
            plan_id: w.row.plan_id,
            description: w.row.description,
            created_by_user_id: w.row.created_by_user_id,
            created_at: w.row.created_at.and_utc(),
        }
    }
}

/// A webhook just created, with its secret: store it now, it is never shown again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhookResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// The key of the `X-Signature` HMAC: the one given, or a generated one.
    #[schema(example = "whsec_5f2c0b1e9a7d4c3b8e6f1a2d3c4b5a695f2c0b1e9a7d4c3b8e6f1a2d3c4b5a69")]
    pub secret: String,
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An absolute `https://` URL (`http://` only when the service runs with
    /// `WEBHOOK_ALLOW_HTTP=true`, for development: payloads describe government data). No
    /// credentials in it: the signature authenticates the sender.
    #[schema(
        example = "https://dichvucong.dongthap.gov.vn/hooks/plan-tracker",
        max_length = 2000
    )]
    pub url: String,
    /// At least one of `submission.submitted`, `submission.accepted`, `submission.returned`,
    /// `submission.overdue`, `task.overdue`, `task.completed`, `plan.updated`; unknown names
    /// are refused with 422 listing them.
    #[schema(value_type = Vec<EventType>, min_items = 1)]
    pub events: Vec<String>,
    /// Send only this plan's events.
    #[serde(default)]
    pub plan_id: Option<i64>,
    /// The HMAC key, 16–200 characters; omit it to have one generated (returned once).
    #[serde(default)]
    #[schema(min_length = 16, max_length = 200, format = Password)]
    pub secret: Option<String>,
    /// What the webhook is for.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting for its first attempt or for a retry at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed and the retry window (a day after the event by default) is over.
    Failed,
}

/// One event's delivery to the webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryResponse {
    /// The delivery's id (one event to one webhook).
    #[schema(example = 12)]
    pub id: i64,
    /// The event's id, as sent in `X-Event-Id` and the payload's `id`.
    pub event_id: String,
    pub event_type: EventType,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    /// How many attempts were made.
    #[schema(example = 1)]
    pub attempts: i32,
    /// The receiver's HTTP status on the last attempt, if it answered.
    #[schema(example = 200)]
    pub last_http_status: Option<i32>,
    /// Why the last attempt failed (HTTP status, timeout, connection error).
    pub last_error: Option<String>,
    /// When it is tried next; `null` once delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the delivery was queued, together with the event (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the last attempt was recorded.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<db::webhooks::DeliveryRow> for DeliveryResponse {
    type Error = ApiError;

    fn try_from(d: db::webhooks::DeliveryRow) -> Result<Self, ApiError> {
        let status: DeliveryStatus = db::parse_enum(&d.status)?;
        Ok(DeliveryResponse {
            id: d.id,
            event_type: EventType::parse(&d.event_type).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("stored event type {:?}", d.event_type))
            })?,
            event_id: d.event_id,
            occurred_at: d.occurred_at.and_utc(),
            status,
            attempts: d.attempts,
            last_http_status: d.last_http_status,
            last_error: d.last_error,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| d.next_attempt_at.and_utc()),
            created_at: d.created_at.and_utc(),
            updated_at: d.updated_at.and_utc(),
        })
    }
}

/// Filters of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
}

/// A random secret: 32 bytes as hex, prefixed so it is recognisable in a vault.
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

/// Lists webhooks, oldest first (`sort=-id` for newest first). Secrets are not shown.
#[utoipa::path(
    tag = "webhooks",
    params(ListParams,
        ("sort" = Option<String>, Query, pattern = r"^-?(id)$", description = "Sort field, `-field` for descending: `id` (default `id`).")),
    responses((status = 200, description = "One page of webhooks", body = Page<WebhookResponse>))
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
) -> Result<web::Json<Page<WebhookResponse>>, ApiError> {
    authorize(&caller, Action::ManageWebhooks)?;
    let listing = list.resolve(&["id"])?;
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| db::webhooks::list(conn, &page)).await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}

/// Creates a webhook. From then on, each event it wants is POSTed to its URL as JSON
/// (`EventPayload`: `{id, type, occurred_at, data}`) with these headers:
///
/// - `X-Event-Id`: the event's id, the same on every retry (drop repeats);
/// - `X-Timestamp`: when this attempt was signed, in Unix seconds;
/// - `X-Signature`: `sha256=` and the lower-case hex HMAC-SHA256, keyed with the webhook's
///   secret, of the text `<X-Timestamp>.<raw body>`. Recompute it over the raw bytes, compare
///   in constant time, and refuse timestamps more than a few minutes old (replays).
///
/// A 2xx answer counts as delivered. Anything else, a timeout or a connection error is retried
/// with exponential backoff (`WEBHOOK_BACKOFF_BASE_MS`, doubling, at most
/// `WEBHOOK_BACKOFF_MAX_MS`) until a day after the event (`WEBHOOK_RETRY_WINDOW_SECS`); then
/// the delivery is marked `failed`. Redirects are not followed. Events are recorded in the same
/// transaction as the change they report, so none is lost and none reports a change that did
/// not happen; delivery is at least once, in no guaranteed order.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; the only answer that shows the secret", body = CreatedWebhookResponse,
            headers(("Location" = String, description = "The new webhook's path")))
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageWebhooks)?;
    let request = body.0;
    let url = request.url.trim().to_owned();
    let description = request
        .description
        .map(|d| nfc(&d))
        .filter(|d| !d.is_empty());
    let mut checks = Checks::new();
    checks.text("url", &url, 2000);
    if let Some(problem) = url_problem(&url, state.settings.webhooks.allow_http) {
        checks.check(false, "url", problem);
    }
    let events = match EventType::parse_all(&request.events) {
        Ok(events) => {
            checks.check(!events.is_empty(), "events", "must name at least one event");
            events
        }
        Err(unknown) => {
            checks.check(
                false,
                "events",
                format!(
                    "unknown event(s) {}; known: {}",
                    unknown.join(", "),
                    EventType::names()
                ),
            );
            Vec::new()
        }
    };
    if let Some(secret) = &request.secret {
        let length = secret.chars().count();
        checks.check(
            (MIN_SECRET..=MAX_SECRET).contains(&length) && !secret.chars().any(char::is_control),
            "secret",
            format!("must be {MIN_SECRET}–{MAX_SECRET} characters without control characters"),
        );
    }
    if let Some(d) = &description {
        checks.max_len("description", d, 200);
    }
    checks.finish()?;
    let secret = request.secret.unwrap_or_else(generate_secret);
    let new = WebhookRow {
        id: 0,
        url,
        secret: secret.clone(),
        plan_id: request.plan_id,
        description,
        created_by_user_id: caller.user_id(),
        created_at: db::now(),
    };
    let actor = caller.actor();
    let webhook = db::transaction(&state.pool, move |conn| {
        if let Some(plan_id) = new.plan_id {
            if db::plans::find(conn, plan_id)?.is_none() {
                return Err(ApiError::invalid(
                    "plan_id",
                    format!("plan {plan_id} does not exist"),
                ));
            }
        }
        let webhook = db::webhooks::insert(conn, &new, &events)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "webhook",
            &webhook.row.id.to_string(),
            serde_json::json!({"url": webhook.row.url, "events": webhook.events,
                "plan_id": webhook.row.plan_id}),
        )?;
        Ok(webhook)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/webhooks/{}", webhook.row.id),
        ))
        .json(CreatedWebhookResponse {
            webhook: webhook.into(),
            secret,
        }))
}

/// One webhook, without its secret.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook id")),
    responses((status = 200, description = "The webhook", body = WebhookResponse))
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<WebhookResponse>, ApiError> {
    authorize(&caller, Action::ManageWebhooks)?;
    let id = id.into_inner();
    let webhook = db::run(&state.pool, move |conn| db::webhooks::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    Ok(web::Json(webhook.into()))
}

/// Deletes a webhook with its delivery log; pending deliveries are not sent.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageWebhooks)?;
    let id = id.into_inner();
    let actor = caller.actor();
    db::transaction(&state.pool, move |conn| {
        db::delete_audited(conn, &actor, "webhook", id, "is still referenced", |conn| {
            db::webhooks::delete(conn, id)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The webhook's delivery log: one entry per event sent to it, with its attempts, status,
/// last HTTP status and error, and next attempt. Oldest first (`sort=-id` for newest first).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook id"), ListParams, DeliveryQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id)$", description = "Sort field, `-field` for descending: `id` (default `id`).")),
    responses((status = 200, description = "One page of deliveries", body = Page<DeliveryResponse>))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    list: web::Query<ListParams>,
    query: web::Query<DeliveryQuery>,
) -> Result<web::Json<Page<DeliveryResponse>>, ApiError> {
    authorize(&caller, Action::ManageWebhooks)?;
    let listing = list.resolve(&["id"])?;
    let id = id.into_inner();
    let status = query.into_inner().status.map(|s| db::enum_text(&s));
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| {
        if db::webhooks::find(conn, id)?.is_none() {
            return Err(ApiError::not_found(format!("webhook {id}")));
        }
        db::webhooks::deliveries(conn, id, status.as_deref(), &page)
    })
    .await?;
    let items = rows
        .into_iter()
        .map(DeliveryResponse::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(Page {
        items,
        total,
        limit: listing.page.limit,
        offset: listing.page.offset,
    }))
}
