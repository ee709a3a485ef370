//! Authentication (tokens, passwords, login throttling) and authorization (the `Caller`
//! extractor and the one permission function).

pub mod cache;
pub mod caller;
pub mod external;
pub mod issuers;
pub mod jwks;
pub mod password;
pub mod permissions;
pub mod throttle;
pub mod token;

pub use caller::{Caller, CallerKind, Identity};
pub use permissions::{authorize, submission_visibility, Action};
