//! The set queries behind overdue events: what has become overdue and not been announced.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

use super::plans::PlanRow;
use super::schema::{plans, schedules};
use super::DbConnection;
use crate::error::ApiError;

/// An open task past its deadline in force.
#[derive(Debug, Clone, QueryableByName)]
pub struct OverdueTask {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub plan_id: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub lead_unit_code: Option<String>,
    #[diesel(sql_type = Date)]
    pub due_date: NaiveDate,
}

/// The dedupe key of a task's overdue event: once per task and deadline in force, so a task
/// that is given an extension and misses the new deadline too is announced again.
pub fn task_overdue_key(task_id: i64, due_date: NaiveDate) -> String {
    format!("task.overdue:{task_id}:{due_date}")
}

/// The open tasks whose deadline in force (`due_date`, which approved extensions move) lies
/// in `since..today`, that is has passed by `today`, and whose overdue event for that
/// deadline has not been raised: one set query, with the same rule as the `overdue`
/// timeliness of `db::tasks`. The key built in SQL must equal [`task_overdue_key`]
/// (`CAST(date AS TEXT)` is `YYYY-MM-DD` on both backends).
pub fn tasks_newly_overdue(
    conn: &mut DbConnection,
    today: NaiveDate,
    since: NaiveDate,
) -> Result<Vec<OverdueTask>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT t.id, t.plan_id, t.code, t.title, t.lead_unit_code, t.due_date FROM tasks t \
         WHERE t.status IN ('not_started', 'in_progress') \
         AND t.due_date < $1 AND t.due_date >= $2 \
         AND NOT EXISTS (SELECT 1 FROM outbox_events o WHERE o.dedupe_key = \
           'task.overdue:' || CAST(t.id AS TEXT) || ':' || CAST(t.due_date AS TEXT)) \
         ORDER BY t.id",
    )
    .bind::<Date, _>(today)
    .bind::<Date, _>(since)
    .load(conn)?)
}

/// The plans that have reporting schedules, hence reports that can be missed.
pub fn plans_with_schedules(conn: &mut DbConnection) -> Result<Vec<PlanRow>, ApiError> {
    Ok(plans::table
        .filter(plans::id.eq_any(schedules::table.select(schedules::plan_id)))
        .order(plans::id.asc())
        .load(conn)?)
}
