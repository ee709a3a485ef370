//! The one error type of the service and its RFC 9457 `application/problem+json` form.
//!
//! Every failure, whether raised by a handler, an extractor or actix itself, leaves the service
//! as a [`Problem`]. Causes below the HTTP layer are logged with their chain and never sent.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field, as a JSON path into the request (`target.value`, `basis[0].date`) or the name
    /// of a path or query parameter.
    #[schema(example = "period_end_year")]
    pub field: String,
    /// What is wrong with it, in English.
    #[schema(example = "must not be before period_start_year")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem detail, the body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:plan-tracker:problem:validation",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request has 1 invalid field",
    "instance": "/api/v1/plans",
    "request_id": "5f0c6c1e-2b7b-4a53-9d43-61d7c1c0e6a4",
    "errors": [{"field": "period_end_year", "message": "must not be before period_start_year"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:plan-tracker:problem:<kind>`); stable, so clients
    /// can branch on it.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in English.
    pub detail: String,
    /// The request path that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id (`X-Request-Id`) to quote to the IT team; every log line carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Invalid fields, for 400 and 422 answers about the request's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 on a duplicate: the path of the resource that already exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
    /// For failed OAuth 2.0 grants at `POST /api/v1/auth/token` (form-encoded or with HTTP
    /// Basic client credentials): the RFC 6749 §5.2 error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "invalid_client")]
    pub error: Option<OAuthError>,
}

/// The RFC 6749 §5.2 error codes the token endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthError {
    /// A parameter is missing, repeated or malformed (400).
    InvalidRequest,
    /// Unknown client, wrong secret or revoked client (401).
    InvalidClient,
    /// Wrong username or password in the password grant (400).
    InvalidGrant,
    /// A `grant_type` other than `client_credentials` or `password` (400).
    UnsupportedGrantType,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Syntactically broken request: malformed JSON, an unparsable path or query parameter.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Well-formed but invalid content.
    #[error("the request has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed here")]
    MethodNotAllowed {
        method: Method,
        allowed: Vec<Method>,
    },
    #[error("{detail}")]
    Conflict {
        detail: String,
        existing: Option<String>,
    },
    /// If-Match names a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// If-Match is required and missing.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// An OAuth 2.0 grant failed; the problem carries the RFC 6749 error code.
    #[error("{detail}")]
    OAuth { error: OAuthError, detail: String },
    #[error("too many failed attempts; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database is unreachable or busy: worth retrying.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{what} does not exist"))
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            existing: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad-request",
            ApiError::Validation(_) => "validation",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::PreconditionRequired(_) => "precondition-required",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::OAuth { error, .. } => match error {
                OAuthError::InvalidRequest => "invalid-request",
                OAuthError::InvalidClient => "invalid-client",
                OAuthError::InvalidGrant => "invalid-grant",
                OAuthError::UnsupportedGrantType => "unsupported-grant-type",
            },
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem body, without the request-specific `instance` and `request_id` (the request
    /// context middleware adds those).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            ApiError::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("the request has {} invalid fields", many.len()),
            },
            ApiError::Internal(_) => {
                "the service failed to handle this request; the IT team can find the cause in \
                 the log by the request id"
                    .to_owned()
            }
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation(errors) => Some(errors.clone()),
            ApiError::BadRequest { errors, .. } if !errors.is_empty() => Some(errors.clone()),
            _ => None,
        };
        let existing = match self {
            ApiError::Conflict { existing, .. } => existing.clone(),
            _ => None,
        };
        Problem {
            problem_type: format!("urn:plan-tracker:problem:{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            instance: None,
            request_id: None,
            errors,
            existing,
            error: match self {
                ApiError::OAuth { error, .. } => Some(*error),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::OAuth {
                error: OAuthError::InvalidClient,
                ..
            } => StatusCode::UNAUTHORIZED,
            ApiError::OAuth { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "database unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="plan-tracker", error="invalid_token""#,
                ));
            }
            ApiError::OAuth {
                error: OAuthError::InvalidClient,
                ..
            } => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="plan-tracker""#));
            }
            ApiError::MethodNotAllowed { allowed, .. } => {
                let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = response.body(body);
        response.extensions_mut().insert(problem);
        response
    }
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => ApiError::NotFound("the resource does not exist".into()),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    ApiError::conflict("a resource with the same unique key already exists")
                }
                DatabaseErrorKind::ForeignKeyViolation => ApiError::Conflict {
                    detail: "the change would break a reference between resources (a referenced \
                             resource is missing, or others still refer to this one)"
                        .into(),
                    existing: None,
                },
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    ApiError::Validation(vec![FieldError::new(
                        info.column_name().unwrap_or("body"),
                        "violates a database constraint",
                    )])
                }
                DatabaseErrorKind::ClosedConnection => {
                    ApiError::Unavailable("the database connection was lost; retry".into())
                }
                DatabaseErrorKind::SerializationFailure => ApiError::Unavailable(
                    "a concurrent change conflicted with this one; retry".into(),
                ),
                // SQLite reports lock contention as an unclassified error; it is transient.
                _ if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
                {
                    ApiError::Unavailable("the database is busy; retry".into())
                }
                _ => ApiError::Internal(error.into()),
            },
            _ => ApiError::Internal(error.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(%error, "no database connection within the checkout timeout");
        ApiError::Unavailable("the database is not reachable; retry later".into())
    }
}
