//! Logging in and asking who one is.

use std::time::Instant;

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::users::UserResponse;
use crate::auth::{password, Caller};
use crate::db;
use crate::error::ApiError;
use crate::startup::AppState;

/// Credentials of a local account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The account's user name (case-insensitive).
    #[schema(example = "officer.dkkd", max_length = 64)]
    pub username: String,
    #[schema(example = "Demo-officer-2025", max_length = 128, format = Password)]
    pub password: String,
}

/// A bearer token for the `Authorization` header.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT (HS256) with the claims `sub`, `unit`, `roles`, `iat`, `exp`, `iss`, `aud`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: i64,
}

/// Exchanges a username and password for an access token. Unknown users and wrong passwords
/// get the same 401. After `LOGIN_MAX_FAILURES` failed attempts for one username within
/// `LOGIN_LOCKOUT_SECS`, further attempts get 429 with `Retry-After` until the window ends.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this username", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    body: ApiJson<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let TokenRequest { username, password } = body.0;
    let username = username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || password.len() > password::MAX_LENGTH * 4 {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    }
    state
        .throttle
        .begin(&username, Instant::now())
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let lookup = username.clone();
    let found = db::run(&state.pool, move |conn| {
        db::users::find_for_login(conn, &lookup)
    })
    .await;
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            // A database failure is not the caller's failed attempt.
            state.throttle.finish(&username, true);
            return Err(e);
        }
    };
    let (user, hash) = match found {
        Some((user, hash)) if user.active => (Some(user), hash),
        _ => (None, password::decoy_hash().to_owned()),
    };
    let verified = web::block(move || password::verify(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check failed: {e}")))?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            state.throttle.finish(&username, false);
            tracing::info!(%username, "login failed");
            return Err(ApiError::Unauthorized("wrong username or password".into()));
        }
    };
    state.throttle.finish(&username, true);
    let token = state
        .tokens
        .issue(user.id, user.unit_code.clone(), user.roles.clone())
        .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
    }))
}

/// The authenticated caller's own account: who the token speaks for, its unit and roles.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The caller's account", body = UserResponse))
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<UserResponse>, ApiError> {
    let id = caller.user_id;
    let user = db::run(&state.pool, move |conn| db::users::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the account is unknown or deactivated".into()))?;
    Ok(web::Json(user.into()))
}
