//! Domain rules that need no database: pure functions and types that cannot hold invalid values.

pub mod role;
pub mod text;
pub mod unit;
pub mod validate;
