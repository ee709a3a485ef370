//! Webhook delivery in the background: the worker that sends due deliveries, and the scan
//! that raises overdue events. The routes are in `api::webhooks`, the tables in
//! `db::webhooks` and `db::outbox`, the pure rules in `domain::webhook`.

pub mod overdue;
pub mod worker;
