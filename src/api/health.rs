//! Liveness and readiness probes for the orchestrator.

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::error::ApiError;
use crate::startup::AppState;

/// The answer of a liveness (`/healthz`) or readiness (`/readyz`) probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` (alive) or `ready` (alive and the database answers).
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The database backend, on readiness answers: `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sqlite")]
    pub database: Option<&'static str>,
}

/// Liveness: the process is up. Touches no database, so a database outage never gets the
/// service restarted.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthResponse))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers a query within the pool's checkout timeout
/// (`DB_TIMEOUT_SECS`). Answers 503 problem+json while it does not.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve requests", body = HealthResponse),
        (status = 503, description = "The database is unreachable", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    db::run(&state.pool, |conn| {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ApiError::Unavailable(format!("the database does not answer: {e}")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(HealthResponse {
        status: "ready",
        database: Some(state.settings.database_url.backend_name()),
    }))
}
