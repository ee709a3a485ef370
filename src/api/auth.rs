//! Logging in (a local account's password, or an API client's OAuth 2.0 client credentials)
//! and asking who one is.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use actix_web::{
    dev::Payload, get, http::header, post, web, FromRequest, HttpMessage, HttpRequest,
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{max_body_bytes, parse_json, payload_error};
use crate::auth::caller::{client_token_subject, user_token_subject};
use crate::auth::{password, Caller, CallerKind, Identity};
use crate::db::{self, DbConnection};
use crate::domain::role::Role;
use crate::error::{ApiError, OAuthError};
use crate::startup::AppState;

/// Credentials of a local account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The account's user name (case-insensitive).
    #[schema(example = "officer.dkkd", max_length = 64)]
    pub username: String,
    /// The account's password. A wrong password and an unknown user name get the same 401.
    #[schema(example = "Demo-officer-2025", max_length = 128, format = Password)]
    pub password: String,
}

/// An OAuth 2.0 token request (RFC 6749 §4.4 client credentials, or §4.3 password),
/// form-encoded. The client's id and secret may come in the form or, as RFC 6749 §2.3.1
/// prefers, in an `Authorization: Basic` header (not both). Unknown parameters are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "client_id": "3",
    "client_secret": "kQ3v…"}))]
pub struct TokenForm {
    /// `client_credentials` (an API client) or `password` (a local account).
    #[schema(example = "client_credentials")]
    pub grant_type: Option<String>,
    /// The API client's id (`id` of `/api/v1/clients`).
    #[schema(example = "3")]
    pub client_id: Option<String>,
    /// The secret shown once when the client was created.
    #[schema(format = Password)]
    pub client_secret: Option<String>,
    /// For `grant_type=password`.
    pub username: Option<String>,
    /// For `grant_type=password`.
    #[schema(format = Password)]
    pub password: Option<String>,
    /// Accepted and ignored: a client's token carries the roles the admin gave the client.
    pub scope: Option<String>,
}

/// The body of a token request, by its content type.
#[derive(Debug)]
pub enum TokenBody {
    Json(TokenRequest),
    Form(TokenForm),
}

impl FromRequest for TokenBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mime = req.mime_type().ok().flatten();
        let is_json = mime
            .as_ref()
            .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
        let is_form = mime
            .as_ref()
            .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded");
        let limit = max_body_bytes(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json && !is_form {
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be JSON (application/json) or an OAuth 2.0 form \
                     (application/x-www-form-urlencoded)"
                        .into(),
                ));
            }
            let bytes = body.await.map_err(|e| payload_error(&e, limit))?;
            if is_json {
                return parse_json(&bytes).map(TokenBody::Json);
            }
            serde_urlencoded::from_bytes(&bytes)
                .map(TokenBody::Form)
                .map_err(|e| oauth(OAuthError::InvalidRequest, format!("malformed form: {e}")))
        })
    }
}

/// A bearer token for the `Authorization` header.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT (HS256) with the claims `sub` (a user id, or `client:<id>` for an API
    /// client), `unit`, `roles`, `iat`, `exp`, `iss`, `aud`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: i64,
}

fn oauth(error: OAuthError, detail: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        error,
        detail: detail.into(),
    }
}

/// Exchanges credentials for an access token:
///
/// - `application/json` `{username, password}`: a local account. Unknown users and wrong
///   passwords get the same 401.
/// - `application/x-www-form-urlencoded` (OAuth 2.0): `grant_type=client_credentials` with
///   `client_id` and `client_secret` in the form or in an `Authorization: Basic` header, for an
///   API client; or `grant_type=password` with `username` and `password`. Failures are
///   problem+json with the RFC 6749 code in `error`: `invalid_client` (401, unknown client,
///   wrong secret or revoked), `invalid_grant` (400, wrong username or password),
///   `invalid_request`, `unsupported_grant_type` (400).
///
/// After `LOGIN_MAX_FAILURES` failed attempts for one username or client within
/// `LOGIN_LOCKOUT_SECS`, further attempts get 429 with `Retry-After` until the window ends.
#[utoipa::path(
    tag = "auth",
    request_body(description = "A local account's credentials (JSON), or an OAuth 2.0 token request (form)",
        content(
            (TokenRequest = "application/json"),
            (TokenForm = "application/x-www-form-urlencoded")
        )),
    // No credentials at all (JSON, or the client's id and secret in the form), or the client's
    // id and secret as HTTP Basic (RFC 6749 §2.3.1).
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "OAuth 2.0 form: a missing or repeated parameter (`error`: `invalid_request`), an unknown grant type (`unsupported_grant_type`), or a wrong username or password in the password grant (`invalid_grant`); or a malformed JSON body", body = crate::error::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:plan-tracker:problem:unsupported-grant-type", "title": "Bad Request", "status": 400,
                "detail": "grant_type must be client_credentials or password", "instance": "/api/v1/auth/token",
                "error": "unsupported_grant_type"})),
        (status = 401, description = "JSON: wrong username or password. OAuth 2.0 form: unknown client, wrong secret or revoked client (`error`: `invalid_client`, with `WWW-Authenticate: Basic`)", body = crate::error::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:plan-tracker:problem:invalid-client", "title": "Unauthorized", "status": 401,
                "detail": "unknown client, wrong secret, or the client is revoked", "instance": "/api/v1/auth/token",
                "error": "invalid_client"})),
        (status = 415, description = "The body is neither JSON nor form-encoded", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this username or client", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: TokenBody,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let form = match body {
        TokenBody::Json(TokenRequest { username, password }) => {
            return password_grant(&state, username, password)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("wrong username or password".into()))
                .map(web::Json);
        }
        TokenBody::Form(form) => form,
    };
    let token = match form.grant_type.as_deref() {
        Some("client_credentials") => {
            let (id, secret) = client_credentials(&req, form.client_id, form.client_secret)?;
            client_grant(&state, &id, secret).await?.ok_or_else(|| {
                oauth(
                    OAuthError::InvalidClient,
                    "unknown client, wrong secret, or the client is revoked",
                )
            })?
        }
        Some("password") => {
            let (Some(username), Some(password)) = (form.username, form.password) else {
                return Err(oauth(
                    OAuthError::InvalidRequest,
                    "the password grant needs username and password",
                ));
            };
            password_grant(&state, username, password)
                .await?
                .ok_or_else(|| oauth(OAuthError::InvalidGrant, "wrong username or password"))?
        }
        None => return Err(oauth(OAuthError::InvalidRequest, "grant_type is required")),
        Some(_) => {
            return Err(oauth(
                OAuthError::UnsupportedGrantType,
                "grant_type must be client_credentials or password",
            ))
        }
    };
    Ok(web::Json(token))
}

/// The client id and secret, from the form or an `Authorization: Basic` header (whose parts
/// are form-encoded before base64, RFC 6749 §2.3.1).
fn client_credentials(
    req: &HttpRequest,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<(String, String), ApiError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(parse_basic(value.as_bytes()).ok_or_else(|| {
            oauth(
                OAuthError::InvalidClient,
                "the Authorization header must be `Basic base64(client_id:client_secret)`",
            )
        })?),
    };
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => Err(oauth(
            OAuthError::InvalidRequest,
            "send the client credentials in the Authorization header or in the form, not both",
        )),
        (Some((id, secret)), form_id, None) if form_id.as_ref().is_none_or(|f| *f == id) => {
            Ok((id, secret))
        }
        (Some(_), Some(_), None) => Err(oauth(
            OAuthError::InvalidRequest,
            "client_id differs from the client in the Authorization header",
        )),
        (None, Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(oauth(
            OAuthError::InvalidRequest,
            "the client_credentials grant needs client_id and client_secret",
        )),
    }
}

fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Checks a secret against the stored hash of what `lookup` finds, under the login throttle
/// for `throttle_key`; `None` for wrong credentials (an unknown name, an unusable account and
/// a wrong secret look the same and take as long).
async fn check_secret<T: Send + 'static>(
    state: &AppState,
    throttle_key: String,
    secret: String,
    lookup: impl FnOnce(&mut DbConnection) -> Result<Option<(T, String)>, ApiError> + Send + 'static,
    usable: fn(&T) -> bool,
) -> Result<Option<T>, ApiError> {
    state
        .throttle
        .begin(&throttle_key, Instant::now())
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let found = match db::run(&state.pool, lookup).await {
        Ok(found) => found,
        Err(e) => {
            // A database failure is not the caller's failed attempt.
            state.throttle.finish(&throttle_key, true);
            return Err(e);
        }
    };
    let (found, hash) = match found {
        Some((found, hash)) if usable(&found) => (Some(found), hash),
        _ => (None, password::decoy_hash().to_owned()),
    };
    let verified = web::block(move || password::verify(&secret, &hash))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("secret check failed: {e}")))?;
    match found {
        Some(found) if verified => {
            state.throttle.finish(&throttle_key, true);
            Ok(Some(found))
        }
        _ => {
            state.throttle.finish(&throttle_key, false);
            tracing::info!(who = %throttle_key, "login failed");
            Ok(None)
        }
    }
}

fn token_response(
    state: &AppState,
    subject: String,
    unit: Option<String>,
    roles: Vec<Role>,
) -> Result<TokenResponse, ApiError> {
    Ok(TokenResponse {
        access_token: state
            .tokens
            .issue(subject, unit, roles)
            .map_err(ApiError::Internal)?,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
    })
}

/// A token for a local account, or `None` for a wrong username or password.
async fn password_grant(
    state: &AppState,
    username: String,
    password: String,
) -> Result<Option<TokenResponse>, ApiError> {
    let username = username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || password.len() > password::MAX_LENGTH * 4 {
        return Ok(None);
    }
    let lookup = username.clone();
    let user = check_secret(
        state,
        username,
        password,
        move |conn| db::users::find_for_login(conn, &lookup),
        |user| user.active,
    )
    .await?;
    user.map(|u| token_response(state, user_token_subject(u.id), u.unit_code, u.roles))
        .transpose()
}

/// A token for an API client, or `None` for an unknown client, a wrong secret or a revoked
/// client. Failures are throttled per client id like failed logins per username.
async fn client_grant(
    state: &AppState,
    client_id: &str,
    secret: String,
) -> Result<Option<TokenResponse>, ApiError> {
    let Some(id) = client_id.trim().parse::<i64>().ok().filter(|id| *id > 0) else {
        return Ok(None);
    };
    if secret.len() > password::MAX_LENGTH * 4 {
        return Ok(None);
    }
    let client = check_secret(
        state,
        client_token_subject(id),
        secret,
        move |conn| db::clients::find_for_grant(conn, id),
        |client| client.active,
    )
    .await?;
    client
        .map(|c| token_response(state, client_token_subject(c.id), c.unit_code, c.roles))
        .transpose()
}

/// Who the caller is: a local account, an API client, or a user known only to a trusted
/// token issuer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub kind: CallerKind,
    /// The caller's identity as the audit trail records it (`actor_subject`): `user:<id>`,
    /// `client:<id>` or `external:<issuer>#<subject>`.
    #[schema(example = "user:3")]
    pub subject: String,
    /// The local account's id; `null` for API clients and external users.
    #[schema(example = 3)]
    pub id: Option<i64>,
    /// The account's user name, the client's name, or the external user's subject.
    #[schema(example = "officer.dkkd")]
    pub username: String,
    /// The account's full name, or the name the external issuer gives; `null` for clients.
    #[schema(example = "Nguyễn Văn An")]
    pub full_name: Option<String>,
    /// The unit the caller acts for.
    #[schema(example = "SKHDT-DKKD")]
    pub unit_code: Option<String>,
    /// The roles the caller acts with: the account's or client's roles as stored, or those
    /// mapped from an external token's claims.
    pub roles: Vec<Role>,
    /// The API client's id, for `kind = client`.
    pub client_id: Option<i64>,
    /// The token's issuer, for `kind = external`.
    #[schema(example = "https://sso.dongthap.gov.vn")]
    pub issuer: Option<String>,
}

/// The authenticated caller: who the token speaks for, its unit and roles.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The caller", body = MeResponse))
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<MeResponse>, ApiError> {
    let mut me = MeResponse {
        kind: caller.kind(),
        subject: caller.subject(),
        id: caller.user_id(),
        username: String::new(),
        full_name: None,
        unit_code: caller.unit_code.clone(),
        roles: caller.roles.clone(),
        client_id: None,
        issuer: None,
    };
    match caller.identity {
        Identity::User { id, username } => {
            let user = db::run(&state.pool, move |conn| db::users::find(conn, id))
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized("the account is unknown or deactivated".into())
                })?;
            me.username = username;
            me.full_name = Some(user.full_name);
        }
        Identity::Client { id, name } => {
            me.username = name;
            me.client_id = Some(id);
        }
        Identity::External {
            issuer,
            subject,
            name,
        } => {
            me.username = subject;
            me.full_name = name;
            me.issuer = Some(issuer);
        }
    }
    Ok(web::Json(me))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_base64_of_form_encoded_parts() {
        let engine = base64::engine::general_purpose::STANDARD;
        let header = format!("Basic {}", engine.encode("3:a%2Bb+c:d"));
        assert_eq!(
            parse_basic(header.as_bytes()),
            Some(("3".into(), "a+b c:d".into()))
        );
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        let no_colon = format!("basic {}", engine.encode("3"));
        assert_eq!(parse_basic(no_colon.as_bytes()), None);
    }
}
