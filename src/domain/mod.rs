//! Domain rules that need no database: pure functions and types that cannot hold invalid values.

pub mod appendix;
pub mod deadline;
pub mod period;
pub mod progress;
pub mod role;
pub mod submission;
pub mod succession;
pub mod text;
pub mod timeliness;
pub mod unit;
pub mod validate;
pub mod webhook;
