//! Black-box tests: each starts the real application on a fresh database and speaks HTTP.

mod helpers;

mod auth;
mod clients;
mod errors;
#[cfg(pg_tests)]
mod faults;
mod health;
mod hostile;
mod imports;
mod indicators;
mod issuers;
mod openapi;
mod plans;
mod processes;
mod progress;
mod submissions;
mod succession;
mod synthetic;
mod tasks;
mod units;
mod users;
mod webhooks;
