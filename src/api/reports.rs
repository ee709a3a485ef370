//! The consolidated report (báo cáo tổng hợp) that Phòng Tổng hợp Quy hoạch sends up each
//! year, laid out like the plan's Phụ lục I and II, as JSON, CSV or XLSX.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::progress::{compliance, indicator_progress, Basis, Compliance, PlanDay};
use super::tasks::today;
use crate::auth::{authorize, Action, Caller};
use crate::db::{self, parse_enum, DbConnection, PageRequest};
use crate::domain::period::PeriodCode;
use crate::domain::progress::IndicatorStatus;
use crate::domain::text::search_key;
use crate::domain::timeliness::{classify, TaskStatus, Timeliness};
use crate::error::ApiError;
use crate::startup::AppState;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The file format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The year reported on, inside the plan's period.
    #[param(example = 2024)]
    pub year: i32,
    /// `json`, `csv` or `xlsx`; without it, the `Accept` header decides (`text/csv`, the XLSX
    /// media type), else JSON.
    pub format: Option<ReportFormat>,
}

/// The plan a report is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportPlan {
    /// The plan's id.
    pub id: i64,
    /// Number and symbol of the plan document (số hiệu), e.g. "1148/KH-SKHĐT".
    pub number: String,
    /// The plan's title as the document gives it.
    pub title: String,
    /// First year of the plan period.
    pub period_start_year: i32,
    /// Last year of the plan period.
    pub period_end_year: i32,
}

/// A row of the indicator table (Phụ lục I).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportIndicator {
    /// The number the document gives the indicator: "1", "2", "2.1".
    pub code: String,
    /// The indicator's name (chỉ tiêu) as the plan words it.
    pub name: String,
    /// Unit of measure (đơn vị tính): "Dự án" (projects), "Doanh nghiệp" (enterprises), "Chỉ số"
    /// (index).
    pub measure_unit: String,
    /// The previous period's result (thực hiện giai đoạn trước); `null` when the document has none.
    pub baseline_value: Option<f64>,
    /// The target as the plan writes it, or its value.
    pub target: String,
    /// One value per year of `years`; `null` where none was accepted.
    pub values: Vec<Option<f64>>,
    /// The values combined by the indicator's aggregation.
    pub cumulative: Option<f64>,
    /// `cumulative` as a percentage of the target value, one decimal; `null` for `each_year`
    /// targets, when nothing was accepted yet, or when the target is 0.
    pub percent_of_target: Option<f64>,
    pub status: IndicatorStatus,
}

/// A row of the task table (Phụ lục II).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportTask {
    /// The task's number in the plan (TT): "1", "2".
    pub code: String,
    /// The task (nhiệm vụ) as the plan words it.
    pub title: String,
    /// Code of the unit that leads the task (đơn vị chủ trì), as the task records it now; `null`
    /// when none is assigned.
    pub lead_unit_code: Option<String>,
    /// The deadline in force (the latest extension's, else the plan's), `YYYY-MM-DD`; `null` for a
    /// task without a deadline.
    pub due_date: Option<NaiveDate>,
    /// The deadline as the document writes it (thời gian hoàn thành), e.g. "Tháng 6/2022"; CSV and
    /// XLSX show it instead of `due_date` when present.
    pub due_label: Option<String>,
    pub status: TaskStatus,
    /// The progress last recorded for the task, in percent (0–100).
    pub progress_percent: i32,
    pub timeliness: Option<Timeliness>,
    /// The latest note from an accepted submission.
    pub latest_note: Option<String>,
}

/// What a unit wrote in its accepted report for the year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitNarrative {
    /// Code of the unit (đơn vị) that made the report.
    pub unit_code: String,
    /// The unit's full Vietnamese name, from the unit directory.
    pub unit_name: String,
    /// Results achieved (kết quả thực hiện), as the unit wrote them; `null` when left empty.
    pub results: Option<String>,
    /// Difficulties and obstacles (khó khăn, vướng mắc); `null` when left empty.
    pub difficulties: Option<String>,
    /// Proposals (kiến nghị, đề xuất); `null` when left empty.
    pub proposals: Option<String>,
}

/// The consolidated report of a plan for a year (accepted figures only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsolidatedReport {
    pub plan: ReportPlan,
    /// The year reported on, within the plan's period.
    pub year: i32,
    /// The end of the year, or today for the current year.
    pub as_of: NaiveDate,
    /// The years of the value columns: the plan's first year to `year`.
    pub years: Vec<i32>,
    /// The indicator table (Phụ lục I, Appendix I): one row per indicator, ordered by code.
    pub indicators: Vec<ReportIndicator>,
    /// The task table (Phụ lục II, Appendix II): one row per task, ordered by code.
    pub tasks: Vec<ReportTask>,
    /// One entry per unit with an accepted annual report for `year`, ordered by unit code; units
    /// without one are absent.
    pub narratives: Vec<UnitNarrative>,
    pub compliance: Compliance,
}

fn status_vi(status: IndicatorStatus) -> &'static str {
    match status {
        IndicatorStatus::Achieved => "Đạt",
        IndicatorStatus::OnTrack => "Đúng tiến độ",
        IndicatorStatus::Behind => "Chậm tiến độ",
        IndicatorStatus::NotReported => "Chưa có số liệu",
        IndicatorStatus::Missed => "Không đạt",
        IndicatorStatus::Inconsistent => "Số liệu không khớp",
    }
}

fn task_status_vi(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::NotStarted => "Chưa thực hiện",
        TaskStatus::InProgress => "Đang thực hiện",
        TaskStatus::Completed => "Hoàn thành",
        TaskStatus::Cancelled => "Đã hủy",
    }
}

fn timeliness_vi(timeliness: Option<Timeliness>) -> &'static str {
    match timeliness {
        None => "",
        Some(Timeliness::NotDue) => "Chưa đến hạn",
        Some(Timeliness::OnTrack) => "Đang thực hiện trong hạn",
        Some(Timeliness::Overdue) => "Quá hạn",
        Some(Timeliness::CompletedOnTime) => "Hoàn thành đúng hạn",
        Some(Timeliness::CompletedLate) => "Hoàn thành quá hạn",
    }
}

fn build(conn: &mut DbConnection, plan_id: i64, year: i32) -> Result<ConsolidatedReport, ApiError> {
    let plan = db::plans::require(conn, plan_id)?;
    if !(plan.period_start_year..=plan.period_end_year).contains(&year) {
        return Err(ApiError::invalid(
            "year",
            format!(
                "must lie in the plan's years {}–{}",
                plan.period_start_year, plan.period_end_year
            ),
        ));
    }
    let as_of = NaiveDate::from_ymd_opt(year, 12, 31).map_or_else(today, |end| end.min(today()));
    let years: Vec<i32> = (plan.period_start_year..=year).collect();
    let day = PlanDay::read(conn, plan.id, as_of)?;
    let indicators = indicator_progress(conn, &plan, Basis::Accepted, &day)?
        .into_iter()
        .map(|i| ReportIndicator {
            values: years
                .iter()
                .map(|y| i.yearly.iter().find(|v| v.year == *y).map(|v| v.value))
                .collect(),
            target: i
                .target_text
                .clone()
                .unwrap_or_else(|| i.target.value.to_string()),
            code: i.code,
            name: i.name,
            measure_unit: i.measure_unit,
            baseline_value: i.baseline_value,
            cumulative: i.actual_to_date,
            percent_of_target: i.percent_of_target,
            status: i.status,
        })
        .collect();
    let notes: std::collections::HashMap<i64, String> =
        db::progress::latest_task_notes(conn, plan.id)?
            .into_iter()
            .collect();
    let filter = db::tasks::TaskFilter {
        plan_id: plan.id,
        search_key: None,
        lead: None,
        status: None,
        timeliness: None,
        as_of,
        due_before: None,
        due_after: None,
    };
    let page = PageRequest {
        limit: 10_000,
        offset: 0,
        sort: "code",
        descending: false,
    };
    let tasks = db::tasks::list(conn, &filter, &page)?
        .0
        .into_iter()
        .map(|t| {
            let status: TaskStatus = parse_enum(&t.status)?;
            Ok(ReportTask {
                timeliness: classify(status, t.due_date, t.completed_on, as_of),
                latest_note: notes.get(&t.id).cloned(),
                code: t.code,
                title: t.title,
                lead_unit_code: t.lead_unit_code,
                due_date: t.due_date,
                due_label: t.due_label,
                status,
                progress_percent: t.progress_percent,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let narratives = db::progress::narratives(conn, plan.id, &year.to_string())?
        .into_iter()
        .map(|n| UnitNarrative {
            unit_code: n.unit_code,
            unit_name: n.unit_name,
            results: n.results,
            difficulties: n.difficulties,
            proposals: n.proposals,
        })
        .collect();
    let period: PeriodCode = year
        .to_string()
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("period {year}: {e}")))?;
    Ok(ConsolidatedReport {
        compliance: compliance(conn, plan.id, &period, &day)?,
        plan: ReportPlan {
            id: plan.id,
            number: plan.number,
            title: plan.title,
            period_start_year: plan.period_start_year,
            period_end_year: plan.period_end_year,
        },
        year,
        as_of,
        years,
        indicators,
        tasks,
        narratives,
    })
}

/// The tables of the report as rows of text cells (CSV) — headers in Vietnamese.
fn indicator_header(report: &ConsolidatedReport) -> Vec<String> {
    let mut header: Vec<String> = [
        "Mã",
        "Chỉ tiêu",
        "Đơn vị tính",
        "Thực hiện giai đoạn trước",
        "Mục tiêu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(report.years.iter().map(|y| format!("Năm {y}")));
    header.extend(
        ["Lũy kế", "% mục tiêu", "Đánh giá"]
            .iter()
            .map(|s| s.to_string()),
    );
    header
}

const TASK_HEADER: [&str; 8] = [
    "Mã",
    "Nhiệm vụ",
    "Đơn vị chủ trì",
    "Thời gian hoàn thành",
    "Tình trạng",
    "Tiến độ (%)",
    "Đánh giá thời hạn",
    "Ghi chú gần nhất",
];
const NARRATIVE_HEADER: [&str; 5] = [
    "Mã đơn vị",
    "Đơn vị",
    "Kết quả",
    "Khó khăn, vướng mắc",
    "Kiến nghị, đề xuất",
];

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn title(report: &ConsolidatedReport) -> String {
    format!(
        "Báo cáo tổng hợp năm {} — Kế hoạch số {}",
        report.year, report.plan.number
    )
}

fn to_csv(report: &ConsolidatedReport) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    writer.write_record([title(report)]).map_err(fail)?;
    writer.write_record(["Phụ lục I. Chỉ tiêu"]).map_err(fail)?;
    writer
        .write_record(indicator_header(report))
        .map_err(fail)?;
    for i in &report.indicators {
        let mut row = vec![
            i.code.clone(),
            i.name.clone(),
            i.measure_unit.clone(),
            number(i.baseline_value),
            i.target.clone(),
        ];
        row.extend(i.values.iter().map(|v| number(*v)));
        row.extend([
            number(i.cumulative),
            number(i.percent_of_target),
            status_vi(i.status).to_owned(),
        ]);
        writer.write_record(row).map_err(fail)?;
    }
    writer
        .write_record(["Phụ lục II. Nhiệm vụ"])
        .map_err(fail)?;
    writer.write_record(TASK_HEADER).map_err(fail)?;
    for t in &report.tasks {
        writer
            .write_record([
                t.code.clone(),
                t.title.clone(),
                t.lead_unit_code.clone().unwrap_or_default(),
                t.due_label
                    .clone()
                    .or(t.due_date.map(|d| d.to_string()))
                    .unwrap_or_default(),
                task_status_vi(t.status).to_owned(),
                t.progress_percent.to_string(),
                timeliness_vi(t.timeliness).to_owned(),
                t.latest_note.clone().unwrap_or_default(),
            ])
            .map_err(fail)?;
    }
    writer
        .write_record(["Khó khăn, vướng mắc và kiến nghị của các đơn vị"])
        .map_err(fail)?;
    writer.write_record(NARRATIVE_HEADER).map_err(fail)?;
    for n in &report.narratives {
        writer
            .write_record([
                n.unit_code.clone(),
                n.unit_name.clone(),
                n.results.clone().unwrap_or_default(),
                n.difficulties.clone().unwrap_or_default(),
                n.proposals.clone().unwrap_or_default(),
            ])
            .map_err(fail)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("csv: {e}")))?;
    // A byte-order mark, so that Excel reads the file as UTF-8 and shows the diacritics.
    Ok([b"\xEF\xBB\xBF".as_slice(), &body].concat())
}

/// Writes a title row, bold headers on row 3 and a frozen header to `sheet`.
fn sheet_start(
    sheet: &mut Worksheet,
    title_text: &str,
    header: &[String],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(
        0,
        0,
        title_text,
        &Format::new().set_bold().set_font_size(14),
    )?;
    for (col, text) in header.iter().enumerate() {
        sheet.write_string_with_format(2, col as u16, text, &bold)?;
    }
    sheet.set_freeze_panes(3, 0)?;
    Ok(())
}

fn write_number(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    match value {
        Some(v) => sheet
            .write_number_with_format(row, col, v, format)
            .map(|_| ()),
        None => Ok(()),
    }
}

fn to_xlsx(report: &ConsolidatedReport) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let numbers = Format::new().set_num_format("#,##0.##");
    let heading = title(report);
    let sheet = book.add_worksheet().set_name("Chỉ tiêu")?;
    sheet_start(sheet, &heading, &indicator_header(report))?;
    for (i, ind) in report.indicators.iter().enumerate() {
        let row = 3 + i as u32;
        sheet.write_string(row, 0, &ind.code)?;
        sheet.write_string(row, 1, &ind.name)?;
        sheet.write_string(row, 2, &ind.measure_unit)?;
        write_number(sheet, row, 3, ind.baseline_value, &numbers)?;
        sheet.write_string(row, 4, &ind.target)?;
        let mut col = 5u16;
        for value in &ind.values {
            write_number(sheet, row, col, *value, &numbers)?;
            col += 1;
        }
        write_number(sheet, row, col, ind.cumulative, &numbers)?;
        write_number(sheet, row, col + 1, ind.percent_of_target, &numbers)?;
        sheet.write_string(row, col + 2, status_vi(ind.status))?;
    }
    sheet.set_column_width(1, 60)?;
    let sheet = book.add_worksheet().set_name("Nhiệm vụ")?;
    let header: Vec<String> = TASK_HEADER.iter().map(|s| s.to_string()).collect();
    sheet_start(sheet, &heading, &header)?;
    for (i, t) in report.tasks.iter().enumerate() {
        let row = 3 + i as u32;
        sheet.write_string(row, 0, &t.code)?;
        sheet.write_string(row, 1, &t.title)?;
        sheet.write_string(row, 2, t.lead_unit_code.as_deref().unwrap_or_default())?;
        sheet.write_string(
            row,
            3,
            t.due_label
                .clone()
                .or(t.due_date.map(|d| d.to_string()))
                .unwrap_or_default(),
        )?;
        sheet.write_string(row, 4, task_status_vi(t.status))?;
        sheet.write_number_with_format(row, 5, f64::from(t.progress_percent), &numbers)?;
        sheet.write_string(row, 6, timeliness_vi(t.timeliness))?;
        sheet.write_string(row, 7, t.latest_note.as_deref().unwrap_or_default())?;
    }
    sheet.set_column_width(1, 60)?;
    let sheet = book.add_worksheet().set_name("Khó khăn, kiến nghị")?;
    let header: Vec<String> = NARRATIVE_HEADER.iter().map(|s| s.to_string()).collect();
    sheet_start(sheet, &heading, &header)?;
    for (i, n) in report.narratives.iter().enumerate() {
        let row = 3 + i as u32;
        for (col, text) in [
            &Some(n.unit_code.clone()),
            &Some(n.unit_name.clone()),
            &n.results,
            &n.difficulties,
            &n.proposals,
        ]
        .into_iter()
        .enumerate()
        {
            sheet.write_string(row, col as u16, text.as_deref().unwrap_or_default())?;
        }
    }
    book.save_to_buffer()
}

/// A file name safe in every browser and file system: the plan number folded to ASCII.
fn file_name(report: &ConsolidatedReport, extension: &str) -> String {
    let number: String = search_key(&report.plan.number)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let number = number.trim_matches('-').to_owned();
    format!("bao-cao-tong-hop-{number}-{}.{extension}", report.year)
}

fn chosen_format(query: Option<ReportFormat>, req: &HttpRequest) -> ReportFormat {
    query.unwrap_or_else(|| {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if accept.contains("text/csv") {
            ReportFormat::Csv
        } else if accept.contains(XLSX) {
            ReportFormat::Xlsx
        } else {
            ReportFormat::Json
        }
    })
}

/// The consolidated report of a plan for a year, laid out like the plan's Phụ lục I and II:
/// the indicator table (code, name, unit, baseline, target, each year's value, cumulative,
/// % of target, status), the task table (lead unit, deadline, status, timeliness, latest
/// note) and each unit's results, difficulties and proposals from its accepted report.
/// Accepted figures only. CSV (UTF-8 with a byte-order mark) and XLSX carry Vietnamese
/// headers and status words and are sent as attachments; JSON keys stay English.
#[utoipa::path(
    tag = "progress",
    params(("plan_id" = i64, Path, description = "The plan id"), ReportQuery),
    responses((status = 200, description = "The report",
        content(
            (ConsolidatedReport = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ),
        headers(("Content-Disposition" = String, description = "For CSV and XLSX: attachment with a safe file name"))))
)]
#[get("/plans/{plan_id}/report")]
pub async fn get_report(
    state: web::Data<AppState>,
    caller: Caller,
    plan_id: web::Path<i64>,
    query: web::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Action::ReadDirectory)?;
    let format = chosen_format(query.format, &req);
    let (plan_id, year) = (plan_id.into_inner(), query.year);
    let report = db::run(&state.pool, move |conn| build(conn, plan_id, year)).await?;
    let attachment = |name: String| {
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
    };
    Ok(match format {
        ReportFormat::Json => HttpResponse::Ok().json(&report),
        ReportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment(file_name(&report, "csv")))
            .body(to_csv(&report)?),
        ReportFormat::Xlsx => {
            let bytes =
                web::block(move || to_xlsx(&report).map(|b| (b, file_name(&report, "xlsx"))))
                    .await
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
                    .map_err(|e| ApiError::Internal(e.into()))?;
            HttpResponse::Ok()
                .content_type(XLSX)
                .insert_header(attachment(bytes.1))
                .body(bytes.0)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_ascii() {
        let report = ConsolidatedReport {
            plan: ReportPlan {
                id: 1,
                number: "1148/KH-SKHĐT".into(),
                title: String::new(),
                period_start_year: 2021,
                period_end_year: 2025,
            },
            year: 2024,
            as_of: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
            years: vec![],
            indicators: vec![],
            tasks: vec![],
            narratives: vec![],
            compliance: Compliance {
                period: "2024".into(),
                units: vec![],
                owed: 0,
                on_time: 0,
                late: 0,
                missing: 0,
                pending: 0,
                on_time_rate: None,
            },
        };
        assert_eq!(
            file_name(&report, "csv"),
            "bao-cao-tong-hop-1148-kh-skhdt-2024.csv"
        );
    }
}
