//! The roles a caller can hold.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A caller's role. `admin` manages users and units and may do everything; `planner` defines
/// plans, indicators and tasks and reviews submissions (Phòng Tổng hợp Quy hoạch); `leader`
/// (Ban Giám đốc, department leadership) reads everything; `officer` (chuyên viên) works on its
/// own unit's data only; `viewer` is a read-only account, e.g. the e-government portal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Planner,
    Leader,
    Officer,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Planner,
        Role::Leader,
        Role::Officer,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Leader => "leader",
            Role::Officer => "officer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Whether a caller holding `roles` must belong to a unit: everyone but an admin does.
pub fn unit_required(roles: &[Role]) -> bool {
    !roles.iter().all(|r| *r == Role::Admin) || roles.is_empty()
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_role() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role)
            );
        }
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn only_admins_may_have_no_unit() {
        assert!(!unit_required(&[Role::Admin]));
        assert!(unit_required(&[Role::Admin, Role::Officer]));
        assert!(unit_required(&[Role::Viewer]));
        assert!(unit_required(&[]));
    }
}
