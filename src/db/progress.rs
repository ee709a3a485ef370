//! The aggregations behind progress, compliance and reports, computed by the database: the
//! yearly totals of accepted values per indicator, never the individual value rows.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, sum};
use diesel::prelude::*;

use super::schema::{indicators, submission_values, submissions, tasks, units};
use super::DbConnection;
use crate::domain::succession::Item;
use crate::error::ApiError;

/// The reported total of one indicator for one period and kind of value.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodTotal {
    pub indicator_id: i64,
    pub period: String,
    /// `actual` or `estimate`.
    pub kind: String,
    pub total: f64,
    /// How many submissions reported it.
    pub reports: i64,
    /// The latest of those submissions.
    pub submission_id: i64,
    /// The reporting unit, when grouped by unit.
    pub unit_code: Option<String>,
}

/// (indicator, period, kind, sum, reports, latest submission)
type TotalRow = (i64, String, String, Option<f64>, i64, Option<i64>);
/// A [`TotalRow`] led by the reporting unit.
type UnitTotalRow = (String, i64, String, String, Option<f64>, i64, Option<i64>);

fn totals(rows: Vec<TotalRow>) -> Vec<PeriodTotal> {
    rows.into_iter()
        .map(
            |(indicator_id, period, kind, total, reports, submission)| PeriodTotal {
                indicator_id,
                period,
                kind,
                total: total.unwrap_or(0.0),
                reports,
                submission_id: submission.unwrap_or_default(),
                unit_code: None,
            },
        )
        .collect()
}

/// Per indicator of the plan, year and kind: the sum of the values in annual submissions
/// whose status is one of `statuses`, for years up to `last_year`.
pub fn yearly_totals(
    conn: &mut DbConnection,
    plan_id: i64,
    statuses: &[&str],
    last_year: i32,
) -> Result<Vec<PeriodTotal>, ApiError> {
    let rows: Vec<TotalRow> = submission_values::table
        .inner_join(submissions::table)
        .filter(submissions::plan_id.eq(plan_id))
        .filter(submissions::status.eq_any(statuses))
        .filter(submissions::period_type.eq("year"))
        .filter(submissions::period.le(last_year.to_string()))
        .group_by((
            submission_values::indicator_id,
            submissions::period,
            submission_values::kind,
        ))
        .select((
            submission_values::indicator_id,
            submissions::period,
            submission_values::kind,
            sum(submission_values::value),
            count_star(),
            max(submissions::id),
        ))
        .order((submission_values::indicator_id, submissions::period))
        .load(conn)?;
    Ok(totals(rows))
}

/// One indicator's values per period (every kind of period), optionally per reporting unit.
pub fn indicator_series(
    conn: &mut DbConnection,
    indicator_id: i64,
    statuses: &[&str],
    by_unit: bool,
) -> Result<Vec<PeriodTotal>, ApiError> {
    let base = submission_values::table
        .inner_join(submissions::table)
        .filter(submission_values::indicator_id.eq(indicator_id))
        .filter(submissions::status.eq_any(statuses));
    if by_unit {
        let rows: Vec<UnitTotalRow> = base
            .group_by((
                submissions::unit_code,
                submission_values::indicator_id,
                submissions::period,
                submission_values::kind,
            ))
            .select((
                submissions::unit_code,
                submission_values::indicator_id,
                submissions::period,
                submission_values::kind,
                sum(submission_values::value),
                count_star(),
                max(submissions::id),
            ))
            .order((submissions::unit_code, submissions::period))
            .load(conn)?;
        return Ok(rows
            .into_iter()
            .map(
                |(unit, id, period, kind, total, reports, submission)| PeriodTotal {
                    unit_code: Some(unit),
                    ..totals(vec![(id, period, kind, total, reports, submission)]).remove(0)
                },
            )
            .collect());
    }
    let rows: Vec<TotalRow> = base
        .group_by((
            submission_values::indicator_id,
            submissions::period,
            submission_values::kind,
        ))
        .select((
            submission_values::indicator_id,
            submissions::period,
            submission_values::kind,
            sum(submission_values::value),
            count_star(),
            max(submissions::id),
        ))
        .order(submissions::period)
        .load(conn)?;
    Ok(totals(rows))
}

/// The units with a responsibility in the plan: reporting an indicator or leading a task, as
/// the organisation was on the day `holders` were read for.
pub fn responsible_units(
    conn: &mut DbConnection,
    plan_id: i64,
    holders: &super::succession::HoldersOn,
) -> Result<Vec<String>, ApiError> {
    let indicators: Vec<(i64, Option<String>)> = indicators::table
        .filter(indicators::plan_id.eq(plan_id))
        .select((indicators::id, indicators::responsible_unit_code))
        .load(conn)?;
    let leads: Vec<(i64, Option<String>)> = tasks::table
        .filter(tasks::plan_id.eq(plan_id))
        .select((tasks::id, tasks::lead_unit_code))
        .load(conn)?;
    let items = indicators
        .into_iter()
        .map(|(id, unit)| (Item::Indicator(id), unit))
        .chain(leads.into_iter().map(|(id, unit)| (Item::Task(id), unit)));
    let mut units: Vec<String> = items
        .filter_map(|(item, unit)| holders.holder(item, unit.as_deref()).map(str::to_owned))
        .collect();
    units.sort();
    units.dedup();
    Ok(units)
}

/// A unit's submission for a period, as compliance sees it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Delivery {
    pub submission_id: i64,
    pub unit_code: String,
    pub status: String,
    pub first_submitted_at: Option<NaiveDateTime>,
    pub deadline_at: Option<NaiveDateTime>,
}

/// The plan's submissions for `period`.
pub fn deliveries(
    conn: &mut DbConnection,
    plan_id: i64,
    period: &str,
) -> Result<Vec<Delivery>, ApiError> {
    Ok(submissions::table
        .filter(submissions::plan_id.eq(plan_id))
        .filter(submissions::period.eq(period))
        .select((
            submissions::id,
            submissions::unit_code,
            submissions::status,
            submissions::first_submitted_at,
            submissions::deadline_at,
        ))
        .load(conn)?)
}

/// What a unit wrote in a report.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct UnitNarrative {
    pub unit_code: String,
    pub unit_name: String,
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
}

/// Per unit, the narrative (difficulties, proposals) of its accepted submission for `period`.
pub fn narratives(
    conn: &mut DbConnection,
    plan_id: i64,
    period: &str,
) -> Result<Vec<UnitNarrative>, ApiError> {
    Ok(submissions::table
        .inner_join(units::table)
        .filter(submissions::plan_id.eq(plan_id))
        .filter(submissions::period.eq(period))
        .filter(submissions::status.eq("accepted"))
        .select((
            submissions::unit_code,
            units::name,
            submissions::results,
            submissions::difficulties,
            submissions::proposals,
        ))
        .order(submissions::unit_code)
        .load(conn)?)
}

/// The latest accepted note on each task of the plan, from task updates.
pub fn latest_task_notes(
    conn: &mut DbConnection,
    plan_id: i64,
) -> Result<Vec<(i64, String)>, ApiError> {
    use super::schema::submission_task_updates as updates;
    let rows: Vec<(i64, Option<String>)> = updates::table
        .inner_join(submissions::table)
        .filter(submissions::plan_id.eq(plan_id))
        .filter(submissions::status.eq("accepted"))
        .filter(updates::note.is_not_null())
        .order((updates::task_id, submissions::accepted_at.desc()))
        .select((updates::task_id, updates::note))
        .load(conn)?;
    let mut latest: Vec<(i64, String)> = Vec::new();
    for (task, note) in rows {
        if latest.last().is_none_or(|(t, _)| *t != task) {
            latest.push((task, note.unwrap_or_default()));
        }
    }
    Ok(latest)
}
