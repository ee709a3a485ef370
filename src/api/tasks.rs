//! Tasks (nhiệm vụ) of a plan: who leads them, by when, in which document form, and how far
//! they are; deadline extensions (gia hạn) with their history.

use std::collections::HashMap;

use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::tasks::{ExtensionRow, TaskData, TaskRow};
use crate::db::{self, enum_text, parse_enum, DbConnection};
use crate::domain::deadline::{due_label, parse_due_label, DuePrecision};
use crate::domain::text::nfc;
use crate::domain::timeliness::{classify, local_date, TaskStatus, Timeliness};
use crate::domain::validate::Checks;
use crate::error::{ApiError, FieldError};
use crate::startup::AppState;

/// A task.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskResponse {
    /// The task's id, as in `/api/v1/tasks/{id}`.
    pub id: i64,
    /// The id of the plan (kế hoạch) the task belongs to.
    pub plan_id: i64,
    /// The task's number in the plan (TT): "1", "2".
    #[schema(example = "1")]
    pub code: String,
    /// What is to be done (nhiệm vụ), as the plan's task list (Phụ lục II, appendix II) words it.
    #[schema(
        example = "Danh mục dự án đầu tư công phục vụ phát triển kinh tế - xã hội thành phố Cao Lãnh giai đoạn 2021 - 2025"
    )]
    pub title: String,
    /// Further details beyond the title; `null` when none were given.
    pub description: Option<String>,
    /// The unit that leads it (chủ trì); its officers report its progress.
    #[schema(example = "SKHDT-NVKHDT")]
    pub lead_unit_code: Option<String>,
    /// Units that support it (phối hợp, hỗ trợ).
    #[schema(example = json!(["STC", "UBND-TPCL"]))]
    pub coordinating_unit_codes: Vec<String>,
    /// What the document adds about coordination that names no single unit.
    #[schema(example = "và các sở, ban, ngành Tỉnh và các đơn vị liên quan")]
    pub coordinating_note: Option<String>,
    /// The deadline in force: the latest extension's, else the plan's.
    #[schema(example = "2022-06-30")]
    pub due_date: Option<NaiveDate>,
    /// The deadline the plan set, before any extension.
    pub original_due_date: Option<NaiveDate>,
    /// How precisely the plan states the deadline: "Tháng 6/2022" is `month` (due the last day
    /// of June), "Năm 2025" is `year` (due 31 December).
    pub due_precision: Option<DuePrecision>,
    /// The deadline as the document writes it (thời gian hoàn thành).
    #[schema(example = "Tháng 6/2022")]
    pub due_label: Option<String>,
    /// The document the task produces (hình thức văn bản).
    #[schema(example = "Tờ trình và Nghị quyết")]
    pub output_form: Option<String>,
    /// Who decides (cấp quyết định).
    #[schema(example = "Hội đồng nhân dân Tỉnh")]
    pub decision_authority: Option<String>,
    /// The documents that ground it, e.g. 947/QĐ-UBND.HC.
    pub legal_basis: Vec<String>,
    pub status: TaskStatus,
    /// How far the work is, in percent (0–100), as the lead unit reports it; set to 100 when the
    /// task is completed unless another value was given.
    #[schema(minimum = 0, maximum = 100)]
    pub progress_percent: i32,
    /// The day the task was completed (`YYYY-MM-DD`); set only while `status` is `completed`,
    /// otherwise `null`.
    pub completed_on: Option<NaiveDate>,
    /// Standing against the deadline on `as_of`: `not_due`, `on_track` (đang thực hiện trong
    /// hạn), `overdue` (quá hạn), `completed_on_time` (hoàn thành đúng hạn), `completed_late`
    /// (hoàn thành quá hạn); `null` for a cancelled task. The deadline day itself is on time.
    pub timeliness: Option<Timeliness>,
    /// The day timeliness is judged on (Asia/Ho_Chi_Minh).
    pub as_of: NaiveDate,
    /// How many times the deadline was extended.
    pub extension_count: i64,
    /// When the task was recorded (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the task last changed, including by a deadline extension (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// The task's number in the plan (TT), such as "1" or "2.3": 1–20 letters, digits or dots,
    /// unique in the plan (a duplicate is refused with 409).
    #[schema(example = "1", max_length = 20)]
    pub code: String,
    /// What is to be done (nhiệm vụ), as the document words it; must not be blank.
    #[schema(max_length = 2000)]
    pub title: String,
    /// Further details beyond the title; absent, `null` or blank means none.
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Code of the unit (đơn vị) that leads the task (chủ trì); it must exist, and its officers may
    /// then report progress. Absent or `null`: no lead unit.
    pub lead_unit_code: Option<String>,
    /// Codes of the units that support the task (phối hợp, hỗ trợ); each must exist, at most 50.
    /// Absent: none.
    #[serde(default)]
    pub coordinating_unit_codes: Vec<String>,
    /// Coordination the document describes without naming a single unit, e.g. "và các sở, ban,
    /// ngành Tỉnh và các đơn vị liên quan" (and other relevant agencies).
    #[schema(max_length = 1000)]
    pub coordinating_note: Option<String>,
    /// The deadline; give it, or `due_label` alone to have it read ("Tháng 6/2022",
    /// "Quý II/2023", "Năm 2025", "31/12/2024").
    pub due_date: Option<NaiveDate>,
    /// Defaults to `day` with a `due_date`, or what `due_label` implies.
    pub due_precision: Option<DuePrecision>,
    /// The deadline as the document writes it (thời gian hoàn thành). Alone it is read into
    /// `due_date`; with a `due_date` it is stored as given, and if absent one is made from the
    /// date.
    #[schema(example = "Tháng 6/2022", max_length = 100)]
    pub due_label: Option<String>,
    /// The document the task produces (hình thức văn bản), e.g. "Tờ trình và Nghị quyết" (a
    /// submission and a resolution); blank means none.
    #[schema(max_length = 500)]
    pub output_form: Option<String>,
    /// Who decides on the task's output (cấp quyết định), e.g. "Hội đồng nhân dân Tỉnh" (the
    /// Provincial People's Council); blank means none.
    #[schema(max_length = 500)]
    pub decision_authority: Option<String>,
    /// At most 20 references of at most 300 characters.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// Default `not_started`.
    pub status: Option<TaskStatus>,
    /// Default 0; 100 when completed.
    #[schema(minimum = 0, maximum = 100)]
    pub progress_percent: Option<i32>,
    /// Required when `status` is `completed`; not in the future.
    pub completed_on: Option<NaiveDate>,
}

/// Changes to a task; absent fields stay, `null` clears a nullable one. An officer of the
/// lead unit may send only `status`, `progress_percent` and `completed_on`; everything else
/// needs the planner or admin role. The deadline changes through extensions once one exists.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    /// A new task number in the plan (TT): 1–20 letters, digits or dots, unique in the plan (409
    /// otherwise).
    #[schema(max_length = 20)]
    pub code: Option<String>,
    /// A new wording of what is to be done; must not be blank.
    #[schema(max_length = 2000)]
    pub title: Option<String>,
    /// New details beyond the title; `null` or blank clears them.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    /// Code of the new lead unit (chủ trì), which must exist; its officers then report progress.
    /// `null` leaves the task without a lead unit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub lead_unit_code: Option<Option<String>>,
    /// Replaces the whole list of supporting units (phối hợp, hỗ trợ); each must exist, at most 50.
    /// `[]` empties it.
    pub coordinating_unit_codes: Option<Vec<String>>,
    /// New free-text note on coordination that names no single unit; `null` or blank clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub coordinating_note: Option<Option<String>>,
    /// A new deadline (`YYYY-MM-DD`), which also becomes `original_due_date`; without `due_label`
    /// the label is remade from the date. `null` removes the deadline unless a `due_label` is sent.
    /// Refused with 409 once the task has extensions.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    pub due_precision: Option<DuePrecision>,
    /// The deadline as the document writes it ("Tháng 6/2022", "Năm 2025"). Sent without
    /// `due_date`, the deadline's date and precision are read from it, as on create; with a
    /// `due_date`, it is stored as given beside the date. `null` remakes it from the date.
    /// Refused with 409 once the task has extensions.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub due_label: Option<Option<String>>,
    /// The document the task produces (hình thức văn bản); `null` or blank clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub output_form: Option<Option<String>>,
    /// Who decides on the task's output (cấp quyết định); `null` or blank clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub decision_authority: Option<Option<String>>,
    /// Replaces the list of documents that ground the task (e.g. 947/QĐ-UBND.HC): at most 20
    /// references of at most 300 characters. `[]` empties it.
    pub legal_basis: Option<Vec<String>>,
    pub status: Option<TaskStatus>,
    /// Progress in percent (0–100). If absent when `status` becomes `completed`, it is set to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub progress_percent: Option<i32>,
    /// The day the task was completed (`YYYY-MM-DD`), not in the future; required while `status` is
    /// `completed`. `null` clears it; leaving `completed` clears it too.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub completed_on: Option<Option<NaiveDate>>,
}

impl UpdateTaskRequest {
    /// Whether the request changes only progress, which the lead unit's officers may do.
    fn progress_only(&self) -> bool {
        let UpdateTaskRequest {
            status: _,
            progress_percent: _,
            completed_on: _,
            code,
            title,
            description,
            lead_unit_code,
            coordinating_unit_codes,
            coordinating_note,
            due_date,
            due_precision,
            due_label,
            output_form,
            decision_authority,
            legal_basis,
        } = self;
        code.is_none()
            && title.is_none()
            && description.is_none()
            && lead_unit_code.is_none()
            && coordinating_unit_codes.is_none()
            && coordinating_note.is_none()
            && due_date.is_none()
            && due_precision.is_none()
            && due_label.is_none()
            && output_form.is_none()
            && decision_authority.is_none()
            && legal_basis.is_none()
    }
}

/// Filters of the task list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Only tasks this unit leads.
    pub lead_unit: Option<String>,
    /// With a unit filter: also the units whose duties passed to that unit (merged into it,
    /// split or renamed to it), directly or through earlier successions.
    #[serde(default)]
    pub include_predecessors: bool,
    /// Only tasks in this status: `not_started`, `in_progress`, `completed` or `cancelled`.
    pub status: Option<TaskStatus>,
    /// Only tasks of this timeliness on `as_of`.
    pub timeliness: Option<Timeliness>,
    /// Only tasks due before this date (deadline in force).
    pub due_before: Option<NaiveDate>,
    /// Only tasks due after this date.
    pub due_after: Option<NaiveDate>,
    /// The day timeliness is judged on; default today in Asia/Ho_Chi_Minh.
    pub as_of: Option<NaiveDate>,
}

/// A deadline extension (gia hạn).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// The new deadline; later than the one in force.
    #[schema(example = "2022-09-30")]
    pub new_due_date: NaiveDate,
    /// Why the deadline is extended; must not be blank.
    #[schema(example = "Chờ ý kiến thẩm định của Sở Tài chính", max_length = 2000)]
    pub reason: String,
    /// Who approved it (normally whoever assigned the task).
    #[schema(example = "Giám đốc Sở Kế hoạch và Đầu tư", max_length = 200)]
    pub approved_by: String,
}

/// A recorded extension.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExtensionResponse {
    /// The id of this extension record; ids grow in the order extensions were recorded.
    pub id: i64,
    /// The id of the task (nhiệm vụ) whose deadline was extended.
    pub task_id: i64,
    /// The deadline in force before this extension.
    pub previous_due_date: Option<NaiveDate>,
    /// The deadline this extension set (`YYYY-MM-DD`); the task's deadline in force unless a later
    /// extension followed.
    pub new_due_date: NaiveDate,
    /// Why the deadline was extended, as recorded.
    pub reason: String,
    /// Who approved the extension (normally whoever assigned the task), as free text, e.g. "Giám
    /// đốc Sở Kế hoạch và Đầu tư" (Director of the Department).
    pub approved_by: String,
    /// The local user who recorded it; `null` when an API client or a user of a trusted
    /// external issuer did (the audit trail's `actor_subject` names them).
    pub created_by_user_id: Option<i64>,
    /// When the extension was recorded (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

impl From<ExtensionRow> for ExtensionResponse {
    fn from(row: ExtensionRow) -> Self {
        ExtensionResponse {
            id: row.id,
            task_id: row.task_id,
            previous_due_date: row.previous_due_date,
            new_due_date: row.new_due_date,
            reason: row.reason,
            approved_by: row.approved_by,
            created_by_user_id: row.created_by_user_id,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// Today in Asia/Ho_Chi_Minh, the day deadlines are judged on by default.
pub fn today() -> NaiveDate {
    local_date(Utc::now())
}

fn respond(
    rows: Vec<TaskRow>,
    as_of: NaiveDate,
    conn: &mut DbConnection,
) -> Result<Vec<TaskResponse>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts: HashMap<i64, i64> = db::tasks::extension_counts(conn, &ids)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|row| {
            let status: TaskStatus = parse_enum(&row.status)?;
            Ok(TaskResponse {
                timeliness: classify(status, row.due_date, row.completed_on, as_of),
                as_of,
                status,
                extension_count: counts.get(&row.id).copied().unwrap_or(0),
                due_precision: row.due_precision.as_deref().map(parse_enum).transpose()?,
                coordinating_unit_codes: serde_json::from_str(&row.coordinating_unit_codes)
                    .unwrap_or_default(),
                legal_basis: serde_json::from_str(&row.legal_basis).unwrap_or_default(),
                id: row.id,
                plan_id: row.plan_id,
                code: row.code,
                title: row.title,
                description: row.description,
                lead_unit_code: row.lead_unit_code,
                coordinating_note: row.coordinating_note,
                due_date: row.due_date,
                original_due_date: row.original_due_date,
                due_label: row.due_label,
                output_form: row.output_form,
                decision_authority: row.decision_authority,
                progress_percent: row.progress_percent,
                completed_on: row.completed_on,
                created_at: row.created_at.and_utc(),
                updated_at: row.updated_at.and_utc(),
            })
        })
        .collect()
}

fn respond_one(row: TaskRow, conn: &mut DbConnection) -> Result<TaskResponse, ApiError> {
    respond(vec![row], today(), conn)?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("task vanished")))
}

fn optional_text(value: Option<String>) -> Option<String> {
    value.map(|v| nfc(&v)).filter(|v| !v.is_empty())
}

/// A deadline as stored: date, precision and the document's label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Due {
    pub date: Option<NaiveDate>,
    pub precision: Option<DuePrecision>,
    pub label: Option<String>,
}

/// Fills in a deadline from what was given: a date (precision `day` unless stated), or a
/// label the document uses, which is read into date and precision.
pub fn resolve_due(
    date: Option<NaiveDate>,
    precision: Option<DuePrecision>,
    label: Option<String>,
) -> Result<Due, FieldError> {
    let label = optional_text(label);
    match (date, label) {
        (Some(date), label) => {
            let precision = precision.unwrap_or(DuePrecision::Day);
            Ok(Due {
                date: Some(date),
                precision: Some(precision),
                label: Some(label.unwrap_or_else(|| due_label(date, precision))),
            })
        }
        (None, Some(label)) => {
            let (date, parsed) =
                parse_due_label(&label).map_err(|e| FieldError::new("due_label", e.to_string()))?;
            Ok(Due {
                date: Some(date),
                precision: Some(precision.unwrap_or(parsed)),
                label: Some(label),
            })
        }
        (None, None) if precision.is_some() => Err(FieldError::new(
            "due_precision",
            "needs a due_date or due_label",
        )),
        (None, None) => Ok(Due::default()),
    }
}

/// Normalises and checks a task (`id` is `None` on create).
fn validate(
    conn: &mut DbConnection,
    id: Option<i64>,
    data: &mut TaskData,
    coordinating: &[String],
    legal_basis: &[String],
) -> Result<(), ApiError> {
    data.code = data.code.trim().to_owned();
    data.title = nfc(&data.title);
    data.description = optional_text(data.description.take());
    data.coordinating_note = optional_text(data.coordinating_note.take());
    data.output_form = optional_text(data.output_form.take());
    data.decision_authority = optional_text(data.decision_authority.take());
    let status: TaskStatus = parse_enum(&data.status)?;
    let mut checks = Checks::new();
    checks
        .check(
            !data.code.is_empty()
                && data.code.len() <= 20
                && data
                    .code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "code",
            "must be 1–20 letters, digits or dots, like 1 or 2.3",
        )
        .text("title", &data.title, 2000);
    for (field, value, max) in [
        ("description", &data.description, 10_000),
        ("coordinating_note", &data.coordinating_note, 1000),
        ("output_form", &data.output_form, 500),
        ("decision_authority", &data.decision_authority, 500),
        ("due_label", &data.due_label, 100),
    ] {
        if let Some(value) = value {
            checks.max_len(field, value, max);
        }
    }
    checks.check(
        legal_basis.len() <= 20,
        "legal_basis",
        "must list at most 20 references",
    );
    for (i, reference) in legal_basis.iter().enumerate() {
        checks.text(&format!("legal_basis[{i}]"), reference, 300);
    }
    checks
        .check(
            coordinating.len() <= 50,
            "coordinating_unit_codes",
            "must list at most 50 units",
        )
        .check(
            (0..=100).contains(&data.progress_percent),
            "progress_percent",
            "must be between 0 and 100",
        );
    match status {
        TaskStatus::Completed => {
            checks.check(
                data.completed_on.is_some(),
                "completed_on",
                "is required when the task is completed",
            );
            checks.check(
                data.completed_on.is_none_or(|d| d <= today()),
                "completed_on",
                "must not be in the future",
            );
        }
        _ => {
            checks.check(
                data.completed_on.is_none(),
                "completed_on",
                "only a completed task has a completion date",
            );
        }
    }
    checks.finish()?;
    let mut checks = Checks::new();
    for error in db::units::unknown_units(
        conn,
        "lead_unit_code",
        data.lead_unit_code.as_deref(),
        coordinating,
    )? {
        checks.push(error);
    }
    checks.finish()?;
    match db::tasks::id_by_code(conn, data.plan_id, &data.code)? {
        Some(existing) if Some(existing) != id => Err(ApiError::Conflict {
            detail: format!("the plan already has task {}", data.code),
            existing: Some(format!("/api/v1/tasks/{existing}")),
        }),
        _ => Ok(()),
    }
}

fn find_task(conn: &mut DbConnection, id: i64) -> Result<TaskRow, ApiError> {
    db::tasks::find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("task {id}")))
}

/// Lists a plan's tasks with their timeliness on `as_of`. Sortable by `code` (default),
/// `due_date`, `title`, `id`; `q` searches codes and titles.
#[utoipa::path(
    tag = "tasks",
    params(("plan_id" = i64, Path, description = "The plan id"), ListParams, TaskQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(code|due_date|title|id)$", description = "Sort field, `-field` for descending: `code`, `due_date`, `title`, `id` (default `code`). Ties break by id.")),
    responses((status = 200, description = "One page of tasks", body = Page<TaskResponse>))
)]
#[get("/plans/{plan_id}/tasks")]
pub async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    list: web::Query<ListParams>,
    query: web::Query<TaskQuery>,
) -> Result<web::Json<Page<TaskResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["code", "due_date", "title", "id"])?;
    let query = query.into_inner();
    let as_of = query.as_of.unwrap_or_else(today);
    let mut filter = db::tasks::TaskFilter {
        plan_id: plan_id.into_inner(),
        search_key: listing.search_key.clone(),
        lead: None,
        status: query.status.map(|s| enum_text(&s)),
        timeliness: query.timeliness,
        as_of,
        due_before: query.due_before,
        due_after: query.due_after,
    };
    let page = listing.page.clone();
    let (items, total) = db::run(&state.pool, move |conn| {
        db::plans::require(conn, filter.plan_id)?;
        filter.lead =
            db::succession::with_predecessors(conn, query.lead_unit, query.include_predecessors)?
                .map(db::succession::UnitMatch::codes);
        let (rows, total) = db::tasks::list(conn, &filter, &page)?;
        Ok((respond(rows, filter.as_of, conn)?, total))
    })
    .await?;
    Ok(web::Json(Page::of(items, total, &listing.page)))
}

/// Adds a task to a plan.
#[utoipa::path(
    tag = "tasks",
    params(("plan_id" = i64, Path, description = "The plan id")),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created", body = TaskResponse,
            headers(("Location" = String, description = "The new task's path"))),
        (status = 409, description = "The plan already has a task with this code", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/plans/{plan_id}/tasks")]
pub async fn create_task(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    body: ApiJson<CreateTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let plan_id = plan_id.into_inner();
    let r = body.0;
    let due = resolve_due(r.due_date, r.due_precision, r.due_label)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let status = r.status.unwrap_or(TaskStatus::NotStarted);
    let progress = r
        .progress_percent
        .unwrap_or(if status == TaskStatus::Completed {
            100
        } else {
            0
        });
    let mut data = TaskData {
        plan_id,
        code: r.code,
        title: r.title,
        description: r.description,
        lead_unit_code: r.lead_unit_code,
        coordinating_unit_codes: serde_json::to_string(&r.coordinating_unit_codes)
            .unwrap_or_else(|_| "[]".into()),
        coordinating_note: r.coordinating_note,
        original_due_date: due.date,
        due_date: due.date,
        due_precision: due.precision.map(|p| enum_text(&p)),
        due_label: due.label,
        output_form: r.output_form,
        decision_authority: r.decision_authority,
        legal_basis: serde_json::to_string(&r.legal_basis).unwrap_or_else(|_| "[]".into()),
        status: enum_text(&status),
        progress_percent: progress,
        completed_on: r.completed_on,
    };
    let (coordinating, legal_basis) = (r.coordinating_unit_codes, r.legal_basis);
    let actor = caller.actor();
    let response = db::transaction(&state.pool, move |conn| {
        db::plans::require(conn, plan_id)?;
        validate(conn, None, &mut data, &coordinating, &legal_basis)?;
        let row = db::tasks::insert(conn, &data)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "task",
            &row.id.to_string(),
            serde_json::json!({"plan_id": plan_id, "code": row.code}),
        )?;
        respond_one(row, conn)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tasks/{}", response.id)))
        .json(response))
}

/// One task, with its timeliness today.
#[utoipa::path(
    tag = "tasks",
    params(("id" = i64, Path, description = "The task id")),
    responses((status = 200, description = "The task", body = TaskResponse))
)]
#[get("/tasks/{id}")]
pub async fn get_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TaskResponse>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let id = id.into_inner();
    let response = db::run(&state.pool, move |conn| {
        let row = find_task(conn, id)?;
        respond_one(row, conn)
    })
    .await?;
    Ok(web::Json(response))
}

/// Changes a task. The lead unit's officers may report progress (`status`,
/// `progress_percent`, `completed_on`); other changes need the planner or admin role.
/// Completing a task sets `progress_percent` to 100 unless given; leaving `completed` clears
/// `completed_on`.
#[utoipa::path(
    tag = "tasks",
    params(("id" = i64, Path, description = "The task id")),
    request_body = UpdateTaskRequest,
    responses(
        (status = 200, description = "The changed task", body = TaskResponse),
        (status = 409, description = "The deadline has extensions (use them), or another task has this code", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/tasks/{id}")]
pub async fn update_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateTaskRequest>,
) -> Result<web::Json<TaskResponse>, ApiError> {
    let id = id.into_inner();
    let r = body.0;
    let actor = caller.actor();
    let response = db::transaction(&state.pool, move |conn| {
        let current = find_task(conn, id)?;
        if r.progress_only() {
            authorize(&caller, Action::UpdateTaskProgress { lead_unit: current.lead_unit_code.as_deref() })?;
        } else {
            authorize(&caller, Action::ManagePlans)?;
        }
        let changes_due = r.due_date.is_some() || r.due_label.is_some() || r.due_precision.is_some();
        if changes_due && db::tasks::extension_counts(conn, &[id])?.first().is_some_and(|(_, n)| *n > 0) {
            return Err(ApiError::conflict(format!(
                "task {id} has deadline extensions; record a new one at /api/v1/tasks/{id}/extensions"
            )));
        }
        let coordinating: Vec<String> = r.coordinating_unit_codes.clone()
            .unwrap_or_else(|| serde_json::from_str(&current.coordinating_unit_codes).unwrap_or_default());
        let legal_basis: Vec<String> = r.legal_basis.clone()
            .unwrap_or_else(|| serde_json::from_str(&current.legal_basis).unwrap_or_default());
        let mut data = current.into_data();
        if changes_due {
            let current_precision = data.due_precision.as_deref().map(parse_enum).transpose()?;
            // A new label alone is read into date and precision, as on create; a new date
            // without a label, or a new precision alone, remakes the label from the date.
            let (date, label, precision) = match (r.due_date, r.due_label.clone()) {
                (None, Some(Some(label))) => (None, Some(label), None),
                (Some(date), Some(label)) => (date, label, None),
                (Some(date), None) => (date, None, None),
                (None, Some(None)) | (None, None) => (data.due_date, None, current_precision),
            };
            let due = resolve_due(date, r.due_precision.or(precision), label)
                .map_err(|e| ApiError::Validation(vec![e]))?;
            data.original_due_date = due.date;
            data.due_date = due.date;
            data.due_precision = due.precision.map(|p| enum_text(&p));
            data.due_label = due.label;
        }
        data.code = r.code.unwrap_or(data.code);
        data.title = r.title.unwrap_or(data.title);
        data.description = r.description.unwrap_or(data.description);
        data.lead_unit_code = r.lead_unit_code.unwrap_or(data.lead_unit_code);
        data.coordinating_note = r.coordinating_note.unwrap_or(data.coordinating_note);
        data.output_form = r.output_form.unwrap_or(data.output_form);
        data.decision_authority = r.decision_authority.unwrap_or(data.decision_authority);
        data.coordinating_unit_codes = serde_json::to_string(&coordinating).unwrap_or_else(|_| "[]".into());
        data.legal_basis = serde_json::to_string(&legal_basis).unwrap_or_else(|_| "[]".into());
        if let Some(status) = r.status {
            data.status = enum_text(&status);
            if status == TaskStatus::Completed && r.progress_percent.is_none() {
                data.progress_percent = 100;
            }
            if status != TaskStatus::Completed && r.completed_on.is_none() {
                data.completed_on = None;
            }
        }
        data.progress_percent = r.progress_percent.unwrap_or(data.progress_percent);
        data.completed_on = r.completed_on.unwrap_or(data.completed_on);
        validate(conn, Some(id), &mut data, &coordinating, &legal_basis)?;
        let row = db::tasks::update(conn, id, &data)?;
        db::audit::record(conn, &actor, "update", "task", &id.to_string(),
            serde_json::json!({"status": row.status, "progress_percent": row.progress_percent, "completed_on": row.completed_on}))?;
        respond_one(row, conn)
    })
    .await?;
    Ok(web::Json(response))
}

/// Deletes a task and its extension history.
#[utoipa::path(
    tag = "tasks",
    params(("id" = i64, Path, description = "The task id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/tasks/{id}")]
pub async fn delete_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let id = id.into_inner();
    let actor = caller.actor();
    db::transaction(&state.pool, move |conn| {
        db::delete_audited(conn, &actor, "task", id, "is still referenced", |conn| {
            db::tasks::delete(conn, id)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Extends a task's deadline (gia hạn). The history is kept; timeliness then uses the new
/// deadline, and the task still shows the original one.
#[utoipa::path(
    tag = "tasks",
    params(("id" = i64, Path, description = "The task id")),
    request_body = ExtensionRequest,
    responses(
        (status = 201, description = "Recorded", body = ExtensionResponse,
            headers(("Location" = String, description = "The task's extension list"))),
        (status = 409, description = "The task is completed or cancelled", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/tasks/{id}/extensions")]
pub async fn create_extension(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<ExtensionRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let id = id.into_inner();
    let r = body.0;
    let (reason, approved_by) = (nfc(&r.reason), nfc(&r.approved_by));
    let mut checks = Checks::new();
    checks
        .text("reason", &reason, 2000)
        .text("approved_by", &approved_by, 200);
    checks.finish()?;
    let user_id = caller.user_id();
    let actor = caller.actor();
    let extension = db::transaction(&state.pool, move |conn| {
        let task = find_task(conn, id)?;
        let status: TaskStatus = parse_enum(&task.status)?;
        if matches!(status, TaskStatus::Completed | TaskStatus::Cancelled) {
            return Err(ApiError::conflict(format!("task {id} is {}; its deadline can no longer change", task.status)));
        }
        if let Some(current) = task.due_date {
            if r.new_due_date <= current {
                return Err(ApiError::invalid("new_due_date", format!("must be after the deadline in force, {current}")));
            }
        }
        let row = db::tasks::extend(conn, &task, r.new_due_date, &reason, &approved_by, user_id)?;
        db::audit::record(conn, &actor, "extend", "task", &id.to_string(),
            serde_json::json!({"previous_due_date": row.previous_due_date, "new_due_date": row.new_due_date}))?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tasks/{id}/extensions")))
        .json(ExtensionResponse::from(extension)))
}

/// A task's deadline extensions, oldest first (`sort=-id` for newest first).
#[utoipa::path(
    tag = "tasks",
    params(("id" = i64, Path, description = "The task id"), ListParams,
        ("sort" = Option<String>, Query, pattern = r"^-?(id)$", description = "Sort field, `-field` for descending: `id` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of extensions", body = Page<ExtensionResponse>))
)]
#[get("/tasks/{id}/extensions")]
pub async fn list_extensions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    list: web::Query<ListParams>,
) -> Result<web::Json<Page<ExtensionResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["id"])?;
    let id = id.into_inner();
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| {
        find_task(conn, id)?;
        db::tasks::extensions(conn, id, &page)
    })
    .await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}
