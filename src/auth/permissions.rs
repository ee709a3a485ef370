//! Every authorization decision of the service, in one function over the caller's roles and
//! unit and the units of the resource.

use crate::domain::role::Role;
use crate::error::ApiError;

use super::Caller;

/// What a caller wants to do, with the units of the resource it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read the shared directory: units and plans.
    ReadDirectory,
    /// Create, change or deactivate user accounts.
    ManageUsers,
    /// Create or change organisational units.
    ManageUnits,
    /// Create, change or delete plans and their indicators, tasks and deadlines.
    ManagePlans,
    /// Report a task's progress (status, percent done, completion date); `lead_unit` is the
    /// unit that leads the task (đơn vị chủ trì).
    UpdateTaskProgress { lead_unit: Option<&'a str> },
}

/// `Ok` when `caller` may perform `action`, else 403 with the rule that refused it.
pub fn authorize(caller: &Caller, action: Action<'_>) -> Result<(), ApiError> {
    let has = |role: Role| caller.roles.contains(&role);
    let own_unit = |unit: Option<&str>| unit.is_some() && unit == caller.unit_code.as_deref();
    let (allowed, rule) = match action {
        Action::ReadDirectory => (
            !caller.roles.is_empty(),
            "reading units and plans needs any role",
        ),
        Action::ManageUsers => (has(Role::Admin), "managing users needs the admin role"),
        Action::ManageUnits => (has(Role::Admin), "managing units needs the admin role"),
        Action::ManagePlans => (
            has(Role::Admin) || has(Role::Planner),
            "changing plans needs the planner or admin role",
        ),
        Action::UpdateTaskProgress { lead_unit } => (
            has(Role::Admin) || has(Role::Planner) || (has(Role::Officer) && own_unit(lead_unit)),
            "updating a task's progress needs the planner or admin role, or the officer role in \
             the task's lead unit",
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(rule.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, unit: &str) -> Caller {
        Caller {
            user_id: 1,
            username: "u".into(),
            unit_code: Some(unit.into()),
            roles: vec![role],
            request_id: None,
        }
    }

    /// The whole policy as a table: (role, action, allowed).
    #[test]
    fn permission_table() {
        use Action::*;
        use Role::*;
        let table = [
            (Admin, ReadDirectory, true),
            (Planner, ReadDirectory, true),
            (Leader, ReadDirectory, true),
            (Officer, ReadDirectory, true),
            (Viewer, ReadDirectory, true),
            (Admin, ManageUsers, true),
            (Planner, ManageUsers, false),
            (Leader, ManageUsers, false),
            (Officer, ManageUsers, false),
            (Viewer, ManageUsers, false),
            (Admin, ManageUnits, true),
            (Planner, ManageUnits, false),
            (Leader, ManageUnits, false),
            (Officer, ManageUnits, false),
            (Viewer, ManageUnits, false),
            (Admin, ManagePlans, true),
            (Planner, ManagePlans, true),
            (Leader, ManagePlans, false),
            (Officer, ManagePlans, false),
            (Viewer, ManagePlans, false),
        ];
        let own = UpdateTaskProgress {
            lead_unit: Some("SKHDT-THQH"),
        };
        let other = UpdateTaskProgress {
            lead_unit: Some("SKHDT-DKKD"),
        };
        let unassigned = UpdateTaskProgress { lead_unit: None };
        let unit_table = [
            (Admin, other, true),
            (Planner, other, true),
            (Leader, own, false),
            (Officer, own, true),
            (Officer, other, false),
            (Officer, unassigned, false),
            (Viewer, own, false),
        ];
        for (role, action, allowed) in table.into_iter().chain(unit_table) {
            let decision = authorize(&caller(role, "SKHDT-THQH"), action);
            assert_eq!(decision.is_ok(), allowed, "{role} {action:?}");
            if let Err(ApiError::Forbidden(rule)) = decision {
                assert!(rule.contains("needs"), "the refusal names its rule: {rule}");
            }
        }
    }

    #[test]
    fn caller_without_roles_may_do_nothing() {
        let nobody = Caller {
            roles: vec![],
            ..caller(Role::Viewer, "X")
        };
        assert!(authorize(&nobody, Action::ReadDirectory).is_err());
    }
}
