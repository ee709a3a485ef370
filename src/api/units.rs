//! Organisational units (đơn vị): departments, their divisions, and the agencies plans name.

use actix_web::{get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{nullable, ApiJson};
use super::pagination::{ListParams, Page};
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, units::UnitData, DbConnection};
use crate::domain::text::nfc;
use crate::domain::unit::UnitKind;
use crate::domain::validate::Checks;
use crate::error::ApiError;
use crate::startup::AppState;

const MAX_ALIASES: usize = 20;

/// An organisational unit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitResponse {
    /// Stable code, used in every reference to the unit.
    #[schema(example = "SKHDT-DKKD")]
    pub code: String,
    /// Full Vietnamese name.
    #[schema(example = "Phòng Đăng ký kinh doanh")]
    pub name: String,
    /// Abbreviated name documents use for it; `null` if none. The importer and `q` recognise it.
    #[schema(example = "Phòng ĐKKD")]
    pub short_name: Option<String>,
    pub kind: UnitKind,
    /// The unit it belongs to (a phòng belongs to its Sở).
    #[schema(example = "SKHDT")]
    pub parent_code: Option<String>,
    /// Other names documents use for it; the importer and `q` recognise them.
    #[schema(example = json!(["Trung tâm Hỗ trợ DN và KN"]))]
    pub aliases: Vec<String>,
    /// Electronic agency code under Decision 20/2020/QĐ-TTg (mã định danh điện tử).
    #[schema(example = "000.00.00.H20")]
    pub gov_code: Option<String>,
    /// First day the unit exists under this code, if known.
    pub valid_from: Option<NaiveDate>,
    /// Last day it existed (merged, split, renamed); `null` while it exists.
    pub valid_to: Option<NaiveDate>,
    /// The unit that took over all its duties when it ceased (a merge or rename); `null` while
    /// it exists or after a split. Set by `POST /units/{code}/succession`.
    pub successor_code: Option<String>,
    /// The units that took over when it ceased, with their shares.
    pub successors: Vec<SuccessionLink>,
    /// The units that ceased and passed their duties to it.
    pub predecessors: Vec<SuccessionLink>,
    /// When the unit was added to the service (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the unit's record last changed, by an edit or a succession (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
}

/// The other side of a succession (kế thừa).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuccessionLink {
    /// Code of the unit on the other side: the successor in `successors`, the ceased unit in
    /// `predecessors`.
    #[schema(example = "STC")]
    pub code: String,
    /// The successor's share of the ceased unit, if recorded.
    pub share: Option<f64>,
    /// The first day the successor was responsible.
    pub effective_on: NaiveDate,
}

/// Units as answered, with their successions, read in one query for all of them.
pub fn unit_responses(
    conn: &mut DbConnection,
    rows: Vec<db::units::UnitRow>,
) -> Result<Vec<UnitResponse>, ApiError> {
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let links = db::succession::involving(conn, &codes)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let link = |code: &String, s: &db::succession::SuccessionRow| SuccessionLink {
                code: code.clone(),
                share: s.share,
                effective_on: s.effective_on,
            };
            let successors = links
                .iter()
                .filter(|s| s.predecessor_code == row.code)
                .map(|s| link(&s.successor_code, s))
                .collect();
            let predecessors = links
                .iter()
                .filter(|s| s.successor_code == row.code)
                .map(|s| link(&s.predecessor_code, s))
                .collect();
            UnitResponse::new(row, successors, predecessors)
        })
        .collect())
}

/// One unit as answered.
pub fn unit_response(
    conn: &mut DbConnection,
    row: db::units::UnitRow,
) -> Result<UnitResponse, ApiError> {
    unit_responses(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a unit went missing in its answer")))
}

impl UnitResponse {
    fn new(
        row: db::units::UnitRow,
        successors: Vec<SuccessionLink>,
        predecessors: Vec<SuccessionLink>,
    ) -> Self {
        UnitResponse {
            aliases: row.aliases(),
            kind: UnitKind::parse(&row.kind).unwrap_or(UnitKind::External),
            code: row.code,
            name: row.name,
            short_name: row.short_name,
            parent_code: row.parent_code,
            gov_code: row.gov_code,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            successor_code: row.successor_code,
            successors,
            predecessors,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnitRequest {
    /// 1–40 characters of A–Z, 0–9, `-`, `_`, `.`; cannot change later.
    #[schema(example = "SKHDT-DKKD", max_length = 40)]
    pub code: String,
    /// Full Vietnamese name of the unit, at most 300 characters; must not be blank.
    #[schema(example = "Phòng Đăng ký kinh doanh", max_length = 300)]
    pub name: String,
    /// Abbreviated name documents use for it, at most 100 characters; absent, `null` or blank:
    /// none.
    #[schema(max_length = 100)]
    pub short_name: Option<String>,
    pub kind: UnitKind,
    /// Code of the existing unit it belongs to (a phòng, division, belongs to its Sở, provincial
    /// department); absent or `null`: a top-level unit.
    #[schema(example = "SKHDT")]
    pub parent_code: Option<String>,
    /// At most 20 other names, each at most 300 characters.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Electronic agency code under Decision 20/2020/QĐ-TTg (mã định danh điện tử): A–Z,
    /// 0–9, `-`, `_`, `.`, unique among units (409 if taken); absent, `null` or blank: none.
    #[schema(example = "000.00.00.H20", max_length = 40)]
    pub gov_code: Option<String>,
    /// First day (`YYYY-MM-DD`) the unit exists under this code; absent or `null`: unknown.
    pub valid_from: Option<NaiveDate>,
    /// Last day (`YYYY-MM-DD`) it existed, not before `valid_from`; absent or `null` while it
    /// exists.
    pub valid_to: Option<NaiveDate>,
}

/// Changes to a unit; absent fields stay as they are, `null` clears a nullable one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnitRequest {
    /// New full Vietnamese name, at most 300 characters; must not be blank. Absent: unchanged.
    #[schema(max_length = 300)]
    pub name: Option<String>,
    /// New abbreviated name, at most 100 characters; `null` or blank removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub short_name: Option<Option<String>>,
    pub kind: Option<UnitKind>,
    /// Code of the existing unit it now belongs to; `null` makes it a top-level unit. Must not
    /// be the unit itself or a unit below it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub parent_code: Option<Option<String>>,
    /// Replaces the whole list of other names (at most 20, each at most 300 characters); `[]`
    /// removes them all. Absent: unchanged.
    pub aliases: Option<Vec<String>>,
    /// New electronic agency code (mã định danh điện tử, Decision 20/2020/QĐ-TTg), unique
    /// among units (409 if taken); `null` or blank removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub gov_code: Option<Option<String>>,
    /// New first day (`YYYY-MM-DD`) the unit exists under this code; `null`: unknown.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_from: Option<Option<NaiveDate>>,
    /// Last day (`YYYY-MM-DD`) it existed, recording that it ceased without a successor; `null`
    /// clears it (the unit still exists). Fixed (409) once a succession ended the unit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_to: Option<Option<NaiveDate>>,
}

/// Filters of the unit list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitQuery {
    /// Only units of this kind: `internal` (the department's own units) or `external` (other
    /// agencies).
    pub kind: Option<UnitKind>,
    /// Only the units directly under this one.
    pub parent: Option<String>,
    /// Only units that existed on this date (`valid_from` ≤ date ≤ `valid_to`).
    pub active_on: Option<NaiveDate>,
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| nfc(&v)).filter(|v| !v.is_empty())
}

/// Normalises and checks a unit's fields, then its references, refusing cycles.
fn validate(conn: &mut DbConnection, data: &mut UnitData) -> Result<(), ApiError> {
    data.name = nfc(&data.name);
    data.short_name = trimmed(data.short_name.take());
    data.aliases = data
        .aliases
        .iter()
        .map(|a| nfc(a))
        .filter(|a| !a.is_empty())
        .collect();
    data.gov_code = trimmed(data.gov_code.take());
    let mut checks = Checks::new();
    checks
        .code("code", &data.code)
        .text("name", &data.name, 300);
    if let Some(short) = &data.short_name {
        checks.max_len("short_name", short, 100);
    }
    checks.check(
        data.aliases.len() <= MAX_ALIASES,
        "aliases",
        format!("must list at most {MAX_ALIASES} names"),
    );
    for (i, alias) in data.aliases.iter().enumerate() {
        checks.max_len(&format!("aliases[{i}]"), alias, 300);
    }
    if let Some(gov) = &data.gov_code {
        checks.code("gov_code", gov);
    }
    if let (Some(from), Some(to)) = (data.valid_from, data.valid_to) {
        checks.check(from <= to, "valid_to", "must not be before valid_from");
    }
    checks.check(
        data.parent_code.as_deref() != Some(&data.code),
        "parent_code",
        "a unit cannot be its own parent",
    );
    checks.finish()?;
    let mut checks = Checks::new();
    if let Some(code) = &data.parent_code {
        let missing = db::units::missing(conn, &[code.as_str()])?;
        checks.check(
            missing.is_empty(),
            "parent_code",
            format!("unit {code} does not exist"),
        );
    }
    if let Some(parent) = &data.parent_code {
        let above = db::units::ancestors(conn, parent)?;
        checks.check(
            !above.contains(&data.code),
            "parent_code",
            format!(
                "{parent} is already below {}: that would make a cycle",
                data.code
            ),
        );
    }
    checks.finish()
}

/// Lists units. Sortable by `code`, `name`; `q` searches codes, names, short names and aliases.
#[utoipa::path(
    tag = "units",
    params(ListParams, UnitQuery,
        ("sort" = Option<String>, Query, pattern = r"^-?(code|name)$", description = "Sort field, `-field` for descending: `code`, `name` (default `code`). Ties break by id.")),
    responses((status = 200, description = "One page of units", body = Page<UnitResponse>))
)]
#[get("/units")]
pub async fn list_units(
    state: web::Data<AppState>,
    caller: Caller,
    list: web::Query<ListParams>,
    query: web::Query<UnitQuery>,
) -> Result<web::Json<Page<UnitResponse>>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let listing = list.resolve(&["code", "name"])?;
    let query = query.into_inner();
    let filter = db::units::UnitFilter {
        search_key: listing.search_key.clone(),
        kind: query.kind.map(|k| k.as_str().to_owned()),
        parent_code: query.parent,
        active_on: query.active_on,
    };
    let page = listing.page.clone();
    let (rows, total) = db::run(&state.pool, move |conn| {
        let (rows, total) = db::units::list(conn, &filter, &page)?;
        Ok((unit_responses(conn, rows)?, total))
    })
    .await?;
    Ok(web::Json(Page::of(rows, total, &listing.page)))
}

/// Creates a unit.
#[utoipa::path(
    tag = "units",
    request_body = CreateUnitRequest,
    responses(
        (status = 201, description = "Created", body = UnitResponse,
            headers(("Location" = String, description = "The new unit's path"))),
        (status = 409, description = "The code or electronic agency code is taken", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/units")]
pub async fn create_unit(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageUnits)?;
    let r = body.0;
    let mut data = UnitData {
        code: r.code.trim().to_owned(),
        name: r.name,
        short_name: r.short_name,
        kind: r.kind.as_str().to_owned(),
        parent_code: r.parent_code,
        aliases: r.aliases,
        gov_code: r.gov_code,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        successor_code: None,
    };
    let actor = caller.actor();
    let row = db::transaction(&state.pool, move |conn| {
        validate(conn, &mut data)?;
        if db::units::find(conn, &data.code)?.is_some() {
            return Err(ApiError::Conflict {
                detail: format!("unit {} already exists", data.code),
                existing: Some(format!("/api/v1/units/{}", data.code)),
            });
        }
        let row = db::units::insert(conn, &data)?;
        db::audit::record(
            conn,
            &actor,
            "create",
            "unit",
            &row.code,
            serde_json::json!({"name": row.name}),
        )?;
        unit_response(conn, row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/units/{}", row.code)))
        .json(row))
}

/// One unit.
#[utoipa::path(
    tag = "units",
    params(("code" = String, Path, description = "The unit code", example = "SKHDT-DKKD")),
    responses((status = 200, description = "The unit", body = UnitResponse))
)]
#[get("/units/{code}")]
pub async fn get_unit(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<web::Json<UnitResponse>, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let code = code.into_inner();
    let row = db::run(&state.pool, {
        let code = code.clone();
        move |conn| match db::units::find(conn, &code)? {
            Some(row) => Ok(Some(unit_response(conn, row)?)),
            None => Ok(None),
        }
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("unit {code}")))?;
    Ok(web::Json(row))
}

/// Changes a unit. The code is permanent. To record that a unit ceased and who took over,
/// use `POST /units/{code}/succession`, which also moves its responsibilities; `valid_to`
/// alone records that it ceased without a successor.
#[utoipa::path(
    tag = "units",
    params(("code" = String, Path, description = "The unit code", example = "SKHDT-DKKD")),
    request_body = UpdateUnitRequest,
    responses(
        (status = 200, description = "The changed unit", body = UnitResponse),
        (status = 409, description = "The electronic agency code is taken, or `valid_to` would change the last day a succession fixed", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/units/{code}")]
pub async fn update_unit(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: ApiJson<UpdateUnitRequest>,
) -> Result<web::Json<UnitResponse>, ApiError> {
    authorize(&caller, Action::ManageUnits)?;
    let code = code.into_inner();
    let r = body.0;
    let actor = caller.actor();
    let row = db::transaction(&state.pool, move |conn| {
        let current = db::units::find(conn, &code)?
            .ok_or_else(|| ApiError::not_found(format!("unit {code}")))?;
        let mut data = current.into_data();
        if let Some(name) = r.name {
            data.name = name;
        }
        if let Some(kind) = r.kind {
            data.kind = kind.as_str().to_owned();
        }
        if let Some(aliases) = r.aliases {
            data.aliases = aliases;
        }
        data.short_name = r.short_name.unwrap_or(data.short_name);
        data.parent_code = r.parent_code.unwrap_or(data.parent_code);
        data.gov_code = r.gov_code.unwrap_or(data.gov_code);
        data.valid_from = r.valid_from.unwrap_or(data.valid_from);
        if let Some(valid_to) = r.valid_to {
            // A succession fixed the last day; changing it would contradict the transfers.
            let ceased_by_succession = db::succession::involving(conn, &[code.as_str()])?
                .iter()
                .any(|s| s.predecessor_code == code);
            if ceased_by_succession && valid_to != data.valid_to {
                return Err(ApiError::Conflict {
                    detail: format!("unit {code} ceased by a succession; its valid_to is fixed"),
                    existing: Some(format!("/api/v1/units/{code}")),
                });
            }
            data.valid_to = valid_to;
        }
        validate(conn, &mut data)?;
        let row = db::units::update(conn, &data)?;
        db::audit::record(
            conn,
            &actor,
            "update",
            "unit",
            &row.code,
            serde_json::json!({"name": row.name}),
        )?;
        unit_response(conn, row)
    })
    .await?;
    Ok(web::Json(row))
}
