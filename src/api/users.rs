//! User accounts (admin only).

use actix_web::{get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::caller::user_token_subject;
use crate::auth::{authorize, password, Action, Caller};
use crate::db::{self, users::UserChanges, DbConnection};
use crate::domain::role::Role;
use crate::domain::text::nfc;
use crate::domain::validate::Checks;
use crate::error::ApiError;
use crate::startup::AppState;

/// A user account. Passwords are never returned.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    /// The account's id, as in `/users/{id}` and in the audit trail's `user:<id>`.
    #[schema(example = 3)]
    pub id: i64,
    /// The login name (lower-case); it cannot be changed.
    #[schema(example = "officer.dkkd")]
    pub username: String,
    /// The account holder's full name (họ và tên).
    #[schema(example = "Nguyễn Văn An")]
    pub full_name: String,
    /// The unit (phòng, đơn vị) the user works in; only an admin may have none.
    #[schema(example = "SKHDT-DKKD")]
    pub unit_code: Option<String>,
    /// What the account may do; at least one. Changes apply to the tokens it already holds.
    pub roles: Vec<Role>,
    /// A deactivated account can no longer log in, and its tokens stop working at once (on
    /// other instances of the service within `CALLER_CACHE_MS`, 1 s).
    pub active: bool,
    /// When the account was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the account was last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<db::users::User> for UserResponse {
    fn from(u: db::users::User) -> Self {
        UserResponse {
            id: u.id,
            username: u.username,
            full_name: u.full_name,
            unit_code: u.unit_code,
            roles: u.roles,
            active: u.active,
            created_at: u.created_at.and_utc(),
            updated_at: u.updated_at.and_utc(),
        }
    }
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// 3–64 characters of a–z, 0–9, `.`, `_`, `-`; stored lower-case.
    #[schema(example = "officer.dkkd", min_length = 3, max_length = 64)]
    pub username: String,
    /// At least 10 characters with a letter and a digit, not containing the username.
    #[schema(example = "Dang-ky-kinh-doanh-2025", min_length = 10, max_length = 128, format = Password)]
    pub password: String,
    /// The account holder's full name (họ và tên), at most 200 characters; must not be blank.
    #[schema(example = "Nguyễn Văn An", max_length = 200)]
    pub full_name: String,
    /// Required unless the only role is `admin`.
    #[schema(example = "SKHDT-DKKD")]
    pub unit_code: Option<String>,
    /// At least one role.
    #[schema(min_items = 1)]
    pub roles: Vec<Role>,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// A new full name, at most 200 characters; must not be blank.
    #[schema(max_length = 200)]
    pub full_name: Option<String>,
    /// `null` removes the unit (allowed for admins only).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub unit_code: Option<Option<String>>,
    /// Replaces all the account's roles: at least one, none repeated. An admin cannot drop their
    /// own `admin` role.
    #[schema(min_items = 1)]
    pub roles: Option<Vec<Role>>,
    /// `false` deactivates the account: it can no longer log in and its tokens stop working.
    pub active: Option<bool>,
    /// A new password, under the same strength rule as on creation.
    #[schema(min_length = 10, max_length = 128, format = Password)]
    pub password: Option<String>,
}

/// Filters of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only users of this unit.
    pub unit: Option<String>,
    /// Only users holding this role.
    pub role: Option<Role>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
}

fn check_roles_and_unit(checks: &mut Checks, roles: &[Role], unit_code: Option<&str>) {
    checks.roles("roles", roles);
    checks.check(
        unit_code.is_some() || !crate::domain::role::unit_required(roles),
        "unit_code",
        "is required: every user but an admin belongs to one unit",
    );
}

fn check_unit_exists(conn: &mut DbConnection, unit_code: Option<&str>) -> Result<(), ApiError> {
    match unit_code {
        Some(code) if !db::units::missing(conn, &[code])?.is_empty() => Err(ApiError::invalid(
            "unit_code",
            format!("unit {code} does not exist"),
        )),
        _ => Ok(()),
    }
}

/// Lists user accounts. Sortable by `id`, `username`, `full_name`, `created_at`; `q` searches
/// usernames and full names.
#[utoipa::path(
    tag = "users",
    params(ListParams, UserQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id|username|full_name|created_at)$", description = "Sort field, `-field` for descending: `id`, `username`, `full_name`, `created_at` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of accounts", body = Page<UserResponse>))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<UserQuery>,
) -> Result<web::Json<Page<UserResponse>>, ApiError> {
    authorize(&caller, Action::ManageUsers)?;
    let listing = list.resolve(&["id", "username", "full_name", "created_at"])?;
    let query = query.into_inner();
    let filter = db::users::UserFilter {
        search_key: listing.search_key.clone(),
        unit_code: query.unit,
        role: query.role,
        active: query.active,
    };
    let page = listing.page.clone();
    let (users, total) = db::run(&state.pool, move |conn| {
        db::users::list(conn, &filter, &page)
    })
    .await?;
    Ok(web::Json(Page::of(users, total, &listing.page)))
}

/// Creates an account. The password is stored as an Argon2id hash only.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse,
            headers(("Location" = String, description = "The new account's path"))),
        (status = 409, description = "The username is taken", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageUsers)?;
    let request = body.0;
    let username = request.username.trim().to_lowercase();
    let full_name = nfc(&request.full_name);
    let unit_code = request.unit_code.map(|u| u.trim().to_owned());
    let mut checks = Checks::new();
    checks
        .check(
            (3..=64).contains(&username.len())
                && username
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)),
            "username",
            "must be 3–64 characters of a–z, 0–9, '.', '_' or '-'",
        )
        .text("full_name", &full_name, 200);
    if let Some(weakness) = password::weakness(&request.password, &username) {
        checks.check(false, "password", weakness);
    }
    check_roles_and_unit(&mut checks, &request.roles, unit_code.as_deref());
    checks.finish()?;
    let password_hash = password::hash_off_thread(request.password).await?;
    let new = db::users::NewUser {
        username,
        password_hash,
        full_name,
        unit_code,
        roles: request.roles,
    };
    let actor = caller.actor();
    let user = db::transaction(&state.pool, move |conn| {
        check_unit_exists(conn, new.unit_code.as_deref())?;
        if db::users::find_for_login(conn, &new.username)?.is_some() {
            return Err(ApiError::conflict(format!(
                "the username {} is taken",
                new.username
            )));
        }
        let user = db::users::insert(conn, &new)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "user",
            &user.id.to_string(),
            serde_json::json!({"username": user.username, "unit_code": user.unit_code,
                "roles": user.roles}),
        )?;
        Ok(user)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .json(UserResponse::from(user)))
}

/// One account.
#[utoipa::path(
    tag = "users",
    params(("id" = i64, Path, description = "The user id")),
    responses((status = 200, description = "The account", body = UserResponse))
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<UserResponse>, ApiError> {
    authorize(&caller, Action::ManageUsers)?;
    let id = id.into_inner();
    let user = db::run(&state.pool, move |conn| db::users::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    Ok(web::Json(user.into()))
}

/// Changes an account: roles, unit, active flag, password. An admin cannot deactivate
/// themself or drop their own admin role, so the service always keeps an administrator.
#[utoipa::path(
    tag = "users",
    params(("id" = i64, Path, description = "The user id")),
    request_body = UpdateUserRequest,
    responses((status = 200, description = "The changed account", body = UserResponse))
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateUserRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    authorize(&caller, Action::ManageUsers)?;
    let id = id.into_inner();
    let request = body.0;
    let password = request.password;
    let password_hash = match password.clone() {
        Some(p) => Some(password::hash_off_thread(p).await?),
        None => None,
    };
    let changes = UserChanges {
        full_name: request.full_name.map(|n| nfc(&n)),
        unit_code: request.unit_code.map(|u| u.map(|c| c.trim().to_owned())),
        roles: request.roles,
        active: request.active,
        password_hash,
    };
    let actor = caller.actor();
    let caller_id = caller.user_id();
    let user = db::transaction(&state.pool, move |conn| {
        let current =
            db::users::find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
        let roles = changes.roles.clone().unwrap_or(current.roles.clone());
        let unit_code = changes
            .unit_code
            .clone()
            .unwrap_or(current.unit_code.clone());
        let mut checks = Checks::new();
        if let Some(name) = &changes.full_name {
            checks.text("full_name", name, 200);
        }
        if let Some(p) = &password {
            if let Some(weakness) = password::weakness(p, &current.username) {
                checks.check(false, "password", weakness);
            }
        }
        check_roles_and_unit(&mut checks, &roles, unit_code.as_deref());
        if Some(id) == caller_id {
            checks.check(
                changes.active != Some(false),
                "active",
                "you cannot deactivate yourself",
            );
            checks.check(
                roles.contains(&Role::Admin),
                "roles",
                "you cannot remove your own admin role",
            );
        }
        checks.finish()?;
        check_unit_exists(conn, unit_code.as_deref())?;
        let user = db::users::update(conn, id, &changes)?;
        db::audit::record(
            conn,
            &actor,
            "update",
            "user",
            &id.to_string(),
            serde_json::json!({"unit_code": user.unit_code, "roles": user.roles,
                "active": user.active, "password_changed": changes.password_hash.is_some()}),
        )?;
        Ok(user)
    })
    .await?;
    // Deactivation and changed roles or unit apply to the account's next request.
    state.callers.forget(&user_token_subject(id));
    Ok(web::Json(user.into()))
}
