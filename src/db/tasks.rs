//! Queries on tasks (nhiệm vụ) and their deadline extensions (gia hạn).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use super::schema::{task_extensions, tasks};
use super::{Db, DbConnection, PageRequest};
use crate::domain::text::search_key;
use crate::domain::timeliness::{Timeliness, TimelinessCounts};
use crate::domain::webhook::EventType;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct TaskRow {
    pub id: i64,
    pub plan_id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub lead_unit_code: Option<String>,
    /// JSON array of unit codes.
    pub coordinating_unit_codes: String,
    pub coordinating_note: Option<String>,
    pub original_due_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub due_precision: Option<String>,
    pub due_label: Option<String>,
    pub output_form: Option<String>,
    pub decision_authority: Option<String>,
    /// JSON array of document references.
    pub legal_basis: String,
    pub status: String,
    pub progress_percent: i32,
    pub completed_on: Option<NaiveDate>,
    pub search_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The stored columns a task's writer decides, shared by insert and update.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
pub struct TaskData {
    pub plan_id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub lead_unit_code: Option<String>,
    pub coordinating_unit_codes: String,
    pub coordinating_note: Option<String>,
    pub original_due_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub due_precision: Option<String>,
    pub due_label: Option<String>,
    pub output_form: Option<String>,
    pub decision_authority: Option<String>,
    pub legal_basis: String,
    pub status: String,
    pub progress_percent: i32,
    pub completed_on: Option<NaiveDate>,
}

impl TaskRow {
    pub fn into_data(self) -> TaskData {
        TaskData {
            plan_id: self.plan_id,
            code: self.code,
            title: self.title,
            description: self.description,
            lead_unit_code: self.lead_unit_code,
            coordinating_unit_codes: self.coordinating_unit_codes,
            coordinating_note: self.coordinating_note,
            original_due_date: self.original_due_date,
            due_date: self.due_date,
            due_precision: self.due_precision,
            due_label: self.due_label,
            output_form: self.output_form,
            decision_authority: self.decision_authority,
            legal_basis: self.legal_basis,
            status: self.status,
            progress_percent: self.progress_percent,
            completed_on: self.completed_on,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct ExtensionRow {
    pub id: i64,
    pub task_id: i64,
    pub previous_due_date: Option<NaiveDate>,
    pub new_due_date: NaiveDate,
    pub reason: String,
    pub approved_by: String,
    pub created_by_user_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct TaskFilter {
    pub plan_id: i64,
    pub search_key: Option<String>,
    pub lead: Option<super::succession::UnitMatch>,
    pub status: Option<String>,
    /// With `as_of`: only tasks of this timeliness on that day.
    pub timeliness: Option<Timeliness>,
    pub as_of: NaiveDate,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<TaskRow>, ApiError> {
    Ok(super::find_by_key!(conn, tasks::table, id)?)
}

/// Those of `ids` that belong to plan `plan_id`, by id: one query for a whole request.
pub fn in_plan(
    conn: &mut DbConnection,
    plan_id: i64,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, TaskRow>, ApiError> {
    let rows: Vec<TaskRow> = tasks::table
        .filter(tasks::plan_id.eq(plan_id))
        .filter(super::any_of(tasks::id, ids))
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

pub fn id_by_code(
    conn: &mut DbConnection,
    plan_id: i64,
    code: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(tasks::table
        .filter(tasks::plan_id.eq(plan_id))
        .filter(tasks::code.eq(code))
        .select(tasks::id)
        .first(conn)
        .optional()?)
}

const OPEN: [&str; 2] = ["not_started", "in_progress"];

fn filtered<'a>(filter: &'a TaskFilter) -> tasks::BoxedQuery<'a, Db> {
    let mut query = tasks::table
        .filter(tasks::plan_id.eq(filter.plan_id))
        .into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            tasks::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(unit) = &filter.lead {
        query = query.filter(
            tasks::lead_unit_code
                .eq_any(&unit.codes)
                .and(tasks::id.ne_all(&unit.moved_out))
                .or(tasks::id.eq_any(&unit.moved_in)),
        );
    }
    if let Some(status) = &filter.status {
        query = query.filter(tasks::status.eq(status));
    }
    if let Some(day) = filter.due_before {
        query = query.filter(tasks::due_date.lt(day));
    }
    if let Some(day) = filter.due_after {
        query = query.filter(tasks::due_date.gt(day));
    }
    let as_of = filter.as_of;
    // The same classification as domain::timeliness::classify, as SQL conditions.
    query = match filter.timeliness {
        None => query,
        Some(Timeliness::NotDue) => query
            .filter(tasks::status.eq("not_started"))
            .filter(tasks::due_date.ge(as_of)),
        Some(Timeliness::OnTrack) => query.filter(tasks::status.eq_any(OPEN)).filter(
            tasks::due_date.is_null().or(tasks::status
                .eq("in_progress")
                .and(tasks::due_date.ge(as_of))),
        ),
        Some(Timeliness::Overdue) => query
            .filter(tasks::status.eq_any(OPEN))
            .filter(tasks::due_date.lt(as_of)),
        Some(Timeliness::CompletedOnTime) => query
            .filter(tasks::status.eq("completed"))
            .filter(tasks::completed_on.is_not_null())
            .filter(
                tasks::due_date
                    .is_null()
                    .or(tasks::completed_on.le(tasks::due_date)),
            ),
        Some(Timeliness::CompletedLate) => query
            .filter(tasks::status.eq("completed"))
            .filter(tasks::completed_on.gt(tasks::due_date)),
    };
    query
}

/// How many of a plan's tasks are in each timeliness on `as_of`, and in all: one grouped
/// query. The classification is that of `filtered` (and of domain::timeliness::classify); the
/// test `timeliness_counts_agree_with_the_filters` holds them together.
pub fn timeliness_counts(
    conn: &mut DbConnection,
    plan_id: i64,
    as_of: NaiveDate,
) -> Result<TimelinessCounts, ApiError> {
    #[derive(QueryableByName)]
    struct Class {
        #[diesel(sql_type = Text)]
        class: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let classes: Vec<Class> = diesel::sql_query(
        "SELECT CASE \
           WHEN status = 'not_started' AND due_date >= $1 THEN 'not_due' \
           WHEN status IN ('not_started', 'in_progress') AND (due_date IS NULL \
             OR (status = 'in_progress' AND due_date >= $1)) THEN 'on_track' \
           WHEN status IN ('not_started', 'in_progress') AND due_date < $1 THEN 'overdue' \
           WHEN status = 'completed' AND completed_on IS NOT NULL \
             AND (due_date IS NULL OR completed_on <= due_date) THEN 'completed_on_time' \
           WHEN status = 'completed' AND completed_on > due_date THEN 'completed_late' \
           WHEN status = 'cancelled' THEN 'cancelled' \
           ELSE 'other' END AS class, COUNT(*) AS n \
         FROM tasks WHERE plan_id = $2 GROUP BY 1",
    )
    .bind::<Date, _>(as_of)
    .bind::<BigInt, _>(plan_id)
    .load(conn)?;
    let mut counts = TimelinessCounts::default();
    for Class { class, n } in classes {
        counts.total += n;
        *match class.as_str() {
            "not_due" => &mut counts.not_due,
            "on_track" => &mut counts.on_track,
            "overdue" => &mut counts.overdue,
            "completed_on_time" => &mut counts.completed_on_time,
            "completed_late" => &mut counts.completed_late,
            "cancelled" => &mut counts.cancelled,
            _ => continue,
        } += n;
    }
    Ok(counts)
}

/// One page of the tasks `filter` matches, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &TaskFilter,
    page: &PageRequest,
) -> Result<(Vec<TaskRow>, i64), ApiError> {
    let found = rows(conn, filter, page)?;
    super::counted(page, found, || filtered(filter).count().get_result(conn))
}

/// One page of the tasks `filter` matches, without counting them.
pub fn rows(
    conn: &mut DbConnection,
    filter: &TaskFilter,
    page: &PageRequest,
) -> Result<Vec<TaskRow>, ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("due_date", false) => query.order((tasks::due_date.asc(), tasks::id.asc())),
        ("due_date", true) => query.order((tasks::due_date.desc(), tasks::id.desc())),
        ("title", false) => query.order((tasks::search_key.asc(), tasks::id.asc())),
        ("title", true) => query.order((tasks::search_key.desc(), tasks::id.desc())),
        ("id", false) => query.order(tasks::id.asc()),
        ("id", true) => query.order(tasks::id.desc()),
        (_, false) => query.order((tasks::code.asc(), tasks::id.asc())),
        (_, true) => query.order((tasks::code.desc(), tasks::id.desc())),
    };
    Ok(query.limit(page.limit).offset(page.offset).load(conn)?)
}

fn task_search_key(data: &TaskData) -> String {
    search_key(&format!("{} | {}", data.code, data.title))
}

pub fn insert(conn: &mut DbConnection, data: &TaskData) -> Result<TaskRow, ApiError> {
    let now = super::now();
    let id: i64 = diesel::insert_into(tasks::table)
        .values((
            data,
            tasks::search_key.eq(task_search_key(data)),
            tasks::created_at.eq(now),
            tasks::updated_at.eq(now),
        ))
        .returning(tasks::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("task {id}")))
}

/// Writes `data` to task `id`. A task that gets its completion date here raises
/// `task.completed`, in the caller's transaction: whether it was a direct update, an accepted
/// submission's task update or an import, this is the one place a task is completed.
pub fn update(conn: &mut DbConnection, id: i64, data: &TaskData) -> Result<TaskRow, ApiError> {
    let completed_before: Option<Option<NaiveDate>> = tasks::table
        .find(id)
        .select(tasks::completed_on)
        .first(conn)
        .optional()?;
    diesel::update(tasks::table.find(id))
        .set((
            data,
            tasks::search_key.eq(task_search_key(data)),
            tasks::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    let row = find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("task {id}")))?;
    if completed_before.flatten().is_none() && row.completed_on.is_some() {
        super::outbox::enqueue(
            conn,
            EventType::TaskCompleted,
            None,
            Some(row.plan_id),
            serde_json::json!({"task_id": row.id, "plan_id": row.plan_id, "code": row.code,
                "title": row.title, "lead_unit_code": row.lead_unit_code,
                "due_date": row.due_date, "completed_on": row.completed_on}),
        )?;
    }
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(tasks::table.find(id)).execute(conn)
}

/// One page of the task's extensions, oldest first (or newest with a descending sort), and
/// how many there are.
pub fn extensions(
    conn: &mut DbConnection,
    task_id: i64,
    page: &PageRequest,
) -> Result<(Vec<ExtensionRow>, i64), ApiError> {
    let of_task = task_extensions::task_id.eq(task_id);
    let total = task_extensions::table
        .filter(of_task)
        .count()
        .get_result(conn)?;
    let query = task_extensions::table.filter(of_task).into_boxed::<Db>();
    let query = if page.descending {
        query.order(task_extensions::id.desc())
    } else {
        query.order(task_extensions::id.asc())
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    Ok((rows, total))
}

/// How many extensions each of `task_ids` has.
pub fn extension_counts(
    conn: &mut DbConnection,
    task_ids: &[i64],
) -> Result<Vec<(i64, i64)>, ApiError> {
    Ok(task_extensions::table
        .filter(task_extensions::task_id.eq_any(task_ids))
        .group_by(task_extensions::task_id)
        .select((task_extensions::task_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Records an extension and moves the task's deadline in force to `new_due_date`.
pub fn extend(
    conn: &mut DbConnection,
    task: &TaskRow,
    new_due_date: NaiveDate,
    reason: &str,
    approved_by: &str,
    user_id: Option<i64>,
) -> Result<ExtensionRow, ApiError> {
    let id: i64 = diesel::insert_into(task_extensions::table)
        .values((
            task_extensions::task_id.eq(task.id),
            task_extensions::previous_due_date.eq(task.due_date),
            task_extensions::new_due_date.eq(new_due_date),
            task_extensions::reason.eq(reason),
            task_extensions::approved_by.eq(approved_by),
            task_extensions::created_by_user_id.eq(user_id),
            task_extensions::created_at.eq(super::now()),
        ))
        .returning(task_extensions::id)
        .get_result(conn)?;
    diesel::update(tasks::table.find(task.id))
        .set((
            tasks::due_date.eq(new_due_date),
            tasks::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(task_extensions::table.find(id).first(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grouped counts classify as the per-timeliness filters do, for tasks of every status
    /// with and without deadlines and completion dates, on days before, on and after them.
    #[test]
    fn timeliness_counts_agree_with_the_filters() {
        let (_dir, pool) = super::super::test_database();
        let conn: &mut DbConnection = &mut pool.get().unwrap();
        crate::demo::load(conn).unwrap();
        let plan_id = 1;
        let template = tasks::table
            .filter(tasks::plan_id.eq(plan_id))
            .first::<TaskRow>(conn)
            .unwrap()
            .into_data();
        let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d);
        let mut n = 0;
        for status in ["not_started", "in_progress", "completed", "cancelled"] {
            for due in [None, day(6, 30)] {
                for completed in [None, day(6, 1), day(6, 30), day(7, 15)] {
                    n += 1;
                    insert(
                        conn,
                        &TaskData {
                            code: format!("T{n}"),
                            status: status.into(),
                            due_date: due,
                            original_due_date: due,
                            completed_on: completed,
                            ..template.clone()
                        },
                    )
                    .unwrap();
                }
            }
        }
        for as_of in [day(1, 1), day(6, 30), day(7, 1), day(12, 31)] {
            let as_of = as_of.unwrap();
            let mut counted = |timeliness, status: Option<&str>| {
                let filter = TaskFilter {
                    plan_id,
                    search_key: None,
                    lead: None,
                    status: status.map(str::to_owned),
                    timeliness,
                    as_of,
                    due_before: None,
                    due_after: None,
                };
                filtered(&filter).count().get_result::<i64>(conn).unwrap()
            };
            let expected = TimelinessCounts {
                total: counted(None, None),
                not_due: counted(Some(Timeliness::NotDue), None),
                on_track: counted(Some(Timeliness::OnTrack), None),
                overdue: counted(Some(Timeliness::Overdue), None),
                completed_on_time: counted(Some(Timeliness::CompletedOnTime), None),
                completed_late: counted(Some(Timeliness::CompletedLate), None),
                cancelled: counted(None, Some("cancelled")),
            };
            let grouped = timeliness_counts(conn, plan_id, as_of).unwrap();
            assert_eq!(grouped, expected, "as of {as_of}");
            assert!(grouped.not_due > 0 || grouped.overdue > 0, "{grouped:?}");
        }
    }
}
