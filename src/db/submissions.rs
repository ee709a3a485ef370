//! Queries on submissions (báo cáo), their values, task updates and accepted versions.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{submission_task_updates, submission_values, submission_versions, submissions};
use super::{Db, DbConnection, PageRequest};
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct SubmissionRow {
    pub id: i64,
    pub plan_id: i64,
    pub unit_code: String,
    pub period: String,
    pub period_type: String,
    pub status: String,
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
    pub return_reason: Option<String>,
    /// JSON array of review comments.
    pub review_comments: String,
    pub version: i32,
    pub deadline_at: Option<NaiveDateTime>,
    pub first_submitted_at: Option<NaiveDateTime>,
    pub last_submitted_at: Option<NaiveDateTime>,
    pub accepted_at: Option<NaiveDateTime>,
    pub created_by_user_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Insertable)]
#[diesel(table_name = submission_values)]
pub struct ValueRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub submission_id: i64,
    pub indicator_id: i64,
    pub value: f64,
    pub kind: String,
    pub note: Option<String>,
    pub out_of: Option<i32>,
    pub published_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Insertable)]
#[diesel(table_name = submission_task_updates)]
pub struct TaskUpdateRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub submission_id: i64,
    pub task_id: i64,
    pub status: String,
    pub progress_percent: i32,
    pub completed_on: Option<NaiveDate>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct VersionRow {
    pub id: i64,
    pub submission_id: i64,
    pub number: i32,
    pub snapshot: String,
    pub accepted_by_user_id: Option<i64>,
    pub accepted_at: NaiveDateTime,
}

/// A new submission's row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = submissions)]
pub struct NewSubmission {
    pub plan_id: i64,
    pub unit_code: String,
    pub period: String,
    pub period_type: String,
    pub status: String,
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
    pub deadline_at: Option<NaiveDateTime>,
    pub created_by_user_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The narrative a unit writes.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = submissions, treat_none_as_null = true)]
pub struct Narrative {
    pub results: Option<String>,
    pub difficulties: Option<String>,
    pub proposals: Option<String>,
}

/// What a workflow step changes.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = submissions)]
pub struct StatusChange {
    pub status: Option<String>,
    pub return_reason: Option<Option<String>>,
    pub review_comments: Option<String>,
    pub first_submitted_at: Option<Option<NaiveDateTime>>,
    pub last_submitted_at: Option<Option<NaiveDateTime>>,
    pub accepted_at: Option<Option<NaiveDateTime>>,
}

/// Which submissions a caller may see, as SQL can filter them (see
/// `auth::permissions::submission_visibility`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    /// The caller's unit: all its submissions are visible.
    pub own_unit: Option<String>,
    /// Every submission is visible (admins).
    pub everything: bool,
    /// Whether other units' non-draft submissions are visible (else only accepted ones).
    pub others_beyond_accepted: bool,
}

#[derive(Debug, Clone)]
pub struct SubmissionFilter {
    pub plan_id: Option<i64>,
    /// Only submissions made by one of these units.
    pub unit_codes: Option<Vec<String>>,
    pub period: Option<String>,
    pub status: Option<String>,
    /// With `now`: only late (`true`) or not late (`false`) submissions.
    pub late: Option<bool>,
    pub now: NaiveDateTime,
    pub visibility: Visibility,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<SubmissionRow>, ApiError> {
    Ok(super::find_by_key!(conn, submissions::table, id)?)
}

/// The submission of `unit` for `plan` and `period`, if one exists.
pub fn id_for(
    conn: &mut DbConnection,
    plan_id: i64,
    unit: &str,
    period: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(submissions::table
        .filter(submissions::plan_id.eq(plan_id))
        .filter(submissions::unit_code.eq(unit))
        .filter(submissions::period.eq(period))
        .select(submissions::id)
        .first(conn)
        .optional()?)
}

fn filtered<'a>(filter: &'a SubmissionFilter) -> submissions::BoxedQuery<'a, Db> {
    let mut query = submissions::table.into_boxed();
    let own = filter.visibility.own_unit.clone().unwrap_or_default();
    query = if filter.visibility.everything {
        query
    } else if filter.visibility.others_beyond_accepted {
        query.filter(
            submissions::status
                .ne("draft")
                .or(submissions::unit_code.eq(own)),
        )
    } else {
        query.filter(
            submissions::status
                .eq("accepted")
                .or(submissions::unit_code.eq(own)),
        )
    };
    if let Some(plan) = filter.plan_id {
        query = query.filter(submissions::plan_id.eq(plan));
    }
    if let Some(units) = &filter.unit_codes {
        query = query.filter(super::any_of(submissions::unit_code, units));
    }
    if let Some(period) = &filter.period {
        query = query.filter(submissions::period.eq(period));
    }
    if let Some(status) = &filter.status {
        query = query.filter(submissions::status.eq(status));
    }
    // The same rule as domain::submission::timeliness, as SQL conditions.
    let now = filter.now;
    let submitted_late = submissions::first_submitted_at.ge(submissions::deadline_at);
    let missed = submissions::first_submitted_at
        .is_null()
        .and(submissions::deadline_at.le(now));
    query = match filter.late {
        None => query,
        Some(true) => query.filter(submitted_late.or(missed).assume_not_null()),
        Some(false) => query.filter(
            submissions::first_submitted_at
                .lt(submissions::deadline_at)
                .or(submissions::deadline_at.is_null())
                .or(submissions::first_submitted_at
                    .is_null()
                    .and(submissions::deadline_at.gt(now)))
                .assume_not_null(),
        ),
    };
    query
}

pub fn list(
    conn: &mut DbConnection,
    filter: &SubmissionFilter,
    page: &PageRequest,
) -> Result<(Vec<SubmissionRow>, i64), ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("period", false) => query.order((submissions::period.asc(), submissions::id.asc())),
        ("period", true) => query.order((submissions::period.desc(), submissions::id.desc())),
        ("updated_at", false) => {
            query.order((submissions::updated_at.asc(), submissions::id.asc()))
        }
        ("updated_at", true) => {
            query.order((submissions::updated_at.desc(), submissions::id.desc()))
        }
        (_, false) => query.order(submissions::id.asc()),
        (_, true) => query.order(submissions::id.desc()),
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    super::counted(page, rows, || filtered(filter).count().get_result(conn))
}

pub fn insert(conn: &mut DbConnection, new: &NewSubmission) -> Result<i64, ApiError> {
    Ok(diesel::insert_into(submissions::table)
        .values(new)
        .returning(submissions::id)
        .get_result(conn)?)
}

/// The values of each of `ids`, in indicator order.
pub fn values(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<ValueRow>, ApiError> {
    Ok(submission_values::table
        .filter(super::any_of(submission_values::submission_id, ids))
        .order((
            submission_values::submission_id,
            submission_values::indicator_id,
        ))
        .load(conn)?)
}

/// The task updates of each of `ids`, in task order.
pub fn task_updates(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<TaskUpdateRow>, ApiError> {
    Ok(submission_task_updates::table
        .filter(super::any_of(submission_task_updates::submission_id, ids))
        .order((
            submission_task_updates::submission_id,
            submission_task_updates::task_id,
        ))
        .load(conn)?)
}

/// Replaces the submission's values and task updates.
pub fn replace_content(
    conn: &mut DbConnection,
    id: i64,
    values: &[ValueRow],
    updates: &[TaskUpdateRow],
) -> Result<(), ApiError> {
    diesel::delete(submission_values::table.filter(submission_values::submission_id.eq(id)))
        .execute(conn)?;
    diesel::delete(
        submission_task_updates::table.filter(submission_task_updates::submission_id.eq(id)),
    )
    .execute(conn)?;
    // One insert per row: batch inserts do not compile through the multi-backend connection.
    for value in values {
        diesel::insert_into(submission_values::table)
            .values(value)
            .execute(conn)?;
    }
    for update in updates {
        diesel::insert_into(submission_task_updates::table)
            .values(update)
            .execute(conn)?;
    }
    Ok(())
}

/// Bumps the version of submission `id` if it is still `expected_version` (its ETag), setting
/// `narrative` and `change`; `false` when another write came first.
pub fn bump(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i32,
    narrative: Option<&Narrative>,
    change: &StatusChange,
) -> Result<bool, ApiError> {
    let target = submissions::table
        .filter(submissions::id.eq(id))
        .filter(submissions::version.eq(expected_version));
    let stamp = (
        submissions::version.eq(expected_version + 1),
        submissions::updated_at.eq(super::now()),
    );
    let updated = match narrative {
        Some(narrative) => diesel::update(target)
            .set((stamp, narrative))
            .execute(conn)?,
        None => diesel::update(target).set(stamp).execute(conn)?,
    };
    if updated == 0 {
        return Ok(false);
    }
    let has_change = change.status.is_some()
        || change.return_reason.is_some()
        || change.review_comments.is_some()
        || change.first_submitted_at.is_some()
        || change.last_submitted_at.is_some()
        || change.accepted_at.is_some();
    if has_change {
        diesel::update(submissions::table.find(id))
            .set(change)
            .execute(conn)?;
    }
    Ok(true)
}

/// Sets the reporting deadline of every submission of the plan through `deadline_of`.
pub fn set_deadlines(
    conn: &mut DbConnection,
    plan_id: i64,
    deadline_of: impl Fn(&str, &str) -> Option<NaiveDateTime>,
) -> Result<(), ApiError> {
    let rows: Vec<(i64, String, String)> = submissions::table
        .filter(submissions::plan_id.eq(plan_id))
        .select((submissions::id, submissions::period, submissions::unit_code))
        .load(conn)?;
    for (id, period, unit) in rows {
        diesel::update(submissions::table.find(id))
            .set(submissions::deadline_at.eq(deadline_of(&period, &unit)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_version(
    conn: &mut DbConnection,
    submission_id: i64,
    snapshot: &str,
    user_id: Option<i64>,
) -> Result<i32, ApiError> {
    let last: Option<i32> = submission_versions::table
        .filter(submission_versions::submission_id.eq(submission_id))
        .select(diesel::dsl::max(submission_versions::number))
        .first(conn)?;
    let number = last.unwrap_or(0) + 1;
    diesel::insert_into(submission_versions::table)
        .values((
            submission_versions::submission_id.eq(submission_id),
            submission_versions::number.eq(number),
            submission_versions::snapshot.eq(snapshot),
            submission_versions::accepted_by_user_id.eq(user_id),
            submission_versions::accepted_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(number)
}

/// The accepted versions of the submission, oldest first.
pub fn versions(conn: &mut DbConnection, submission_id: i64) -> Result<Vec<VersionRow>, ApiError> {
    Ok(submission_versions::table
        .filter(submission_versions::submission_id.eq(submission_id))
        .order(submission_versions::number.asc())
        .load(conn)?)
}

/// The latest accepted version of each of `ids` that has one.
pub fn latest_versions(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<VersionRow>, ApiError> {
    let rows: Vec<VersionRow> = submission_versions::table
        .filter(super::any_of(submission_versions::submission_id, ids))
        .order((
            submission_versions::submission_id,
            submission_versions::number.desc(),
        ))
        .load(conn)?;
    let mut latest: Vec<VersionRow> = Vec::new();
    for row in rows {
        if latest
            .last()
            .is_none_or(|l| l.submission_id != row.submission_id)
        {
            latest.push(row);
        }
    }
    Ok(latest)
}
