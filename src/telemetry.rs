//! Logging set-up and the request context middleware: a request id for every request, one
//! log line per request, and the request-specific members of problem responses.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::{Problem, PROBLEM_JSON};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Accepts a sane incoming `X-Request-Id` (so a portal can trace its own calls) or makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let path = req.path().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %path,
        user = tracing::field::Empty,
    );
    let started = Instant::now();
    // Handlers' and extractors' errors arrive here as responses already; an `Err` can only
    // come from a middleware further in, and actix renders it.
    let response = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let mut response = with_problem_context(response, &path, &id);
    response.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid")),
    );
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, latency_ms, "request finished"));
    Ok(response)
}

/// Rewrites a problem body with this request's `instance` and `request_id`.
fn with_problem_context(
    response: ServiceResponse<BoxBody>,
    path: &str,
    id: &str,
) -> ServiceResponse<BoxBody> {
    let problem = response.response().extensions().get::<Problem>().cloned();
    let Some(mut problem) = problem else {
        return response;
    };
    problem.instance = Some(path.to_owned());
    problem.request_id = Some(id.to_owned());
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = response.map_body(|_, _| BoxBody::new(body));
    response.headers_mut().insert(
        actix_web::http::header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_JSON),
    );
    response
}
