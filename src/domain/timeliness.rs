//! Task timeliness as Vietnamese task-tracking systems report it: not yet due, in progress
//! within the deadline (trong hạn), overdue (quá hạn), completed on time (hoàn thành đúng hạn) or
//! completed late (hoàn thành quá hạn).
//!
//! All dates are local dates in Asia/Ho_Chi_Minh; a deadline date is inclusive.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Asia/Ho_Chi_Minh: UTC+7 all year (Vietnam has no daylight saving time), so a fixed offset is
/// exact and needs no time-zone database.
pub const HO_CHI_MINH: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time: 7 hours is always a valid offset.
    None => panic!("UTC+7 is a valid offset"),
};

/// Where a task stands, as the responsible unit reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Work has not begun.
    NotStarted,
    /// Work is under way.
    InProgress,
    /// The task is done.
    Completed,
    /// The task was withdrawn; it is no longer measured.
    Cancelled,
}

/// A task's standing against its deadline on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// Not started, and the deadline has not passed.
    NotDue,
    /// In progress within the deadline, or open without a deadline.
    OnTrack,
    /// Open (not started or in progress) after its deadline.
    Overdue,
    /// Completed on or before the deadline, or completed without a deadline.
    CompletedOnTime,
    /// Completed after the deadline.
    CompletedLate,
}

/// How many of a plan's tasks are in each timeliness on a day (`cancelled`: by status, as
/// cancelled tasks are not classified), and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelinessCounts {
    /// All the plan's tasks, including completed ones without a completion date, which no other
    /// count includes.
    pub total: i64,
    /// Tasks not started whose deadline has not passed (chưa đến hạn).
    pub not_due: i64,
    /// Tasks in progress within their deadline (trong hạn), and open tasks without a deadline.
    pub on_track: i64,
    /// Open tasks (not started or in progress) past their deadline (quá hạn).
    pub overdue: i64,
    /// Tasks completed on or before their deadline, or without one (hoàn thành đúng hạn).
    pub completed_on_time: i64,
    /// Tasks completed after their deadline (hoàn thành quá hạn).
    pub completed_late: i64,
    /// Tasks withdrawn (status `cancelled`); they are no longer measured.
    pub cancelled: i64,
}

/// Classifies a task on the local date `as_of`; `due` is inclusive (a task due 2022-06-30 is on
/// time when completed that day and overdue from 2022-07-01).
///
/// Returns `None` — not classified — for a cancelled task, and for a completed task whose
/// completion date is unknown (lateness cannot be judged). An open task without a deadline is
/// [`Timeliness::OnTrack`]; a completed one is [`Timeliness::CompletedOnTime`]. A completion
/// date on an open task is ignored: the status decides.
pub fn classify(
    status: TaskStatus,
    due: Option<NaiveDate>,
    completed_on: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Option<Timeliness> {
    match status {
        TaskStatus::Cancelled => None,
        TaskStatus::Completed => completed_on.map(|done| completed_timeliness(due, done)),
        TaskStatus::NotStarted | TaskStatus::InProgress => {
            Some(open_timeliness(status, due, as_of))
        }
    }
}

/// Timeliness of a task completed on `done`.
fn completed_timeliness(due: Option<NaiveDate>, done: NaiveDate) -> Timeliness {
    match due {
        Some(due) if done > due => Timeliness::CompletedLate,
        _ => Timeliness::CompletedOnTime,
    }
}

/// Timeliness of a task that is not started or in progress on `as_of`.
fn open_timeliness(status: TaskStatus, due: Option<NaiveDate>, as_of: NaiveDate) -> Timeliness {
    match due {
        None => Timeliness::OnTrack,
        Some(due) if as_of > due => Timeliness::Overdue,
        Some(_) if status == TaskStatus::NotStarted => Timeliness::NotDue,
        Some(_) => Timeliness::OnTrack,
    }
}

/// The calendar date of `instant` in Asia/Ho_Chi_Minh — the date that deadlines are compared
/// with.
pub fn local_date(instant: DateTime<Utc>) -> NaiveDate {
    // checked: chrono's own conversion panics past its last representable local date.
    instant
        .naive_utc()
        .checked_add_offset(HO_CHI_MINH)
        .map_or_else(|| instant.date_naive(), |local| local.date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use TaskStatus::*;
    use Timeliness::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn classifies_every_branch() {
        let due = Some(ymd(2022, 6, 30));
        let cases = [
            // (status, due, completed_on, as_of, expected)
            (NotStarted, due, None, ymd(2022, 6, 1), Some(NotDue)),
            (NotStarted, due, None, ymd(2022, 6, 30), Some(NotDue)),
            (NotStarted, due, None, ymd(2022, 7, 1), Some(Overdue)),
            (InProgress, due, None, ymd(2022, 6, 1), Some(OnTrack)),
            (InProgress, due, None, ymd(2022, 6, 30), Some(OnTrack)),
            (InProgress, due, None, ymd(2022, 7, 1), Some(Overdue)),
            (NotStarted, None, None, ymd(2030, 1, 1), Some(OnTrack)),
            (InProgress, None, None, ymd(2030, 1, 1), Some(OnTrack)),
            (
                Completed,
                due,
                Some(ymd(2022, 6, 29)),
                ymd(2023, 1, 1),
                Some(CompletedOnTime),
            ),
            (
                Completed,
                due,
                Some(ymd(2022, 6, 30)),
                ymd(2023, 1, 1),
                Some(CompletedOnTime),
            ),
            (
                Completed,
                due,
                Some(ymd(2022, 7, 1)),
                ymd(2023, 1, 1),
                Some(CompletedLate),
            ),
            (
                Completed,
                None,
                Some(ymd(2022, 7, 1)),
                ymd(2023, 1, 1),
                Some(CompletedOnTime),
            ),
            (Completed, due, None, ymd(2023, 1, 1), None),
            (Completed, None, None, ymd(2023, 1, 1), None),
            (Cancelled, due, None, ymd(2023, 1, 1), None),
            (Cancelled, due, Some(ymd(2022, 6, 1)), ymd(2022, 6, 1), None),
            (Cancelled, None, None, ymd(2023, 1, 1), None),
            // A stray completion date on an open task does not make it complete.
            (
                InProgress,
                due,
                Some(ymd(2022, 6, 1)),
                ymd(2022, 7, 1),
                Some(Overdue),
            ),
        ];
        for (status, due, completed_on, as_of, expected) in cases {
            assert_eq!(
                classify(status, due, completed_on, as_of),
                expected,
                "{status:?} due {due:?} completed {completed_on:?} as of {as_of}"
            );
        }
    }

    #[test]
    fn leap_day_deadlines_are_inclusive() {
        let due = Some(ymd(2024, 2, 29));
        assert_eq!(
            classify(InProgress, due, None, ymd(2024, 2, 29)),
            Some(OnTrack)
        );
        assert_eq!(
            classify(InProgress, due, None, ymd(2024, 3, 1)),
            Some(Overdue)
        );
        assert_eq!(
            classify(Completed, due, Some(ymd(2024, 2, 29)), ymd(2024, 3, 1)),
            Some(CompletedOnTime)
        );
        assert_eq!(
            classify(Completed, due, Some(ymd(2024, 3, 1)), ymd(2024, 3, 1)),
            Some(CompletedLate)
        );
    }

    #[test]
    fn local_date_is_utc_plus_seven() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("valid instant");
        assert_eq!(local_date(at("2024-02-28T16:59:59Z")), ymd(2024, 2, 28));
        assert_eq!(local_date(at("2024-02-28T17:00:00Z")), ymd(2024, 2, 29));
        assert_eq!(local_date(at("2024-02-29T16:59:59Z")), ymd(2024, 2, 29));
        assert_eq!(local_date(at("2024-02-29T17:00:00Z")), ymd(2024, 3, 1));
        assert_eq!(local_date(at("2023-12-31T17:00:00Z")), ymd(2024, 1, 1));
        // No daylight saving: mid-year is the same offset.
        assert_eq!(local_date(at("2024-07-01T16:59:59Z")), ymd(2024, 7, 1));
        assert_eq!(local_date(at("2024-07-01T17:00:00Z")), ymd(2024, 7, 2));
    }

    #[test]
    fn local_date_does_not_panic_at_the_end_of_time() {
        let _ = local_date(DateTime::<Utc>::MAX_UTC);
        let _ = local_date(DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn enums_serialise_in_snake_case() {
        let json = serde_json::to_string(&[CompletedOnTime, NotDue]).expect("serialises");
        assert_eq!(json, r#"["completed_on_time","not_due"]"#);
        let status: TaskStatus = serde_json::from_str("\"in_progress\"").expect("deserialises");
        assert_eq!(status, InProgress);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..=2200, 1u32..=365)
            .prop_map(|(y, o)| NaiveDate::from_yo_opt(y, o).expect("day 1..=365 exists every year"))
    }

    fn open_status() -> impl Strategy<Value = TaskStatus> {
        prop_oneof![Just(NotStarted), Just(InProgress)]
    }

    proptest! {
        #[test]
        fn completed_by_due_is_on_time(due in any_date(), early in 0u64..4000, as_of in any_date()) {
            let done = due.checked_sub_days(chrono::Days::new(early)).unwrap_or(due);
            prop_assert_eq!(classify(Completed, Some(due), Some(done), as_of), Some(CompletedOnTime));
        }

        #[test]
        fn completed_after_due_is_late(due in any_date(), late in 1u64..4000, as_of in any_date()) {
            let done = due.checked_add_days(chrono::Days::new(late)).expect("in range");
            prop_assert_eq!(classify(Completed, Some(due), Some(done), as_of), Some(CompletedLate));
        }

        #[test]
        fn open_after_due_is_overdue(status in open_status(), due in any_date(), late in 1u64..4000) {
            let as_of = due.checked_add_days(chrono::Days::new(late)).expect("in range");
            prop_assert_eq!(classify(status, Some(due), None, as_of), Some(Overdue));
        }

        #[test]
        fn open_by_due_is_never_overdue(status in open_status(), due in any_date(), early in 0u64..4000) {
            let as_of = due.checked_sub_days(chrono::Days::new(early)).unwrap_or(due);
            let timeliness = classify(status, Some(due), None, as_of);
            prop_assert!(matches!(timeliness, Some(NotDue) | Some(OnTrack)), "{:?}", timeliness);
        }

        #[test]
        fn local_date_is_the_utc_date_or_the_next(secs in -2_208_988_800i64..7_258_118_400) {
            let instant = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
            let local = local_date(instant);
            let utc = instant.date_naive();
            prop_assert!(local == utc || Some(local) == utc.succ_opt());
            prop_assert_eq!(local, (instant + chrono::TimeDelta::hours(7)).date_naive());
        }
    }
}
