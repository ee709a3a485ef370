//! Progress of an indicator against its target: how yearly values combine, what was expected
//! by a date, where the trend leads, and the verdict.
//!
//! Worked example (plan 1148, indicator 3, new enterprises, target at least 640 in 2021–2025,
//! aggregation `sum`): accepted yearly values 120, 131, 140, 150 give 541 to date, 84.5 % of the
//! target. As of 31 December 2024, 1461 of the period's 1826 days have elapsed (80 %), so 512.1
//! were expected: the indicator is `on_track`, and the linear projection to the end is 676.2.
//! As of 1 January 2026 the period is over and 541 < 640: `missed`.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::appendix::{Aggregation, TargetKind, TargetScope};

/// The verdict on an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorStatus {
    /// The target is met (for `at_most` and `equal`, judged once the period has ended).
    Achieved,
    /// At or ahead of what was expected by now.
    OnTrack,
    /// Below what was expected by now.
    Behind,
    /// No accepted value yet: no data, which is not a low result.
    NotReported,
    /// The period has ended without meeting the target, or (for `each_year`) a year missed it.
    Missed,
    /// Values reported directly for a `sum_of_children` parent disagree with its children's.
    Inconsistent,
}

/// The verdict on one year of an `each_year` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum YearVerdict {
    Achieved,
    Missed,
    NotReported,
}

/// An indicator's target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    pub kind: TargetKind,
    pub value: f64,
    pub scope: TargetScope,
    pub aggregation: Aggregation,
    pub baseline: Option<f64>,
}

/// The plan period, in whole years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanYears {
    pub start: i32,
    pub end: i32,
}

impl PlanYears {
    fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.start, 1, 1).unwrap_or_default()
    }

    fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.end, 12, 31).unwrap_or_default()
    }

    /// Whether the period is over on `as_of`.
    pub fn ended(self, as_of: NaiveDate) -> bool {
        as_of > self.last_day()
    }

    /// The share of the period elapsed by the end of `as_of`, from 0 to 1.
    pub fn elapsed_share(self, as_of: NaiveDate) -> f64 {
        let total = (self.last_day() - self.first_day()).num_days() + 1;
        let elapsed = (as_of - self.first_day()).num_days() + 1;
        (elapsed as f64 / total.max(1) as f64).clamp(0.0, 1.0)
    }
}

/// The progress figures of an indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The yearly values combined by the aggregation.
    pub actual_to_date: Option<f64>,
    pub percent_of_target: Option<f64>,
    /// For `plan_period` targets: what the target implies by now.
    pub expected_by_now: Option<f64>,
    /// Where a linear trend leads by the period's end.
    pub projection: Option<f64>,
    pub status: IndicatorStatus,
    /// For `each_year` targets: the verdict per year of the period up to `as_of`.
    pub per_year: Vec<(i32, YearVerdict)>,
}

/// Combines yearly values (in year order) by `aggregation`; `SumOfChildren` sums like `Sum`
/// (the children's values are summed per year before this).
pub fn combine(aggregation: Aggregation, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match aggregation {
        Aggregation::Sum | Aggregation::SumOfChildren => values.iter().sum(),
        Aggregation::Last => *values.last()?,
        Aggregation::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Aggregation::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Aggregation::Mean => values.iter().sum::<f64>() / values.len() as f64,
    })
}

/// Whether `value` meets a target of `kind` and `target` (ranks: 1 is best).
pub fn meets(kind: TargetKind, value: f64, target: f64) -> bool {
    match kind {
        TargetKind::AtLeast => value >= target,
        TargetKind::AtMost | TargetKind::RankAtMost => value <= target,
        TargetKind::Equal => (value - target).abs() <= 1e-9 * target.abs().max(1.0),
    }
}

fn accumulates(aggregation: Aggregation) -> bool {
    matches!(aggregation, Aggregation::Sum | Aggregation::SumOfChildren)
}

/// Evaluates `goal` on `as_of` from the yearly values `(year, value)` in year order.
pub fn evaluate(goal: Goal, years: PlanYears, yearly: &[(i32, f64)], as_of: NaiveDate) -> Progress {
    let values: Vec<f64> = yearly.iter().map(|(_, v)| *v).collect();
    match goal.scope {
        TargetScope::EachYear => each_year(goal, years, yearly, as_of),
        TargetScope::PlanPeriod => plan_period(goal, years, &values, as_of),
    }
}

fn plan_period(goal: Goal, years: PlanYears, values: &[f64], as_of: NaiveDate) -> Progress {
    let actual = combine(goal.aggregation, values);
    let share = years.elapsed_share(as_of);
    let expected = if accumulates(goal.aggregation) {
        goal.value * share
    } else {
        // A level moves from its baseline towards the target.
        match goal.baseline {
            Some(baseline) => baseline + (goal.value - baseline) * share,
            None => goal.value,
        }
    };
    let projection = actual.map(|a| {
        if accumulates(goal.aggregation) && share > 0.0 {
            a / share
        } else {
            a
        }
    });
    let percent = actual
        .filter(|_| goal.value != 0.0)
        .map(|a| (a / goal.value * 1000.0).round() / 10.0);
    let ended = years.ended(as_of);
    let status = match actual {
        None => IndicatorStatus::NotReported,
        Some(a)
            if meets(goal.kind, a, goal.value) && (goal.kind == TargetKind::AtLeast || ended) =>
        {
            IndicatorStatus::Achieved
        }
        Some(_) if ended => IndicatorStatus::Missed,
        Some(a) => {
            let ahead = match goal.kind {
                TargetKind::AtMost | TargetKind::RankAtMost => a <= expected,
                TargetKind::AtLeast | TargetKind::Equal => a >= expected,
            };
            if ahead {
                IndicatorStatus::OnTrack
            } else {
                IndicatorStatus::Behind
            }
        }
    };
    Progress {
        actual_to_date: actual,
        percent_of_target: percent,
        expected_by_now: Some((expected * 10.0).round() / 10.0),
        projection: projection.map(|p| (p * 10.0).round() / 10.0),
        status,
        per_year: Vec::new(),
    }
}

fn each_year(goal: Goal, years: PlanYears, yearly: &[(i32, f64)], as_of: NaiveDate) -> Progress {
    let per_year: Vec<(i32, YearVerdict)> = (years.start..=years.end.min(as_of.year()))
        .map(|year| {
            let verdict = match yearly.iter().find(|(y, _)| *y == year) {
                Some((_, value)) if meets(goal.kind, *value, goal.value) => YearVerdict::Achieved,
                Some(_) => YearVerdict::Missed,
                None => YearVerdict::NotReported,
            };
            (year, verdict)
        })
        .collect();
    let all_years = (years.end - years.start + 1) as usize;
    let achieved = per_year
        .iter()
        .filter(|(_, v)| *v == YearVerdict::Achieved)
        .count();
    let status = if per_year.iter().any(|(_, v)| *v == YearVerdict::Missed) {
        IndicatorStatus::Missed
    } else if achieved == all_years {
        IndicatorStatus::Achieved
    } else if achieved > 0 {
        IndicatorStatus::OnTrack
    } else {
        IndicatorStatus::NotReported
    };
    let values: Vec<f64> = yearly.iter().map(|(_, v)| *v).collect();
    Progress {
        actual_to_date: combine(goal.aggregation, &values),
        percent_of_target: None,
        expected_by_now: None,
        projection: values.last().copied(),
        status,
        per_year,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PLAN: PlanYears = PlanYears {
        start: 2021,
        end: 2025,
    };

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn goal(kind: TargetKind, value: f64, scope: TargetScope, aggregation: Aggregation) -> Goal {
        Goal {
            kind,
            value,
            scope,
            aggregation,
            baseline: None,
        }
    }

    #[test]
    fn new_enterprises_of_plan_1148() {
        let g = goal(
            TargetKind::AtLeast,
            640.0,
            TargetScope::PlanPeriod,
            Aggregation::Sum,
        );
        let yearly = [(2021, 120.0), (2022, 131.0), (2023, 140.0), (2024, 150.0)];
        let p = evaluate(g, PLAN, &yearly, day(2024, 12, 31));
        assert_eq!(p.actual_to_date, Some(541.0));
        assert_eq!(p.percent_of_target, Some(84.5));
        assert_eq!(p.expected_by_now, Some(512.1));
        assert_eq!(p.projection, Some(676.2));
        assert_eq!(p.status, IndicatorStatus::OnTrack);
        assert_eq!(
            evaluate(g, PLAN, &yearly, day(2026, 1, 1)).status,
            IndicatorStatus::Missed
        );
        assert_eq!(
            evaluate(g, PLAN, &yearly[..2], day(2024, 12, 31)).status,
            IndicatorStatus::Behind
        );
        let done = [(2021, 300.0), (2022, 341.0)];
        assert_eq!(
            evaluate(g, PLAN, &done, day(2022, 12, 31)).status,
            IndicatorStatus::Achieved
        );
        assert_eq!(
            evaluate(g, PLAN, &[], day(2024, 1, 1)).status,
            IndicatorStatus::NotReported
        );
    }

    #[test]
    fn ddci_rank_each_year_misses_with_one_bad_year() {
        let g = goal(
            TargetKind::RankAtMost,
            5.0,
            TargetScope::EachYear,
            Aggregation::Last,
        );
        let p = evaluate(
            g,
            PLAN,
            &[(2021, 3.0), (2022, 6.0), (2023, 4.0)],
            day(2024, 6, 1),
        );
        assert_eq!(p.status, IndicatorStatus::Missed);
        assert_eq!(
            p.per_year,
            [
                (2021, YearVerdict::Achieved),
                (2022, YearVerdict::Missed),
                (2023, YearVerdict::Achieved),
                (2024, YearVerdict::NotReported)
            ]
        );
        let good = evaluate(g, PLAN, &[(2021, 3.0), (2022, 2.0)], day(2023, 6, 1));
        assert_eq!(good.status, IndicatorStatus::OnTrack);
        let all: Vec<(i32, f64)> = (2021..=2025).map(|y| (y, 1.0)).collect();
        assert_eq!(
            evaluate(g, PLAN, &all, day(2026, 3, 1)).status,
            IndicatorStatus::Achieved
        );
    }

    #[test]
    fn at_most_inverts_the_comparison_and_waits_for_the_end() {
        let g = goal(
            TargetKind::AtMost,
            100.0,
            TargetScope::PlanPeriod,
            Aggregation::Sum,
        );
        assert_eq!(
            evaluate(g, PLAN, &[(2021, 10.0)], day(2021, 12, 31)).status,
            IndicatorStatus::OnTrack
        );
        assert_eq!(
            evaluate(g, PLAN, &[(2021, 30.0)], day(2021, 12, 31)).status,
            IndicatorStatus::Behind
        );
        assert_eq!(
            evaluate(g, PLAN, &[(2021, 30.0), (2022, 40.0)], day(2026, 1, 1)).status,
            IndicatorStatus::Achieved
        );
        assert_eq!(
            evaluate(g, PLAN, &[(2021, 90.0), (2022, 40.0)], day(2026, 1, 1)).status,
            IndicatorStatus::Missed
        );
    }

    #[test]
    fn aggregations() {
        let v = [3.0, 6.0, 4.0];
        assert_eq!(combine(Aggregation::Sum, &v), Some(13.0));
        assert_eq!(combine(Aggregation::Last, &v), Some(4.0));
        assert_eq!(combine(Aggregation::Min, &v), Some(3.0));
        assert_eq!(combine(Aggregation::Max, &v), Some(6.0));
        assert_eq!(combine(Aggregation::Mean, &v), Some(13.0 / 3.0));
        assert_eq!(combine(Aggregation::Sum, &[]), None);
    }

    #[test]
    fn elapsed_share_is_clamped_and_leap_years_count() {
        assert_eq!(PLAN.elapsed_share(day(2020, 6, 1)), 0.0);
        assert_eq!(PLAN.elapsed_share(day(2030, 1, 1)), 1.0);
        // 2021–2024 hold 1461 days (2024 is a leap year) of the period's 1826.
        assert!((PLAN.elapsed_share(day(2024, 12, 31)) - 1461.0 / 1826.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn a_met_at_least_target_is_achieved_whenever_judged(values in proptest::collection::vec(0.0f64..1000.0, 1..5), day_of in 0i64..2500) {
            let g = goal(TargetKind::AtLeast, 100.0, TargetScope::PlanPeriod, Aggregation::Sum);
            let yearly: Vec<(i32, f64)> = values.iter().enumerate().map(|(i, v)| (2021 + i as i32, *v)).collect();
            let as_of = day(2021, 1, 1) + chrono::Duration::days(day_of);
            let p = evaluate(g, PLAN, &yearly, as_of);
            let total: f64 = values.iter().sum();
            prop_assert_eq!(p.status == IndicatorStatus::Achieved, total >= 100.0);
        }
    }
}
