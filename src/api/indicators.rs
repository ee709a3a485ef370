//! Indicators (chỉ tiêu) of a plan: baseline, target, how yearly values combine, who reports.

use std::collections::HashMap;

use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::indicators::{ChildTotals, IndicatorData, IndicatorRow};
use crate::db::{self, enum_text, parse_enum, DbConnection};
use crate::domain::appendix::{Aggregation, TargetKind, TargetScope};
use crate::domain::text::nfc;
use crate::domain::validate::Checks;
use crate::error::ApiError;
use crate::startup::AppState;

/// What the plan sets out to reach.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// `at_least` (the result must reach `value`), `at_most`, `equal`, or `rank_at_most`
    /// (a rank of `value` or better: "Nằm trong nhóm 05 địa phương dẫn đầu" is rank ≤ 5).
    pub kind: TargetKind,
    /// The number: a count, an amount, or the worst acceptable rank (a positive integer).
    #[schema(example = 35)]
    pub value: f64,
    /// `plan_period`: the whole period's combined value must meet it ("thu hút ít nhất 25 dự
    /// án" in 2021–2025); `each_year`: every year must ("hằng năm").
    pub scope: TargetScope,
}

/// An indicator.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorResponse {
    /// The indicator's id, as in `/api/v1/indicators/{id}` and in a child's `parent_id`.
    #[schema(example = 2)]
    pub id: i64,
    /// The id of the plan (kế hoạch) the indicator belongs to.
    pub plan_id: i64,
    /// The number the document gives it: "1", "2", "2.1"; unique in the plan.
    #[schema(example = "2.1")]
    pub code: String,
    /// What is measured (chỉ tiêu), as the plan's indicator list (Phụ lục I, appendix I) words it.
    #[schema(example = "Dự án được chấp thuận chủ trương đầu tư/cấp giấy chứng nhận đầu tư")]
    pub name: String,
    /// Unit of measure (đơn vị tính): "Dự án" (projects), "Doanh nghiệp" (enterprises), "Chỉ số" (index).
    #[schema(example = "Dự án")]
    pub measure_unit: String,
    /// The indicator this one is part of (2.1 and 2.2 are parts of 2).
    pub parent_id: Option<i64>,
    /// The previous period's result (thực hiện giai đoạn trước); `null` when the document has none.
    #[schema(example = 13)]
    pub baseline_value: Option<f64>,
    /// The period the baseline covers, as the document names it; `null` when not given.
    #[schema(example = "2016–2020")]
    pub baseline_label: Option<String>,
    pub target: Target,
    /// The document's own wording of the target.
    pub target_text: Option<String>,
    /// How yearly values combine over the plan period: `sum` (counts of new things per year),
    /// `last` (a level or rank), `min`, `max`, `mean`, or `sum_of_children` (the children's sum).
    pub aggregation: Aggregation,
    /// The unit that follows and reports the indicator (phân công theo dõi, báo cáo).
    #[schema(example = "SKHDT-HTDT")]
    pub responsible_unit_code: Option<String>,
    /// Units that support it (phối hợp).
    #[schema(example = json!(["BQL-KKT"]))]
    pub coordinating_unit_codes: Vec<String>,
    /// For `sum_of_children` parents: where the children's baselines or targets do not add up
    /// to the parent's own. Empty when consistent.
    pub inconsistencies: Vec<String>,
    /// When the indicator was recorded (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the indicator last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new indicator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIndicatorRequest {
    /// Digits separated by dots; a child's code extends its parent's ("2.1" under "2").
    #[schema(example = "2.1", max_length = 20)]
    pub code: String,
    /// What is measured (chỉ tiêu), as the document words it; must not be blank.
    #[schema(max_length = 1000)]
    pub name: String,
    /// Unit of measure (đơn vị tính), e.g. "Dự án" (projects); must not be blank.
    #[schema(example = "Dự án", max_length = 100)]
    pub measure_unit: String,
    /// The id of the indicator, in the same plan, that this one is part of; `code` must then extend
    /// the parent's. Absent or `null` for a top-level indicator (no dot in `code`).
    pub parent_id: Option<i64>,
    /// The previous period's result (thực hiện giai đoạn trước), a finite number; absent or `null`
    /// when the document gives none.
    pub baseline_value: Option<f64>,
    /// The period the baseline covers, e.g. "2016–2020"; blank means none.
    #[schema(example = "2016–2020", max_length = 100)]
    pub baseline_label: Option<String>,
    pub target: Target,
    /// The document's own wording of the target (mục tiêu), kept beside the structured `target`;
    /// blank means none.
    #[schema(max_length = 1000)]
    pub target_text: Option<String>,
    pub aggregation: Aggregation,
    /// Code of the unit (đơn vị) that follows and reports the indicator (phân công theo dõi, báo
    /// cáo); it must exist, and its officers report the values. Absent or `null`: none.
    pub responsible_unit_code: Option<String>,
    /// Codes of the units that support it (phối hợp); each must exist, at most 50. Absent: none.
    #[serde(default)]
    pub coordinating_unit_codes: Vec<String>,
}

/// Changes to an indicator; absent fields stay as they are, `null` clears a nullable one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIndicatorRequest {
    /// A new number for the indicator: digits separated by dots; a child's code extends its
    /// parent's ("2.1" under "2"). Unique in the plan (409 otherwise).
    #[schema(max_length = 20)]
    pub code: Option<String>,
    /// A new wording of what is measured (chỉ tiêu); must not be blank.
    #[schema(max_length = 1000)]
    pub name: Option<String>,
    /// A new unit of measure (đơn vị tính), e.g. "Dự án"; must not be blank.
    #[schema(max_length = 100)]
    pub measure_unit: Option<String>,
    /// The id of the indicator, in the same plan, that this one becomes part of (no cycles; `code`
    /// must extend the parent's); `null` makes it top-level.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
    /// A new previous-period result (thực hiện giai đoạn trước), a finite number; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub baseline_value: Option<Option<f64>>,
    /// The period the baseline covers, e.g. "2016–2020"; `null` or blank clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub baseline_label: Option<Option<String>>,
    pub target: Option<Target>,
    /// The document's own wording of the target; `null` or blank clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub target_text: Option<Option<String>>,
    pub aggregation: Option<Aggregation>,
    /// Code of the unit that follows and reports the indicator (phân công theo dõi, báo cáo), which
    /// must exist; `null` leaves it unassigned.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub responsible_unit_code: Option<Option<String>>,
    /// Replaces the whole list of supporting units (phối hợp); each must exist, at most 50. `[]`
    /// empties it.
    pub coordinating_unit_codes: Option<Vec<String>>,
}

/// Filters of the indicator list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// Only indicators this unit reports.
    pub responsible_unit: Option<String>,
    /// With a unit filter: also the units whose duties passed to that unit (merged into it,
    /// split or renamed to it), directly or through earlier successions.
    #[serde(default)]
    pub include_predecessors: bool,
    /// Only the children of this indicator.
    pub parent_id: Option<i64>,
}

/// Where a `sum_of_children` parent and its children disagree.
fn inconsistencies(row: &IndicatorRow, totals: Option<&ChildTotals>) -> Vec<String> {
    let Some(totals) = totals.filter(|_| row.aggregation == "sum_of_children") else {
        return vec![];
    };
    let mut found = Vec::new();
    if let (Some(own), Some(children)) = (row.baseline_value, totals.baseline_sum) {
        if (own - children).abs() > 1e-9 {
            found.push(format!(
                "baseline {own} differs from the children's sum {children}"
            ));
        }
    }
    if let Some(children) = totals.target_sum {
        if (row.target_value - children).abs() > 1e-9 {
            found.push(format!(
                "target {} differs from the children's sum {children}",
                row.target_value
            ));
        }
    }
    found
}

fn respond(
    rows: Vec<IndicatorRow>,
    conn: &mut DbConnection,
) -> Result<Vec<IndicatorResponse>, ApiError> {
    let totals = db::indicators::child_totals(conn, &summed_parents(&rows))?;
    assemble(rows, totals)
}

/// The indicators among `rows` whose values are their children's sum, whose children's totals
/// an answer reports against them.
fn summed_parents(rows: &[IndicatorRow]) -> Vec<i64> {
    rows.iter()
        .filter(|r| r.aggregation == "sum_of_children")
        .map(|r| r.id)
        .collect()
}

/// The answers for `rows`, given the children's totals of [`summed_parents`].
fn assemble(
    rows: Vec<IndicatorRow>,
    totals: Vec<ChildTotals>,
) -> Result<Vec<IndicatorResponse>, ApiError> {
    let totals: HashMap<i64, ChildTotals> = totals.into_iter().map(|t| (t.parent_id, t)).collect();
    rows.into_iter()
        .map(|row| {
            let found = inconsistencies(&row, totals.get(&row.id));
            Ok(IndicatorResponse {
                target: Target {
                    kind: parse_enum(&row.target_kind)?,
                    value: row.target_value,
                    scope: parse_enum(&row.target_scope)?,
                },
                aggregation: parse_enum(&row.aggregation)?,
                coordinating_unit_codes: serde_json::from_str(&row.coordinating_unit_codes)
                    .unwrap_or_default(),
                inconsistencies: found,
                id: row.id,
                plan_id: row.plan_id,
                code: row.code,
                name: row.name,
                measure_unit: row.measure_unit,
                parent_id: row.parent_id,
                baseline_value: row.baseline_value,
                baseline_label: row.baseline_label,
                target_text: row.target_text,
                responsible_unit_code: row.responsible_unit_code,
                created_at: row.created_at.and_utc(),
                updated_at: row.updated_at.and_utc(),
            })
        })
        .collect()
}

fn respond_one(row: IndicatorRow, conn: &mut DbConnection) -> Result<IndicatorResponse, ApiError> {
    only(respond(vec![row], conn)?)
}

/// The one answer of a request about one indicator.
fn only(mut answers: Vec<IndicatorResponse>) -> Result<IndicatorResponse, ApiError> {
    answers
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("indicator vanished")))
}

fn is_indicator_code(code: &str) -> bool {
    code.len() <= 20
        && code.split('.').all(|part| {
            !part.is_empty() && part.len() <= 4 && part.chars().all(|c| c.is_ascii_digit())
        })
}

/// Normalises and checks an indicator (`id` is `None` on create).
fn validate(
    conn: &mut DbConnection,
    id: Option<i64>,
    data: &mut IndicatorData,
    coordinating: &[String],
) -> Result<(), ApiError> {
    data.code = data.code.trim().to_owned();
    data.name = nfc(&data.name);
    data.measure_unit = nfc(&data.measure_unit);
    data.baseline_label = data
        .baseline_label
        .as_deref()
        .map(nfc)
        .filter(|s| !s.is_empty());
    data.target_text = data
        .target_text
        .as_deref()
        .map(nfc)
        .filter(|s| !s.is_empty());
    let mut checks = Checks::new();
    checks
        .check(
            is_indicator_code(&data.code),
            "code",
            "must be numbers separated by dots, like 2 or 2.1",
        )
        .text("name", &data.name, 1000)
        .text("measure_unit", &data.measure_unit, 100);
    if let Some(label) = &data.baseline_label {
        checks.max_len("baseline_label", label, 100);
    }
    if let Some(text) = &data.target_text {
        checks.max_len("target_text", text, 1000);
    }
    checks.check(
        data.baseline_value.is_none_or(f64::is_finite),
        "baseline_value",
        "must be a finite number",
    );
    checks.check(
        data.target_value.is_finite(),
        "target.value",
        "must be a finite number",
    );
    if data.target_kind == "rank_at_most" {
        checks.check(
            data.target_value >= 1.0 && data.target_value.fract() == 0.0,
            "target.value",
            "a rank target must be a positive whole number",
        );
    }
    checks.check(
        coordinating.len() <= 50,
        "coordinating_unit_codes",
        "must list at most 50 units",
    );
    checks.finish()?;
    let mut checks = Checks::new();
    for error in db::units::unknown_units(
        conn,
        "responsible_unit_code",
        data.responsible_unit_code.as_deref(),
        coordinating,
    )? {
        checks.push(error);
    }
    match data.parent_id {
        Some(parent_id) => match db::indicators::find(conn, parent_id)? {
            None => {
                checks.check(
                    false,
                    "parent_id",
                    format!("indicator {parent_id} does not exist"),
                );
            }
            Some(parent) => {
                checks
                    .check(
                        parent.plan_id == data.plan_id,
                        "parent_id",
                        "the parent belongs to another plan",
                    )
                    .check(
                        data.code.starts_with(&format!("{}.", parent.code)),
                        "code",
                        format!(
                            "must extend the parent's code {} (like {}.1)",
                            parent.code, parent.code
                        ),
                    );
                if let Some(id) = id {
                    let above = db::indicators::ancestors(conn, parent_id)?;
                    checks.check(!above.contains(&id), "parent_id", "that would make a cycle");
                }
            }
        },
        None => {
            checks.check(
                !data.code.contains('.'),
                "code",
                "a code with a dot needs a parent_id",
            );
        }
    }
    if let Some(existing) = db::indicators::id_by_code(conn, data.plan_id, &data.code)? {
        if Some(existing) != id {
            return Err(ApiError::Conflict {
                detail: format!("the plan already has indicator {}", data.code),
                existing: Some(format!("/api/v1/indicators/{existing}")),
            });
        }
    }
    checks.finish()
}

/// Lists a plan's indicators. Sortable by `code` (default), `name`, `id`.
#[utoipa::path(
    tag = "indicators",
    params(("plan_id" = i64, Path, description = "The plan id"), ListParams, IndicatorQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(code|name|id)$", description = "Sort field, `-field` for descending: `code`, `name`, `id` (default `code`). Ties break by id.")),
    responses((status = 200, description = "One page of indicators", body = Page<IndicatorResponse>))
)]
#[get("/plans/{plan_id}/indicators")]
pub async fn list_indicators(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    list: web::Query<ListParams>,
    query: web::Query<IndicatorQuery>,
) -> Result<web::Json<Page<IndicatorResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["code", "name", "id"])?;
    let query = query.into_inner();
    let mut filter = db::indicators::IndicatorFilter {
        plan_id: plan_id.into_inner(),
        search_key: listing.search_key.clone(),
        responsible: None,
        parent_id: query.parent_id,
    };
    let page = listing.page.clone();
    let (items, total) = db::run(&state.pool, move |conn| {
        db::plans::require(conn, filter.plan_id)?;
        filter.responsible = db::succession::with_predecessors(
            conn,
            query.responsible_unit,
            query.include_predecessors,
        )?
        .map(db::succession::UnitMatch::codes);
        let (rows, total) = db::indicators::list(conn, &filter, &page)?;
        Ok((respond(rows, conn)?, total))
    })
    .await?;
    Ok(web::Json(Page::of(items, total, &listing.page)))
}

/// Adds an indicator to a plan.
#[utoipa::path(
    tag = "indicators",
    params(("plan_id" = i64, Path, description = "The plan id")),
    request_body = CreateIndicatorRequest,
    responses(
        (status = 201, description = "Created", body = IndicatorResponse,
            headers(("Location" = String, description = "The new indicator's path"))),
        (status = 409, description = "The plan already has an indicator with this code", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/plans/{plan_id}/indicators")]
pub async fn create_indicator(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    body: ApiJson<CreateIndicatorRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let plan_id = plan_id.into_inner();
    let r = body.0;
    let coordinating = r.coordinating_unit_codes;
    let mut data = IndicatorData {
        plan_id,
        code: r.code,
        name: r.name,
        measure_unit: r.measure_unit,
        parent_id: r.parent_id,
        baseline_value: r.baseline_value,
        baseline_label: r.baseline_label,
        target_kind: enum_text(&r.target.kind),
        target_value: r.target.value,
        target_scope: enum_text(&r.target.scope),
        target_text: r.target_text,
        aggregation: enum_text(&r.aggregation),
        responsible_unit_code: r.responsible_unit_code,
        coordinating_unit_codes: serde_json::to_string(&coordinating)
            .unwrap_or_else(|_| "[]".into()),
    };
    let actor = caller.actor();
    let response = db::transaction(&state.pool, move |conn| {
        db::plans::require(conn, plan_id)?;
        validate(conn, None, &mut data, &coordinating)?;
        let row = db::indicators::insert(conn, &data)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "indicator",
            &row.id.to_string(),
            serde_json::json!({"plan_id": plan_id, "code": row.code}),
        )?;
        respond_one(row, conn)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/indicators/{}", response.id),
        ))
        .json(response))
}

/// One indicator.
#[utoipa::path(
    tag = "indicators",
    params(("id" = i64, Path, description = "The indicator id")),
    responses((status = 200, description = "The indicator", body = IndicatorResponse))
)]
#[get("/indicators/{id}")]
pub async fn get_indicator(
    state: web::Data<AppState>,
    reader: web::Data<db::pipeline::Reader>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<IndicatorResponse>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let id = id.into_inner();
    let row = db::indicators::find_alone(&reader, &state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("indicator {id}")))?;
    let parents = summed_parents(std::slice::from_ref(&row));
    let totals = if parents.is_empty() {
        Vec::new()
    } else {
        db::run(&state.pool, move |conn| {
            db::indicators::child_totals(conn, &parents)
        })
        .await?
    };
    Ok(web::Json(only(assemble(vec![row], totals)?)?))
}

/// Changes an indicator.
#[utoipa::path(
    tag = "indicators",
    params(("id" = i64, Path, description = "The indicator id")),
    request_body = UpdateIndicatorRequest,
    responses((status = 200, description = "The changed indicator", body = IndicatorResponse))
)]
#[patch("/indicators/{id}")]
pub async fn update_indicator(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdateIndicatorRequest>,
) -> Result<web::Json<IndicatorResponse>, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let id = id.into_inner();
    let r = body.0;
    let actor = caller.actor();
    let response = db::transaction(&state.pool, move |conn| {
        let current = db::indicators::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("indicator {id}")))?;
        let coordinating: Vec<String> = match r.coordinating_unit_codes {
            Some(codes) => codes,
            None => serde_json::from_str(&current.coordinating_unit_codes).unwrap_or_default(),
        };
        let mut data = current.into_data();
        data.code = r.code.unwrap_or(data.code);
        data.name = r.name.unwrap_or(data.name);
        data.measure_unit = r.measure_unit.unwrap_or(data.measure_unit);
        data.parent_id = r.parent_id.unwrap_or(data.parent_id);
        data.baseline_value = r.baseline_value.unwrap_or(data.baseline_value);
        data.baseline_label = r.baseline_label.unwrap_or(data.baseline_label);
        data.target_text = r.target_text.unwrap_or(data.target_text);
        data.responsible_unit_code = r
            .responsible_unit_code
            .unwrap_or(data.responsible_unit_code);
        if let Some(target) = r.target {
            data.target_kind = enum_text(&target.kind);
            data.target_value = target.value;
            data.target_scope = enum_text(&target.scope);
        }
        if let Some(aggregation) = r.aggregation {
            data.aggregation = enum_text(&aggregation);
        }
        data.coordinating_unit_codes =
            serde_json::to_string(&coordinating).unwrap_or_else(|_| "[]".into());
        validate(conn, Some(id), &mut data, &coordinating)?;
        let row = db::indicators::update(conn, id, &data)?;
        db::audit::record(
            conn,
            &actor,
            "update",
            "indicator",
            &id.to_string(),
            serde_json::json!({"code": row.code}),
        )?;
        respond_one(row, conn)
    })
    .await?;
    Ok(web::Json(response))
}

/// Deletes an indicator that has no sub-indicators.
#[utoipa::path(
    tag = "indicators",
    params(("id" = i64, Path, description = "The indicator id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The indicator still has sub-indicators", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/indicators/{id}")]
pub async fn delete_indicator(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let id = id.into_inner();
    let actor = caller.actor();
    db::transaction(&state.pool, move |conn| {
        db::delete_audited(
            conn,
            &actor,
            "indicator",
            id,
            "still has sub-indicators",
            |conn| db::indicators::delete(conn, id),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
