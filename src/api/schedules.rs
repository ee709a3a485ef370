//! A plan's reporting schedules (chế độ báo cáo): when each kind of period's report is due.

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, enum_text, parse_enum, schedules::NewSchedule, DbConnection};
use crate::domain::period::{DeadlineRule, DeadlineRuleJson, PeriodCode, PeriodType};
use crate::domain::submission::deadline_for;
use crate::error::{ApiError, FieldError};
use crate::startup::AppState;

const MAX_SCHEDULES: usize = 50;
const MAX_DAYS_AFTER: u32 = 366;

/// One schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleItem {
    /// Which reports it governs: `year` ("2023"), `half_year` ("2023-H1"), `quarter`
    /// ("2023-Q2"), `month` ("2023-05").
    pub period_type: PeriodType,
    /// When they are due. Plan 1148's annual report: `{"fixed": "11-30", "exclusive": true}`
    /// ("trước ngày 30 tháng 11": before 30 November begins, Asia/Ho_Chi_Minh); its quarterly
    /// business-registration figures: `{"days_after_period_end": 10}`.
    #[schema(value_type = DeadlineRuleJson)]
    pub deadline: DeadlineRule,
    /// The units that owe these reports; absent or `null`: every unit with responsibilities
    /// in the plan.
    #[serde(default)]
    #[schema(example = json!(["SKHDT-DKKD"]))]
    pub unit_codes: Option<Vec<String>>,
    /// The indicators these reports must carry; absent or `null`: those of the unit.
    #[serde(default)]
    pub indicator_ids: Option<Vec<i64>>,
}

/// A plan's schedules, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedules {
    /// The schedules, at most 50, kept in the order given. A `PUT` replaces the whole list;
    /// `[]` removes them all.
    pub items: Vec<ScheduleItem>,
}

fn load(conn: &mut DbConnection, plan_id: i64) -> Result<Schedules, ApiError> {
    db::plans::require(conn, plan_id)?;
    let items = db::schedules::list(conn, plan_id)?
        .into_iter()
        .map(|row| {
            let broken =
                |what: &str| ApiError::Internal(anyhow::anyhow!("schedule {}: bad {what}", row.id));
            Ok(ScheduleItem {
                period_type: parse_enum(&row.period_type)?,
                deadline: serde_json::from_str(&row.deadline).map_err(|_| broken("deadline"))?,
                unit_codes: row
                    .unit_codes
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| broken("units"))?,
                indicator_ids: row
                    .indicator_ids
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| broken("indicators"))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Schedules { items })
}

/// A plan's reporting schedules.
#[utoipa::path(
    tag = "submissions",
    params(("plan_id" = i64, Path, description = "The plan id")),
    responses((status = 200, description = "The schedules", body = Schedules))
)]
#[get("/plans/{plan_id}/schedules")]
pub async fn get_schedules(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
) -> Result<web::Json<Schedules>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let plan_id = plan_id.into_inner();
    Ok(web::Json(
        db::run(&state.pool, move |conn| load(conn, plan_id)).await?,
    ))
}

/// Replaces a plan's reporting schedules. The deadlines of the plan's existing submissions
/// are recomputed: a submission's deadline is the earliest among the schedules for its kind
/// of period that name its unit (or all units).
#[utoipa::path(
    tag = "submissions",
    params(("plan_id" = i64, Path, description = "The plan id")),
    request_body = Schedules,
    responses((status = 200, description = "The schedules now in force", body = Schedules))
)]
#[put("/plans/{plan_id}/schedules")]
pub async fn put_schedules(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    body: ApiJson<Schedules>,
) -> Result<web::Json<Schedules>, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let plan_id = plan_id.into_inner();
    let items = body.0.items;
    let mut errors = Vec::new();
    if items.len() > MAX_SCHEDULES {
        errors.push(FieldError::new(
            "items",
            format!("must list at most {MAX_SCHEDULES} schedules"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if let DeadlineRule::DaysAfterPeriodEnd { days } = item.deadline {
            if days > MAX_DAYS_AFTER {
                errors.push(FieldError::new(
                    format!("items[{i}].deadline"),
                    format!("days_after_period_end must be at most {MAX_DAYS_AFTER}"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = caller.actor();
    let saved = db::transaction(&state.pool, move |conn| {
        db::plans::require(conn, plan_id)?;
        let before = load(conn, plan_id)?;
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let codes: Vec<&str> = item
                .unit_codes
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
            for code in db::units::missing(conn, &codes)? {
                errors.push(FieldError::new(
                    format!("items[{i}].unit_codes"),
                    format!("unit {code} does not exist"),
                ));
            }
            let ids: Vec<i64> = item.indicator_ids.iter().flatten().copied().collect();
            let known = db::indicators::in_plan(conn, plan_id, &ids)?;
            for id in &ids {
                if !known.contains_key(id) {
                    errors.push(FieldError::new(
                        format!("items[{i}].indicator_ids"),
                        format!("indicator {id} is not in plan {plan_id}"),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let rows: Vec<NewSchedule> = items
            .iter()
            .enumerate()
            .map(|(i, item)| NewSchedule {
                plan_id,
                position: i as i32,
                period_type: enum_text(&item.period_type),
                deadline: serde_json::to_string(&item.deadline).unwrap_or_default(),
                unit_codes: item
                    .unit_codes
                    .as_ref()
                    .map(|u| serde_json::to_string(u).unwrap_or_default()),
                indicator_ids: item
                    .indicator_ids
                    .as_ref()
                    .map(|i| serde_json::to_string(i).unwrap_or_default()),
            })
            .collect();
        db::schedules::replace(conn, plan_id, &rows)?;
        let rules = db::schedules::rules(conn, plan_id)?;
        db::submissions::set_deadlines(conn, plan_id, |period, unit| {
            let period: PeriodCode = period.parse().ok()?;
            deadline_for(&period, unit, &rules).map(|d| d.naive_utc())
        })?;
        let after = load(conn, plan_id)?;
        db::audit::record_change(
            conn,
            &actor,
            "update",
            "schedules",
            &plan_id.to_string(),
            &db::audit::Change {
                detail: serde_json::json!({"plan_id": plan_id}),
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&after).ok(),
            },
        )?;
        Ok(after)
    })
    .await?;
    Ok(web::Json(saved))
}
