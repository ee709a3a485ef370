//! The `Caller` extractor: a handler that takes a `Caller` only runs for a valid token of an
//! active user, an active API client, or a user of a trusted external issuer.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::jwks::TokenIssuer;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::telemetry::RequestId;

/// The prefix of the `sub` claim of a token the service issued to an API client.
pub const CLIENT_SUBJECT_PREFIX: &str = "client:";

/// The `sub` claim of a token the service issues to the local account `id`.
pub fn user_token_subject(id: i64) -> String {
    id.to_string()
}

/// The `sub` claim of a token the service issues to the API client `id`.
pub fn client_token_subject(id: i64) -> String {
    format!("{CLIENT_SUBJECT_PREFIX}{id}")
}

/// Who a caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A local account (`users`).
    User { id: i64, username: String },
    /// An API client (`api_clients`), calling server to server.
    Client { id: i64, name: String },
    /// A user known only to a trusted token issuer (e.g. the portal's single sign-on).
    External {
        issuer: String,
        subject: String,
        name: Option<String>,
    },
}

/// The kind of caller, as `GET /me` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    User,
    Client,
    External,
}

/// The authenticated caller: who, in which unit, with which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: Identity,
    pub unit_code: Option<String>,
    pub roles: Vec<Role>,
    /// The id of the request, for the audit trail.
    pub request_id: Option<String>,
}

impl Caller {
    /// The caller's local account, if it has one (API clients and external users do not).
    pub fn user_id(&self) -> Option<i64> {
        match self.identity {
            Identity::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The caller's stable identity as the audit trail and idempotency keys record it:
    /// `user:<id>`, `client:<id>` or `external:<issuer>#<subject>`.
    pub fn subject(&self) -> String {
        match &self.identity {
            Identity::User { id, .. } => format!("user:{id}"),
            Identity::Client { id, .. } => client_token_subject(*id),
            Identity::External {
                issuer, subject, ..
            } => format!("external:{issuer}#{subject}"),
        }
    }

    pub fn kind(&self) -> CallerKind {
        match self.identity {
            Identity::User { .. } => CallerKind::User,
            Identity::Client { .. } => CallerKind::Client,
            Identity::External { .. } => CallerKind::External,
        }
    }

    /// The caller as the audit trail records it.
    pub fn actor(&self) -> db::audit::Actor {
        db::audit::Actor {
            user_id: self.user_id(),
            subject: Some(self.subject()),
            request_id: self.request_id.clone(),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        Box::pin(async move {
            let state = state
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let token = token?;
            // The (unverified) `iss` only chooses the verifier: a trusted external issuer's
            // keys and algorithms, or else the service's own HS256 key, which refuses any
            // other issuer. Each verifier pins its own algorithms, so no token can be checked
            // with a key of the wrong kind.
            let now = chrono::Utc::now().timestamp();
            let (identity, unit_code, roles) = match state.callers.verified_subject(&token, now) {
                Some(subject) => own_subject(&state, &subject).await?,
                None => match state.issuers.classify(&token, &state.settings.jwt_issuer) {
                    TokenIssuer::Own => own_token(&state, &token).await?,
                    TokenIssuer::Trusted(issuer) => {
                        super::external::authenticate(&state, issuer, &token).await?
                    }
                    TokenIssuer::Unknown(iss) => {
                        return Err(ApiError::Unauthorized(format!(
                            "tokens of the issuer {iss:?} are not accepted"
                        )))
                    }
                },
            };
            let caller = Caller {
                identity,
                unit_code,
                roles,
                request_id,
            };
            let who = match &caller.identity {
                Identity::User { username, .. } => username.clone(),
                _ => caller.subject(),
            };
            tracing::Span::current().record("user", who.as_str());
            Ok(caller)
        })
    }
}

/// Who a token names: identity, unit and roles.
pub type Resolved = (Identity, Option<String>, Vec<Role>);

/// A token the service issued: to a local user (`sub` = user id) or an API client
/// (`sub` = `client:<id>`). The account or client is read again at least every
/// `CALLER_CACHE_MS` (see [`super::cache`]), so deactivation, revocation and role changes take
/// effect then rather than when the token expires.
async fn own_token(state: &AppState, token: &str) -> Result<Resolved, ApiError> {
    let claims = state.tokens.verify(token).map_err(ApiError::Unauthorized)?;
    state.callers.put_verified(token, &claims.sub, claims.exp);
    own_subject(state, &claims.sub).await
}

/// Who the subject of a verified own token is, from the cache or the database.
async fn own_subject(state: &AppState, subject: &str) -> Result<Resolved, ApiError> {
    if let Some(resolved) = state.callers.get(subject) {
        return Ok(resolved);
    }
    let resolved = read_subject(state, subject).await?;
    state.callers.put(subject, resolved.clone());
    Ok(resolved)
}

/// The account or API client a token's subject names, if it is active.
async fn read_subject(state: &AppState, subject: &str) -> Result<Resolved, ApiError> {
    if let Some(id) = subject.strip_prefix(CLIENT_SUBJECT_PREFIX) {
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::Unauthorized("malformed token subject".into()))?;
        let client = db::run(&state.pool, move |conn| db::clients::find(conn, id))
            .await?
            .filter(|c| c.active)
            .ok_or_else(|| ApiError::Unauthorized("the API client is unknown or revoked".into()))?;
        return Ok((
            Identity::Client {
                id: client.id,
                name: client.name,
            },
            client.unit_code,
            client.roles,
        ));
    }
    let user_id: i64 = subject
        .parse()
        .map_err(|_| ApiError::Unauthorized("malformed token subject".into()))?;
    let user = db::run(&state.pool, move |conn| {
        db::users::find_active(conn, user_id)
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("the account is unknown or deactivated".into()))?;
    Ok((
        Identity::User {
            id: user.id,
            username: user.username,
        },
        user.unit_code,
        user.roles,
    ))
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("an Authorization: Bearer token is required".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}
