//! plan-tracker: a REST API that tracks how provincial development plans are carried out.
//!
//! A request goes: route in `api::<resource>` → `auth::Caller` extractor and
//! `auth::authorize` → pure rules in `domain` → queries in `db::<resource>` → typed response.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod startup;
pub mod synthetic;
pub mod telemetry;
pub mod webhooks;
