//! API clients for server-to-server use (admin only). A client gets its access tokens from
//! `POST /api/v1/auth/token` with the OAuth 2.0 client-credentials grant.

use actix_web::{get, http::header, patch, post, web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::caller::client_token_subject;
use crate::auth::{authorize, password, Action, Caller};
use crate::db::{self, clients::ClientChanges, DbConnection};
use crate::domain::role::Role;
use crate::domain::text::nfc;
use crate::domain::validate::Checks;
use crate::error::ApiError;
use crate::startup::AppState;

/// An API client. Its secret is never returned after creation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientResponse {
    /// The `client_id` of the client-credentials grant.
    #[schema(example = 3)]
    pub id: i64,
    /// The unique name saying who runs the client; also what `/me` shows as its `username`.
    #[schema(example = "Cổng dịch vụ công tỉnh")]
    pub name: String,
    /// The unit the client acts for, if any.
    #[schema(example = "SKHDT-THQH")]
    pub unit_code: Option<String>,
    /// What the client may do; changes apply to the tokens it already holds.
    pub roles: Vec<Role>,
    /// `false`: revoked. The client can get no token, and the tokens it holds stop working
    /// at once (on other instances of the service within `CALLER_CACHE_MS`, 1 s).
    pub active: bool,
    /// When the client was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the client was last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<db::clients::Client> for ClientResponse {
    fn from(c: db::clients::Client) -> Self {
        ClientResponse {
            id: c.id,
            name: c.name,
            unit_code: c.unit_code,
            roles: c.roles,
            active: c.active,
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
        }
    }
}

/// A new client, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedClientResponse {
    #[serde(flatten)]
    pub client: ClientResponse,
    /// The `client_secret` of the client-credentials grant. It cannot be shown again: keep it
    /// in the client's secret store.
    #[schema(example = "Yq8h2N0lq3WmB6kS3m1pQ7cZ0vJx9rT4uE5aD2fG8hK")]
    pub client_secret: String,
}

/// A new API client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// A unique name saying who runs the client.
    #[schema(example = "Cổng dịch vụ công tỉnh", min_length = 1, max_length = 200)]
    pub name: String,
    /// At least one role.
    #[schema(min_items = 1)]
    pub roles: Vec<Role>,
    /// The unit the client acts for; optional (a reporting portal acts for none).
    #[schema(example = "SKHDT-THQH")]
    pub unit_code: Option<String>,
}

/// Changes to a client; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    /// A new name, unique among clients (409 if another client has it); must not be blank.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Replaces all the client's roles: at least one, none repeated. The tokens it already
    /// holds act with the new roles from its next request.
    #[schema(min_items = 1)]
    pub roles: Option<Vec<Role>>,
    /// `null` removes the unit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub unit_code: Option<Option<String>>,
    /// `false` revokes the client: it can get no token and its tokens stop working at once
    /// (on other instances within `CALLER_CACHE_MS`, 1 s); `true` restores it (with the same
    /// secret).
    pub active: Option<bool>,
}

/// Filters of the client list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Only active (`true`) or revoked (`false`) clients.
    pub active: Option<bool>,
}

/// A random secret of 256 bits, base64url without padding (43 characters).
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn check_fields(checks: &mut Checks, name: Option<&str>, roles: Option<&[Role]>) {
    if let Some(name) = name {
        checks.text("name", name, 200);
    }
    if let Some(roles) = roles {
        checks.roles("roles", roles);
    }
}

/// 422 for a unit code that names no unit, 409 for a name another client has.
fn check_references(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    unit_code: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(code) = unit_code {
        if !db::units::missing(conn, &[code])?.is_empty() {
            return Err(ApiError::invalid(
                "unit_code",
                format!("unit {code} does not exist"),
            ));
        }
    }
    if db::clients::name_taken(conn, name, id)? {
        return Err(ApiError::conflict(format!(
            "an API client is already named {name}"
        )));
    }
    Ok(())
}

fn audit_detail(client: &db::clients::Client) -> serde_json::Value {
    serde_json::json!({"name": client.name, "unit_code": client.unit_code,
        "roles": client.roles, "active": client.active})
}

/// Lists API clients. Sortable by `id`, `name`; `q` searches names.
#[utoipa::path(
    tag = "clients",
    params(ListParams, ClientQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id|name)$", description = "Sort field, `-field` for descending: `id`, `name` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of API clients", body = Page<ClientResponse>))
)]
#[get("/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<ClientQuery>,
) -> Result<web::Json<Page<ClientResponse>>, ApiError> {
    authorize(&caller, Action::ManageClients)?;
    let listing = list.resolve(&["id", "name"])?;
    let filter = db::clients::ClientFilter {
        search_key: listing.search_key.clone(),
        active: query.active,
    };
    let page = listing.page.clone();
    let (clients, total) = db::run(&state.pool, move |conn| {
        db::clients::list(conn, &filter, &page)
    })
    .await?;
    Ok(web::Json(Page::of(clients, total, &listing.page)))
}

/// Creates an API client and returns its secret, this once. The secret is stored as an
/// Argon2id hash only.
#[utoipa::path(
    tag = "clients",
    request_body = CreateClientRequest,
    responses(
        (status = 201, description = "Created; `client_secret` is shown only now", body = CreatedClientResponse,
            headers(("Location" = String, description = "The new client's path"))),
        (status = 409, description = "Another client has this name", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateClientRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageClients)?;
    let request = body.0;
    let name = nfc(request.name.trim());
    let unit_code = request.unit_code.map(|u| u.trim().to_owned());
    let mut checks = Checks::new();
    check_fields(&mut checks, Some(&name), Some(&request.roles));
    checks.finish()?;
    let secret = new_secret();
    let secret_hash = password::hash_off_thread(secret.clone()).await?;
    let new = db::clients::NewClient {
        name,
        secret_hash,
        unit_code,
        roles: request.roles,
    };
    let actor = caller.actor();
    let client = db::transaction(&state.pool, move |conn| {
        check_references(conn, 0, &new.name, new.unit_code.as_deref())?;
        let client = db::clients::insert(conn, &new)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "api_client",
            &client.id.to_string(),
            audit_detail(&client),
        )?;
        Ok(client)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/clients/{}", client.id)))
        .json(CreatedClientResponse {
            client: client.into(),
            client_secret: secret,
        }))
}

/// One API client (without its secret).
#[utoipa::path(
    tag = "clients",
    params(("id" = i64, Path, description = "The client id")),
    responses((status = 200, description = "The client", body = ClientResponse))
)]
#[get("/clients/{id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ClientResponse>, ApiError> {
    authorize(&caller, Action::ManageClients)?;
    let id = id.into_inner();
    let client = db::run(&state.pool, move |conn| db::clients::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("API client {id}")))?;
    Ok(web::Json(client.into()))
}

/// Changes an API client: name, roles, unit, or `active` — `false` revokes it, and its tokens
/// stop working at once (on other instances of the service within `CALLER_CACHE_MS`, 1 s).
/// Clients are never deleted, so the audit trail keeps naming them.
#[utoipa::path(
    tag = "clients",
    params(("id" = i64, Path, description = "The client id")),
    request_body = UpdateClientRequest,
    responses(
        (status = 200, description = "The changed client", body = ClientResponse),
        (status = 409, description = "Another client has this name", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/clients/{id}")]
pub async fn update_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateClientRequest>,
) -> Result<web::Json<ClientResponse>, ApiError> {
    authorize(&caller, Action::ManageClients)?;
    let id = id.into_inner();
    let request = body.0;
    let changes = ClientChanges {
        name: request.name.map(|n| nfc(n.trim())),
        unit_code: request.unit_code.map(|u| u.map(|c| c.trim().to_owned())),
        roles: request.roles,
        active: request.active,
    };
    let mut checks = Checks::new();
    check_fields(
        &mut checks,
        changes.name.as_deref(),
        changes.roles.as_deref(),
    );
    checks.finish()?;
    let actor = caller.actor();
    let client = db::transaction(&state.pool, move |conn| {
        let current = db::clients::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("API client {id}")))?;
        let name = changes.name.as_deref().unwrap_or(&current.name);
        let unit_code = match &changes.unit_code {
            Some(unit) => unit.as_deref(),
            None => current.unit_code.as_deref(),
        };
        check_references(conn, id, name, unit_code)?;
        let client = db::clients::update(conn, &current, &changes)?;
        let action = match (current.active, client.active) {
            (true, false) => "revoke",
            (false, true) => "restore",
            _ => "update",
        };
        db::audit::record_change(
            conn,
            &actor,
            action,
            "api_client",
            &id.to_string(),
            &db::audit::Change {
                detail: audit_detail(&client),
                before: Some(audit_detail(&current)),
                after: Some(audit_detail(&client)),
            },
        )?;
        Ok(client)
    })
    .await?;
    // Revocation and changed roles or unit apply to the client's next request.
    state.callers.forget(&client_token_subject(id));
    Ok(web::Json(client.into()))
}
