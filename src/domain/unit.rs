//! Organisational unit kinds.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `internal`: a unit of the department that runs the service (its phòng, trung tâm), whose
/// staff may log in; `external`: another agency a plan names (UBND Tỉnh, Sở Tài chính …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Internal,
    External,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Internal => "internal",
            UnitKind::External => "external",
        }
    }

    pub fn parse(text: &str) -> Option<UnitKind> {
        match text {
            "internal" => Some(UnitKind::Internal),
            "external" => Some(UnitKind::External),
            _ => None,
        }
    }
}
