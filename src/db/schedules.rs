//! Queries on a plan's reporting schedules.

use diesel::prelude::*;

use super::schema::schedules;
use super::DbConnection;
use crate::domain::period::DeadlineRule;
use crate::domain::submission::Schedule;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct ScheduleRow {
    pub id: i64,
    pub plan_id: i64,
    pub position: i32,
    pub period_type: String,
    /// A deadline rule as JSON.
    pub deadline: String,
    /// JSON array of unit codes; `None`: every unit.
    pub unit_codes: Option<String>,
    /// JSON array of indicator ids; `None`: every indicator.
    pub indicator_ids: Option<String>,
}

/// A schedule to store; the JSON fields are already serialised.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = schedules)]
pub struct NewSchedule {
    pub plan_id: i64,
    pub position: i32,
    pub period_type: String,
    pub deadline: String,
    pub unit_codes: Option<String>,
    pub indicator_ids: Option<String>,
}

pub fn list(conn: &mut DbConnection, plan_id: i64) -> Result<Vec<ScheduleRow>, ApiError> {
    Ok(schedules::table
        .filter(schedules::plan_id.eq(plan_id))
        .order(schedules::position.asc())
        .load(conn)?)
}

/// Replaces the plan's schedules with `rows`.
pub fn replace(
    conn: &mut DbConnection,
    plan_id: i64,
    rows: &[NewSchedule],
) -> Result<(), ApiError> {
    diesel::delete(schedules::table.filter(schedules::plan_id.eq(plan_id))).execute(conn)?;
    for row in rows {
        diesel::insert_into(schedules::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The plan's schedules as domain rules, for computing deadlines.
pub fn rules(conn: &mut DbConnection, plan_id: i64) -> Result<Vec<Schedule>, ApiError> {
    list(conn, plan_id)?
        .into_iter()
        .map(|row| {
            let broken =
                |what: &str| ApiError::Internal(anyhow::anyhow!("schedule {}: bad {what}", row.id));
            Ok(Schedule {
                period_type: super::parse_enum(&row.period_type)?,
                deadline: serde_json::from_str::<DeadlineRule>(&row.deadline)
                    .map_err(|_| broken("deadline"))?,
                unit_codes: row
                    .unit_codes
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| broken("unit_codes"))?,
            })
        })
        .collect()
}
