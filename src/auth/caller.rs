//! The `Caller` extractor: a handler that takes a `Caller` only runs for a valid token of an
//! active user.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};

use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::telemetry::RequestId;

/// The authenticated caller: who, in which unit, with which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub unit_code: Option<String>,
    pub roles: Vec<Role>,
    /// The id of the request, for the audit trail.
    pub request_id: Option<String>,
}

impl Caller {
    /// The caller as the audit trail records it.
    pub fn actor(&self) -> db::audit::Actor {
        db::audit::Actor {
            user_id: Some(self.user_id),
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
            let claims = state
                .tokens
                .verify(&token)
                .map_err(ApiError::Unauthorized)?;
            let user_id: i64 = claims
                .sub
                .parse()
                .map_err(|_| ApiError::Unauthorized("malformed token subject".into()))?;
            // The account is read on every request, so deactivation and role changes take
            // effect at once rather than when the token expires.
            let user = db::run(&state.pool, move |conn| {
                db::users::find_active(conn, user_id)
            })
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the account is unknown or deactivated".into())
            })?;
            tracing::Span::current().record("user", user.username.as_str());
            Ok(Caller {
                user_id: user.id,
                username: user.username,
                unit_code: user.unit_code,
                roles: user.roles,
                request_id,
            })
        })
    }
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
