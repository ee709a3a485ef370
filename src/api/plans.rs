//! Plans (kế hoạch): the documents whose execution the service tracks.

use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, plans::PlanData, DbConnection};
use crate::domain::text::nfc;
use crate::domain::validate::Checks;
use crate::error::ApiError;
use crate::startup::AppState;

const MAX_BASIS: usize = 50;

/// A document the plan implements (căn cứ).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasisDocument {
    /// Its number and symbol (số, ký hiệu).
    #[schema(example = "72/KH-UBND", max_length = 100)]
    pub number: String,
    /// Its date of issue.
    #[schema(example = "2022-03-03")]
    pub date: Option<NaiveDate>,
    /// Its title (trích yếu), as written on the document.
    #[schema(
        example = "Kế hoạch thực hiện Kết luận số 253-KL/TU về phát triển kinh tế - xã hội thành phố Cao Lãnh đến năm 2025, tầm nhìn đến năm 2030",
        max_length = 1000
    )]
    pub title: String,
}

/// A plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanResponse {
    /// The plan's id, as used in `/api/v1/plans/{id}` and in `plan_id` elsewhere.
    #[schema(example = 1)]
    pub id: i64,
    /// Number and symbol of the plan document (số hiệu), unique.
    #[schema(example = "1148/KH-SKHĐT")]
    pub number: String,
    /// Title of the plan document (trích yếu), as issued.
    #[schema(
        example = "Kế hoạch triển khai thực hiện Kế hoạch số 72/KH-UBND về phát triển kinh tế - xã hội thành phố Cao Lãnh đến năm 2025, tầm nhìn đến năm 2030"
    )]
    pub title: String,
    /// The unit that issued the plan (cơ quan ban hành).
    #[schema(example = "SKHDT")]
    pub issuer_unit_code: String,
    /// Date the plan was issued (ngày ban hành), `YYYY-MM-DD`.
    #[schema(example = "2022-05-06")]
    pub issued_on: NaiveDate,
    /// First year of the plan period.
    #[schema(example = 2021)]
    pub period_start_year: i32,
    /// Last year of the plan period.
    #[schema(example = 2025)]
    pub period_end_year: i32,
    /// The vision horizon (tầm nhìn), if the plan names one.
    #[schema(example = 2030)]
    pub vision_year: Option<i32>,
    /// Who signed it.
    pub signer: Option<String>,
    /// The unit that reviews and consolidates the units' reports (đơn vị tổng hợp): for plan
    /// 1148, Phòng Tổng hợp, Quy hoạch.
    #[schema(example = "SKHDT-THQH")]
    pub consolidating_unit_code: String,
    /// The documents the plan implements (căn cứ).
    pub basis: Vec<BasisDocument>,
    /// When the plan was recorded in the service (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the plan was last changed in the service (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<db::plans::PlanRow> for PlanResponse {
    fn from(row: db::plans::PlanRow) -> Self {
        PlanResponse {
            basis: serde_json::from_str(&row.basis).unwrap_or_default(),
            id: row.id,
            number: row.number,
            title: row.title,
            issuer_unit_code: row.issuer_unit_code,
            issued_on: row.issued_on,
            period_start_year: row.period_start_year,
            period_end_year: row.period_end_year,
            vision_year: row.vision_year,
            signer: row.signer,
            consolidating_unit_code: row.consolidating_unit_code,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlanRequest {
    /// Number and symbol of the plan document (số hiệu); unique among plans: a plan with the
    /// same number answers 409.
    #[schema(example = "1148/KH-SKHĐT", max_length = 100)]
    pub number: String,
    /// Title of the plan document (trích yếu); must not be blank.
    #[schema(max_length = 2000)]
    pub title: String,
    /// Code of the unit (đơn vị) that issued the plan (cơ quan ban hành); the unit must exist.
    #[schema(example = "SKHDT")]
    pub issuer_unit_code: String,
    /// Date the plan was issued (ngày ban hành), `YYYY-MM-DD`.
    #[schema(example = "2022-05-06")]
    pub issued_on: NaiveDate,
    /// 1900–2200, not after `period_end_year`.
    #[schema(example = 2021, minimum = 1900, maximum = 2200)]
    pub period_start_year: i32,
    /// Last year of the plan period: 1900–2200, not before `period_start_year`.
    #[schema(example = 2025, minimum = 1900, maximum = 2200)]
    pub period_end_year: i32,
    /// Not before `period_end_year`.
    #[schema(example = 2030, minimum = 1900, maximum = 2200)]
    pub vision_year: Option<i32>,
    /// Name of the person who signed the plan (người ký). Absent, `null` or empty: not
    /// recorded.
    #[schema(max_length = 200)]
    pub signer: Option<String>,
    /// Code of the unit that reviews and consolidates the units' reports (đơn vị tổng hợp),
    /// e.g. Phòng Tổng hợp, Quy hoạch for plan 1148; the unit must exist.
    #[schema(example = "SKHDT-THQH")]
    pub consolidating_unit_code: String,
    /// At most 50 documents.
    #[serde(default)]
    pub basis: Vec<BasisDocument>,
}

/// Changes to a plan; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlanRequest {
    /// New number and symbol of the plan document (số hiệu); must stay unique among plans
    /// (409 otherwise). Absent or `null`: unchanged.
    #[schema(max_length = 100)]
    pub number: Option<String>,
    /// New title of the plan document (trích yếu); must not be blank. Absent or `null`:
    /// unchanged.
    #[schema(max_length = 2000)]
    pub title: Option<String>,
    /// Code of the unit that issued the plan (cơ quan ban hành); the unit must exist. Absent
    /// or `null`: unchanged.
    pub issuer_unit_code: Option<String>,
    /// Date the plan was issued (ngày ban hành), `YYYY-MM-DD`. Absent or `null`: unchanged.
    pub issued_on: Option<NaiveDate>,
    /// First year of the plan period, not after `period_end_year` (as changed by the same
    /// request, or the current one). Absent or `null`: unchanged.
    #[schema(minimum = 1900, maximum = 2200)]
    pub period_start_year: Option<i32>,
    /// Last year of the plan period, not before `period_start_year` and not after
    /// `vision_year`. Absent or `null`: unchanged.
    #[schema(minimum = 1900, maximum = 2200)]
    pub period_end_year: Option<i32>,
    /// The vision horizon (tầm nhìn), not before `period_end_year`. Absent: unchanged;
    /// `null`: removed.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    pub vision_year: Option<Option<i32>>,
    /// Name of the person who signed the plan (người ký). Absent: unchanged; `null` or empty:
    /// removed.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub signer: Option<Option<String>>,
    /// Code of the unit that reviews and consolidates the reports (đơn vị tổng hợp); the unit
    /// must exist, and its planners review the plan's submissions from then on. Absent or
    /// `null`: unchanged.
    pub consolidating_unit_code: Option<String>,
    /// The documents the plan implements (căn cứ), at most 50; a list given replaces the
    /// whole list. Absent or `null`: unchanged.
    pub basis: Option<Vec<BasisDocument>>,
}

/// Filters of the plan list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Only plans issued by this unit.
    pub issuer_unit: Option<String>,
    /// Only plans consolidated by this unit.
    pub consolidating_unit: Option<String>,
    /// Only plans whose period includes this year.
    #[param(minimum = 1900, maximum = 2200)]
    pub year: Option<i32>,
}

/// The plan's fields as written, before normalisation.
struct PlanDraft {
    data: PlanData,
    basis: Vec<BasisDocument>,
}

/// Normalises and checks a plan, including that its units exist.
fn validate(conn: &mut DbConnection, draft: PlanDraft) -> Result<PlanData, ApiError> {
    let PlanDraft { mut data, basis } = draft;
    data.number = nfc(&data.number);
    data.title = nfc(&data.title);
    data.signer = data.signer.map(|s| nfc(&s)).filter(|s| !s.is_empty());
    let basis: Vec<BasisDocument> = basis
        .into_iter()
        .map(|b| BasisDocument {
            number: nfc(&b.number),
            date: b.date,
            title: nfc(&b.title),
        })
        .collect();
    let mut checks = Checks::new();
    checks
        .text("number", &data.number, 100)
        .text("title", &data.title, 2000);
    if let Some(signer) = &data.signer {
        checks.max_len("signer", signer, 200);
    }
    let years = 1900..=2200;
    checks
        .check(
            years.contains(&data.period_start_year),
            "period_start_year",
            "must be between 1900 and 2200",
        )
        .check(
            years.contains(&data.period_end_year),
            "period_end_year",
            "must be between 1900 and 2200",
        )
        .check(
            data.period_start_year <= data.period_end_year,
            "period_end_year",
            "must not be before period_start_year",
        );
    if let Some(vision) = data.vision_year {
        checks.check(
            years.contains(&vision) && vision >= data.period_end_year,
            "vision_year",
            "must be between period_end_year and 2200",
        );
    }
    checks.check(
        basis.len() <= MAX_BASIS,
        "basis",
        format!("must list at most {MAX_BASIS} documents"),
    );
    for (i, doc) in basis.iter().enumerate() {
        checks
            .text(&format!("basis[{i}].number"), &doc.number, 100)
            .text(&format!("basis[{i}].title"), &doc.title, 1000);
    }
    for (field, code) in [
        ("issuer_unit_code", &data.issuer_unit_code),
        ("consolidating_unit_code", &data.consolidating_unit_code),
    ] {
        checks.check(!code.trim().is_empty(), field, "must not be blank");
    }
    checks.finish()?;
    let mut checks = Checks::new();
    for (field, code) in [
        ("issuer_unit_code", &data.issuer_unit_code),
        ("consolidating_unit_code", &data.consolidating_unit_code),
    ] {
        let missing = db::units::missing(conn, &[code.as_str()])?;
        checks.check(
            missing.is_empty(),
            field,
            format!("unit {code} does not exist"),
        );
    }
    checks.finish()?;
    data.basis = serde_json::to_string(&basis).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(data)
}

fn duplicate_number(
    conn: &mut DbConnection,
    number: &str,
    except: Option<i64>,
) -> Result<(), ApiError> {
    match db::plans::id_by_number(conn, number)? {
        Some(id) if Some(id) != except => Err(ApiError::Conflict {
            detail: format!("plan {number} already exists"),
            existing: Some(format!("/api/v1/plans/{id}")),
        }),
        _ => Ok(()),
    }
}

/// Lists plans. Sortable by `id`, `number`, `title`, `issued_on`, `period_start_year`; `q`
/// searches numbers and titles.
#[utoipa::path(
    tag = "plans",
    params(ListParams, PlanQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(id|number|title|issued_on|period_start_year)$", description = "Sort field, `-field` for descending: `id`, `number`, `title`, `issued_on`, `period_start_year` (default `id`). Ties break by id.")),
    responses((status = 200, description = "One page of plans", body = Page<PlanResponse>))
)]
#[get("/plans")]
pub async fn list_plans(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<PlanQuery>,
) -> Result<web::Json<Page<PlanResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["id", "number", "title", "issued_on", "period_start_year"])?;
    let query = query.into_inner();
    if query
        .year
        .is_some_and(|year| !(1900..=2200).contains(&year))
    {
        return Err(ApiError::invalid("year", "must be between 1900 and 2200"));
    }
    let filter = db::plans::PlanFilter {
        search_key: listing.search_key.clone(),
        issuer_unit_code: query.issuer_unit,
        consolidating_unit_code: query.consolidating_unit,
        year: query.year,
    };
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| {
        db::plans::list(conn, &filter, &page)
    })
    .await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}

/// Creates a plan.
#[utoipa::path(
    tag = "plans",
    request_body = CreatePlanRequest,
    responses(
        (status = 201, description = "Created", body = PlanResponse,
            headers(("Location" = String, description = "The new plan's path"))),
        (status = 409, description = "A plan with this number exists; `existing` is its path", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/plans")]
pub async fn create_plan(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreatePlanRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let r = body.0;
    let draft = PlanDraft {
        data: PlanData {
            number: r.number,
            title: r.title,
            issuer_unit_code: r.issuer_unit_code,
            issued_on: r.issued_on,
            period_start_year: r.period_start_year,
            period_end_year: r.period_end_year,
            vision_year: r.vision_year,
            signer: r.signer,
            consolidating_unit_code: r.consolidating_unit_code,
            basis: String::new(),
        },
        basis: r.basis,
    };
    let actor = caller.actor();
    let row = db::transaction(&state.pool, move |conn| {
        let data = validate(conn, draft)?;
        duplicate_number(conn, &data.number, None)?;
        let row = db::plans::insert(conn, &data)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "plan",
            &row.id.to_string(),
            serde_json::json!({"number": row.number}),
        )?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/plans/{}", row.id)))
        .json(PlanResponse::from(row)))
}

/// One plan.
#[utoipa::path(
    tag = "plans",
    params(("id" = i64, Path, description = "The plan id")),
    responses((status = 200, description = "The plan", body = PlanResponse))
)]
#[get("/plans/{id}")]
pub async fn get_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PlanResponse>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |conn| db::plans::require(conn, id)).await?;
    Ok(web::Json(row.into()))
}

/// Changes a plan.
#[utoipa::path(
    tag = "plans",
    params(("id" = i64, Path, description = "The plan id")),
    request_body = UpdatePlanRequest,
    responses(
        (status = 200, description = "The changed plan", body = PlanResponse),
        (status = 409, description = "Another plan has this number", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/plans/{id}")]
pub async fn update_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<UpdatePlanRequest>,
) -> Result<web::Json<PlanResponse>, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    let id = id.into_inner();
    let r = body.0;
    let actor = caller.actor();
    let row = db::transaction(&state.pool, move |conn| {
        let current = db::plans::require(conn, id)?;
        let basis = match r.basis {
            Some(basis) => basis,
            None => serde_json::from_str(&current.basis).unwrap_or_default(),
        };
        let mut data = current.into_data();
        data.number = r.number.unwrap_or(data.number);
        data.title = r.title.unwrap_or(data.title);
        data.issuer_unit_code = r.issuer_unit_code.unwrap_or(data.issuer_unit_code);
        data.issued_on = r.issued_on.unwrap_or(data.issued_on);
        data.period_start_year = r.period_start_year.unwrap_or(data.period_start_year);
        data.period_end_year = r.period_end_year.unwrap_or(data.period_end_year);
        data.vision_year = r.vision_year.unwrap_or(data.vision_year);
        data.signer = r.signer.unwrap_or(data.signer);
        data.consolidating_unit_code = r
            .consolidating_unit_code
            .unwrap_or(data.consolidating_unit_code);
        let data = validate(conn, PlanDraft { data, basis })?;
        duplicate_number(conn, &data.number, Some(id))?;
        let row = db::plans::update(conn, id, &data)?;
        db::audit::record(
            conn,
            &actor,
            "update",
            "plan",
            &id.to_string(),
            serde_json::json!({"number": row.number}),
        )?;
        db::outbox::plan_updated(conn, &row, "update")?;
        Ok(row)
    })
    .await?;
    Ok(web::Json(row.into()))
}

/// Deletes a plan that has no indicators, tasks or submissions yet.
#[utoipa::path(
    tag = "plans",
    params(("id" = i64, Path, description = "The plan id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The plan still has indicators, tasks or submissions", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[delete("/plans/{id}")]
pub async fn delete_plan(
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
            "plan",
            id,
            "still has indicators, tasks or submissions",
            |conn| db::plans::delete(conn, id),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
