//! Writes a plan's parsed appendix tables (Phụ lục I and II) into the plan, updating rows
//! that already exist by code, all in the caller's transaction.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::units;
use super::{enum_text, DbConnection};
use crate::domain::appendix::{
    self, ImportWarning, ParsedIndicator, ParsedTask, UnitName, UnitResolver,
};
use crate::error::{ApiError, FieldError};

/// Which codes a table's import created and which it updated.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct TableOutcome {
    /// Codes of the rows created.
    pub created: Vec<String>,
    /// Codes of the rows that existed and were updated.
    pub updated: Vec<String>,
}

/// A warning about one cell, with the table it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportWarningResponse {
    /// `indicators` or `tasks`.
    #[schema(example = "indicators")]
    pub table: &'static str,
    /// Line number in the file (the header is line 1).
    #[schema(example = 4)]
    pub row: usize,
    /// The column's header text.
    pub column: String,
    /// The cell as written.
    pub text: String,
    /// What is wrong and what was done about it, in English.
    pub reason: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// `true`: nothing was written.
    pub dry_run: bool,
    pub indicators: TableOutcome,
    pub tasks: TableOutcome,
    /// Problems with single cells (an unresolved unit name, an unreadable baseline or
    /// deadline …), indicators' first. The row is kept as far as possible unless the reason
    /// says it was skipped.
    pub warnings: Vec<ImportWarningResponse>,
}

/// Every unit with the names documents may use for it, for the resolver.
pub fn unit_resolver(conn: &mut DbConnection) -> Result<UnitResolver, ApiError> {
    let rows: Vec<(String, String, Option<String>, String)> = units::table
        .select((units::code, units::name, units::short_name, units::aliases))
        .order(units::code.asc())
        .load(conn)?;
    let names: Vec<UnitName> = rows
        .into_iter()
        .map(|(code, name, short, aliases)| {
            let mut names = vec![name];
            names.extend(short);
            names.extend(serde_json::from_str::<Vec<String>>(&aliases).unwrap_or_default());
            UnitName { code, names }
        })
        .collect();
    Ok(UnitResolver::new(&names))
}

fn warnings(
    table: &'static str,
    found: Vec<ImportWarning>,
) -> impl Iterator<Item = ImportWarningResponse> {
    found.into_iter().map(move |w| ImportWarningResponse {
        table,
        row: w.row,
        column: w.column,
        text: w.text,
        reason: w.reason,
    })
}

fn unreadable(field: &str, error: appendix::ImportError) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, error.to_string())])
}

/// Parses the tables and writes them into plan `plan_id`. Runs in the caller's transaction:
/// the caller rolls back for a dry run or on any error, so a table lands whole or not at all.
pub fn import(
    conn: &mut DbConnection,
    plan_id: i64,
    indicators_text: Option<&str>,
    tasks_text: Option<&str>,
) -> Result<ImportReport, ApiError> {
    let plan = super::plans::require(conn, plan_id)?;
    let resolver = unit_resolver(conn)?;
    let mut report = ImportReport {
        dry_run: false,
        indicators: TableOutcome::default(),
        tasks: TableOutcome::default(),
        warnings: Vec::new(),
    };
    if let Some(text) = indicators_text {
        let parsed =
            appendix::parse_indicators(text, &resolver).map_err(|e| unreadable("indicators", e))?;
        // The baseline column is the previous period of the same length ("2016–2020" before
        // 2021–2025).
        let length = plan.period_end_year - plan.period_start_year + 1;
        let label = format!(
            "{}–{}",
            plan.period_start_year - length,
            plan.period_start_year - 1
        );
        for indicator in &parsed.indicators {
            write_indicator(conn, plan_id, indicator, &label, &mut report.indicators)?;
        }
        report
            .warnings
            .extend(warnings("indicators", parsed.warnings));
    }
    if let Some(text) = tasks_text {
        let parsed = appendix::parse_tasks(text, &resolver).map_err(|e| unreadable("tasks", e))?;
        for task in &parsed.tasks {
            write_task(conn, plan_id, task, &mut report.tasks)?;
        }
        report.warnings.extend(warnings("tasks", parsed.warnings));
    }
    Ok(report)
}

/// Why an import transaction ended without committing.
enum Rollback {
    DryRun(Box<ImportReport>),
    Failed(ApiError),
}

impl From<diesel::result::Error> for Rollback {
    fn from(error: diesel::result::Error) -> Self {
        Rollback::Failed(error.into())
    }
}

/// Runs [`import`] in its own transaction, recording it in the audit trail; a dry run rolls
/// everything back and returns what would have happened.
pub fn import_in_transaction(
    conn: &mut DbConnection,
    plan_id: i64,
    indicators_text: Option<&str>,
    tasks_text: Option<&str>,
    dry_run: bool,
    actor: &super::audit::Actor,
) -> Result<ImportReport, ApiError> {
    let outcome = super::write_transaction(conn, |conn| {
        let mut report =
            import(conn, plan_id, indicators_text, tasks_text).map_err(Rollback::Failed)?;
        if dry_run {
            report.dry_run = true;
            return Err(Rollback::DryRun(Box::new(report)));
        }
        let detail = serde_json::json!({
            "indicators": report.indicators, "tasks": report.tasks,
            "warnings": report.warnings.len(),
        });
        super::audit::record(conn, actor, "import", "plan", &plan_id.to_string(), detail)
            .map_err(Rollback::Failed)?;
        // An import rewrites the plan's appendix tables (its indicators and tasks), so
        // subscribers hear of it as `plan.updated` with `source: import`, like an edit.
        let plan = super::plans::require(conn, plan_id).map_err(Rollback::Failed)?;
        super::outbox::plan_updated(conn, &plan, "import").map_err(Rollback::Failed)?;
        Ok(report)
    });
    match outcome {
        Ok(report) => Ok(report),
        Err(Rollback::DryRun(report)) => Ok(*report),
        Err(Rollback::Failed(error)) => Err(error),
    }
}

fn write_indicator(
    conn: &mut DbConnection,
    plan_id: i64,
    parsed: &ParsedIndicator,
    baseline_label: &str,
    outcome: &mut TableOutcome,
) -> Result<(), ApiError> {
    let parent_id = match &parsed.parent_code {
        Some(code) => super::indicators::id_by_code(conn, plan_id, code)?,
        None => None,
    };
    let data = super::indicators::IndicatorData {
        plan_id,
        code: parsed.code.clone(),
        name: parsed.name.clone(),
        measure_unit: parsed.measure_unit.clone(),
        parent_id,
        baseline_value: parsed.baseline_value,
        baseline_label: parsed.baseline_value.map(|_| baseline_label.to_owned()),
        target_kind: enum_text(&parsed.target_kind),
        target_value: parsed.target_value,
        target_scope: enum_text(&parsed.target_scope),
        target_text: Some(parsed.target_text.clone()).filter(|t| !t.is_empty()),
        aggregation: enum_text(&parsed.aggregation),
        responsible_unit_code: parsed.responsible_unit_code.clone(),
        coordinating_unit_codes: serde_json::to_string(&parsed.coordinating_unit_codes)
            .unwrap_or_else(|_| "[]".into()),
    };
    match super::indicators::id_by_code(conn, plan_id, &parsed.code)? {
        Some(id) => {
            super::indicators::update(conn, id, &data)?;
            outcome.updated.push(parsed.code.clone());
        }
        None => {
            super::indicators::insert(conn, &data)?;
            outcome.created.push(parsed.code.clone());
        }
    }
    Ok(())
}

fn write_task(
    conn: &mut DbConnection,
    plan_id: i64,
    parsed: &ParsedTask,
    outcome: &mut TableOutcome,
) -> Result<(), ApiError> {
    let existing = match super::tasks::id_by_code(conn, plan_id, &parsed.code)? {
        Some(id) => super::tasks::find(conn, id)?,
        None => None,
    };
    let due_precision = parsed.due_precision.map(|p| enum_text(&p));
    let coordinating =
        serde_json::to_string(&parsed.coordinating_unit_codes).unwrap_or_else(|_| "[]".into());
    match existing {
        Some(row) => {
            // The table defines the task; its progress and extensions belong to the units.
            let id = row.id;
            let extended = super::tasks::extension_counts(conn, &[id])?
                .first()
                .is_some_and(|(_, n)| *n > 0);
            let mut data = row.into_data();
            data.title = parsed.title.clone();
            data.lead_unit_code = parsed.lead_unit_code.clone();
            data.coordinating_unit_codes = coordinating;
            data.coordinating_note = parsed.coordinating_note.clone();
            if !extended {
                data.due_date = parsed.due_date;
            }
            data.original_due_date = parsed.due_date;
            data.due_precision = due_precision;
            data.due_label = parsed.due_label.clone();
            data.output_form = parsed.output_form.clone();
            data.decision_authority = parsed.decision_authority.clone();
            super::tasks::update(conn, id, &data)?;
            outcome.updated.push(parsed.code.clone());
        }
        None => {
            super::tasks::insert(
                conn,
                &super::tasks::TaskData {
                    plan_id,
                    code: parsed.code.clone(),
                    title: parsed.title.clone(),
                    description: None,
                    lead_unit_code: parsed.lead_unit_code.clone(),
                    coordinating_unit_codes: coordinating,
                    coordinating_note: parsed.coordinating_note.clone(),
                    original_due_date: parsed.due_date,
                    due_date: parsed.due_date,
                    due_precision,
                    due_label: parsed.due_label.clone(),
                    output_form: parsed.output_form.clone(),
                    decision_authority: parsed.decision_authority.clone(),
                    legal_basis: "[]".into(),
                    status: "not_started".into(),
                    progress_percent: 0,
                    completed_on: None,
                },
            )?;
            outcome.created.push(parsed.code.clone());
        }
    }
    Ok(())
}
