//! The HTTP API: one module per resource, each with its handlers, wire types and OpenAPI
//! documentation. `configure` registers every route together with its documentation, so an
//! undocumented route cannot exist.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod extract;
pub mod health;
pub mod imports;
pub mod indicators;
pub mod pagination;
pub mod plans;
pub mod progress;
pub mod reports;
pub mod schedules;
pub mod strict;
pub mod submissions;
pub mod succession;
pub mod tasks;
pub mod units;
pub mod users;
pub mod webhooks;

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::guard;
use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Where the API's routes live.
const PREFIX: &str = "/api/v1";

/// Registers every route of the service.
///
/// The routes of a collection with path parameters (`/indicators/{id}`, …) sit in a scope of
/// their own, entered only by requests under that collection: actix tries routes in the order
/// they were registered and matches each route with a parameter by a regular expression whose
/// captures it allocates, so in one flat list `GET /indicators/{id}` ran some thirty of them
/// (14 % of the service's user time for that request; bench/RESULTS.md, round 8). The
/// scopes add no path segment: each handler's own attribute keeps its full path.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            scope::scope(PREFIX)
                .service(auth::create_token)
                .service(auth::get_me)
                .service(audit::list_audit)
                .service(progress::get_dashboard)
                .service(
                    collection("users")
                        .service(users::list_users)
                        .service(users::create_user)
                        .service(users::get_user)
                        .service(users::update_user),
                )
                .service(
                    collection("clients")
                        .service(clients::list_clients)
                        .service(clients::create_client)
                        .service(clients::get_client)
                        .service(clients::update_client),
                )
                .service(
                    collection("units")
                        .service(units::list_units)
                        .service(units::create_unit)
                        .service(units::get_unit)
                        .service(units::update_unit)
                        .service(succession::record_succession)
                        .service(progress::get_unit_dashboard),
                )
                .service(
                    collection("plans")
                        .service(plans::list_plans)
                        .service(plans::create_plan)
                        .service(plans::get_plan)
                        .service(plans::update_plan)
                        .service(plans::delete_plan)
                        .service(imports::import_plan_tables)
                        .service(schedules::get_schedules)
                        .service(schedules::put_schedules)
                        .service(submissions::create_submission)
                        .service(progress::get_plan_progress)
                        .service(progress::get_compliance)
                        .service(reports::get_report)
                        .service(indicators::list_indicators)
                        .service(indicators::create_indicator)
                        .service(tasks::list_tasks)
                        .service(tasks::create_task),
                )
                .service(
                    collection("submissions")
                        .service(submissions::list_submissions)
                        .service(submissions::get_submission)
                        .service(submissions::update_submission)
                        .service(submissions::submit_submission)
                        .service(submissions::accept_submission)
                        .service(submissions::return_submission)
                        .service(submissions::reopen_submission)
                        .service(submissions::list_submission_versions)
                        .service(audit::submission_history),
                )
                .service(
                    collection("indicators")
                        .service(indicators::get_indicator)
                        .service(indicators::update_indicator)
                        .service(indicators::delete_indicator)
                        .service(progress::get_indicator_series),
                )
                .service(
                    collection("tasks")
                        .service(tasks::get_task)
                        .service(tasks::update_task)
                        .service(tasks::delete_task)
                        .service(tasks::create_extension)
                        .service(tasks::list_extensions),
                )
                .service(
                    collection("webhooks")
                        .service(webhooks::list_webhooks)
                        .service(webhooks::create_webhook)
                        .service(webhooks::get_webhook)
                        .service(webhooks::delete_webhook)
                        .service(webhooks::list_deliveries),
                ),
        );
}

/// A scope that adds no path segment and admits only requests under `/api/v1/{name}`.
fn collection(
    name: &'static str,
) -> scope::Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    scope::scope("").guard(guard::fn_guard(move |ctx| {
        first_segment(ctx.head().uri.path()) == Some(name)
    }))
}

/// The path segment that follows the API prefix: `indicators` in `/api/v1/indicators/7`.
fn first_segment(path: &str) -> Option<&str> {
    path.strip_prefix(PREFIX)?
        .strip_prefix('/')?
        .split('/')
        .next()
}

#[cfg(test)]
mod tests {
    use super::first_segment;

    #[test]
    fn the_first_segment_follows_the_prefix() {
        for (path, segment) in [
            ("/api/v1/indicators/7", Some("indicators")),
            ("/api/v1/indicators", Some("indicators")),
            ("/api/v1/indicators/", Some("indicators")),
            ("/api/v1/plans/1/progress", Some("plans")),
            ("/api/v1/", Some("")),
            ("/api/v1", None),
            ("/api/v10/plans", None),
            ("/healthz", None),
        ] {
            assert_eq!(first_segment(path), segment, "{path}");
        }
    }
}
