//! Successions (kế thừa): a unit ceases — merged into another, split, renamed — and its
//! successors take over its indicators, tasks and open reports from a given day.

use std::collections::HashMap;

use actix_web::{http::header, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::units::{unit_response, UnitResponse};
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, succession::Move, DbConnection};
use crate::domain::succession::{distribute, predecessors, replace_coordinating, Item};
use crate::domain::validate::Checks;
use crate::error::{ApiError, FieldError};
use crate::startup::AppState;

const MAX_SUCCESSORS: usize = 20;
const MAX_ASSIGNMENTS: usize = 5_000;

/// A unit taking over the ceased unit's duties.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessorRequest {
    /// Code of the unit (đơn vị) that takes over. It must exist on `effective_on`, be listed
    /// once, and be neither the ceasing unit nor one of its predecessors.
    #[schema(example = "STC")]
    pub code: String,
    /// The part of the ceased unit it takes (of its area, population or staff), in (0, 1];
    /// informative only. Shares of one succession add up to at most 1.
    #[schema(example = 1.0, exclusive_minimum = 0.0, maximum = 1.0)]
    pub share: Option<f64>,
}

/// What moves to the successors.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOptions {
    /// Indicators (chỉ tiêu) the unit reports, and its place among coordinating units.
    pub indicators: bool,
    /// Tasks (nhiệm vụ) the unit leads, and its place among coordinating units.
    pub tasks: bool,
    /// Its reports still being written or sent back (draft, returned). Only a merge or
    /// rename (one successor) can move them.
    pub open_submissions: bool,
}

/// One item given to one successor: `indicator_id` or `task_id`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// An indicator (chỉ tiêu) the ceasing unit is responsible for, when `transfer.indicators`
    /// is `true`.
    pub indicator_id: Option<i64>,
    /// A task (nhiệm vụ) the ceasing unit leads, when `transfer.tasks` is `true`.
    pub task_id: Option<i64>,
    /// One of the successors.
    #[schema(example = "UBND-PCL")]
    pub to: String,
}

/// Records that a unit ceased and who took over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessionRequest {
    /// One successor for a merge (sáp nhập) or a rename, several for a split (chia tách).
    pub successors: Vec<SuccessorRequest>,
    /// The first day the successors are responsible; the unit's last day (`valid_to`) is
    /// the day before.
    #[schema(example = "2025-03-01")]
    pub effective_on: NaiveDate,
    pub transfer: TransferOptions,
    /// Who takes each item. Required for every transferred item in a split; in a merge they
    /// may only name the one successor.
    #[serde(default)]
    pub assignments: Vec<AssignmentRequest>,
}

/// An item that changed hands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovedItem {
    /// `indicator` or `task`.
    #[schema(example = "indicator")]
    pub kind: String,
    /// The id of the indicator or task (see `kind`).
    pub id: i64,
    /// The plan the indicator or task belongs to.
    pub plan_id: i64,
    /// Code of the successor unit now responsible for it: the indicator's responsible unit
    /// or the task's lead unit.
    #[schema(example = "STC")]
    pub to: String,
}

/// What a succession changed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SuccessionResponse {
    /// The ceased unit, with `valid_to` and its successors.
    pub unit: UnitResponse,
    /// The first day the successors are responsible (`YYYY-MM-DD`); the ceased unit's
    /// `valid_to` is the day before.
    pub effective_on: NaiveDate,
    /// Indicators and tasks whose responsible (lead) unit changed.
    pub moved: Vec<MovedItem>,
    /// Items whose coordinating units now name the successors instead.
    pub coordinating_replaced: i64,
    /// Open submissions that now belong to the successor.
    pub moved_submissions: Vec<i64>,
}

/// Checks the request on its own, before the database is asked.
fn check_request(code: &str, r: &SuccessionRequest) -> Result<HashMap<Item, String>, ApiError> {
    let mut checks = Checks::new();
    checks.check(
        !r.successors.is_empty() && r.successors.len() <= MAX_SUCCESSORS,
        "successors",
        format!("must list 1 to {MAX_SUCCESSORS} units"),
    );
    let mut total_share = 0.0;
    for (i, s) in r.successors.iter().enumerate() {
        let field = format!("successors[{i}].code");
        checks.code(&field, &s.code);
        checks.check(s.code != code, &field, "a unit cannot succeed itself");
        checks.check(
            r.successors[..i].iter().all(|o| o.code != s.code),
            &field,
            format!("{} is listed twice", s.code),
        );
        if let Some(share) = s.share {
            checks.check(
                share.is_finite() && share > 0.0 && share <= 1.0,
                &format!("successors[{i}].share"),
                "must be more than 0 and at most 1",
            );
            total_share += share;
        }
    }
    checks.check(
        total_share <= 1.0 + 1e-9,
        "successors",
        "the shares add up to more than 1",
    );
    checks.check(
        !(r.transfer.open_submissions && r.successors.len() > 1),
        "transfer.open_submissions",
        "a split cannot move open submissions: submit them, or record a merge first",
    );
    checks.check(
        r.assignments.len() <= MAX_ASSIGNMENTS,
        "assignments",
        format!("must list at most {MAX_ASSIGNMENTS} items"),
    );
    let mut assigned = HashMap::new();
    for (i, a) in r.assignments.iter().enumerate() {
        let field = format!("assignments[{i}]");
        let item = match (a.indicator_id, a.task_id) {
            (Some(id), None) => Some(Item::Indicator(id)),
            (None, Some(id)) => Some(Item::Task(id)),
            _ => None,
        };
        checks.check(
            item.is_some(),
            &field,
            "give either indicator_id or task_id",
        );
        checks.check(
            r.successors.iter().any(|s| s.code == a.to),
            &format!("{field}.to"),
            format!("{} is not one of the successors", a.to),
        );
        if let Some(item) = item {
            checks.check(
                assigned.insert(item, a.to.clone()).is_none(),
                &field,
                format!("{item} is assigned twice"),
            );
        }
    }
    checks.finish()?;
    Ok(assigned)
}

/// Checks the request against the organisation: the unit still exists, its successors exist
/// on the day and none of them is one of its own predecessors.
fn check_units(
    conn: &mut DbConnection,
    code: &str,
    r: &SuccessionRequest,
) -> Result<db::units::UnitRow, ApiError> {
    let unit =
        db::units::find(conn, code)?.ok_or_else(|| ApiError::not_found(format!("unit {code}")))?;
    if let Some(last_day) = unit.valid_to {
        return Err(ApiError::Conflict {
            detail: format!("unit {code} already ceased on {last_day}"),
            existing: Some(format!("/api/v1/units/{code}")),
        });
    }
    let mut checks = Checks::new();
    if let Some(first_day) = unit.valid_from {
        checks.check(
            r.effective_on > first_day,
            "effective_on",
            format!("must be after the unit's first day, {first_day}"),
        );
    }
    let earlier = predecessors(code, &db::succession::edges(conn)?);
    for (i, s) in r.successors.iter().enumerate() {
        let field = format!("successors[{i}].code");
        match db::units::find(conn, &s.code)? {
            None => {
                checks.push(FieldError::new(
                    field,
                    format!("unit {} does not exist", s.code),
                ));
            }
            Some(successor) => {
                let exists_then = successor.valid_from.is_none_or(|d| d <= r.effective_on)
                    && successor.valid_to.is_none_or(|d| d >= r.effective_on);
                checks.check(
                    exists_then,
                    &field,
                    format!("{} does not exist on {}", s.code, r.effective_on),
                );
                checks.check(
                    !earlier.contains(&s.code),
                    &field,
                    format!("{} is a predecessor of {code}", s.code),
                );
            }
        }
    }
    checks.finish()?;
    Ok(unit)
}

/// Records that unit `code` ceased and its successors took over from `effective_on`.
/// Its indicators and tasks (and, in a merge, its open reports) move to the successors as
/// asked; submitted reports, audit records and past values keep the unit that made them.
/// Progress, compliance and dashboards `as_of` a day before `effective_on` still show the
/// unit; from that day on, its successors. Everything lands in one transaction.
#[utoipa::path(
    tag = "units",
    params(("code" = String, Path, description = "The unit that ceases", example = "SKHDT")),
    request_body(content = SuccessionRequest, examples(
        ("merge" = (summary = "Sở KH&ĐT merged into Sở Tài chính", value = json!({
            "successors": [{"code": "STC"}], "effective_on": "2025-03-01",
            "transfer": {"indicators": true, "tasks": true, "open_submissions": true}}))),
        ("split" = (summary = "Cao Lãnh city split into three wards", value = json!({
            "successors": [{"code": "UBND-PCL", "share": 0.5}, {"code": "UBND-PMN", "share": 0.25}, {"code": "UBND-PMT", "share": 0.25}],
            "effective_on": "2025-07-01",
            "transfer": {"indicators": true, "tasks": true, "open_submissions": false},
            "assignments": [{"task_id": 12, "to": "UBND-PCL"}]})))
    )),
    responses(
        (status = 201, description = "Recorded; the responsibilities moved", body = SuccessionResponse,
            headers(("Location" = String, description = "The ceased unit's path"))),
        (status = 409, description = "The unit has already ceased, or a successor already has a report for a period an open report would move into", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid successors or assignments; in a split, one error per item left unassigned", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/units/{code}/succession")]
pub async fn record_succession(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: ApiJson<SuccessionRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ManageUnits)?;
    let code = code.into_inner();
    let r = body.0;
    let actor = caller.actor();
    let response =
        db::transaction(&state.pool, move |conn| record(conn, &actor, &code, &r)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/units/{}", response.unit.code),
        ))
        .json(response))
}

/// Records a succession inside the caller's transaction: checks, moves, audit.
pub fn record(
    conn: &mut DbConnection,
    actor: &db::audit::Actor,
    code: &str,
    r: &SuccessionRequest,
) -> Result<SuccessionResponse, ApiError> {
    let code = code.to_owned();
    let assigned = check_request(&code, r)?;
    let unit = check_units(conn, &code, r)?;
    let successors: Vec<String> = r.successors.iter().map(|s| s.code.clone()).collect();
    let moving = |item: &Item| match item {
        Item::Indicator(_) => r.transfer.indicators,
        Item::Task(_) => r.transfer.tasks,
    };
    let held: Vec<(Item, i64)> = db::succession::held_items(conn, &code)?
        .into_iter()
        .filter(|(item, _)| moving(item))
        .collect();
    let mut checks = Checks::new();
    for item in assigned.keys() {
        checks.check(
            held.iter().any(|(h, _)| h == item),
            "assignments",
            format!("{item} is not one that {code} holds and this succession transfers"),
        );
    }
    checks.finish()?;
    let items: Vec<Item> = held.iter().map(|(item, _)| *item).collect();
    let moves = distribute(&items, &successors, &assigned).map_err(|unassigned| {
        ApiError::Validation(
            unassigned
                .into_iter()
                .map(|item| {
                    FieldError::new(
                        "assignments",
                        format!(
                            "{item} has no successor: assign it to one of {}",
                            successors.join(", ")
                        ),
                    )
                })
                .collect(),
        )
    })?;
    for s in &r.successors {
        db::succession::insert(conn, &code, &s.code, s.share, r.effective_on)?;
    }
    let mut data = unit.into_data();
    data.valid_to = r.effective_on.pred_opt();
    data.successor_code = match successors.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let unit = db::units::update(conn, &data)?;
    let plan_of: HashMap<Item, i64> = held.into_iter().collect();
    let mut moved = Vec::with_capacity(moves.len());
    for (item, to) in moves {
        let plan_id = plan_of.get(&item).copied().unwrap_or_default();
        db::succession::transfer(
            conn,
            &Move {
                succession_of: &code,
                plan_id,
                item,
                from: &code,
                to: &to,
                effective_on: r.effective_on,
            },
        )?;
        let (kind, id) = match item {
            Item::Indicator(id) => ("indicator", id),
            Item::Task(id) => ("task", id),
        };
        db::audit::record(
            conn,
            actor,
            "transfer",
            kind,
            &id.to_string(),
            serde_json::json!({"from": code, "to": to, "effective_on": r.effective_on}),
        )?;
        moved.push(MovedItem {
            kind: kind.into(),
            id,
            plan_id,
            to,
        });
    }
    let mut coordinating_replaced = 0;
    for (item, codes) in db::succession::coordinated_by(conn, &code)? {
        if moving(&item) {
            let replaced = replace_coordinating(&codes, &code, &successors);
            db::succession::set_coordinating(conn, item, &replaced)?;
            coordinating_replaced += 1;
        }
    }
    let mut moved_submissions = Vec::new();
    if let (true, [to]) = (r.transfer.open_submissions, successors.as_slice()) {
        for (id, plan_id, period) in db::succession::open_submissions(conn, &code)? {
            if let Some(existing) = db::submissions::id_for(conn, plan_id, to, &period)? {
                return Err(ApiError::Conflict {
                    detail: format!(
                        "{to} already has a report for plan {plan_id}, period {period}: \
                         submission {id} of {code} cannot move into it"
                    ),
                    existing: Some(format!("/api/v1/submissions/{existing}")),
                });
            }
            db::succession::move_submission(conn, id, to)?;
            moved_submissions.push(id);
        }
    }
    db::audit::record(
        conn,
        actor,
        "succession",
        "unit",
        &code,
        serde_json::json!({
            "successors": successors, "effective_on": r.effective_on,
            "moved": moved.len(), "coordinating_replaced": coordinating_replaced,
            "moved_submissions": moved_submissions,
        }),
    )?;
    Ok(SuccessionResponse {
        unit: unit_response(conn, unit)?,
        effective_on: r.effective_on,
        moved,
        coordinating_replaced,
        moved_submissions,
    })
}
