//! Every authorization decision of the service, in one function over the caller's roles and
//! unit and the units of the resource.

use crate::db::submissions::Visibility;
use crate::domain::role::Role;
use crate::domain::submission::SubmissionStatus;
use crate::error::ApiError;

use super::Caller;

/// What a caller wants to do, with the units of the resource it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read the shared directory: units and plans.
    ReadDirectory,
    /// Create, change or deactivate user accounts.
    ManageUsers,
    /// Create, change or revoke API clients.
    ManageClients,
    /// Create or change organisational units.
    ManageUnits,
    /// Create, change or delete plans and their indicators, tasks and deadlines.
    ManagePlans,
    /// Report a task's progress (status, percent done, completion date); `lead_unit` is the
    /// unit that leads the task (đơn vị chủ trì).
    UpdateTaskProgress { lead_unit: Option<&'a str> },
    /// See a unit's submission in a given status.
    ReadSubmission {
        unit: &'a str,
        status: SubmissionStatus,
    },
    /// Create, edit or submit a unit's submission.
    EditSubmission { unit: &'a str },
    /// Report a value for an indicator that `responsible_unit` reports.
    ReportIndicator { responsible_unit: Option<&'a str> },
    /// Accept or return a submission to a plan consolidated by `consolidating_unit`.
    ReviewSubmission { consolidating_unit: &'a str },
    /// Turn an accepted submission back to returned.
    ReopenSubmission,
    /// Read the audit trail.
    ReadAudit,
    /// See aggregates that count submitted but not yet accepted values (`basis=submitted`).
    PreviewSubmitted,
    /// See what `unit` owes: its indicators, tasks and reports.
    ReadUnitDashboard { unit: &'a str },
    /// Create, read or delete webhooks and read their delivery logs.
    ManageWebhooks,
}

/// The submissions `caller` may see, in the form a list query filters on; it grants exactly
/// what [`Action::ReadSubmission`] grants (a test holds the two together).
pub fn submission_visibility(caller: &Caller) -> Visibility {
    Visibility {
        own_unit: caller.unit_code.clone(),
        everything: caller.roles.contains(&Role::Admin),
        others_beyond_accepted: [Role::Planner, Role::Leader]
            .iter()
            .any(|r| caller.roles.contains(r)),
    }
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
        Action::ManageClients => (
            has(Role::Admin),
            "managing API clients needs the admin role",
        ),
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
        Action::ReadSubmission { unit, status } => (
            has(Role::Admin)
                || own_unit(Some(unit))
                || status == SubmissionStatus::Accepted
                || ((has(Role::Planner) || has(Role::Leader)) && status != SubmissionStatus::Draft),
            "a unit's submissions are visible to the unit and admins; others see submitted ones \
             with the planner or leader role, and accepted ones with any role",
        ),
        Action::EditSubmission { unit } => (
            has(Role::Admin) || (has(Role::Officer) && own_unit(Some(unit))),
            "a unit's submission is written and submitted by the officers of that unit (or an \
             admin)",
        ),
        Action::ReportIndicator { responsible_unit } => (
            has(Role::Admin) || (has(Role::Officer) && own_unit(responsible_unit)),
            "an officer reports only the indicators its own unit is responsible for",
        ),
        Action::ReviewSubmission { consolidating_unit } => (
            has(Role::Admin) || (has(Role::Planner) && own_unit(Some(consolidating_unit))),
            "accepting or returning a submission needs the planner role in the plan's \
             consolidating unit (or admin)",
        ),
        Action::ReopenSubmission => (
            has(Role::Admin) || has(Role::Planner),
            "reopening an accepted submission needs the planner or admin role",
        ),
        Action::ReadAudit => (
            has(Role::Admin) || has(Role::Planner) || has(Role::Leader),
            "reading the audit trail needs the planner, leader or admin role",
        ),
        Action::PreviewSubmitted => (
            has(Role::Admin) || has(Role::Planner) || has(Role::Leader),
            "counting values not yet accepted (basis=submitted) needs the planner, leader or \
             admin role",
        ),
        Action::ReadUnitDashboard { unit } => (
            has(Role::Admin)
                || has(Role::Planner)
                || has(Role::Leader)
                || (has(Role::Officer) && own_unit(Some(unit))),
            "a unit's dashboard is for its own officers and for planners, leaders and admins",
        ),
        Action::ManageWebhooks => (
            has(Role::Admin),
            "managing webhooks needs the admin role: they send the service's data elsewhere",
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
            identity: super::super::Identity::User {
                id: 1,
                username: "u".into(),
            },
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
            (Admin, ManageClients, true),
            (Planner, ManageClients, false),
            (Leader, ManageClients, false),
            (Officer, ManageClients, false),
            (Viewer, ManageClients, false),
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
            (Admin, ManageWebhooks, true),
            (Planner, ManageWebhooks, false),
            (Leader, ManageWebhooks, false),
            (Officer, ManageWebhooks, false),
            (Viewer, ManageWebhooks, false),
        ];
        let own = UpdateTaskProgress {
            lead_unit: Some("SKHDT-THQH"),
        };
        let other = UpdateTaskProgress {
            lead_unit: Some("SKHDT-DKKD"),
        };
        let unassigned = UpdateTaskProgress { lead_unit: None };
        use SubmissionStatus::*;
        let own_draft = ReadSubmission {
            unit: "SKHDT-THQH",
            status: Draft,
        };
        let other_draft = ReadSubmission {
            unit: "SKHDT-DKKD",
            status: Draft,
        };
        let other_submitted = ReadSubmission {
            unit: "SKHDT-DKKD",
            status: Submitted,
        };
        let other_accepted = ReadSubmission {
            unit: "SKHDT-DKKD",
            status: Accepted,
        };
        let edit_own = EditSubmission { unit: "SKHDT-THQH" };
        let edit_other = EditSubmission { unit: "SKHDT-DKKD" };
        let report_own = ReportIndicator {
            responsible_unit: Some("SKHDT-THQH"),
        };
        let report_other = ReportIndicator {
            responsible_unit: Some("SKHDT-DKKD"),
        };
        let review_own = ReviewSubmission {
            consolidating_unit: "SKHDT-THQH",
        };
        let review_other = ReviewSubmission {
            consolidating_unit: "SKHDT-DKKD",
        };
        let submission_table = [
            (Officer, own_draft, true),
            (Officer, other_draft, false),
            (Officer, other_submitted, false),
            (Officer, other_accepted, true),
            (Viewer, other_submitted, false),
            (Viewer, other_accepted, true),
            (Planner, other_submitted, true),
            (Planner, other_draft, false),
            (Leader, other_submitted, true),
            (Admin, other_draft, true),
            (Officer, edit_own, true),
            (Officer, edit_other, false),
            (Planner, edit_own, false),
            (Admin, edit_other, true),
            (Officer, report_own, true),
            (Officer, report_other, false),
            (Planner, report_own, false),
            (Admin, report_other, true),
            (Planner, review_own, true),
            (Planner, review_other, false),
            (Officer, review_own, false),
            (Admin, review_other, true),
            (Planner, ReopenSubmission, true),
            (Leader, ReopenSubmission, false),
            (Officer, ReopenSubmission, false),
            (Leader, ReadAudit, true),
            (Officer, ReadAudit, false),
            (Viewer, ReadAudit, false),
            (Planner, PreviewSubmitted, true),
            (Leader, PreviewSubmitted, true),
            (Officer, PreviewSubmitted, false),
            (Viewer, PreviewSubmitted, false),
            (Officer, ReadUnitDashboard { unit: "SKHDT-THQH" }, true),
            (Officer, ReadUnitDashboard { unit: "SKHDT-DKKD" }, false),
            (Leader, ReadUnitDashboard { unit: "SKHDT-DKKD" }, true),
            (Viewer, ReadUnitDashboard { unit: "SKHDT-THQH" }, false),
        ];
        let unit_table = [
            (Admin, other, true),
            (Planner, other, true),
            (Leader, own, false),
            (Officer, own, true),
            (Officer, other, false),
            (Officer, unassigned, false),
            (Viewer, own, false),
        ];
        for (role, action, allowed) in table.into_iter().chain(unit_table).chain(submission_table) {
            let decision = authorize(&caller(role, "SKHDT-THQH"), action);
            assert_eq!(decision.is_ok(), allowed, "{role} {action:?}");
            if let Err(ApiError::Forbidden(rule)) = decision {
                assert!(
                    rule.contains("role") || rule.contains("unit"),
                    "the refusal names its rule in terms of roles and units: {rule}"
                );
            }
        }
    }

    #[test]
    fn list_visibility_grants_what_read_submission_grants() {
        use SubmissionStatus::*;
        for role in Role::ALL {
            let caller = caller(role, "SKHDT-DKKD");
            let visibility = submission_visibility(&caller);
            for unit in ["SKHDT-DKKD", "SKHDT-HTDT"] {
                for status in [Draft, Submitted, Returned, Accepted] {
                    // What the list query's SQL condition admits.
                    let listed = visibility.everything
                        || visibility.own_unit.as_deref() == Some(unit)
                        || if visibility.others_beyond_accepted {
                            status != Draft
                        } else {
                            status == Accepted
                        };
                    let readable =
                        authorize(&caller, Action::ReadSubmission { unit, status }).is_ok();
                    assert_eq!(listed, readable, "{role} {unit} {status:?}");
                }
            }
        }
    }

    #[test]
    fn decisions_depend_on_roles_and_unit_not_on_the_kind_of_caller() {
        use super::super::Identity;
        let kinds = [
            Identity::Client {
                id: 7,
                name: "portal".into(),
            },
            Identity::External {
                issuer: "https://sso.example".into(),
                subject: "u-1".into(),
                name: None,
            },
        ];
        let actions = [
            Action::ManageUsers,
            Action::ManageClients,
            Action::ReadAudit,
            Action::EditSubmission { unit: "SKHDT-THQH" },
            Action::EditSubmission { unit: "SKHDT-DKKD" },
        ];
        for role in Role::ALL {
            let user = caller(role, "SKHDT-THQH");
            for identity in &kinds {
                let other = Caller {
                    identity: identity.clone(),
                    ..user.clone()
                };
                for action in actions {
                    assert_eq!(
                        authorize(&user, action).is_ok(),
                        authorize(&other, action).is_ok(),
                        "{role} {action:?} {identity:?}"
                    );
                }
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
