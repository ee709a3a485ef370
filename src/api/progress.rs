//! What leadership and the portal read: each indicator's progress against its target, task
//! timeliness, reporting compliance, and dashboards per unit and across plans.

use std::collections::{BTreeMap, HashMap};

use actix_web::{get, web};
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::indicators::Target;
use super::tasks::today;
use crate::auth::{authorize, Action, Caller};
use crate::db::plans::PlanRow;
use crate::db::progress::PeriodTotal;
use crate::db::succession::HoldersOn;
use crate::db::{self, parse_enum, DbConnection, PageRequest};
use crate::domain::appendix::{Aggregation, TargetKind, TargetScope};
use crate::domain::period::PeriodCode;
use crate::domain::progress::{evaluate, Goal, IndicatorStatus, PlanYears, YearVerdict};
use crate::domain::submission::{deadline_for, Schedule};
use crate::domain::succession::{holders_on, Edge, Item};
use crate::domain::timeliness::{local_date, Timeliness, TimelinessCounts};
use crate::error::ApiError;
use crate::startup::AppState;

/// Which submissions an aggregate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Accepted submissions only: the official figures.
    #[default]
    Accepted,
    /// Accepted and submitted ones: a preview for planners, leaders and admins.
    Submitted,
}

impl Basis {
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Basis::Accepted => &["accepted"],
            Basis::Submitted => &["accepted", "submitted"],
        }
    }

    /// Refuses the preview basis to callers who may not see unaccepted values.
    pub fn authorize(self, caller: &Caller) -> Result<(), ApiError> {
        match self {
            Basis::Accepted => Ok(()),
            Basis::Submitted => authorize(caller, Action::PreviewSubmitted),
        }
    }
}

/// One year's value of an indicator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct YearValue {
    /// A year of the plan period, up to `as_of`.
    pub year: i32,
    /// The year's figure: the sum of the values reported for that year in the annual reports
    /// counted (see `basis`); for a `sum_of_children` parent, the sum of its sub-indicators'.
    pub value: f64,
    /// `actual`, or `estimate` while no actual figure is counted for that year.
    #[schema(example = "actual")]
    pub kind: String,
    /// The (latest) submission the value comes from; for a `sum_of_children` parent, absent.
    pub submission_id: Option<i64>,
}

/// A year's verdict for an `each_year` target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct YearResult {
    /// A year of the plan period, up to `as_of`.
    pub year: i32,
    pub verdict: YearVerdict,
}

/// How many of the values owed so far were reported: `reported` of `due`. A low figure with
/// low coverage is missing data, not a low result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct Coverage {
    /// Yearly values counted.
    pub reported: i64,
    /// Years whose annual report deadline has passed by `as_of`.
    pub due: i64,
}

/// An indicator's progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorProgress {
    /// The indicator's id.
    pub id: i64,
    /// The number the document gives the indicator: "1", "2", "2.1"; unique in the plan.
    pub code: String,
    /// The indicator's name (chỉ tiêu) as the plan words it.
    pub name: String,
    /// Unit of measure (đơn vị tính): "Dự án" (projects), "Doanh nghiệp" (enterprises), "Chỉ số"
    /// (index).
    pub measure_unit: String,
    /// The indicator this one is part of (2.1 and 2.2 are parts of 2); `null` for a top-level
    /// indicator.
    pub parent_id: Option<i64>,
    /// Code of the unit that followed and reported the indicator on `as_of` (a later merger or
    /// transfer of its duties is not applied); `null` when no unit is assigned.
    pub responsible_unit_code: Option<String>,
    /// The previous period's result (thực hiện giai đoạn trước); `null` when the document has none.
    pub baseline_value: Option<f64>,
    pub target: Target,
    /// The document's own wording of the target (mục tiêu); `null` when none was recorded.
    pub target_text: Option<String>,
    pub aggregation: Aggregation,
    /// The values counted, per year of the plan period up to `as_of`.
    pub yearly: Vec<YearValue>,
    /// The yearly values combined by `aggregation` (sum of new enterprises; last rank).
    pub actual_to_date: Option<f64>,
    /// `actual_to_date` as a percentage of the target value, one decimal.
    pub percent_of_target: Option<f64>,
    /// `plan_period` targets: the target times the elapsed share of the period (counts), or
    /// the baseline moved that share of the way to the target (levels).
    pub expected_by_now: Option<f64>,
    /// Where a linear trend leads by the period's end.
    pub projection: Option<f64>,
    pub status: IndicatorStatus,
    /// `each_year` targets: the verdict for each year up to `as_of`.
    pub per_year: Vec<YearResult>,
    pub coverage: Coverage,
    /// Why the status is `inconsistent`.
    pub inconsistencies: Vec<String>,
}

/// A task that is past its deadline and not completed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OverdueTask {
    /// The task's id.
    pub id: i64,
    /// The task's number in the plan (TT): "1", "2".
    pub code: String,
    /// The task (nhiệm vụ) as the plan words it.
    pub title: String,
    /// Code of the unit that led the task (chủ trì) on `as_of`, after any succession up to that
    /// day; `null` when no lead unit is assigned.
    pub lead_unit_code: Option<String>,
    /// The deadline in force (the latest extension's, else the plan's), `YYYY-MM-DD`; it is before
    /// `as_of`.
    pub due_date: Option<NaiveDate>,
    /// The progress last recorded for the task, in percent (0–100).
    pub progress_percent: i32,
}

/// Tasks by timeliness on `as_of`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TaskSummary {
    #[serde(flatten)]
    pub counts: TimelinessCounts,
    /// The overdue tasks (up to 500), earliest deadline first.
    pub overdue_tasks: Vec<OverdueTask>,
}

/// Whether a unit delivered a period's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// First submitted before the deadline (or there is none).
    OnTime,
    /// First submitted at or after the deadline.
    Late,
    /// Not submitted, and the deadline has passed.
    Missing,
    /// Not submitted yet, and the deadline is still ahead.
    Pending,
}

/// One unit's delivery of a period's report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitCompliance {
    /// Code of a unit that owes the report, as the organisation stood on `as_of` (a unit that had
    /// ceased owes through its successors).
    pub unit_code: String,
    /// The submission that counts for the unit: its own for the period, else one a predecessor
    /// made; `null` when neither exists.
    pub submission_id: Option<i64>,
    /// The submission's status, if one exists.
    pub status: Option<String>,
    /// When that submission was first submitted (RFC 3339, UTC); timeliness is judged by it, even
    /// if the report was returned and submitted again later. `null` if never submitted.
    pub first_submitted_at: Option<chrono::DateTime<Utc>>,
    /// The reporting deadline (RFC 3339, UTC), an exclusive cut-off: on time means strictly before
    /// it. `null` when no reporting schedule of the plan covers the unit and period.
    pub deadline: Option<chrono::DateTime<Utc>>,
    pub state: DeliveryState,
}

/// Reporting compliance for one period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Compliance {
    /// The period the report covers: `2024` (year), `2024-H1`, `2024-Q2` or `2024-06` (month).
    #[schema(example = "2024")]
    pub period: String,
    /// The units that owe the report: those the schedules name, or every unit with a
    /// responsibility in the plan.
    pub units: Vec<UnitCompliance>,
    /// How many units owe the report: the number of entries in `units`.
    pub owed: i64,
    /// Units whose report was first submitted before the deadline (or that submitted when there is
    /// no deadline).
    pub on_time: i64,
    /// Units whose report was first submitted at or after the deadline.
    pub late: i64,
    /// Units that have not submitted although the deadline passed by the end of `as_of` (without a
    /// deadline: once the period has ended).
    pub missing: i64,
    /// Units that have not submitted yet while the deadline (or, without one, the end of the
    /// period) is still ahead.
    pub pending: i64,
    /// `on_time` as a share of `owed`, 0–1; `null` when nothing is owed.
    pub on_time_rate: Option<f64>,
}

/// A plan's progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanProgress {
    /// The plan's id.
    pub plan_id: i64,
    /// The day progress is judged on, `YYYY-MM-DD` (default today in Asia/Ho_Chi_Minh).
    pub as_of: NaiveDate,
    pub basis: Basis,
    /// Every indicator (chỉ tiêu) of the plan with its progress, ordered by code.
    pub indicators: Vec<IndicatorProgress>,
    pub tasks: TaskSummary,
    /// Compliance for the latest annual report due by `as_of` (or the current year's).
    pub compliance: Compliance,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// The day to judge on; default today in Asia/Ho_Chi_Minh.
    pub as_of: Option<NaiveDate>,
    /// `accepted` (default) or `submitted` (a preview counting submitted reports too; planners,
    /// leaders and admins).
    #[serde(default)]
    pub basis: Basis,
}

/// Per indicator, its yearly values: actual figures preferred over estimates.
fn yearly_by_indicator(totals: Vec<PeriodTotal>) -> HashMap<i64, BTreeMap<i32, YearValue>> {
    let mut by: HashMap<i64, BTreeMap<i32, YearValue>> = HashMap::new();
    for total in totals {
        let Ok(year) = total.period.parse::<i32>() else {
            continue;
        };
        let entry = by.entry(total.indicator_id).or_default();
        let replaces = entry
            .get(&year)
            .is_none_or(|existing| existing.kind == "estimate" && total.kind == "actual");
        if replaces {
            entry.insert(
                year,
                YearValue {
                    year,
                    value: total.total,
                    kind: total.kind,
                    submission_id: Some(total.submission_id),
                },
            );
        }
    }
    by
}

fn schedules_deadline(
    schedules: &[Schedule],
    year: i32,
    unit: Option<&str>,
) -> Option<chrono::DateTime<Utc>> {
    let period: PeriodCode = year.to_string().parse().ok()?;
    deadline_for(&period, unit.unwrap_or_default(), schedules)
}

/// Whether year `year`'s annual report is due by the end of `as_of`.
fn year_due(schedules: &[Schedule], year: i32, unit: Option<&str>, as_of: NaiveDate) -> bool {
    match schedules_deadline(schedules, year, unit) {
        Some(deadline) => local_date(deadline) <= as_of,
        None => NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|end| end < as_of),
    }
}

/// What every aggregate of one plan on one day judges by: who held the plan's items that day,
/// its reporting schedules, and the organisation's successions. Read once per plan and day
/// (three small queries) and passed to each aggregate, rather than read again by each.
pub struct PlanDay {
    pub as_of: NaiveDate,
    pub holders: HoldersOn,
    pub schedules: Vec<Schedule>,
    pub edges: Vec<Edge>,
}

impl PlanDay {
    pub fn read(conn: &mut DbConnection, plan_id: i64, as_of: NaiveDate) -> Result<Self, ApiError> {
        Ok(PlanDay {
            as_of,
            holders: db::succession::holders_on(conn, plan_id, as_of)?,
            schedules: db::schedules::rules(conn, plan_id)?,
            edges: db::succession::edges(conn)?,
        })
    }
}

/// The progress of every indicator of `plan` on `day.as_of`, from one aggregation query.
pub fn indicator_progress(
    conn: &mut DbConnection,
    plan: &PlanRow,
    basis: Basis,
    day: &PlanDay,
) -> Result<Vec<IndicatorProgress>, ApiError> {
    let totals = plan_yearly_totals(conn, plan, basis, day.as_of)?;
    let rows = plan_indicators(conn, plan.id)?;
    indicators_judged(plan, rows, totals, day)
}

/// The yearly values of the plan's indicators up to the year of `as_of`, summed by the
/// database: the aggregation over every reported value.
fn plan_yearly_totals(
    conn: &mut DbConnection,
    plan: &PlanRow,
    basis: Basis,
    as_of: NaiveDate,
) -> Result<Vec<PeriodTotal>, ApiError> {
    let last_year = last_year_judged(plan, as_of);
    db::progress::yearly_totals(conn, plan.id, basis.statuses(), last_year)
}

/// The last year of the plan's period that `as_of` reaches into.
fn last_year_judged(plan: &PlanRow, as_of: NaiveDate) -> i32 {
    as_of.year().min(plan.period_end_year)
}

/// Every indicator of the plan, by code.
fn plan_indicators(
    conn: &mut DbConnection,
    plan_id: i64,
) -> Result<Vec<db::indicators::IndicatorRow>, ApiError> {
    let page = PageRequest {
        limit: 10_000,
        offset: 0,
        sort: "code",
        descending: false,
    };
    let filter = db::indicators::IndicatorFilter {
        plan_id,
        ..Default::default()
    };
    db::indicators::rows(conn, &filter, &page)
}

/// The indicators' progress from their rows and yearly totals, as the day's holders and
/// schedules judge it: no database work.
fn indicators_judged(
    plan: &PlanRow,
    rows: Vec<db::indicators::IndicatorRow>,
    totals: Vec<PeriodTotal>,
    day: &PlanDay,
) -> Result<Vec<IndicatorProgress>, ApiError> {
    let (as_of, holders, schedules) = (day.as_of, &day.holders, &day.schedules);
    let years = PlanYears {
        start: plan.period_start_year,
        end: plan.period_end_year,
    };
    let last_year = last_year_judged(plan, as_of);
    let mut yearly = yearly_by_indicator(totals);
    // Parents summing their children: the children's yearly sums, and any direct values
    // that disagree with them.
    let mut children_sums: HashMap<i64, BTreeMap<i32, f64>> = HashMap::new();
    for row in rows.iter() {
        if let (Some(parent), Some(values)) = (row.parent_id, yearly.get(&row.id)) {
            let sums = children_sums.entry(parent).or_default();
            for (year, v) in values {
                *sums.entry(*year).or_default() += v.value;
            }
        }
    }
    rows.into_iter()
        .map(|row| {
            let kind: TargetKind = parse_enum(&row.target_kind)?;
            let scope: TargetScope = parse_enum(&row.target_scope)?;
            let aggregation: Aggregation = parse_enum(&row.aggregation)?;
            let direct = yearly.remove(&row.id).unwrap_or_default();
            let mut inconsistencies = Vec::new();
            let values: Vec<YearValue> = match children_sums
                .get(&row.id)
                .filter(|_| aggregation == Aggregation::SumOfChildren)
            {
                Some(sums) => {
                    for (year, own) in &direct {
                        if let Some(children) =
                            sums.get(year).filter(|c| (**c - own.value).abs() > 1e-9)
                        {
                            inconsistencies.push(format!(
                                "{year}: reported {} but the sub-indicators add up to {children}",
                                own.value
                            ));
                        }
                    }
                    sums.iter()
                        .map(|(year, value)| YearValue {
                            year: *year,
                            value: *value,
                            kind: "actual".into(),
                            submission_id: None,
                        })
                        .collect()
                }
                None => direct.into_values().collect(),
            };
            let pairs: Vec<(i32, f64)> = values.iter().map(|v| (v.year, v.value)).collect();
            let goal = Goal {
                kind,
                value: row.target_value,
                scope,
                aggregation,
                baseline: row.baseline_value,
            };
            let progress = evaluate(goal, years, &pairs, as_of);
            // The unit of the day asked about: a later succession's transfer is undone.
            let unit = holders
                .holder(
                    Item::Indicator(row.id),
                    row.responsible_unit_code.as_deref(),
                )
                .map(str::to_owned);
            let unit = unit.as_deref();
            let due = (years.start..=last_year)
                .filter(|y| year_due(schedules, *y, unit, as_of))
                .count() as i64;
            let reported = pairs
                .iter()
                .filter(|(y, _)| year_due(schedules, *y, unit, as_of))
                .count() as i64;
            Ok(IndicatorProgress {
                id: row.id,
                code: row.code,
                name: row.name,
                measure_unit: row.measure_unit,
                parent_id: row.parent_id,
                responsible_unit_code: unit.map(str::to_owned),
                baseline_value: row.baseline_value,
                target: Target {
                    kind,
                    value: row.target_value,
                    scope,
                },
                target_text: row.target_text,
                aggregation,
                yearly: values,
                actual_to_date: progress.actual_to_date,
                percent_of_target: progress.percent_of_target,
                expected_by_now: progress
                    .expected_by_now
                    .filter(|_| scope == TargetScope::PlanPeriod),
                projection: progress.projection,
                status: if inconsistencies.is_empty() {
                    progress.status
                } else {
                    IndicatorStatus::Inconsistent
                },
                per_year: progress
                    .per_year
                    .into_iter()
                    .map(|(year, verdict)| YearResult { year, verdict })
                    .collect(),
                coverage: Coverage { reported, due },
                inconsistencies,
            })
        })
        .collect()
}

/// Task counts by timeliness (one grouped query) and the overdue list.
pub fn task_summary(
    conn: &mut DbConnection,
    plan_id: i64,
    as_of: NaiveDate,
    holders: &HoldersOn,
) -> Result<TaskSummary, ApiError> {
    let filter = |timeliness: Option<Timeliness>| db::tasks::TaskFilter {
        plan_id,
        search_key: None,
        lead: None,
        status: None,
        timeliness,
        as_of,
        due_before: None,
        due_after: None,
    };
    let page = PageRequest {
        limit: 500,
        offset: 0,
        sort: "due_date",
        descending: false,
    };
    let overdue_rows = db::tasks::rows(conn, &filter(Some(Timeliness::Overdue)), &page)?;
    Ok(TaskSummary {
        counts: db::tasks::timeliness_counts(conn, plan_id, as_of)?,
        overdue_tasks: overdue_rows
            .into_iter()
            .map(|t| OverdueTask {
                id: t.id,
                code: t.code,
                title: t.title,
                lead_unit_code: holders
                    .holder(Item::Task(t.id), t.lead_unit_code.as_deref())
                    .map(str::to_owned),
                due_date: t.due_date,
                progress_percent: t.progress_percent,
            })
            .collect(),
    })
}

/// Who owes `period`'s report and whether they delivered, judged at the end of `day.as_of`.
pub fn compliance(
    conn: &mut DbConnection,
    plan_id: i64,
    period: &PeriodCode,
    day: &PlanDay,
) -> Result<Compliance, ApiError> {
    let (as_of, schedules, edges) = (day.as_of, &day.schedules, &day.edges);
    let matching: Vec<&Schedule> = schedules
        .iter()
        .filter(|s| s.period_type == period.period_type())
        .collect();
    // The organisation of `as_of`: a unit that had ceased by then owes through its successors,
    // and a report its predecessor made counts for it.
    let mut owed: Vec<String> =
        if matching.is_empty() || matching.iter().any(|s| s.unit_codes.is_none()) {
            db::progress::responsible_units(conn, plan_id, &day.holders)?
        } else {
            Vec::new()
        };
    for schedule in &matching {
        for unit in schedule.unit_codes.iter().flatten() {
            owed.extend(holders_on(unit, as_of, edges));
        }
    }
    owed.sort();
    owed.dedup();
    let mut deliveries: HashMap<String, db::progress::Delivery> = HashMap::new();
    // A unit's own report first, then one a predecessor made.
    let mut made = db::progress::deliveries(conn, plan_id, &period.to_string())?;
    made.sort_by_key(|d| !owed.contains(&d.unit_code));
    for delivery in made {
        for holder in holders_on(&delivery.unit_code, as_of, edges) {
            deliveries.entry(holder).or_insert_with(|| delivery.clone());
        }
    }
    let end_of_day = as_of
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| {
            d.and_local_timezone(crate::domain::timeliness::HO_CHI_MINH)
                .single()
        })
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let units: Vec<UnitCompliance> = owed
        .into_iter()
        .map(|unit| {
            let delivery = deliveries.get(&unit);
            let deadline = delivery
                .and_then(|d| d.deadline_at.map(|t| t.and_utc()))
                .or_else(|| deadline_for(period, &unit, schedules));
            let first = delivery.and_then(|d| d.first_submitted_at.map(|t| t.and_utc()));
            let state = match (first, deadline) {
                (Some(at), Some(cutoff)) if at >= cutoff => DeliveryState::Late,
                (Some(_), _) => DeliveryState::OnTime,
                (None, Some(cutoff)) if end_of_day > cutoff => DeliveryState::Missing,
                (None, None) if period.end() < as_of => DeliveryState::Missing,
                (None, _) => DeliveryState::Pending,
            };
            UnitCompliance {
                unit_code: unit,
                submission_id: delivery.map(|d| d.submission_id),
                status: delivery.map(|d| d.status.clone()),
                first_submitted_at: first,
                deadline,
                state,
            }
        })
        .collect();
    let count = |state| units.iter().filter(|u| u.state == state).count() as i64;
    let owed = units.len() as i64;
    let on_time = count(DeliveryState::OnTime);
    Ok(Compliance {
        period: period.to_string(),
        owed,
        on_time,
        late: count(DeliveryState::Late),
        missing: count(DeliveryState::Missing),
        pending: count(DeliveryState::Pending),
        on_time_rate: (owed > 0).then(|| on_time as f64 / owed as f64),
        units,
    })
}

/// The latest year whose annual report is due by `as_of`, within the plan (else its first).
fn compliance_year(plan: &PlanRow, schedules: &[Schedule], as_of: NaiveDate) -> i32 {
    (plan.period_start_year..=plan.period_end_year.min(as_of.year()))
        .rev()
        .find(|y| year_due(schedules, *y, None, as_of))
        .unwrap_or(
            plan.period_start_year
                .min(as_of.year())
                .max(plan.period_start_year),
        )
}

/// A plan's progress on `as_of`. The aggregation over every reported value is most of the
/// answer's time (7 of 9 ms with 1M values), so it runs on a pooled connection of its own
/// while the rest (indicators, holders, schedules, tasks, compliance) is read on another;
/// the answer then takes about as long as the aggregation alone. No snapshot is lost: the
/// statements never shared a transaction.
pub async fn plan_progress(
    pool: &db::Pool,
    plan_id: i64,
    as_of: NaiveDate,
    basis: Basis,
) -> Result<PlanProgress, ApiError> {
    let plan = db::run(pool, move |conn| db::plans::require(conn, plan_id)).await?;
    let totals = {
        let plan = plan.clone();
        db::run(pool, move |conn| {
            plan_yearly_totals(conn, &plan, basis, as_of)
        })
    };
    let rest = {
        let plan = plan.clone();
        db::run(pool, move |conn| {
            let day = PlanDay::read(conn, plan.id, as_of)?;
            let rows = plan_indicators(conn, plan.id)?;
            let tasks = task_summary(conn, plan.id, as_of, &day.holders)?;
            let year = compliance_year(&plan, &day.schedules, as_of);
            let period: PeriodCode = year
                .to_string()
                .parse()
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("period {year}: {e}")))?;
            let compliance = compliance(conn, plan.id, &period, &day)?;
            Ok((day, rows, tasks, compliance))
        })
    };
    let (totals, (day, rows, tasks, compliance)) =
        futures_util::future::try_join(totals, rest).await?;
    Ok(PlanProgress {
        plan_id: plan.id,
        as_of,
        basis,
        indicators: indicators_judged(&plan, rows, totals, &day)?,
        tasks,
        compliance,
    })
}

/// A plan's progress on `as_of` (default today, Asia/Ho_Chi_Minh).
///
/// Per indicator: its yearly values (annual reports; an actual figure supersedes an estimate
/// for the same year), `actual_to_date` combined by its aggregation, `percent_of_target`,
/// `expected_by_now` and a linear `projection`, and a `status`:
/// `plan_period` targets are `achieved` once met (`at_most` and `equal` only judged at the
/// end), `on_track` at or above what was expected by now (below, for `at_most`), `behind`,
/// `not_reported` without values, and `missed` after the period if not met; `each_year`
/// targets (DDCI rank ≤ 5 every year) get a verdict per year and are `missed` as soon as one
/// year misses, `achieved` only when every year of the period is; a `sum_of_children` parent
/// uses its children's sums and is `inconsistent` when values reported for it disagree.
///
/// Worked example from plan 1148: new enterprises 120 + 131 + 140 + 150 = 541 of 640 is
/// 84.5 %; on 2024-12-31, 1461 of the period's 1826 days have passed, so 512.1 were expected:
/// `on_track`; on 2026-01-01: `missed`. DDCI ranks 3, 6, 4: `missed` because of 2022.
///
/// Each indicator's `coverage` says how many of the yearly values owed so far were reported.
#[utoipa::path(
    tag = "progress",
    params(("plan_id" = i64, Path, description = "The plan id"), ProgressQuery),
    responses((status = 200, description = "The plan's progress", body = PlanProgress))
)]
#[get("/plans/{plan_id}/progress")]
pub async fn get_plan_progress(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    query: web::Query<ProgressQuery>,
) -> Result<web::Json<PlanProgress>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    query.basis.authorize(&caller)?;
    let (plan_id, as_of, basis) = (
        plan_id.into_inner(),
        query.as_of.unwrap_or_else(today),
        query.basis,
    );
    Ok(web::Json(
        plan_progress(&state.pool, plan_id, as_of, basis).await?,
    ))
}

/// How a series is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeriesBy {
    /// One point per period (every kind of period: years, quarters …).
    #[default]
    Period,
    /// One point per reporting unit and period.
    Unit,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `period` (default): one point per period and kind of value; `unit`: one point per reporting
    /// unit, period and kind.
    #[serde(default)]
    pub by: SeriesBy,
    /// `accepted` (default) or `submitted` (a preview counting submitted reports too; planners,
    /// leaders and admins).
    #[serde(default)]
    pub basis: Basis,
}

/// One point of a series.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// The period the values were reported for: `2024` (year), `2024-H1`, `2024-Q1` or `2024-05`
    /// (month).
    #[schema(example = "2024-Q1")]
    pub period: String,
    /// With `by=unit`: the reporting unit.
    pub unit_code: Option<String>,
    /// The sum of the values reported for the period (and unit).
    pub value: f64,
    /// `actual`, or `estimate` (ước thực hiện: a figure reported before the period ended); each
    /// kind is a separate point.
    #[schema(example = "actual")]
    pub kind: String,
    /// How many submissions it adds up.
    pub reports: i64,
}

/// An indicator's series.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorSeries {
    /// The id of the indicator the series is about.
    pub indicator_id: i64,
    pub basis: Basis,
    /// The points, ordered by period code (with `by=unit`: by unit code, then period).
    pub points: Vec<SeriesPoint>,
}

/// An indicator's values over time (`by=period`) or by reporting unit (`by=unit`), summed
/// by the database; both actual and estimate points are listed.
#[utoipa::path(
    tag = "progress",
    params(("id" = i64, Path, description = "The indicator id"), SeriesQuery),
    responses((status = 200, description = "The series", body = IndicatorSeries))
)]
#[get("/indicators/{id}/series")]
pub async fn get_indicator_series(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: web::Query<SeriesQuery>,
) -> Result<web::Json<IndicatorSeries>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    query.basis.authorize(&caller)?;
    let (id, by, basis) = (id.into_inner(), query.by, query.basis);
    let points = db::run(&state.pool, move |conn| {
        db::indicators::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("indicator {id}")))?;
        db::progress::indicator_series(conn, id, basis.statuses(), by == SeriesBy::Unit)
    })
    .await?;
    Ok(web::Json(IndicatorSeries {
        indicator_id: id,
        basis,
        points: points
            .into_iter()
            .map(|p| SeriesPoint {
                period: p.period,
                unit_code: p.unit_code,
                value: p.total,
                kind: p.kind,
                reports: p.reports,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// The period, e.g. `2024` or `2024-Q1`: `YYYY`, `YYYY-H1`..`H2`, `YYYY-Q1`..`Q4` or
    /// `YYYY-01`..`12`, years 1900–2200.
    #[param(
        example = "2024",
        pattern = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"
    )]
    pub period: String,
    /// The day to judge on; default today in Asia/Ho_Chi_Minh.
    pub as_of: Option<NaiveDate>,
}

/// Reporting compliance for a period: per unit that owes the report, its state, first
/// submission time and deadline, as `on_time`, `late`, `missing` or `pending` (not submitted,
/// deadline ahead), with totals.
#[utoipa::path(
    tag = "progress",
    params(("plan_id" = i64, Path, description = "The plan id"), ComplianceQuery),
    responses((status = 200, description = "Compliance", body = Compliance))
)]
#[get("/plans/{plan_id}/compliance")]
pub async fn get_compliance(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    query: web::Query<ComplianceQuery>,
) -> Result<web::Json<Compliance>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let period: PeriodCode =
        query
            .period
            .parse()
            .map_err(|e: crate::domain::period::PeriodError| {
                ApiError::invalid("period", e.to_string())
            })?;
    let (plan_id, as_of) = (plan_id.into_inner(), query.as_of.unwrap_or_else(today));
    let result = db::run(&state.pool, move |conn| {
        db::plans::require(conn, plan_id)?;
        let day = PlanDay::read(conn, plan_id, as_of)?;
        compliance(conn, plan_id, &period, &day)
    })
    .await?;
    Ok(web::Json(result))
}

/// A task a unit leads.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitTask {
    /// The task's id.
    pub id: i64,
    /// The id of the plan the task belongs to.
    pub plan_id: i64,
    /// The task's number in its plan (TT): "1", "2".
    pub code: String,
    /// The task (nhiệm vụ) as the plan words it.
    pub title: String,
    /// The deadline in force (the latest extension's, else the plan's), `YYYY-MM-DD`; `null` for a
    /// task without a deadline.
    pub due_date: Option<NaiveDate>,
    /// `not_started`, `in_progress`, `completed` or `cancelled`.
    pub status: String,
    /// The progress last recorded for the task, in percent (0–100).
    pub progress_percent: i32,
    pub timeliness: Option<Timeliness>,
}

/// A report a unit has open or owes soon.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OwedReport {
    /// The id of the plan the report is for.
    pub plan_id: i64,
    /// The period reported on: `2026` (year), `2026-H1`, `2026-Q2` or `2026-05` (month); in
    /// `upcoming`, always the current year.
    #[schema(example = "2026")]
    pub period: String,
    /// Its submission, if one exists (a draft or a returned one).
    pub submission_id: Option<i64>,
    /// The submission's status, `draft` or `returned`, in `open_submissions`; `null` in `upcoming`.
    pub status: Option<String>,
    /// The reporting deadline (RFC 3339, UTC), an exclusive cut-off: on time means strictly before
    /// it. `null` when no reporting schedule of the plan covers the report.
    pub deadline: Option<chrono::DateTime<Utc>>,
}

/// What a unit owes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitDashboard {
    /// Code of the unit (đơn vị) the dashboard is for.
    pub unit_code: String,
    /// The day judged on, `YYYY-MM-DD` (default today in Asia/Ho_Chi_Minh).
    pub as_of: NaiveDate,
    /// The indicators the unit reports, in every plan, with their progress.
    pub indicators: Vec<IndicatorProgress>,
    /// The tasks the unit leads, with their timeliness.
    pub tasks: Vec<UnitTask>,
    /// Its submissions still being written or sent back (draft, returned).
    pub open_submissions: Vec<OwedReport>,
    /// Annual reports of the current year it has not submitted yet, with their deadlines.
    pub upcoming: Vec<OwedReport>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The day to judge on; default today in Asia/Ho_Chi_Minh.
    pub as_of: Option<NaiveDate>,
}

fn all_plans(conn: &mut DbConnection, year: Option<i32>) -> Result<Vec<PlanRow>, ApiError> {
    let filter = db::plans::PlanFilter {
        year,
        ..Default::default()
    };
    let page = PageRequest {
        limit: 10_000,
        offset: 0,
        sort: "id",
        descending: false,
    };
    Ok(db::plans::list(conn, &filter, &page)?.0)
}

/// What a unit owes: its indicators with progress, its tasks with timeliness, its open
/// submissions and the annual reports it still owes this year. Officers see their own
/// unit's; planners, leaders and admins any unit's.
#[utoipa::path(
    tag = "progress",
    params(("code" = String, Path, description = "The unit code", example = "SKHDT-DKKD"), DashboardQuery),
    responses((status = 200, description = "The unit's dashboard", body = UnitDashboard))
)]
#[get("/units/{code}/dashboard")]
pub async fn get_unit_dashboard(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: web::Query<DashboardQuery>,
) -> Result<web::Json<UnitDashboard>, ApiError> {
    let unit = code.into_inner();
    authorize(&caller, Action::ReadUnitDashboard { unit: &unit })?;
    let as_of = query.as_of.unwrap_or_else(today);
    let dashboard = db::run(&state.pool, move |conn| {
        db::units::find(conn, &unit)?.ok_or_else(|| ApiError::not_found(format!("unit {unit}")))?;
        let mut dashboard = UnitDashboard {
            unit_code: unit.clone(),
            as_of,
            indicators: Vec::new(),
            tasks: Vec::new(),
            open_submissions: Vec::new(),
            upcoming: Vec::new(),
        };
        for plan in all_plans(conn, None)? {
            let day = PlanDay::read(conn, plan.id, as_of)?;
            let holders = &day.holders;
            let mine =
                |i: &IndicatorProgress| i.responsible_unit_code.as_deref() == Some(unit.as_str());
            dashboard.indicators.extend(
                indicator_progress(conn, &plan, Basis::Accepted, &day)?
                    .into_iter()
                    .filter(mine),
            );
            let filter = db::tasks::TaskFilter {
                plan_id: plan.id,
                search_key: None,
                lead: Some(holders.unit_match(&unit, Item::task_id)),
                status: None,
                timeliness: None,
                as_of,
                due_before: None,
                due_after: None,
            };
            let page = PageRequest {
                limit: 10_000,
                offset: 0,
                sort: "due_date",
                descending: false,
            };
            for task in db::tasks::rows(conn, &filter, &page)? {
                let status = parse_enum(&task.status)?;
                dashboard.tasks.push(UnitTask {
                    timeliness: crate::domain::timeliness::classify(
                        status,
                        task.due_date,
                        task.completed_on,
                        as_of,
                    ),
                    id: task.id,
                    plan_id: plan.id,
                    code: task.code,
                    title: task.title,
                    due_date: task.due_date,
                    status: task.status,
                    progress_percent: task.progress_percent,
                });
            }
            let schedules = &day.schedules;
            let year = as_of.year();
            let owes = (plan.period_start_year..=plan.period_end_year).contains(&year)
                && db::progress::responsible_units(conn, plan.id, holders)?.contains(&unit);
            let deliveries = db::progress::deliveries(conn, plan.id, &year.to_string())?;
            // A report this unit's predecessor made before it ceased counts as this unit's.
            let delivered = deliveries.iter().any(|d| {
                d.first_submitted_at.is_some()
                    && holders_on(&d.unit_code, as_of, &day.edges).contains(&unit)
            });
            if owes && !delivered {
                dashboard.upcoming.push(OwedReport {
                    plan_id: plan.id,
                    period: year.to_string(),
                    submission_id: deliveries
                        .iter()
                        .find(|d| d.unit_code == unit)
                        .map(|d| d.submission_id),
                    status: None,
                    deadline: schedules_deadline(schedules, year, Some(&unit)),
                });
            }
        }
        let visibility = db::submissions::Visibility {
            own_unit: Some(unit.clone()),
            everything: false,
            others_beyond_accepted: false,
        };
        for status in ["draft", "returned"] {
            let filter = db::submissions::SubmissionFilter {
                plan_id: None,
                unit_codes: Some(vec![unit.clone()]),
                period: None,
                status: Some(status.into()),
                late: None,
                now: Utc::now().naive_utc(),
                visibility: visibility.clone(),
            };
            let page = PageRequest {
                limit: 500,
                offset: 0,
                sort: "period",
                descending: false,
            };
            for row in db::submissions::list(conn, &filter, &page)?.0 {
                dashboard.open_submissions.push(OwedReport {
                    plan_id: row.plan_id,
                    period: row.period,
                    submission_id: Some(row.id),
                    status: Some(row.status),
                    deadline: row.deadline_at.map(|d| d.and_utc()),
                });
            }
        }
        dashboard
            .open_submissions
            .sort_by(|a, b| (a.plan_id, &a.period).cmp(&(b.plan_id, &b.period)));
        Ok(dashboard)
    })
    .await?;
    Ok(web::Json(dashboard))
}

/// Counts across all plans of a year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    /// The year counted (default the current year).
    pub year: i32,
    /// The day judged on, `YYYY-MM-DD`: 31 December of `year`, or today (Asia/Ho_Chi_Minh) if that
    /// is earlier.
    pub as_of: NaiveDate,
    /// Plans whose period includes the year.
    pub plans: i64,
    /// Indicators by status (`achieved`, `on_track`, `behind`, `not_reported`, `missed`,
    /// `inconsistent`).
    pub indicators_by_status: BTreeMap<String, i64>,
    /// Tasks by timeliness, with `cancelled`.
    pub tasks_by_timeliness: BTreeMap<String, i64>,
    /// Annual reports (báo cáo năm) owed for the year by the units of these plans; those
    /// neither on time, late nor missing are not yet due.
    pub reports_owed: i64,
    /// Of `reports_owed`, those first submitted before their deadline.
    pub reports_on_time: i64,
    /// Of `reports_owed`, those first submitted at or after their deadline.
    pub reports_late: i64,
    /// Of `reports_owed`, those not submitted although their deadline has passed.
    pub reports_missing: i64,
    /// On-time reports as a share of those owed, 0–1.
    pub compliance_rate: Option<f64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year; default the current year.
    #[param(minimum = 1900, maximum = 2200, example = 2024)]
    pub year: Option<i32>,
}

/// Across all plans of a year: indicators by status, tasks by timeliness, and the compliance
/// rate of that year's annual reports. Judged at the end of the year, or today for the
/// current year; accepted figures only.
#[utoipa::path(
    tag = "progress",
    params(YearQuery),
    responses((status = 200, description = "The dashboard", body = Dashboard))
)]
#[get("/dashboard")]
pub async fn get_dashboard(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<YearQuery>,
) -> Result<web::Json<Dashboard>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let now = today();
    let year = query.year.unwrap_or(now.year());
    if !(1900..=2200).contains(&year) {
        return Err(ApiError::invalid("year", "must be between 1900 and 2200"));
    }
    let as_of = NaiveDate::from_ymd_opt(year, 12, 31).map_or(now, |end| end.min(now));
    let period: PeriodCode =
        year.to_string()
            .parse()
            .map_err(|e: crate::domain::period::PeriodError| {
                ApiError::invalid("year", e.to_string())
            })?;
    let dashboard = db::run(&state.pool, move |conn| {
        let plans = all_plans(conn, Some(year))?;
        let mut dashboard = Dashboard {
            year,
            as_of,
            plans: plans.len() as i64,
            indicators_by_status: BTreeMap::new(),
            tasks_by_timeliness: BTreeMap::new(),
            reports_owed: 0,
            reports_on_time: 0,
            reports_late: 0,
            reports_missing: 0,
            compliance_rate: None,
        };
        for plan in &plans {
            let day = PlanDay::read(conn, plan.id, as_of)?;
            for indicator in indicator_progress(conn, plan, Basis::Accepted, &day)? {
                *dashboard
                    .indicators_by_status
                    .entry(db::enum_text(&indicator.status))
                    .or_default() += 1;
            }
            let tasks = task_summary(conn, plan.id, as_of, &day.holders)?.counts;
            for (name, n) in [
                ("not_due", tasks.not_due),
                ("on_track", tasks.on_track),
                ("overdue", tasks.overdue),
                ("completed_on_time", tasks.completed_on_time),
                ("completed_late", tasks.completed_late),
                ("cancelled", tasks.cancelled),
            ] {
                *dashboard
                    .tasks_by_timeliness
                    .entry(name.into())
                    .or_default() += n;
            }
            let reports = compliance(conn, plan.id, &period, &day)?;
            dashboard.reports_owed += reports.owed;
            dashboard.reports_on_time += reports.on_time;
            dashboard.reports_late += reports.late;
            dashboard.reports_missing += reports.missing;
        }
        dashboard.compliance_rate = (dashboard.reports_owed > 0)
            .then(|| dashboard.reports_on_time as f64 / dashboard.reports_owed as f64);
        Ok(dashboard)
    })
    .await?;
    Ok(web::Json(dashboard))
}
