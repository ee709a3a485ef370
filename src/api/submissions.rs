//! Submissions (báo cáo): what one unit reports for one plan and one period (its indicator
//! values, its task progress and its narrative), and their review by the plan's
//! consolidating unit.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, submission_visibility, Action, Caller};
use crate::db::submissions::{
    Narrative, StatusChange, SubmissionRow, TaskUpdateRow, ValueRow, VersionRow,
};
use crate::db::{self, enum_text, parse_enum, DbConnection};
use crate::domain::appendix::{Aggregation, TargetKind};
use crate::domain::period::PeriodCode;
use crate::domain::submission::{
    allowed_transitions, deadline_for, is_editable, next_status, timeliness, value_problem,
    SubmissionStatus, SubmissionTimeliness, Transition,
};
use crate::domain::text::nfc;
use crate::domain::timeliness::{local_date, TaskStatus};
use crate::domain::validate::Checks;
use crate::domain::webhook::EventType;
use crate::error::{ApiError, PROBLEM_JSON};
use crate::openapi;
use crate::startup::AppState;

const MAX_NARRATIVE: usize = 20_000;
const MAX_ITEMS: usize = 500;

/// Whether a value is the period's final figure or an estimate made before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// The final figure (số thực hiện).
    Actual,
    /// An estimate of the period's result (ước thực hiện), made before it ends; superseded
    /// when the unit reports the actual figure.
    Estimate,
}

/// A reported indicator value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorValue {
    /// An indicator of the submission's plan that the unit reports.
    #[schema(example = 5)]
    pub indicator_id: i64,
    /// Finite; a count cannot be negative; a rank is a whole number from 1.
    #[schema(example = 132)]
    pub value: f64,
    pub kind: ValueKind,
    /// A remark on the value (ghi chú), such as its source or how it was estimated. Absent,
    /// `null` or empty: none.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// Rank indicators (DDCI) only: how many localities were ranked.
    #[serde(default)]
    #[schema(example = 12, minimum = 1)]
    pub out_of: Option<i32>,
    /// Rank indicators only: when the ranking was published (rankings come out a year or
    /// more after the year they rank).
    #[serde(default)]
    pub published_on: Option<NaiveDate>,
}

/// Reported progress on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    /// A task of the submission's plan that the unit leads.
    pub task_id: i64,
    pub status: TaskStatus,
    /// How much of the task is done, in percent (0–100). With `status` and `completed_on`,
    /// it is copied to the task when the submission is accepted.
    #[schema(minimum = 0, maximum = 100)]
    pub progress_percent: i32,
    /// Required when `status` is `completed`; not in the future.
    #[serde(default)]
    pub completed_on: Option<NaiveDate>,
    /// A remark on the progress (ghi chú), such as what was done or what holds the task up.
    /// Absent, `null` or empty: none.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// What a submission says: the part that is versioned when accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubmissionContent {
    /// The values the unit reports for the plan's indicators (chỉ tiêu), one per indicator.
    pub indicator_values: Vec<IndicatorValue>,
    /// The unit's progress on the plan's tasks (nhiệm vụ) that it leads, one per task.
    pub task_updates: Vec<TaskUpdate>,
    /// Results achieved (kết quả thực hiện).
    pub results: Option<String>,
    /// Difficulties and obstacles (khó khăn, vướng mắc).
    pub difficulties: Option<String>,
    /// Proposals (kiến nghị, đề xuất).
    pub proposals: Option<String>,
}

/// A reviewer's comment on one indicator value or task update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewComment {
    /// The indicator commented on (or give `task_id`).
    #[serde(default)]
    pub indicator_id: Option<i64>,
    /// The task commented on (or give `indicator_id`).
    #[serde(default)]
    pub task_id: Option<i64>,
    /// What the reviewer says about that value or update, e.g. what to correct; must not be
    /// blank.
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// One difference between the last accepted version and the current content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContentChange {
    /// `results`, `difficulties`, `proposals`, `indicator:<id>` or `task:<id>`.
    #[schema(example = "indicator:5")]
    pub field: String,
    /// The value in the last accepted version: the text for `results`, `difficulties` and
    /// `proposals`, the whole indicator value or task update otherwise; `null` when absent.
    pub before: Option<serde_json::Value>,
    /// The value in the current content, in the same form as `before`; `null` when absent
    /// (e.g. removed since the acceptance).
    pub after: Option<serde_json::Value>,
}

/// A submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionResponse {
    pub id: i64,
    pub plan_id: i64,
    /// The reporting unit.
    #[schema(example = "SKHDT-DKKD")]
    pub unit_code: String,
    /// The period reported on: `2023` (year), `2023-H1`, `2023-Q2`, `2023-05` (month).
    #[schema(example = "2023")]
    pub period: String,
    pub status: SubmissionStatus,
    #[serde(flatten)]
    pub content: SubmissionContent,
    /// Why it was last returned or reopened.
    pub return_reason: Option<String>,
    pub review_comments: Vec<ReviewComment>,
    /// Changes on every write; the `ETag` is `"v<version>"`.
    pub version: i32,
    /// The reporting deadline from the plan's schedules: on time means strictly before this
    /// instant (UTC). `null` when no schedule covers the submission.
    pub deadline: Option<DateTime<Utc>>,
    /// First submission: timeliness is judged by it.
    pub first_submitted_at: Option<DateTime<Utc>>,
    pub last_submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// `on_time` (first submitted before the deadline, or no deadline), `late` (first
    /// submitted at or after it, or still not submitted after it), `not_submitted`.
    pub timeliness: SubmissionTimeliness,
    /// The workflow steps possible now.
    pub allowed_transitions: Vec<Transition>,
    /// After a reopen or return of an accepted report: what differs from the last accepted
    /// version. `null` when no accepted version exists or it is the current state.
    pub changes_since_accepted: Option<Vec<ContentChange>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubmissionRequest {
    /// Code of the reporting unit (đơn vị); the unit must exist. Officers create submissions
    /// for their own unit only.
    #[schema(example = "SKHDT-DKKD")]
    pub unit_code: String,
    /// `2023`, `2023-H1`, `2023-Q2` or `2023-05`, inside the plan's years.
    #[schema(example = "2023", pattern = r"^\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$")]
    pub period: String,
    /// Values for indicators (chỉ tiêu) of the plan, each at most once, at most 500; an officer
    /// reports only the indicators its own unit is responsible for. Absent: none.
    #[serde(default)]
    pub indicator_values: Vec<IndicatorValue>,
    /// Progress on tasks (nhiệm vụ) of the plan, each at most once, at most 500; an officer
    /// reports only on the tasks its own unit leads. Absent: none.
    #[serde(default)]
    pub task_updates: Vec<TaskUpdate>,
    /// Results achieved in the period (kết quả thực hiện), free text. Absent, `null` or
    /// empty: none.
    #[schema(max_length = 20000)]
    pub results: Option<String>,
    /// Difficulties and obstacles met (khó khăn, vướng mắc), free text. Absent, `null` or
    /// empty: none.
    #[schema(max_length = 20000)]
    pub difficulties: Option<String>,
    /// Proposals and recommendations (kiến nghị, đề xuất), free text. Absent, `null` or
    /// empty: none.
    #[schema(max_length = 20000)]
    pub proposals: Option<String>,
}

/// Changes to a draft or returned submission; a list given replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubmissionRequest {
    /// The indicator values, under the same rules as on create; replaces all of them (`[]`
    /// removes them all). Absent or `null`: unchanged.
    pub indicator_values: Option<Vec<IndicatorValue>>,
    /// The task progress updates, under the same rules as on create; replaces all of them
    /// (`[]` removes them all). Absent or `null`: unchanged.
    pub task_updates: Option<Vec<TaskUpdate>>,
    /// Results achieved in the period (kết quả thực hiện). Absent: unchanged; `null` or
    /// empty: cleared.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 20000)]
    pub results: Option<Option<String>>,
    /// Difficulties and obstacles met (khó khăn, vướng mắc). Absent: unchanged; `null` or
    /// empty: cleared.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 20000)]
    pub difficulties: Option<Option<String>>,
    /// Proposals and recommendations (kiến nghị, đề xuất). Absent: unchanged; `null` or
    /// empty: cleared.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 20000)]
    pub proposals: Option<Option<String>>,
}

/// Sends a submission back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// Why the submission is sent back to its unit (lý do trả lại); shown as `return_reason`.
    /// Must not be blank.
    #[schema(
        example = "Số doanh nghiệp thành lập mới chưa khớp số liệu hệ thống đăng ký",
        max_length = 2000
    )]
    pub reason: String,
    /// Comments on single indicator values or task updates, at most 500. They replace the
    /// submission's earlier `review_comments`; absent: none, and the earlier ones are cleared.
    #[serde(default)]
    pub comments: Vec<ReviewComment>,
}

/// Reopens an accepted submission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// Why the accepted submission is reopened, e.g. what the unit must correct; shown as
    /// `return_reason` (earlier `review_comments` are cleared). Must not be blank.
    #[schema(max_length = 2000)]
    pub reason: String,
}

/// An accepted version: exactly what was accepted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionVersion {
    /// 1 for the first acceptance, 2 after a reopen and a new acceptance, …
    pub number: i32,
    /// When this version was accepted (RFC 3339, UTC).
    pub accepted_at: DateTime<Utc>,
    /// The local user who accepted it; `null` when an API client or a user of a trusted
    /// external issuer did (the audit trail's `actor_subject` names them).
    pub accepted_by_user_id: Option<i64>,
    pub content: SubmissionContent,
}

/// Filters of the submission list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionQuery {
    /// Only submissions for this plan (its id).
    pub plan_id: Option<i64>,
    /// Only this unit's submissions.
    pub unit: Option<String>,
    /// With a unit filter: also the units whose duties passed to that unit (merged into it,
    /// split or renamed to it), directly or through earlier successions.
    #[serde(default)]
    pub include_predecessors: bool,
    /// Only this period: `YYYY`, `YYYY-H1`..`H2`, `YYYY-Q1`..`Q4` or `YYYY-01`..`12`, years
    /// 1900–2200.
    #[param(
        example = "2023",
        pattern = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"
    )]
    pub period: Option<String>,
    /// Only submissions in this workflow status.
    pub status: Option<SubmissionStatus>,
    /// Only late (`true`) or not late (`false`) submissions.
    pub late: Option<bool>,
}

fn utc(at: chrono::NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

fn value_of(row: &ValueRow) -> Result<IndicatorValue, ApiError> {
    Ok(IndicatorValue {
        indicator_id: row.indicator_id,
        value: row.value,
        kind: parse_enum(&row.kind)?,
        note: row.note.clone(),
        out_of: row.out_of,
        published_on: row.published_on,
    })
}

fn update_of(row: &TaskUpdateRow) -> Result<TaskUpdate, ApiError> {
    Ok(TaskUpdate {
        task_id: row.task_id,
        status: parse_enum(&row.status)?,
        progress_percent: row.progress_percent,
        completed_on: row.completed_on,
        note: row.note.clone(),
    })
}

/// Differences between an accepted content and the current one.
fn changes(before: &SubmissionContent, after: &SubmissionContent) -> Vec<ContentChange> {
    let mut found = Vec::new();
    let mut compare =
        |field: String, b: Option<serde_json::Value>, a: Option<serde_json::Value>| {
            if b != a {
                found.push(ContentChange {
                    field,
                    before: b,
                    after: a,
                });
            }
        };
    for (name, b, a) in [
        ("results", &before.results, &after.results),
        ("difficulties", &before.difficulties, &after.difficulties),
        ("proposals", &before.proposals, &after.proposals),
    ] {
        compare(
            name.into(),
            b.clone().map(Into::into),
            a.clone().map(Into::into),
        );
    }
    let by_indicator = |c: &SubmissionContent| -> HashMap<i64, serde_json::Value> {
        c.indicator_values
            .iter()
            .map(|v| (v.indicator_id, serde_json::to_value(v).unwrap_or_default()))
            .collect()
    };
    let by_task = |c: &SubmissionContent| -> HashMap<i64, serde_json::Value> {
        c.task_updates
            .iter()
            .map(|u| (u.task_id, serde_json::to_value(u).unwrap_or_default()))
            .collect()
    };
    for (prefix, mut b, mut a) in [
        ("indicator", by_indicator(before), by_indicator(after)),
        ("task", by_task(before), by_task(after)),
    ] {
        let mut ids: Vec<i64> = b.keys().chain(a.keys()).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            compare(format!("{prefix}:{id}"), b.remove(&id), a.remove(&id));
        }
    }
    found
}

/// Builds the responses for `rows`, loading their values, updates and (for reports reopened
/// after acceptance) last versions in at most three queries.
fn respond(
    conn: &mut DbConnection,
    rows: Vec<SubmissionRow>,
) -> Result<Vec<SubmissionResponse>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut values: HashMap<i64, Vec<IndicatorValue>> = HashMap::new();
    for row in db::submissions::values(conn, &ids)? {
        values
            .entry(row.submission_id)
            .or_default()
            .push(value_of(&row)?);
    }
    let mut updates: HashMap<i64, Vec<TaskUpdate>> = HashMap::new();
    for row in db::submissions::task_updates(conn, &ids)? {
        updates
            .entry(row.submission_id)
            .or_default()
            .push(update_of(&row)?);
    }
    // Only a report accepted once and open again shows what changed since; versions are
    // written on acceptance, so no other report has one to read.
    let accepted = enum_text(&SubmissionStatus::Accepted);
    let reopened: Vec<i64> = rows
        .iter()
        .filter(|r| r.accepted_at.is_some() && r.status != accepted)
        .map(|r| r.id)
        .collect();
    let latest: HashMap<i64, VersionRow> = if reopened.is_empty() {
        HashMap::new()
    } else {
        db::submissions::latest_versions(conn, &reopened)?
            .into_iter()
            .map(|v| (v.submission_id, v))
            .collect()
    };
    let now = Utc::now();
    rows.into_iter()
        .map(|row| {
            let status: SubmissionStatus = parse_enum(&row.status)?;
            let content = SubmissionContent {
                indicator_values: values.remove(&row.id).unwrap_or_default(),
                task_updates: updates.remove(&row.id).unwrap_or_default(),
                results: row.results,
                difficulties: row.difficulties,
                proposals: row.proposals,
            };
            let changes_since_accepted = match latest.get(&row.id) {
                Some(version) if status != SubmissionStatus::Accepted => {
                    let accepted: SubmissionContent = serde_json::from_str(&version.snapshot)
                        .map_err(|e| {
                            ApiError::Internal(anyhow::anyhow!("version snapshot: {e}"))
                        })?;
                    Some(changes(&accepted, &content))
                }
                _ => None,
            };
            let deadline = row.deadline_at.map(utc);
            let first = row.first_submitted_at.map(utc);
            Ok(SubmissionResponse {
                id: row.id,
                plan_id: row.plan_id,
                unit_code: row.unit_code,
                period: row.period,
                status,
                content,
                return_reason: row.return_reason,
                review_comments: serde_json::from_str(&row.review_comments).unwrap_or_default(),
                version: row.version,
                deadline,
                first_submitted_at: first,
                last_submitted_at: row.last_submitted_at.map(utc),
                accepted_at: row.accepted_at.map(utc),
                timeliness: timeliness(first, deadline, now),
                allowed_transitions: allowed_transitions(status),
                changes_since_accepted,
                created_at: utc(row.created_at),
                updated_at: utc(row.updated_at),
            })
        })
        .collect()
}

fn respond_one(
    conn: &mut DbConnection,
    row: SubmissionRow,
) -> Result<SubmissionResponse, ApiError> {
    respond(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("submission vanished")))
}

/// The submission `id` if the caller may see it; 404 otherwise, so that another unit's
/// drafts are not even known to exist.
pub fn require_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    id: i64,
) -> Result<SubmissionRow, ApiError> {
    let row = db::submissions::find(conn, id)?
        .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
    let status = parse_enum(&row.status)?;
    authorize(
        caller,
        Action::ReadSubmission {
            unit: &row.unit_code,
            status,
        },
    )
    .map_err(|_| ApiError::not_found(format!("submission {id}")))?;
    Ok(row)
}

fn optional_text(value: Option<String>) -> Option<String> {
    value.map(|v| nfc(&v)).filter(|v| !v.is_empty())
}

/// Checks the content against the plan and the caller's unit, returning rows to store.
fn check_content(
    conn: &mut DbConnection,
    caller: &Caller,
    plan_id: i64,
    submission_id: i64,
    values: &[IndicatorValue],
    updates: &[TaskUpdate],
) -> Result<(Vec<ValueRow>, Vec<TaskUpdateRow>), ApiError> {
    let mut checks = Checks::new();
    checks
        .check(
            values.len() <= MAX_ITEMS,
            "indicator_values",
            format!("must list at most {MAX_ITEMS} values"),
        )
        .check(
            updates.len() <= MAX_ITEMS,
            "task_updates",
            format!("must list at most {MAX_ITEMS} updates"),
        );
    let ids: Vec<i64> = values.iter().map(|v| v.indicator_id).collect();
    let indicators = db::indicators::in_plan(conn, plan_id, &ids)?;
    let ids: Vec<i64> = updates.iter().map(|u| u.task_id).collect();
    let tasks = db::tasks::in_plan(conn, plan_id, &ids)?;
    let mut value_rows = Vec::new();
    let mut seen = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let field = |name: &str| format!("indicator_values[{i}].{name}");
        let Some(indicator) = indicators.get(&v.indicator_id) else {
            checks.check(
                false,
                &field("indicator_id"),
                format!("indicator {} is not in plan {plan_id}", v.indicator_id),
            );
            continue;
        };
        authorize(caller, Action::ReportIndicator { responsible_unit: indicator.responsible_unit_code.as_deref() })
            .map_err(|_| {
                ApiError::Forbidden(format!(
                    "indicator {} ({}) is reported by {}; an officer reports only the indicators its own unit is \
                     responsible for",
                    indicator.code,
                    indicator.id,
                    indicator.responsible_unit_code.as_deref().unwrap_or("no unit")
                ))
            })?;
        checks.check(
            !seen.contains(&v.indicator_id),
            &field("indicator_id"),
            "is listed twice",
        );
        seen.push(v.indicator_id);
        let kind: TargetKind = parse_enum(&indicator.target_kind)?;
        let aggregation: Aggregation = parse_enum(&indicator.aggregation)?;
        if let Some(problem) = value_problem(kind, aggregation, v.value, v.out_of) {
            checks.check(false, &field("value"), problem);
        }
        checks.check(
            v.published_on.is_none() || kind == TargetKind::RankAtMost,
            &field("published_on"),
            "applies to rank indicators only",
        );
        let note = optional_text(v.note.clone());
        if let Some(note) = &note {
            checks.max_len(&field("note"), note, 2000);
        }
        value_rows.push(ValueRow {
            id: 0,
            submission_id,
            indicator_id: v.indicator_id,
            value: v.value,
            kind: enum_text(&v.kind),
            note,
            out_of: v.out_of,
            published_on: v.published_on,
        });
    }
    let mut update_rows = Vec::new();
    let mut seen = Vec::new();
    let today = local_date(Utc::now());
    for (i, u) in updates.iter().enumerate() {
        let field = |name: &str| format!("task_updates[{i}].{name}");
        let Some(task) = tasks.get(&u.task_id) else {
            checks.check(
                false,
                &field("task_id"),
                format!("task {} is not in plan {plan_id}", u.task_id),
            );
            continue;
        };
        authorize(
            caller,
            Action::UpdateTaskProgress {
                lead_unit: task.lead_unit_code.as_deref(),
            },
        )
        .map_err(|_| {
            ApiError::Forbidden(format!(
                "task {} ({}) is led by {}; an officer reports only on tasks its own unit leads",
                task.code,
                task.id,
                task.lead_unit_code.as_deref().unwrap_or("no unit")
            ))
        })?;
        checks
            .check(
                !seen.contains(&u.task_id),
                &field("task_id"),
                "is listed twice",
            )
            .check(
                (0..=100).contains(&u.progress_percent),
                &field("progress_percent"),
                "must be between 0 and 100",
            );
        seen.push(u.task_id);
        if u.status == TaskStatus::Completed {
            checks.check(
                u.completed_on.is_some(),
                &field("completed_on"),
                "is required when the task is completed",
            );
        } else {
            checks.check(
                u.completed_on.is_none(),
                &field("completed_on"),
                "only a completed task has a completion date",
            );
        }
        checks.check(
            u.completed_on.is_none_or(|d| d <= today),
            &field("completed_on"),
            "must not be in the future",
        );
        let note = optional_text(u.note.clone());
        if let Some(note) = &note {
            checks.max_len(&field("note"), note, 2000);
        }
        update_rows.push(TaskUpdateRow {
            id: 0,
            submission_id,
            task_id: u.task_id,
            status: enum_text(&u.status),
            progress_percent: u.progress_percent,
            completed_on: u.completed_on,
            note,
        });
    }
    checks.finish()?;
    Ok((value_rows, update_rows))
}

fn check_narrative(narrative: &Narrative) -> Result<(), ApiError> {
    let mut checks = Checks::new();
    for (field, text) in [
        ("results", &narrative.results),
        ("difficulties", &narrative.difficulties),
        ("proposals", &narrative.proposals),
    ] {
        if let Some(text) = text {
            checks.max_len(field, text, MAX_NARRATIVE);
        }
    }
    checks.finish()
}

fn audit(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    id: i64,
    before: Option<&SubmissionResponse>,
    after: &SubmissionResponse,
) -> Result<(), ApiError> {
    db::audit::record_change(
        conn,
        &caller.actor(),
        action,
        "submission",
        &id.to_string(),
        &db::audit::Change {
            detail: serde_json::json!({"plan_id": after.plan_id, "unit_code": after.unit_code,
                "period": after.period, "status": after.status}),
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: serde_json::to_value(after).ok(),
        },
    )
}

/// A JSON answer with the submission's ETag.
fn with_etag(status: StatusCode, body: &SubmissionResponse) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(body.version)))
        .json(body)
}

/// Lists the submissions the caller may see: its own unit's in every state; with the
/// planner or leader role, other units' once submitted; with any role, accepted ones; admins
/// see all.
/// Sortable by `id`, `period`, `updated_at`.
#[utoipa::path(
    tag = "submissions",
    params(ListParams, SubmissionQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id|period|updated_at)$", description = "Sort field, `-field` for descending: `id`, `period`, `updated_at` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of submissions", body = Page<SubmissionResponse>))
)]
#[get("/submissions")]
pub async fn list_submissions(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<SubmissionQuery>,
) -> Result<web::Json<Page<SubmissionResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["id", "period", "updated_at"])?;
    let query = query.into_inner();
    if let Some(period) = &query.period {
        period
            .parse::<PeriodCode>()
            .map_err(|e| ApiError::invalid("period", e.to_string()))?;
    }
    let mut filter = db::submissions::SubmissionFilter {
        plan_id: query.plan_id,
        unit_codes: None,
        period: query.period,
        status: query.status.map(|s| enum_text(&s)),
        late: query.late,
        now: Utc::now().naive_utc(),
        visibility: submission_visibility(&caller),
    };
    let page = listing.page.clone();
    let (items, total) = db::run(&state.pool, move |conn| {
        filter.unit_codes =
            db::succession::with_predecessors(conn, query.unit, query.include_predecessors)?;
        let (rows, total) = db::submissions::list(conn, &filter, &page)?;
        Ok((respond(conn, rows)?, total))
    })
    .await?;
    Ok(web::Json(Page::of(items, total, &listing.page)))
}

/// The Idempotency-Key header, if sent: 1–255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1–255 visible ASCII characters",
        ));
    }
    Ok(Some(key.trim_matches('"').to_owned()))
}

/// Creates the submission; the answer as (status, location, JSON body).
async fn create(
    state: &AppState,
    caller: Caller,
    plan_id: i64,
    request: CreateSubmissionRequest,
) -> Result<(StatusCode, String, String), ApiError> {
    let period: PeriodCode =
        request
            .period
            .parse()
            .map_err(|e: crate::domain::period::PeriodError| {
                ApiError::invalid("period", e.to_string())
            })?;
    let unit = request.unit_code.trim().to_owned();
    authorize(&caller, Action::EditSubmission { unit: &unit })?;
    let narrative = Narrative {
        results: optional_text(request.results),
        difficulties: optional_text(request.difficulties),
        proposals: optional_text(request.proposals),
    };
    check_narrative(&narrative)?;
    let response = db::transaction(&state.pool, move |conn| {
        let plan = db::plans::require(conn, plan_id)?;
        if !(plan.period_start_year..=plan.period_end_year).contains(&period.year()) {
            return Err(ApiError::invalid(
                "period",
                format!(
                    "must lie in the plan's years {}–{}",
                    plan.period_start_year, plan.period_end_year
                ),
            ));
        }
        if !db::units::missing(conn, &[unit.as_str()])?.is_empty() {
            return Err(ApiError::invalid(
                "unit_code",
                format!("unit {unit} does not exist"),
            ));
        }
        if let Some(existing) = db::submissions::id_for(conn, plan_id, &unit, &period.to_string())?
        {
            return Err(ApiError::Conflict {
                detail: format!("{unit} already has a submission for {period} in plan {plan_id}"),
                existing: Some(format!("/api/v1/submissions/{existing}")),
            });
        }
        let rules = db::schedules::rules(conn, plan_id)?;
        let now = db::now();
        let id = db::submissions::insert(
            conn,
            &db::submissions::NewSubmission {
                plan_id,
                unit_code: unit.clone(),
                period: period.to_string(),
                period_type: enum_text(&period.period_type()),
                status: enum_text(&SubmissionStatus::Draft),
                results: narrative.results,
                difficulties: narrative.difficulties,
                proposals: narrative.proposals,
                deadline_at: deadline_for(&period, &unit, &rules).map(|d| d.naive_utc()),
                created_by_user_id: caller.user_id(),
                created_at: now,
                updated_at: now,
            },
        )?;
        let (values, updates) = check_content(
            conn,
            &caller,
            plan_id,
            id,
            &request.indicator_values,
            &request.task_updates,
        )?;
        db::submissions::replace_content(conn, id, &values, &updates)?;
        let row = db::submissions::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
        let response = respond_one(conn, row)?;
        audit(conn, &caller, "create", id, None, &response)?;
        Ok(response)
    })
    .await?;
    let body = serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.into()))?;
    Ok((
        StatusCode::CREATED,
        format!("/api/v1/submissions/{}", response.id),
        body,
    ))
}

fn raw_answer(status: StatusCode, location: Option<&str>, body: String) -> HttpResponse {
    let mut answer = HttpResponse::build(status);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    answer.insert_header((header::CONTENT_TYPE, content_type));
    if let Some(location) = location {
        answer.insert_header((header::LOCATION, location));
    }
    if status.is_success() {
        if let Some(version) = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["version"].as_i64())
        {
            if let Ok(value) = HeaderValue::from_str(&etag(version as i32)) {
                answer.insert_header((header::ETAG, value));
            }
        }
    }
    answer.body(body)
}

/// Creates a unit's submission for a period, as a `draft`. One per plan, unit and period: a
/// second create answers 409 with the existing one's path in `existing`.
///
/// With an `Idempotency-Key` header (IETF httpapi draft): a retry with the same key and body
/// within 24 hours replays the first answer and creates nothing; the same key with another
/// body answers 422; a retry while the first request still runs answers 409.
#[utoipa::path(
    tag = "submissions",
    params(
        ("plan_id" = i64, Path, description = "The plan id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters, unique per intended create")
    ),
    request_body = CreateSubmissionRequest,
    responses(
        (status = 201, description = "Created", body = SubmissionResponse,
            headers(("Location" = String, description = "The submission's path"), ("ETag" = String, description = "Its version"))),
        (status = 409, description = "The unit already has a submission for the period (`existing` is its path), or a request with the same Idempotency-Key is still running", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/plans/{plan_id}/submissions")]
pub async fn create_submission(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    req: HttpRequest,
    body: ApiJson<CreateSubmissionRequest>,
) -> Result<HttpResponse, ApiError> {
    let plan_id = plan_id.into_inner();
    let request = body.0;
    let Some(key) = idempotency_key(&req)? else {
        let (status, location, body) = create(&state, caller, plan_id, request).await?;
        return Ok(raw_answer(status, Some(&location), body));
    };
    let owner = caller.subject();
    let fingerprint = serde_json::json!({"plan_id": plan_id, "body": request});
    let hash = format!("{:x}", Sha256::digest(fingerprint.to_string().as_bytes()));
    let begin = {
        let (key, owner) = (key.clone(), owner.clone());
        db::run(&state.pool, move |conn| {
            db::idempotency::begin(conn, &owner, &key, &hash)
        })
        .await?
    };
    match begin {
        db::idempotency::Begin::Replay {
            status,
            location,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(raw_answer(status, location.as_deref(), body))
        }
        db::idempotency::Begin::Mismatch => Err(ApiError::invalid(
            "Idempotency-Key",
            "was already used with a different request body",
        )),
        db::idempotency::Begin::InProgress => Err(ApiError::conflict(
            "a request with this Idempotency-Key is still being processed; retry later",
        )),
        db::idempotency::Begin::Started => {
            let outcome = create(&state, caller, plan_id, request).await;
            if let Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) = outcome {
                // A failure worth retrying leaves the key free for the retry.
                let _ = db::run(&state.pool, move |conn| {
                    db::idempotency::abandon(conn, &owner, &key)
                })
                .await;
                return Err(error);
            }
            let (status, location, body) = match &outcome {
                Ok((status, location, body)) => (*status, Some(location.clone()), body.clone()),
                Err(e) => {
                    use actix_web::ResponseError;
                    (
                        e.status_code(),
                        None,
                        serde_json::to_string(&e.problem()).unwrap_or_default(),
                    )
                }
            };
            let stored = (key, status.as_u16(), location.clone(), body.clone());
            db::run(&state.pool, move |conn| {
                db::idempotency::finish(
                    conn,
                    &owner,
                    &stored.0,
                    stored.1,
                    stored.2.as_deref(),
                    &stored.3,
                )
            })
            .await?;
            match outcome {
                Ok(_) => Ok(raw_answer(status, location.as_deref(), body)),
                Err(e) => Err(e),
            }
        }
    }
}

/// One submission, with its `ETag` for a later PATCH. Another unit's draft answers 404.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id")),
    responses((status = 200, description = "The submission", body = SubmissionResponse,
        headers(("ETag" = String, description = "Its version, for If-Match"))))
)]
#[get("/submissions/{id}")]
pub async fn get_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let response = db::run(&state.pool, move |conn| {
        let row = require_visible(conn, &caller, id)?;
        respond_one(conn, row)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &response))
}

/// What `If-Match` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfMatch {
    /// `*`: whatever version is current (RFC 9110 §13.1.1), so it only requires that the
    /// submission exists.
    Any,
    /// The version the client last saw.
    Version(i32),
}

impl IfMatch {
    /// Whether `current` satisfies the condition.
    fn matches(self, current: i32) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Version(version) => version == current,
        }
    }
}

/// The condition of `If-Match`, if sent.
fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(Some(IfMatch::Any));
    }
    let version = text
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix('v')
        .and_then(|v| v.parse().ok());
    // An unparsable tag matches no version: the write is refused as stale.
    Ok(Some(IfMatch::Version(version.unwrap_or(-1))))
}

fn stale(id: i64) -> ApiError {
    ApiError::PreconditionFailed(format!(
        "submission {id} changed since your copy (If-Match does not match its ETag); GET it again"
    ))
}

/// Changes a `draft` or `returned` submission. `If-Match` with the ETag from the last read is
/// required: without it 428, with an outdated one 412, and nothing is written.
#[utoipa::path(
    tag = "submissions",
    params(
        ("id" = i64, Path, description = "The submission id"),
        ("If-Match" = String, Header, description = "The ETag of the submission as last read")
    ),
    request_body = UpdateSubmissionRequest,
    responses(
        (status = 200, description = "The changed submission", body = SubmissionResponse,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 409, description = "The submission is submitted or accepted", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The ETag is outdated: someone changed it first", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/submissions/{id}")]
pub async fn update_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: ApiJson<UpdateSubmissionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let expected = if_match(&req)?.ok_or_else(|| {
        ApiError::PreconditionRequired(
            "send If-Match with the ETag of your copy of the submission".into(),
        )
    })?;
    let r = body.0;
    let response = db::transaction(&state.pool, move |conn| {
        let row = require_visible(conn, &caller, id)?;
        authorize(
            &caller,
            Action::EditSubmission {
                unit: &row.unit_code,
            },
        )?;
        if !expected.matches(row.version) {
            return Err(stale(id));
        }
        // `bump` writes only if the version is still this one.
        let expected = row.version;
        let status: SubmissionStatus = parse_enum(&row.status)?;
        if !is_editable(status) {
            return Err(ApiError::conflict(format!(
                "a {} submission cannot be edited; only draft and returned ones can",
                row.status
            )));
        }
        let before = respond_one(conn, row.clone())?;
        let narrative = Narrative {
            results: r.results.map(optional_text).unwrap_or(row.results.clone()),
            difficulties: r
                .difficulties
                .map(optional_text)
                .unwrap_or(row.difficulties.clone()),
            proposals: r
                .proposals
                .map(optional_text)
                .unwrap_or(row.proposals.clone()),
        };
        check_narrative(&narrative)?;
        let values = r
            .indicator_values
            .unwrap_or_else(|| before.content.indicator_values.clone());
        let updates = r
            .task_updates
            .unwrap_or_else(|| before.content.task_updates.clone());
        let (values, updates) = check_content(conn, &caller, row.plan_id, id, &values, &updates)?;
        if !db::submissions::bump(
            conn,
            id,
            expected,
            Some(&narrative),
            &StatusChange::default(),
        )? {
            return Err(stale(id));
        }
        db::submissions::replace_content(conn, id, &values, &updates)?;
        let row = db::submissions::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
        let after = respond_one(conn, row)?;
        audit(conn, &caller, "update", id, Some(&before), &after)?;
        Ok(after)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &response))
}

/// What a workflow step carries.
enum Step {
    Submit,
    Accept,
    Return {
        reason: String,
        comments: Vec<ReviewComment>,
    },
    Reopen {
        reason: String,
    },
}

impl Step {
    fn transition(&self) -> Transition {
        match self {
            Step::Submit => Transition::Submit,
            Step::Accept => Transition::Accept,
            Step::Return { .. } => Transition::Return,
            Step::Reopen { .. } => Transition::Reopen,
        }
    }
}

fn check_reason(reason: &str) -> Result<String, ApiError> {
    let reason = nfc(reason);
    let mut checks = Checks::new();
    checks.text("reason", &reason, 2000);
    checks.finish()?;
    Ok(reason)
}

/// Applies an accepted submission's task updates to the tasks.
fn apply_task_updates(
    conn: &mut DbConnection,
    response: &SubmissionResponse,
) -> Result<(), ApiError> {
    let ids: Vec<i64> = response
        .content
        .task_updates
        .iter()
        .map(|u| u.task_id)
        .collect();
    let mut tasks = db::tasks::in_plan(conn, response.plan_id, &ids)?;
    for update in &response.content.task_updates {
        let Some(task) = tasks.remove(&update.task_id) else {
            continue;
        };
        let mut data = task.into_data();
        data.status = enum_text(&update.status);
        data.progress_percent = update.progress_percent;
        data.completed_on = update.completed_on;
        db::tasks::update(conn, update.task_id, &data)?;
    }
    Ok(())
}

/// Runs a workflow step on submission `id`, with an optional If-Match check.
async fn step(
    state: &AppState,
    caller: Caller,
    id: web::Path<i64>,
    req: &HttpRequest,
    step: Step,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let expected = if_match(req)?;
    let response = db::transaction(&state.pool, move |conn| {
        let row = require_visible(conn, &caller, id)?;
        let plan = db::plans::require(conn, row.plan_id)?;
        match &step {
            Step::Submit => authorize(
                &caller,
                Action::EditSubmission {
                    unit: &row.unit_code,
                },
            )?,
            Step::Accept | Step::Return { .. } => authorize(
                &caller,
                Action::ReviewSubmission {
                    consolidating_unit: &plan.consolidating_unit_code,
                },
            )?,
            Step::Reopen { .. } => authorize(&caller, Action::ReopenSubmission)?,
        }
        if expected.is_some_and(|condition| !condition.matches(row.version)) {
            return Err(stale(id));
        }
        let status: SubmissionStatus = parse_enum(&row.status)?;
        let transition = step.transition();
        let Some(next) = next_status(status, transition) else {
            let allowed: Vec<String> = allowed_transitions(status).iter().map(enum_text).collect();
            return Err(ApiError::conflict(format!(
                "cannot {} a {} submission; allowed now: {}",
                enum_text(&transition),
                row.status,
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        };
        let before = respond_one(conn, row.clone())?;
        let now = db::now();
        let mut change = StatusChange {
            status: Some(enum_text(&next)),
            ..StatusChange::default()
        };
        match &step {
            Step::Submit => {
                change.first_submitted_at = Some(Some(row.first_submitted_at.unwrap_or(now)));
                change.last_submitted_at = Some(Some(now));
            }
            Step::Accept => change.accepted_at = Some(Some(now)),
            Step::Return { reason, comments } => {
                change.return_reason = Some(Some(reason.clone()));
                change.review_comments =
                    Some(serde_json::to_string(comments).unwrap_or_else(|_| "[]".into()));
            }
            Step::Reopen { reason } => {
                change.return_reason = Some(Some(reason.clone()));
                change.review_comments = Some("[]".into());
            }
        }
        if !db::submissions::bump(conn, id, row.version, None, &change)? {
            return Err(stale(id));
        }
        let row = db::submissions::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
        let after = respond_one(conn, row)?;
        if matches!(step, Step::Accept) {
            apply_task_updates(conn, &after)?;
            let snapshot =
                serde_json::to_string(&after.content).map_err(|e| ApiError::Internal(e.into()))?;
            db::submissions::insert_version(conn, id, &snapshot, caller.user_id())?;
        }
        audit(
            conn,
            &caller,
            &enum_text(&transition),
            id,
            Some(&before),
            &after,
        )?;
        if let Some(event) = EventType::entering(next) {
            db::outbox::enqueue(
                conn,
                event,
                None,
                Some(after.plan_id),
                serde_json::json!({"submission_id": id, "plan_id": after.plan_id,
                    "unit_code": after.unit_code, "period": after.period,
                    "status": after.status, "version": after.version}),
            )?;
        }
        Ok(after)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &response))
}

/// The answers of a review step (submit, accept, return, reopen) besides the standard errors:
/// the submission as the step left it, with the ETag a next step or edit sends in `If-Match`,
/// or why the step was refused.
pub struct StepAnswers;

impl utoipa::IntoResponses for StepAnswers {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let done = ResponseBuilder::new()
            .description("The submission as the step left it")
            .header(
                "ETag",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("Its new version, for If-Match"))
                    .build(),
            )
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name(SubmissionResponse::name()))),
            )
            .build();
        BTreeMap::from([
            ("200".to_owned(), done.into()),
            (
                "409".to_owned(),
                openapi::problem(
                    "Not allowed from the current status; `detail` lists the allowed steps",
                )
                .into(),
            ),
            (
                "412".to_owned(),
                openapi::problem("The ETag is outdated").into(),
            ),
        ])
    }
}

/// Submits a draft or returned submission for review (officers of its unit). The first
/// submission's time decides timeliness.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the submission changed since this ETag")),
    responses(StepAnswers)
)]
#[post("/submissions/{id}/submit")]
pub async fn submit_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    step(&state, caller, id, &req, Step::Submit).await
}

/// Accepts a submitted submission (planners of the plan's consolidating unit, or admins):
/// its task updates are applied to the tasks and an immutable version of exactly what was
/// accepted is kept.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the submission changed since this ETag")),
    responses(StepAnswers)
)]
#[post("/submissions/{id}/accept")]
pub async fn accept_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    step(&state, caller, id, &req, Step::Accept).await
}

/// Returns a submitted submission to its unit with a reason and optional comments per
/// indicator or task (planners of the consolidating unit, or admins).
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the submission changed since this ETag")),
    request_body = ReturnRequest,
    responses(StepAnswers)
)]
#[post("/submissions/{id}/return")]
pub async fn return_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: ApiJson<ReturnRequest>,
) -> Result<HttpResponse, ApiError> {
    let r = body.0;
    let reason = check_reason(&r.reason)?;
    let mut checks = Checks::new();
    checks.check(
        r.comments.len() <= MAX_ITEMS,
        "comments",
        format!("must list at most {MAX_ITEMS} comments"),
    );
    let mut comments = Vec::new();
    for (i, c) in r.comments.into_iter().enumerate() {
        checks
            .check(
                c.indicator_id.is_some() != c.task_id.is_some(),
                &format!("comments[{i}]"),
                "name exactly one of indicator_id and task_id",
            )
            .text(&format!("comments[{i}].comment"), &nfc(&c.comment), 2000);
        comments.push(ReviewComment {
            comment: nfc(&c.comment),
            ..c
        });
    }
    checks.finish()?;
    step(&state, caller, id, &req, Step::Return { reason, comments }).await
}

/// Turns an accepted submission back to `returned` so its unit can correct it (planners and
/// admins). Its accepted versions stay; once changed, the submission shows what differs from
/// the last one.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id"),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the submission changed since this ETag")),
    request_body = ReopenRequest,
    responses(StepAnswers)
)]
#[post("/submissions/{id}/reopen")]
pub async fn reopen_submission(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    body: ApiJson<ReopenRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = check_reason(&body.0.reason)?;
    step(&state, caller, id, &req, Step::Reopen { reason }).await
}

/// The accepted versions of a submission, oldest first: exactly what was accepted each time.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path, description = "The submission id")),
    responses((status = 200, description = "The accepted versions", body = Vec<SubmissionVersion>))
)]
#[get("/submissions/{id}/versions")]
pub async fn list_submission_versions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<SubmissionVersion>>, ApiError> {
    let id = id.into_inner();
    let versions = db::run(&state.pool, move |conn| {
        require_visible(conn, &caller, id)?;
        db::submissions::versions(conn, id)?
            .into_iter()
            .map(|v| {
                Ok(SubmissionVersion {
                    number: v.number,
                    accepted_at: utc(v.accepted_at),
                    accepted_by_user_id: v.accepted_by_user_id,
                    content: serde_json::from_str(&v.snapshot).map_err(|e| {
                        ApiError::Internal(anyhow::anyhow!("version snapshot: {e}"))
                    })?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(web::Json(versions))
}
