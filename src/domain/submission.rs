//! The rules of a unit's report (báo cáo): its review workflow, its timeliness against the
//! reporting deadline, and which values it may carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::appendix::{Aggregation, TargetKind};
use super::period::{deadline_instant, DeadlineRule, PeriodCode, PeriodType};

/// Where a submission is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Being written by the unit (dự thảo); only the unit sees it.
    Draft,
    /// Sent to the consolidating unit for review (đã gửi).
    Submitted,
    /// Sent back with a reason (trả lại); the unit edits and submits again.
    Returned,
    /// Accepted by the consolidating unit (đã tiếp nhận); its values count.
    Accepted,
}

/// A step of the review workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Submit,
    Accept,
    Return,
    Reopen,
}

impl Transition {
    pub const ALL: [Transition; 4] = [
        Transition::Submit,
        Transition::Accept,
        Transition::Return,
        Transition::Reopen,
    ];
}

/// The status `transition` leads to from `from`, if the workflow allows it:
/// draft/returned → submit → submitted → accept → accepted, or → return → returned;
/// accepted → reopen → returned.
pub fn next_status(from: SubmissionStatus, transition: Transition) -> Option<SubmissionStatus> {
    use SubmissionStatus::*;
    use Transition::*;
    match (from, transition) {
        (Draft | Returned, Submit) => Some(Submitted),
        (Submitted, Accept) => Some(Accepted),
        (Submitted, Return) => Some(Returned),
        (Accepted, Reopen) => Some(Returned),
        _ => None,
    }
}

/// The transitions allowed from `from`.
pub fn allowed_transitions(from: SubmissionStatus) -> Vec<Transition> {
    Transition::ALL
        .into_iter()
        .filter(|t| next_status(from, *t).is_some())
        .collect()
}

/// Whether the unit may still change the content.
pub fn is_editable(status: SubmissionStatus) -> bool {
    matches!(status, SubmissionStatus::Draft | SubmissionStatus::Returned)
}

/// A submission's standing against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionTimeliness {
    /// First submitted before the deadline (or there is no deadline).
    OnTime,
    /// First submitted at or after the deadline, or still not submitted after it.
    Late,
    /// Not submitted yet, and the deadline has not passed.
    NotSubmitted,
}

/// Judged by the *first* submission: a report returned for corrections and submitted again
/// after the deadline was still delivered on time. `deadline` is the exclusive cut-off.
pub fn timeliness(
    first_submitted_at: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SubmissionTimeliness {
    match (first_submitted_at, deadline) {
        (Some(at), Some(cutoff)) if at >= cutoff => SubmissionTimeliness::Late,
        (Some(_), _) => SubmissionTimeliness::OnTime,
        (None, Some(cutoff)) if now >= cutoff => SubmissionTimeliness::Late,
        (None, _) => SubmissionTimeliness::NotSubmitted,
    }
}

/// One reporting schedule of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub period_type: PeriodType,
    pub deadline: DeadlineRule,
    /// `None`: every unit.
    pub unit_codes: Option<Vec<String>>,
}

/// The deadline (exclusive cut-off) of `unit`'s report for `period`: the earliest among the
/// schedules for that kind of period that name the unit or all units; `None` without one.
pub fn deadline_for(
    period: &PeriodCode,
    unit: &str,
    schedules: &[Schedule],
) -> Option<DateTime<Utc>> {
    schedules
        .iter()
        .filter(|s| s.period_type == period.period_type())
        .filter(|s| {
            s.unit_codes
                .as_ref()
                .is_none_or(|units| units.iter().any(|u| u == unit))
        })
        .map(|s| deadline_instant(period, &s.deadline))
        .min()
}

/// Why `value` cannot be reported for an indicator with this target and aggregation, if it
/// cannot: numbers must be finite; ranks are whole numbers from 1 (and not above `out_of`,
/// the number of localities ranked); counts of new things (`sum`) cannot be negative.
pub fn value_problem(
    target_kind: TargetKind,
    aggregation: Aggregation,
    value: f64,
    out_of: Option<i32>,
) -> Option<String> {
    if !value.is_finite() {
        return Some("must be a finite number".into());
    }
    if target_kind == TargetKind::RankAtMost {
        if value < 1.0 || value.fract() != 0.0 {
            return Some("a rank must be a whole number from 1".into());
        }
        if let Some(total) = out_of {
            if total < 1 || value > f64::from(total) {
                return Some(format!("rank {value} cannot exceed out_of {total}"));
            }
        }
        return None;
    }
    if out_of.is_some() {
        return Some("out_of applies to rank indicators only".into());
    }
    if matches!(aggregation, Aggregation::Sum | Aggregation::SumOfChildren) && value < 0.0 {
        return Some("a count cannot be negative".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use SubmissionStatus::*;
    use Transition::*;

    #[test]
    fn the_workflow_as_a_table() {
        let table = [
            (Draft, Submit, Some(Submitted)),
            (Draft, Accept, None),
            (Draft, Return, None),
            (Draft, Reopen, None),
            (Submitted, Submit, None),
            (Submitted, Accept, Some(Accepted)),
            (Submitted, Return, Some(Returned)),
            (Submitted, Reopen, None),
            (Returned, Submit, Some(Submitted)),
            (Returned, Accept, None),
            (Returned, Return, None),
            (Returned, Reopen, None),
            (Accepted, Submit, None),
            (Accepted, Accept, None),
            (Accepted, Return, None),
            (Accepted, Reopen, Some(Returned)),
        ];
        for (from, transition, to) in table {
            assert_eq!(next_status(from, transition), to, "{from:?} {transition:?}");
        }
        assert_eq!(allowed_transitions(Submitted), [Accept, Return]);
        assert!(is_editable(Returned) && !is_editable(Submitted) && !is_editable(Accepted));
    }

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn annual_report_before_30_november_in_vietnam_time() {
        let schedules = [Schedule {
            period_type: PeriodType::Year,
            deadline: serde_json::from_str(r#"{"fixed":"11-30","exclusive":true}"#).unwrap(),
            unit_codes: None,
        }];
        let period: PeriodCode = "2023".parse().unwrap();
        let cutoff = deadline_for(&period, "SKHDT-DKKD", &schedules).unwrap();
        // 30 November 00:00 in Hanoi is 29 November 17:00 UTC.
        assert_eq!(cutoff, utc(2023, 11, 29, 17));
        let now = utc(2024, 1, 1, 0);
        assert_eq!(
            timeliness(Some(utc(2023, 11, 29, 16)), Some(cutoff), now),
            SubmissionTimeliness::OnTime
        );
        assert_eq!(
            timeliness(Some(utc(2023, 11, 29, 17)), Some(cutoff), now),
            SubmissionTimeliness::Late
        );
        assert_eq!(
            timeliness(None, Some(cutoff), now),
            SubmissionTimeliness::Late
        );
        assert_eq!(
            timeliness(None, Some(cutoff), utc(2023, 6, 1, 0)),
            SubmissionTimeliness::NotSubmitted
        );
        assert_eq!(
            timeliness(Some(now), None, now),
            SubmissionTimeliness::OnTime
        );
        let quarterly: PeriodCode = "2023-Q1".parse().unwrap();
        assert_eq!(
            deadline_for(&quarterly, "SKHDT-DKKD", &schedules),
            None,
            "no quarterly schedule"
        );
    }

    #[test]
    fn the_earliest_matching_schedule_wins() {
        let rule = |json: &str| serde_json::from_str::<DeadlineRule>(json).unwrap();
        let schedules = [
            Schedule {
                period_type: PeriodType::Quarter,
                deadline: rule(r#"{"days_after_period_end":20}"#),
                unit_codes: None,
            },
            Schedule {
                period_type: PeriodType::Quarter,
                deadline: rule(r#"{"days_after_period_end":10}"#),
                unit_codes: Some(vec!["SKHDT-DKKD".into()]),
            },
        ];
        let q1: PeriodCode = "2024-Q1".parse().unwrap();
        // Through 10 April local time: the cut-off is 11 April 00:00 +07.
        assert_eq!(
            deadline_for(&q1, "SKHDT-DKKD", &schedules),
            Some(utc(2024, 4, 10, 17))
        );
        assert_eq!(
            deadline_for(&q1, "SKHDT-HTDT", &schedules),
            Some(utc(2024, 4, 20, 17))
        );
    }

    #[test]
    fn values_by_kind_of_indicator() {
        use Aggregation::*;
        use TargetKind::*;
        assert!(value_problem(AtLeast, Sum, 35.0, None).is_none());
        assert!(value_problem(AtLeast, Sum, -1.0, None).is_some());
        assert!(value_problem(AtLeast, Sum, f64::NAN, None).is_some());
        assert!(
            value_problem(AtLeast, Mean, -2.5, None).is_none(),
            "a growth rate may fall"
        );
        assert!(value_problem(RankAtMost, Last, 4.0, Some(12)).is_none());
        assert!(value_problem(RankAtMost, Last, 0.0, None).is_some());
        assert!(value_problem(RankAtMost, Last, 2.5, None).is_some());
        assert!(value_problem(RankAtMost, Last, 13.0, Some(12)).is_some());
        assert!(value_problem(AtLeast, Sum, 3.0, Some(12)).is_some());
    }

    proptest! {
        #[test]
        fn a_submission_is_late_exactly_from_the_cutoff(offset in -100_000i64..100_000) {
            let cutoff = utc(2023, 11, 29, 17);
            let at = cutoff + chrono::Duration::seconds(offset);
            let judged = timeliness(Some(at), Some(cutoff), utc(2030, 1, 1, 0));
            prop_assert_eq!(judged == SubmissionTimeliness::Late, offset >= 0);
        }
    }
}
