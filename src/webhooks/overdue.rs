//! Raises `task.overdue` and `submission.overdue` once each, when a deadline passes.
//!
//! "Once" is the database's job: every overdue event has a dedupe key (the task and its
//! deadline in force; the plan, unit and period), unique in the outbox, and is inserted with
//! `ON CONFLICT DO NOTHING`, so scans that run twice, or in two processes at once, raise it
//! once. Deadlines that passed more than `lookback_days` ago are not announced: a service that
//! was down for a few days catches up, while a first start on an old database does not send
//! years of history.

use chrono::{DateTime, TimeDelta, Utc};

use crate::api::progress::{compliance, DeliveryState, PlanDay};
use crate::db::{self, DbConnection};
use crate::domain::timeliness::local_date;
use crate::domain::webhook::{periods_due_between, EventType};
use crate::error::ApiError;

/// Raises the overdue events due at `now`; returns how many were new.
pub fn scan(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lookback_days: u32,
) -> Result<usize, ApiError> {
    let lookback = TimeDelta::days(i64::from(lookback_days));
    Ok(overdue_tasks(conn, now, lookback)? + missing_reports(conn, now, lookback)?)
}

/// Each new event in its own short write transaction: the scan itself only reads, so it never
/// holds the write lock while it looks.
fn raise(
    conn: &mut DbConnection,
    event: EventType,
    key: &str,
    plan_id: i64,
    data: serde_json::Value,
) -> Result<bool, ApiError> {
    db::write_transaction(conn, |conn| {
        db::outbox::enqueue(conn, event, Some(key), Some(plan_id), data)
    })
}

fn overdue_tasks(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lookback: TimeDelta,
) -> Result<usize, ApiError> {
    let today = local_date(now);
    let since = today.checked_sub_signed(lookback).unwrap_or(today);
    let mut raised = 0;
    for task in db::overdue::tasks_newly_overdue(conn, today, since)? {
        let key = db::overdue::task_overdue_key(task.id, task.due_date);
        let data = serde_json::json!({"task_id": task.id, "plan_id": task.plan_id,
            "code": task.code, "title": task.title, "lead_unit_code": task.lead_unit_code,
            "due_date": task.due_date});
        raised += usize::from(raise(
            conn,
            EventType::TaskOverdue,
            &key,
            task.plan_id,
            data,
        )?);
    }
    Ok(raised)
}

/// Reports owed for a period whose deadline passed within the lookback and that were never
/// submitted: who owes what and by when is exactly what the compliance view computes, so it is
/// asked, per plan and recently due period, rather than computed a second way.
fn missing_reports(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lookback: TimeDelta,
) -> Result<usize, ApiError> {
    let after = now.checked_sub_signed(lookback).unwrap_or(now);
    let mut raised = 0;
    for plan in db::overdue::plans_with_schedules(conn)? {
        let day = PlanDay::read(conn, plan.id, local_date(now))?;
        let years = plan.period_start_year..=plan.period_end_year;
        for period in periods_due_between(&day.schedules, years, after, now) {
            let period_code = period.to_string();
            let missing: Vec<(String, DateTime<Utc>)> = compliance(conn, plan.id, &period, &day)?
                .units
                .into_iter()
                .filter(|u| u.state == DeliveryState::Missing)
                .filter_map(|u| u.deadline.filter(|d| *d <= now).map(|d| (u.unit_code, d)))
                .collect();
            let key = |unit: &str| format!("submission.overdue:{}:{unit}:{period_code}", plan.id);
            let keys: Vec<String> = missing.iter().map(|(unit, _)| key(unit)).collect();
            let known = db::outbox::existing_keys(conn, &keys)?;
            for (unit, deadline) in missing {
                let key = key(&unit);
                if known.contains(&key) {
                    continue;
                }
                let data = serde_json::json!({"plan_id": plan.id, "unit_code": unit,
                    "period": period_code, "deadline": deadline});
                raised += usize::from(raise(
                    conn,
                    EventType::SubmissionOverdue,
                    &key,
                    plan.id,
                    data,
                )?);
            }
        }
    }
    Ok(raised)
}
