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

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Registers every route of the service.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            scope::scope("/api/v1")
                .service(auth::create_token)
                .service(auth::get_me)
                .service(users::list_users)
                .service(users::create_user)
                .service(users::get_user)
                .service(users::update_user)
                .service(clients::list_clients)
                .service(clients::create_client)
                .service(clients::get_client)
                .service(clients::update_client)
                .service(units::list_units)
                .service(units::create_unit)
                .service(units::get_unit)
                .service(units::update_unit)
                .service(succession::record_succession)
                .service(plans::list_plans)
                .service(plans::create_plan)
                .service(plans::get_plan)
                .service(plans::update_plan)
                .service(plans::delete_plan)
                .service(imports::import_plan_tables)
                .service(schedules::get_schedules)
                .service(schedules::put_schedules)
                .service(submissions::list_submissions)
                .service(submissions::create_submission)
                .service(submissions::get_submission)
                .service(submissions::update_submission)
                .service(submissions::submit_submission)
                .service(submissions::accept_submission)
                .service(submissions::return_submission)
                .service(submissions::reopen_submission)
                .service(submissions::list_submission_versions)
                .service(audit::submission_history)
                .service(audit::list_audit)
                .service(progress::get_plan_progress)
                .service(progress::get_indicator_series)
                .service(progress::get_compliance)
                .service(progress::get_unit_dashboard)
                .service(progress::get_dashboard)
                .service(reports::get_report)
                .service(indicators::list_indicators)
                .service(indicators::create_indicator)
                .service(indicators::get_indicator)
                .service(indicators::update_indicator)
                .service(indicators::delete_indicator)
                .service(tasks::list_tasks)
                .service(tasks::create_task)
                .service(tasks::get_task)
                .service(tasks::update_task)
                .service(tasks::delete_task)
                .service(tasks::create_extension)
                .service(tasks::list_extensions)
                .service(webhooks::list_webhooks)
                .service(webhooks::create_webhook)
                .service(webhooks::get_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::list_deliveries),
        );
}
