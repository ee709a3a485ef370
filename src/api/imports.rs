//! Import of a plan's appendix tables (Phụ lục I: indicators, Phụ lục II: tasks).

use actix_multipart::Multipart;
use actix_web::{post, web, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::IntoParams;

use crate::auth::{authorize, Action, Caller};
use crate::db::{self, import::ImportReport};
use crate::error::{ApiError, FieldError};
use crate::startup::AppState;

/// The multipart form: either table, or both (at least one part).
///
/// Its schema is written by hand: the form is read as a stream, and utoipa's derive emits
/// `maxProperties` for `min_properties`.
pub struct ImportForm;

const INDICATORS_PART: &str = "Phụ lục I as TSV or CSV (UTF-8, with or without BOM). Columns: \
    indicator (\"1. …\" for a numbered indicator, \"- …\" for a part of the one above), unit of \
    measure, baseline, target, responsible unit (\"A phối hợp B\": A reports, B supports).";
const TASKS_PART: &str =
    "Phụ lục II as TSV or CSV. Columns: number, task, lead unit, coordinating \
    units, deadline (\"Tháng 6/2022\", \"Quý II/2023\", \"Năm 2025\", \"31/12/2024\"), output \
    document form, deciding authority.";

impl utoipa::PartialSchema for ImportForm {
    fn schema() -> RefOr<Schema> {
        let file = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some(
                "The multipart form: either table, or both (at least one part).",
            ))
            .property("indicators", file(INDICATORS_PART))
            .property("tasks", file(TASKS_PART))
            .min_properties(Some(1))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl utoipa::ToSchema for ImportForm {}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: report what would be created and every warning, and write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Reads the form's parts, refusing unknown parts, non-UTF-8 text and oversized uploads.
async fn read_parts(
    mut form: Multipart,
    limit: usize,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let (mut indicators, mut tasks) = (None, None);
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::BadRequest {
            detail: format!("the multipart body is malformed: {e}"),
            errors: vec![],
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        if name != "indicators" && name != "tasks" {
            return Err(ApiError::invalid(
                name,
                "unknown part: send `indicators` and/or `tasks`",
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest {
                detail: format!("the multipart body is malformed: {e}"),
                errors: vec![],
            })?;
            total += chunk.len();
            if total > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid(name.clone(), "must be UTF-8 text"))?;
        let text = text
            .strip_prefix('\u{feff}')
            .map(str::to_owned)
            .unwrap_or(text);
        match name.as_str() {
            "indicators" => indicators = Some(text),
            _ => tasks = Some(text),
        }
    }
    if indicators.is_none() && tasks.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "send an `indicators` part, a `tasks` part, or both",
        )]));
    }
    Ok((indicators, tasks))
}

/// Imports a plan's appendix tables as the document has them. Numbered rows ("1.") are
/// indicators and "- " rows their parts; a parent whose parts add up to it (2 = 2.1 + 2.2)
/// becomes `sum_of_children`; a target like "Nằm trong nhóm 05 địa phương dẫn đầu của Tỉnh
/// hằng năm" becomes `rank_at_most` 5 `each_year`. Unit cells resolve through unit names,
/// short names and aliases, ignoring case and diacritics; what cannot be resolved is kept as
/// text and reported. Rows whose code exists are updated (a task keeps its progress and
/// extensions). A real run is one transaction: everything or nothing.
#[utoipa::path(
    tag = "plans",
    params(("plan_id" = i64, Path, description = "The plan id"), ImportQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "What was (or, in a dry run, would be) created and updated, with every warning", body = ImportReport))
)]
#[post("/plans/{plan_id}/import")]
pub async fn import_plan_tables(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<ImportReport>, ApiError> {
    authorize(&caller, Action::ManagePlans)?;
    if req
        .mime_type()
        .ok()
        .flatten()
        .is_none_or(|m| m.essence_str() != "multipart/form-data")
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the tables as multipart/form-data with parts `indicators` and/or `tasks`".into(),
        ));
    }
    let form = Multipart::new(req.headers(), payload);
    let (indicators, tasks) = read_parts(form, state.settings.max_body_bytes).await?;
    let plan_id = plan_id.into_inner();
    let dry_run = query.dry_run;
    let actor = caller.actor();
    let report = db::run(&state.pool, move |conn| {
        db::import::import_in_transaction(
            conn,
            plan_id,
            indicators.as_deref(),
            tasks.as_deref(),
            dry_run,
            &actor,
        )
    })
    .await?;
    Ok(web::Json(report))
}
