//! Import of a plan's appendix tables: Phụ lục I (indicators) and Phụ lục II (tasks), as TSV or
//! CSV in UTF-8, with or without a byte-order mark.
//!
//! The first non-blank line is the header; columns are taken by position, and the header's text
//! names the column in warnings. The delimiter is a tab if the header line has one, else a comma.
//! Rows are numbered by their line in the file (the header is usually line 1).
//!
//! A row with a problem (a bad number or deadline, an unknown unit) yields an [`ImportWarning`]
//! and is kept as far as possible; a table that cannot be read at all yields an [`ImportError`].
//! All text is NFC-normalised and trimmed.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::deadline::{parse_due_label, DuePrecision};
use super::text::{nfc, search_key};

/// A unit the importer can recognise: its code and every name it goes by (full name, short
/// name, aliases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitName {
    /// The unit's code, e.g. `SKHDT-TTHTDN`.
    pub code: String,
    /// Names as documents write them, e.g. "Trung tâm Hỗ trợ Doanh nghiệp và Khởi nghiệp".
    pub names: Vec<String>,
}

/// Resolves unit phrases to unit codes, ignoring case, diacritics and spacing
/// ([`search_key`]).
#[derive(Debug, Clone)]
pub struct UnitResolver {
    /// Known names as folded words, longest first, so that "Sở Kế hoạch và Đầu tư" is tried
    /// before "và" is taken as a list separator.
    names: Vec<(Vec<String>, String)>,
}

impl UnitResolver {
    /// Builds a resolver. When two units share a name, the one listed first wins.
    pub fn new(units: &[UnitName]) -> Self {
        let mut names: Vec<(Vec<String>, String)> = units
            .iter()
            .flat_map(|unit| {
                unit.names.iter().map(|name| {
                    let words = tokenize(name).into_iter().map(|t| t.key).collect();
                    (words, unit.code.clone())
                })
            })
            .filter(|(words, _): &(Vec<String>, String)| !words.is_empty())
            .collect();
        // Stable sort: among equally long names the caller's order is kept.
        names.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        Self { names }
    }

    /// The code of the unit whose name is exactly `phrase` (after folding), if any.
    pub fn resolve(&self, phrase: &str) -> Option<&str> {
        let words: Vec<String> = tokenize(phrase).into_iter().map(|t| t.key).collect();
        self.names
            .iter()
            .find(|(name, _)| *name == words)
            .map(|(_, code)| code.as_str())
    }

    /// The longest known name at the start of `tokens`: its code and its length in tokens.
    fn longest_prefix(&self, tokens: &[Token]) -> Option<(&str, usize)> {
        self.names
            .iter()
            .find(|(name, _)| {
                name.len() <= tokens.len() && name.iter().zip(tokens).all(|(n, t)| *n == t.key)
            })
            .map(|(name, code)| (code.as_str(), name.len()))
    }
}

/// Units named in one cell: resolved codes in order, and any text that is not a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCell {
    /// Codes of the units recognised, in the order written, without repeats.
    pub codes: Vec<String>,
    /// Text that names no known unit, e.g. "và các đơn vị liên quan"; pieces joined by "; ".
    pub note: Option<String>,
}

/// A responsibility cell split at "phối hợp (với)": lead units before, coordinating after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCell {
    /// Units before "phối hợp" (normally one: the lead).
    pub lead: UnitCell,
    /// Units after "phối hợp".
    pub coordinating: UnitCell,
}

/// Reads a cell that lists units: "A; B", "A và B", "A, B", optionally ending in free text.
/// Returns the units and the reasons for any warnings.
///
/// Free text after a separator that follows a recognised unit ("A và các đơn vị liên quan") is
/// expected and goes to the note silently; any other unrecognised text goes to the note *and*
/// yields a warning.
pub fn parse_unit_cell(cell: &str, resolver: &UnitResolver) -> (UnitCell, Vec<String>) {
    let scan = scan_units(&nfc(cell), resolver, false);
    (scan.coordinating.into_cell(), scan.problems)
}

/// Reads a responsibility cell such as "Phòng Hợp tác Đầu tư phối hợp Ban Quản lý Khu Kinh tế":
/// units before "phối hợp" / "phối hợp với" lead, units after it coordinate. Lists and free text
/// are read as by [`parse_unit_cell`].
pub fn parse_assignment_cell(cell: &str, resolver: &UnitResolver) -> (AssignmentCell, Vec<String>) {
    let scan = scan_units(&nfc(cell), resolver, true);
    let cell = AssignmentCell {
        lead: scan.lead.into_cell(),
        coordinating: scan.coordinating.into_cell(),
    };
    (cell, scan.problems)
}

/// A word or a list punctuation mark (";" or ","), with its byte range in the text and its
/// folded form.
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    key: String,
}

/// Splits text into words and the punctuation ";" and ",", which separate list items.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word_start: Option<usize> = None;
    for (index, c) in text.char_indices() {
        let is_punctuation = c == ';' || c == ',';
        if c.is_whitespace() || is_punctuation {
            if let Some(start) = word_start.take() {
                tokens.push(token(text, start, index));
            }
            if is_punctuation {
                tokens.push(token(text, index, index + c.len_utf8()));
            }
        } else if word_start.is_none() {
            word_start = Some(index);
        }
    }
    if let Some(start) = word_start {
        tokens.push(token(text, start, text.len()));
    }
    // A word of nothing but combining marks folds to nothing and can match nothing.
    tokens.retain(|t| !t.key.is_empty());
    tokens
}

/// The token for `text[start..end]`.
fn token(text: &str, start: usize, end: usize) -> Token {
    let key = text.get(start..end).map(search_key).unwrap_or_default();
    Token { start, end, key }
}

/// Codes and notes collected for one role while scanning a cell.
#[derive(Debug, Default)]
struct RoleUnits {
    codes: Vec<String>,
    notes: Vec<String>,
}

impl RoleUnits {
    /// Records a code once, keeping the first position.
    fn add_code(&mut self, code: &str) {
        if !self.codes.iter().any(|c| c == code) {
            self.codes.push(code.to_string());
        }
    }

    /// The collected codes and notes as a cell.
    fn into_cell(self) -> UnitCell {
        let note = (!self.notes.is_empty()).then(|| self.notes.join("; "));
        UnitCell {
            codes: self.codes,
            note,
        }
    }
}

/// The result of scanning a unit cell.
#[derive(Debug, Default)]
struct UnitScan {
    lead: RoleUnits,
    coordinating: RoleUnits,
    problems: Vec<String>,
}

/// Scans a unit cell left to right: at each point the longest known name wins; "và" and ","
/// separate units, ";" separates items; with `split_roles`, "phối hợp (với)" moves from lead to
/// coordinating units. Unrecognised text runs to the end of its ";"-item.
fn scan_units(text: &str, resolver: &UnitResolver, split_roles: bool) -> UnitScan {
    let tokens = tokenize(text);
    let mut scan = UnitScan::default();
    let mut leading = split_roles;
    let mut item_has_unit = false;
    let mut separator_start: Option<usize> = None;
    let mut pos = 0;
    while let Some(current) = tokens.get(pos) {
        let role = if leading {
            &mut scan.lead
        } else {
            &mut scan.coordinating
        };
        if current.key == ";" {
            (item_has_unit, separator_start) = (false, None);
            pos += 1;
        } else if let Some((code, len)) = resolver.longest_prefix(&tokens[pos..]) {
            role.add_code(code);
            (item_has_unit, separator_start) = (true, None);
            pos += len;
        } else if let Some(len) = leading
            .then(|| coordination_marker(&tokens[pos..]))
            .flatten()
        {
            // "A phối hợp các đơn vị liên quan": the rest is a trailing phrase like after "và".
            leading = false;
            separator_start = Some(current.start);
            pos += len;
        } else if current.key == "va" || current.key == "," {
            separator_start.get_or_insert(current.start);
            pos += 1;
        } else {
            let item_end = tokens[pos..]
                .iter()
                .position(|t| t.key == ";")
                .map_or(tokens.len(), |offset| pos + offset);
            let from = separator_start.unwrap_or(current.start);
            let to = tokens.get(item_end - 1).map_or(text.len(), |t| t.end);
            let phrase = text.get(from..to).unwrap_or_default().to_string();
            if !(item_has_unit && separator_start.is_some()) {
                scan.problems
                    .push(format!("no known unit matches '{phrase}'"));
            }
            role.notes.push(phrase);
            separator_start = None;
            pos = item_end;
        }
    }
    scan
}

/// Length in tokens of "phối hợp" or "phối hợp với" at the start of `tokens`.
fn coordination_marker(tokens: &[Token]) -> Option<usize> {
    let keys: Vec<&str> = tokens.iter().take(3).map(|t| t.key.as_str()).collect();
    match keys.as_slice() {
        ["phoi", "hop", "voi"] => Some(3),
        ["phoi", "hop", ..] => Some(2),
        _ => None,
    }
}

/// A problem with one cell; the row is kept as far as possible (or skipped, as the reason says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWarning {
    /// 1-based line number in the file (the header is line 1).
    pub row: usize,
    /// The header text of the column.
    pub column: String,
    /// The cell's text.
    pub text: String,
    /// What is wrong, in English.
    pub reason: String,
}

/// Why a table could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportError {
    /// 1-based line number where the problem was found (0: the file as a whole).
    pub row: usize,
    /// What is wrong, in English.
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}", self.row, self.reason)
    }
}

impl std::error::Error for ImportError {}

/// What a target asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The result must reach the value ("ít nhất", and plain numbers of new things).
    AtLeast,
    /// The result must not exceed the value ("tối đa", "không quá", "dưới").
    AtMost,
    /// The result must equal the value ("bằng").
    Equal,
    /// A rank of the value or better ("nhóm 05 địa phương dẫn đầu": rank 1–5).
    RankAtMost,
}

/// Over what time a target is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetScope {
    /// Once, on the aggregate of the whole plan period.
    PlanPeriod,
    /// Separately for every year ("hằng năm", "hàng năm", "mỗi năm").
    EachYear,
}

/// How the values reported for an indicator's periods combine into one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Sum of the periods' values (counts of new things).
    Sum,
    /// The latest value (ranks and other levels).
    Last,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The mean of the values.
    Mean,
    /// The sum of the child indicators' values (the children partition the parent).
    SumOfChildren,
}

/// One indicator row of Phụ lục I.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedIndicator {
    /// Line number in the file.
    pub row: usize,
    /// "1", "2", … for numbered rows; "2.1", "2.2", … for "- " rows under "2.".
    pub code: String,
    /// The numbered row above, for a "- " row.
    pub parent_code: Option<String>,
    /// The indicator's name, without its number or dash.
    pub name: String,
    /// Unit of measure ("Dự án", "Doanh nghiệp", "Chỉ số").
    pub measure_unit: String,
    /// The baseline (previous period's result); `None` when the cell is empty or unreadable.
    pub baseline_value: Option<f64>,
    /// What the target asks for.
    pub target_kind: TargetKind,
    /// The target's number (a count, or the worst acceptable rank).
    pub target_value: f64,
    /// Over what time the target is judged.
    pub target_scope: TargetScope,
    /// The target cell as written.
    pub target_text: String,
    /// How period values combine.
    pub aggregation: Aggregation,
    /// The unit that follows and reports on the indicator (first unit before "phối hợp").
    pub responsible_unit_code: Option<String>,
    /// Supporting units (after "phối hợp", and any further units before it).
    pub coordinating_unit_codes: Vec<String>,
    /// The responsibility cell as written.
    pub responsible_text: String,
}

/// The indicators of a Phụ lục I table and the warnings raised while reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorImport {
    /// Indicators in table order.
    pub indicators: Vec<ParsedIndicator>,
    /// Row-level problems.
    pub warnings: Vec<ImportWarning>,
}

/// One task row of Phụ lục II.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedTask {
    /// Line number in the file.
    pub row: usize,
    /// The task number: "1." becomes "1".
    pub code: String,
    /// What is to be done.
    pub title: String,
    /// The lead unit (first unit before "phối hợp" in the lead cell).
    pub lead_unit_code: Option<String>,
    /// The lead cell as written.
    pub lead_text: String,
    /// Coordinating units: from the coordinating cell, after any named in the lead cell.
    pub coordinating_unit_codes: Vec<String>,
    /// Coordinating text that names no known unit.
    pub coordinating_note: Option<String>,
    /// The deadline (last day of the period the label names).
    pub due_date: Option<NaiveDate>,
    /// How precisely the deadline was written.
    pub due_precision: Option<DuePrecision>,
    /// The deadline cell as written (kept even when it cannot be read).
    pub due_label: Option<String>,
    /// The output document form, e.g. "Tờ trình và Nghị quyết".
    pub output_form: Option<String>,
    /// The deciding authority as written.
    pub decision_authority: Option<String>,
    /// The deciding authority's unit code, when the resolver knows the name.
    pub decision_authority_unit_code: Option<String>,
}

/// The tasks of a Phụ lục II table and the warnings raised while reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskImport {
    /// Tasks in table order.
    pub tasks: Vec<ParsedTask>,
    /// Row-level problems.
    pub warnings: Vec<ImportWarning>,
}

/// Column count of Phụ lục I: indicator, unit of measure, baseline, target, responsibility.
const INDICATOR_COLUMNS: usize = 5;
/// Column count of Phụ lục II: number, task, lead, coordinating, deadline, output, authority.
const TASK_COLUMNS: usize = 7;

/// A data row: its line number and NFC-normalised cells.
#[derive(Debug)]
struct Row {
    line: usize,
    cells: Vec<String>,
}

impl Row {
    /// The cell in `column`, empty when the row is shorter.
    fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

/// A table read from text: header cells and the rows with the header's column count.
#[derive(Debug)]
struct Table {
    header: Vec<String>,
    rows: Vec<Row>,
    warnings: Vec<ImportWarning>,
}

impl Table {
    /// Records a warning about `row`'s cell in `column`.
    fn warn(&mut self, row: &Row, column: usize, reason: impl Into<String>) {
        self.warnings.push(ImportWarning {
            row: row.line,
            column: self.header.get(column).cloned().unwrap_or_default(),
            text: row.cell(column).to_string(),
            reason: reason.into(),
        });
    }
}

/// Reads delimited text into a [`Table`] of exactly `columns` columns. Trailing empty cells
/// beyond that are ignored; rows of another width are skipped with a warning, and a table where
/// every row has the wrong width is an error.
fn read_table(input: &str, columns: usize) -> Result<Table, ImportError> {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    let header_line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let delimiter = if header_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| ImportError {
            row: error.position().map_or(0, |p| line_at(text, p.byte())),
            reason: format!("unreadable table: {error}"),
        })?;
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        let mut cells: Vec<String> = record.iter().map(nfc).collect();
        while cells.len() > columns && cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        if cells.iter().any(|c| !c.is_empty()) {
            records.push(Row { line, cells });
        }
    }
    let mut records = records.into_iter();
    let header = records.next().ok_or_else(|| ImportError {
        row: 0,
        reason: "the table is empty: no header row".to_string(),
    })?;
    check_header(&header, columns)?;
    let mut table = Table {
        header: header.cells,
        rows: Vec::new(),
        warnings: Vec::new(),
    };
    let mut first_misfit: Option<(usize, usize)> = None;
    for row in records {
        if row.cells.len() == columns {
            table.rows.push(row);
        } else {
            first_misfit.get_or_insert((row.line, row.cells.len()));
            let reason = format!(
                "row skipped: expected {columns} columns, found {}",
                row.cells.len()
            );
            table.warn(&row, 0, reason);
        }
    }
    match first_misfit {
        Some((line, found)) if table.rows.is_empty() => Err(ImportError {
            row: line,
            reason: format!("no row has the expected {columns} columns (first has {found})"),
        }),
        _ => Ok(table),
    }
}

/// The 1-based line number of the record that the csv reader reports at byte offset `byte`.
/// The reader's offset (and line) can point at line breaks and blank lines that it skips before
/// the record, so those are skipped here too before counting.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut start = usize::try_from(byte).map_or(bytes.len(), |b| b.min(bytes.len()));
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Checks that the first row is a header of `columns` columns, not data.
fn check_header(header: &Row, columns: usize) -> Result<(), ImportError> {
    if !matches!(row_label(header.cell(0)), RowLabel::Other) {
        return Err(ImportError {
            row: header.line,
            reason: "no header row: the first row is data".to_string(),
        });
    }
    if header.cells.len() != columns {
        return Err(ImportError {
            row: header.line,
            reason: format!(
                "the header has {} columns, expected {columns}",
                header.cells.len()
            ),
        });
    }
    Ok(())
}

/// How a row's first cell marks it.
#[derive(Debug, PartialEq)]
enum RowLabel<'a> {
    /// "2. Số dự án…": a numbered row, its number and the rest.
    Numbered(u32, &'a str),
    /// "- Dự án…": a sub-item of the numbered row above.
    Child(&'a str),
    /// Anything else.
    Other,
}

/// Reads the marker at the start of a cell: "N." (then a space or the end) or a dash and a space.
fn row_label(cell: &str) -> RowLabel<'_> {
    let digits_end = cell
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(cell.len());
    if digits_end > 0 {
        let rest = &cell[digits_end..];
        let number = cell[..digits_end].parse::<u32>();
        if let (Some(after_dot), Ok(number)) = (rest.strip_prefix('.'), number) {
            if after_dot.is_empty() || after_dot.starts_with(char::is_whitespace) {
                return RowLabel::Numbered(number, after_dot.trim());
            }
        }
        return RowLabel::Other;
    }
    for dash in ['-', '–'] {
        if let Some(rest) = cell.strip_prefix(dash) {
            if rest.starts_with(char::is_whitespace) {
                return RowLabel::Child(rest.trim());
            }
        }
    }
    RowLabel::Other
}

/// Reads a number written the Vietnamese way.
///
/// Rule: spaces are ignored and one trailing "%" is dropped. A comma is the decimal separator
/// ("12,5" = 12.5), and dots before it group thousands ("1.234,5" = 1234.5). Without a comma,
/// dots that split the digits into a group of 1–3 followed by groups of exactly three group
/// thousands ("1.234" = 1234, "1.234.567"); any other single dot is a decimal point ("12.5",
/// "0.75"). So "1.500" is 1500, not 1.5.
pub fn parse_vn_number(text: &str) -> Result<f64, String> {
    let invalid = || format!("'{}' is not a number", text.trim());
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let body = compact.strip_suffix('%').unwrap_or(&compact);
    let (negative, unsigned) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    let (whole, fraction) = match unsigned.split_once(',') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None if is_thousands_grouped(unsigned) => (unsigned, None),
        None => match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        },
    };
    if whole.contains('.') && !is_thousands_grouped(whole) {
        return Err(invalid());
    }
    let whole = whole.replace('.', "");
    let fraction = fraction.unwrap_or("0");
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(&whole) || !all_digits(fraction) {
        return Err(invalid());
    }
    let value: f64 = format!("{whole}.{fraction}")
        .parse()
        .map_err(|_| invalid())?;
    Ok(if negative { -value } else { value })
}

/// Whether `digits` has dots that group thousands: "1.234", "12.345.678" (digits checked
/// separately).
fn is_thousands_grouped(digits: &str) -> bool {
    let mut groups = digits.split('.');
    let first_len = groups.next().map_or(0, str::len);
    digits.contains('.') && (1..=3).contains(&first_len) && groups.all(|g| g.len() == 3)
}

/// A target as read from its cell.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Target {
    kind: TargetKind,
    value: f64,
    scope: TargetScope,
}

/// Qualifiers that open a written target, longest first where one contains another.
const TARGET_QUALIFIERS: [(&str, TargetKind); 9] = [
    ("khong duoi", TargetKind::AtLeast),
    ("khong qua", TargetKind::AtMost),
    ("it nhat", TargetKind::AtLeast),
    ("toi thieu", TargetKind::AtLeast),
    ("tren", TargetKind::AtLeast),
    ("toi da", TargetKind::AtMost),
    ("duoi", TargetKind::AtMost),
    ("bang", TargetKind::Equal),
    ("dat", TargetKind::AtLeast),
];

/// Reads a target cell. A plain number counts new things over the plan period: at least that
/// many, in the plan period. A phrase about leading places ("nhóm 05 địa phương dẫn đầu") is a
/// rank of at most its number; a number after a qualifier ("ít nhất 25", "tối đa 3") takes the
/// qualifier's kind. "hằng năm" / "hàng năm" / "mỗi năm" makes the target apply to each year.
fn parse_target(text: &str) -> Result<Target, String> {
    if text.is_empty() {
        return Err("the target is empty".to_string());
    }
    if let Ok(value) = parse_vn_number(text) {
        return Ok(Target {
            kind: TargetKind::AtLeast,
            value,
            scope: TargetScope::PlanPeriod,
        });
    }
    let key = search_key(text);
    let scope = if ["hang nam", "moi nam"].iter().any(|p| key.contains(p)) {
        TargetScope::EachYear
    } else {
        TargetScope::PlanPeriod
    };
    let kind = if ["dan dau", "xep hang", "top "]
        .iter()
        .any(|p| key.contains(p))
    {
        Some(TargetKind::RankAtMost)
    } else {
        TARGET_QUALIFIERS
            .iter()
            .find(|(qualifier, _)| key.starts_with(qualifier))
            .map(|(_, kind)| *kind)
    };
    let unreadable = || format!("'{text}' is neither a number nor a recognised target phrase");
    let kind = kind.ok_or_else(unreadable)?;
    let value = first_number(text).ok_or_else(unreadable)?;
    Ok(Target { kind, value, scope })
}

/// The first number written in `text` ("nhóm 05 địa phương" → 5).
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    parse_vn_number(rest[..end].trim_end_matches(['.', ','])).ok()
}

/// The numbered row that "- " rows currently attach to.
#[derive(Debug)]
struct ParentRow {
    code: String,
    /// Whether the numbered row itself was skipped (its children then are too).
    skipped: bool,
    children: usize,
}

/// Reads a Phụ lục I table (columns: indicator, unit of measure, baseline, target,
/// responsibility).
///
/// Numbered rows ("1. …") become indicators "1", "2", …; "- …" rows become children "2.1",
/// "2.2", … of the numbered row above. An empty baseline is `None`. Targets: see
/// [`TargetKind`]; a row whose target cannot be read is skipped with a warning (with its
/// children). Aggregation: a rank target is [`Aggregation::Last`]; a parent whose children's
/// targets — and baselines, where given — add up to its own is [`Aggregation::SumOfChildren`];
/// every other numeric indicator is [`Aggregation::Sum`] (the plan's indicators count new
/// things per year).
pub fn parse_indicators(
    input: &str,
    resolver: &UnitResolver,
) -> Result<IndicatorImport, ImportError> {
    let mut table = read_table(input, INDICATOR_COLUMNS)?;
    let rows = std::mem::take(&mut table.rows);
    let mut indicators: Vec<ParsedIndicator> = Vec::new();
    let mut parent: Option<ParentRow> = None;
    let mut seen_codes = HashSet::new();
    for row in &rows {
        let (code, parent_code, name) = match row_label(row.cell(0)) {
            RowLabel::Numbered(number, name) => {
                let code = number.to_string();
                parent = Some(ParentRow {
                    code: code.clone(),
                    skipped: false,
                    children: 0,
                });
                (code, None, name)
            }
            RowLabel::Child(name) => {
                let Some(parent) = parent.as_mut() else {
                    return Err(ImportError {
                        row: row.line,
                        reason: "a '- ' sub-indicator comes before any numbered indicator"
                            .to_string(),
                    });
                };
                if parent.skipped {
                    let reason = format!("row skipped: its indicator {} was skipped", parent.code);
                    table.warn(row, 0, reason);
                    continue;
                }
                parent.children += 1;
                let code = format!("{}.{}", parent.code, parent.children);
                (code, Some(parent.code.clone()), name)
            }
            RowLabel::Other => {
                table.warn(
                    row,
                    0,
                    "row skipped: not a numbered ('1.') or sub ('- ') indicator",
                );
                continue;
            }
        };
        let is_top_level = parent_code.is_none();
        let indicator = if name.is_empty() {
            Err((0, "row skipped: the indicator has no name".to_string()))
        } else if !seen_codes.insert(code.clone()) {
            Err((0, format!("row skipped: indicator {code} appears twice")))
        } else {
            indicator_row(row, code, parent_code, name, resolver, &mut table)
        };
        match indicator {
            Ok(indicator) => indicators.push(indicator),
            Err((column, reason)) => {
                table.warn(row, column, reason);
                // Children of a skipped indicator would point at nothing.
                if let Some(parent) = parent.as_mut().filter(|_| is_top_level) {
                    parent.skipped = true;
                }
            }
        }
    }
    set_aggregations(&mut indicators);
    Ok(IndicatorImport {
        indicators,
        warnings: table.warnings,
    })
}

/// Builds one indicator from its row, or says (column, reason) why the row is skipped.
/// Non-fatal problems go to the table's warnings.
fn indicator_row(
    row: &Row,
    code: String,
    parent_code: Option<String>,
    name: &str,
    resolver: &UnitResolver,
    table: &mut Table,
) -> Result<ParsedIndicator, (usize, String)> {
    let target_text = row.cell(3).to_string();
    let target =
        parse_target(&target_text).map_err(|reason| (3, format!("row skipped: {reason}")))?;
    let baseline_value = match row.cell(2) {
        "" => None,
        text => parse_vn_number(text)
            .map_err(|reason| table.warn(row, 2, format!("baseline ignored: {reason}")))
            .ok(),
    };
    let responsible_text = row.cell(4).to_string();
    let (assignment, problems) = parse_assignment_cell(&responsible_text, resolver);
    for problem in problems {
        table.warn(row, 4, problem);
    }
    let (responsible_unit_code, coordinating_unit_codes) = split_lead(assignment, row, 4, table);
    let aggregation = match target.kind {
        TargetKind::RankAtMost => Aggregation::Last,
        _ => Aggregation::Sum,
    };
    Ok(ParsedIndicator {
        row: row.line,
        code,
        parent_code,
        name: name.to_string(),
        measure_unit: row.cell(1).to_string(),
        baseline_value,
        target_kind: target.kind,
        target_value: target.value,
        target_scope: target.scope,
        target_text,
        aggregation,
        responsible_unit_code,
        coordinating_unit_codes,
        responsible_text,
    })
}

/// The lead unit of an assignment and its coordinating units. Further units before "phối hợp"
/// are co-leads the model cannot hold: they become coordinating, with a warning.
fn split_lead(
    assignment: AssignmentCell,
    row: &Row,
    column: usize,
    table: &mut Table,
) -> (Option<String>, Vec<String>) {
    let mut leads = assignment.lead.codes.into_iter();
    let lead = leads.next();
    let co_leads: Vec<String> = leads.collect();
    if !co_leads.is_empty() {
        let reason = format!(
            "several lead units; {} recorded as coordinating",
            co_leads.join(", ")
        );
        table.warn(row, column, reason);
    }
    let mut coordinating = co_leads;
    for code in assignment.coordinating.codes {
        if !coordinating.contains(&code) && lead.as_ref() != Some(&code) {
            coordinating.push(code);
        }
    }
    (lead, coordinating)
}

/// Marks numeric parents whose children add up to them as [`Aggregation::SumOfChildren`].
fn set_aggregations(indicators: &mut [ParsedIndicator]) {
    let sums: Vec<Option<(f64, Option<f64>)>> = indicators
        .iter()
        .map(|parent| children_sums(indicators, &parent.code))
        .collect();
    for (indicator, sums) in indicators.iter_mut().zip(sums) {
        let Some((target_sum, baseline_sum)) = sums else {
            continue;
        };
        let adds_up = indicator.target_kind != TargetKind::RankAtMost
            && close(target_sum, indicator.target_value)
            && match (baseline_sum, indicator.baseline_value) {
                (Some(sum), Some(own)) => close(sum, own),
                (None, None) => true,
                _ => false,
            };
        if adds_up {
            indicator.aggregation = Aggregation::SumOfChildren;
        }
    }
}

/// Sum of the targets of `code`'s children, and of their baselines when every child has one;
/// `None` without children.
fn children_sums(indicators: &[ParsedIndicator], code: &str) -> Option<(f64, Option<f64>)> {
    let children: Vec<&ParsedIndicator> = indicators
        .iter()
        .filter(|i| i.parent_code.as_deref() == Some(code))
        .collect();
    if children.is_empty() {
        return None;
    }
    let targets = children.iter().map(|c| c.target_value).sum();
    let baselines = children.iter().map(|c| c.baseline_value).sum();
    Some((targets, baselines))
}

/// Equality up to rounding error of decimal sums.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Reads a Phụ lục II table (columns: number, task, lead, coordinating, deadline, output form,
/// deciding authority).
///
/// "1." becomes code "1"; deadlines are read by [`parse_due_label`] (an unreadable one keeps its
/// label, with a warning); empty cells are `None`. Coordinating units named in the lead cell
/// after "phối hợp" come first in `coordinating_unit_codes`. The deciding authority resolves to
/// a unit when its whole text is a known name; the text is kept either way.
pub fn parse_tasks(input: &str, resolver: &UnitResolver) -> Result<TaskImport, ImportError> {
    let mut table = read_table(input, TASK_COLUMNS)?;
    let rows = std::mem::take(&mut table.rows);
    let mut tasks = Vec::new();
    let mut seen_codes = HashSet::new();
    for row in &rows {
        let Some(code) = task_code(row.cell(0)) else {
            table.warn(
                row,
                0,
                "row skipped: the task number is not like '1.' or '1.2'",
            );
            continue;
        };
        if row.cell(1).is_empty() {
            table.warn(row, 1, "row skipped: the task has no title");
            continue;
        }
        if !seen_codes.insert(code.clone()) {
            table.warn(row, 0, format!("row skipped: task {code} appears twice"));
            continue;
        }
        tasks.push(task_row(row, code, resolver, &mut table));
    }
    Ok(TaskImport {
        tasks,
        warnings: table.warnings,
    })
}

/// Builds one task from its row; problems go to the table's warnings.
fn task_row(row: &Row, code: String, resolver: &UnitResolver, table: &mut Table) -> ParsedTask {
    let (assignment, problems) = parse_assignment_cell(row.cell(2), resolver);
    for problem in problems {
        table.warn(row, 2, problem);
    }
    let mut notes: Vec<String> = assignment.coordinating.note.iter().cloned().collect();
    let (lead_unit_code, mut coordinating_unit_codes) = split_lead(assignment, row, 2, table);
    let (coordinating, problems) = parse_unit_cell(row.cell(3), resolver);
    for problem in problems {
        table.warn(row, 3, problem);
    }
    for code in coordinating.codes {
        if !coordinating_unit_codes.contains(&code) {
            coordinating_unit_codes.push(code);
        }
    }
    notes.extend(coordinating.note);
    let due_label = optional(row.cell(4));
    let due = due_label.as_deref().and_then(|label| {
        parse_due_label(label)
            .map_err(|error| table.warn(row, 4, format!("deadline ignored: {error}")))
            .ok()
    });
    let decision_authority = optional(row.cell(6));
    let decision_authority_unit_code = decision_authority
        .as_deref()
        .and_then(|authority| resolver.resolve(authority))
        .map(str::to_string);
    ParsedTask {
        row: row.line,
        code,
        title: row.cell(1).to_string(),
        lead_unit_code,
        lead_text: row.cell(2).to_string(),
        coordinating_unit_codes,
        coordinating_note: (!notes.is_empty()).then(|| notes.join("; ")),
        due_date: due.map(|(date, _)| date),
        due_precision: due.map(|(_, precision)| precision),
        due_label,
        output_form: optional(row.cell(5)),
        decision_authority,
        decision_authority_unit_code,
    }
}

/// A task number "1", "1.", "1.2" or "1.2." as its code ("1", "1.2"); leading zeros dropped.
fn task_code(cell: &str) -> Option<String> {
    let trimmed = cell.strip_suffix('.').unwrap_or(cell);
    let parts: Option<Vec<String>> = trimmed
        .split('.')
        .map(|part| {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            digits
                .then(|| part.parse::<u32>().ok())
                .flatten()
                .map(|n| n.to_string())
        })
        .collect();
    parts.map(|parts| parts.join("."))
}

/// `None` for an empty cell.
fn optional(cell: &str) -> Option<String> {
    (!cell.is_empty()).then(|| cell.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INDICATORS_TSV: &str = include_str!("../../seed/plan-1148/appendix-1-indicators.tsv");
    const TASKS_TSV: &str = include_str!("../../seed/plan-1148/appendix-2-tasks.tsv");

    const INDICATOR_HEADER: &str =
        "Chỉ tiêu\tĐơn vị\tThực hiện 2016-2020\tMục tiêu 2021-2025\tPhân công";
    const TASK_HEADER: &str =
        "TT\tNhiệm vụ\tChủ trì\tPhối hợp\tThời gian hoàn thành\tHình thức văn bản\tCấp quyết định";

    /// The twelve units of NOTES.md, with the names and aliases the documents use.
    fn resolver() -> UnitResolver {
        let unit = |code: &str, names: &[&str]| UnitName {
            code: code.to_string(),
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        UnitResolver::new(&[
            unit(
                "UBND-TINH",
                &[
                    "Ủy ban nhân dân Tỉnh Đồng Tháp",
                    "Ủy ban nhân dân Tỉnh",
                    "UBND Tỉnh",
                ],
            ),
            unit("HDND-TINH", &["Hội đồng nhân dân Tỉnh"]),
            unit("SKHDT", &["Sở Kế hoạch và Đầu tư"]),
            unit("SKHDT-BGD", &["Ban Giám đốc Sở"]),
            unit(
                "SKHDT-THQH",
                &["Phòng Tổng hợp, Quy hoạch", "Phòng Tổng hợp Quy hoạch"],
            ),
            unit("SKHDT-DKKD", &["Phòng Đăng ký kinh doanh"]),
            unit("SKHDT-HTDT", &["Phòng Hợp tác Đầu tư"]),
            unit("SKHDT-NVKHDT", &["Phòng Nghiệp vụ Kế hoạch và Đầu tư"]),
            unit(
                "SKHDT-TTHTDN",
                &[
                    "Trung tâm Hỗ trợ Doanh nghiệp và Khởi nghiệp",
                    "Trung tâm Hỗ trợ DN và KN",
                ],
            ),
            unit("STC", &["Sở Tài chính"]),
            unit(
                "UBND-TPCL",
                &[
                    "UBND thành phố Cao Lãnh",
                    "Ủy ban nhân dân thành phố Cao Lãnh",
                ],
            ),
            unit("BQL-KKT", &["Ban Quản lý Khu Kinh tế"]),
        ])
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn indicators(input: &str) -> IndicatorImport {
        parse_indicators(input, &resolver()).expect("table reads")
    }

    fn tasks(input: &str) -> TaskImport {
        parse_tasks(input, &resolver()).expect("table reads")
    }

    #[test]
    fn reads_the_real_indicator_appendix() {
        let import = indicators(INDICATORS_TSV);
        assert_eq!(import.warnings, vec![]);
        let summary: Vec<_> = import
            .indicators
            .iter()
            .map(|i| {
                (
                    i.row,
                    i.code.as_str(),
                    i.parent_code.as_deref(),
                    i.baseline_value,
                    i.target_value,
                    i.responsible_unit_code.as_deref(),
                    i.coordinating_unit_codes.clone(),
                    i.aggregation,
                )
            })
            .collect();
        let sum = Aggregation::Sum;
        assert_eq!(
            summary,
            vec![
                (
                    2,
                    "1",
                    None,
                    Some(52.0),
                    35.0,
                    Some("SKHDT-TTHTDN"),
                    vec![],
                    sum
                ),
                (
                    3,
                    "2",
                    None,
                    Some(16.0),
                    25.0,
                    Some("SKHDT-HTDT"),
                    vec![],
                    Aggregation::SumOfChildren
                ),
                (
                    4,
                    "2.1",
                    Some("2"),
                    Some(13.0),
                    18.0,
                    Some("SKHDT-HTDT"),
                    strings(&["BQL-KKT"]),
                    sum
                ),
                (
                    5,
                    "2.2",
                    Some("2"),
                    Some(3.0),
                    7.0,
                    Some("SKHDT-HTDT"),
                    strings(&["UBND-TPCL"]),
                    sum
                ),
                (
                    6,
                    "3",
                    None,
                    Some(596.0),
                    640.0,
                    Some("SKHDT-DKKD"),
                    vec![],
                    sum
                ),
                (
                    7,
                    "4",
                    None,
                    None,
                    5.0,
                    Some("SKHDT-DKKD"),
                    vec![],
                    Aggregation::Last
                ),
            ]
        );
        let first = &import.indicators[0];
        assert_eq!(first.name, "Số dự án khởi nghiệp mới");
        assert_eq!(first.measure_unit, "Dự án");
        assert_eq!(first.responsible_text, "Trung tâm Hỗ trợ DN và KN");
        assert_eq!(
            (
                first.target_kind,
                first.target_scope,
                first.target_text.as_str()
            ),
            (TargetKind::AtLeast, TargetScope::PlanPeriod, "35")
        );
        let ddci = &import.indicators[5];
        assert_eq!(ddci.name, "Chỉ số năng lực cạnh tranh cấp huyện (DDCI)");
        assert_eq!(ddci.measure_unit, "Chỉ số");
        assert_eq!(
            (ddci.target_kind, ddci.target_scope),
            (TargetKind::RankAtMost, TargetScope::EachYear)
        );
        assert_eq!(
            ddci.target_text,
            "Nằm trong nhóm 05 địa phương dẫn đầu của Tỉnh hằng năm"
        );
        assert_eq!(
            import.indicators[3].responsible_text,
            "Phòng Hợp tác Đầu tư phối hợp với UBND thành phố Cao Lãnh"
        );
    }

    #[test]
    fn reads_the_real_task_appendix() {
        let import = tasks(TASKS_TSV);
        assert_eq!(import.warnings, vec![]);
        let [first, second] = import.tasks.as_slice() else {
            panic!("expected two tasks, got {:?}", import.tasks);
        };
        assert_eq!((first.row, first.code.as_str()), (2, "1"));
        assert!(first.title.starts_with("Danh mục dự án đầu tư công"));
        assert_eq!(first.lead_unit_code.as_deref(), Some("SKHDT-NVKHDT"));
        assert_eq!(first.lead_text, "Phòng Nghiệp vụ Kế hoạch và Đầu tư");
        assert_eq!(
            first.coordinating_unit_codes,
            strings(&["STC", "UBND-TPCL"])
        );
        assert_eq!(first.coordinating_note, None);
        assert_eq!(first.due_date, Some(ymd(2022, 6, 30)));
        assert_eq!(first.due_precision, Some(DuePrecision::Month));
        assert_eq!(first.due_label.as_deref(), Some("Tháng 6/2022"));
        assert_eq!(first.output_form.as_deref(), Some("Tờ trình và Nghị quyết"));
        assert_eq!(
            first.decision_authority.as_deref(),
            Some("Hội đồng nhân dân Tỉnh")
        );
        assert_eq!(
            first.decision_authority_unit_code.as_deref(),
            Some("HDND-TINH")
        );

        assert_eq!((second.row, second.code.as_str()), (3, "2"));
        assert!(second
            .title
            .starts_with("Dự án đầu tư xây dựng Không gian Khởi nghiệp"));
        assert_eq!(second.lead_unit_code.as_deref(), Some("SKHDT-TTHTDN"));
        assert_eq!(second.coordinating_unit_codes, strings(&["UBND-TPCL"]));
        assert_eq!(
            second.coordinating_note.as_deref(),
            Some("và các sở, ban, ngành Tỉnh và các đơn vị liên quan")
        );
        assert_eq!(second.due_date, Some(ymd(2025, 12, 31)));
        assert_eq!(second.due_precision, Some(DuePrecision::Year));
        assert_eq!(second.due_label.as_deref(), Some("Năm 2025"));
        assert_eq!(second.output_form, None);
        assert_eq!(second.decision_authority.as_deref(), Some("UBND Tỉnh"));
        assert_eq!(
            second.decision_authority_unit_code.as_deref(),
            Some("UBND-TINH")
        );
    }

    #[test]
    fn reads_csv_with_bom_and_crlf() {
        let csv = "\u{feff}TT,Nhiệm vụ,Chủ trì,Phối hợp,Thời hạn,Hình thức,Cấp quyết định\r\n\
                   1.,\"Lập danh mục, trình duyệt\",Phòng Hợp tác Đầu tư,\"Sở Tài chính; UBND thành phố Cao Lãnh\",Quý II/2023,Quyết định,UBND Tỉnh\r\n";
        let import = tasks(csv);
        assert_eq!(import.warnings, vec![]);
        let task = &import.tasks[0];
        assert_eq!(task.row, 2);
        assert_eq!(task.title, "Lập danh mục, trình duyệt");
        assert_eq!(task.lead_unit_code.as_deref(), Some("SKHDT-HTDT"));
        assert_eq!(task.coordinating_unit_codes, strings(&["STC", "UBND-TPCL"]));
        assert_eq!(task.due_date, Some(ymd(2023, 6, 30)));
        assert_eq!(task.due_precision, Some(DuePrecision::Quarter));
        assert_eq!(
            task.decision_authority_unit_code.as_deref(),
            Some("UBND-TINH")
        );
    }

    #[test]
    fn reads_indicator_csv_with_bom() {
        let csv = "\u{feff}Chỉ tiêu,Đơn vị,Thực hiện,Mục tiêu,Phân công\n\
                   1. Vốn đầu tư,Tỷ đồng,\"1.234,5\",1.500,Sở Tài chính\n";
        let import = indicators(csv);
        assert_eq!(import.warnings, vec![]);
        let indicator = &import.indicators[0];
        assert_eq!(indicator.baseline_value, Some(1234.5));
        assert_eq!(indicator.target_value, 1500.0);
        assert_eq!(indicator.responsible_unit_code.as_deref(), Some("STC"));
    }

    #[test]
    fn normalises_decomposed_text() {
        let decomposed = "1. So\u{302}\u{301} du\u{31b}\u{323} a\u{301}n\tDu\u{31b}\u{323} a\u{301}n\t1\t2\tSo\u{31b}\u{309} Ta\u{300}i chi\u{301}nh";
        let import = indicators(&format!("{INDICATOR_HEADER}\n{decomposed}\n"));
        assert_eq!(import.warnings, vec![]);
        assert_eq!(import.indicators[0].name, "Số dự án");
        assert_eq!(import.indicators[0].measure_unit, "Dự án");
        assert_eq!(
            import.indicators[0].responsible_unit_code.as_deref(),
            Some("STC")
        );
    }

    #[test]
    fn broken_indicator_rows_give_row_level_warnings() {
        let input = format!(
            "{INDICATOR_HEADER}\n\
             1. Số dự án\tDự án\tnhiều\t35\tTrung tâm Hỗ trợ DN và KN\n\
             2. Số doanh nghiệp\tDoanh nghiệp\t596\tkhông rõ\tPhòng Đăng ký kinh doanh\n\
             - Con của chỉ tiêu bị bỏ\tDoanh nghiệp\t1\t2\tPhòng Đăng ký kinh doanh\n\
             3. Số hợp tác xã\tHợp tác xã\t10\t12\tPhòng Kinh tế\n"
        );
        let import = indicators(&input);
        let codes: Vec<_> = import.indicators.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["1", "3"]);
        assert_eq!(import.indicators[0].baseline_value, None);
        assert_eq!(import.indicators[1].responsible_unit_code, None);
        assert_eq!(import.indicators[1].responsible_text, "Phòng Kinh tế");
        let warnings: Vec<_> = import
            .warnings
            .iter()
            .map(|w| (w.row, w.column.as_str(), w.text.as_str()))
            .collect();
        assert_eq!(
            warnings,
            [
                (2, "Thực hiện 2016-2020", "nhiều"),
                (3, "Mục tiêu 2021-2025", "không rõ"),
                (4, "Chỉ tiêu", "- Con của chỉ tiêu bị bỏ"),
                (5, "Phân công", "Phòng Kinh tế"),
            ]
        );
        assert_eq!(
            import.warnings[0].reason,
            "baseline ignored: 'nhiều' is not a number"
        );
        assert!(import.warnings[1].reason.starts_with("row skipped:"));
        assert!(import.warnings[2]
            .reason
            .contains("indicator 2 was skipped"));
        assert_eq!(
            import.warnings[3].reason,
            "no known unit matches 'Phòng Kinh tế'"
        );
    }

    #[test]
    fn broken_task_rows_give_row_level_warnings() {
        let input = format!(
            "{TASK_HEADER}\n\
             1.\tNhiệm vụ A\tPhòng Hợp tác Đầu tư\tSở Tài chính\t30/02/2023\t\t\n\
             2.\tNhiệm vụ B\tPhòng Ma\tSở Tài chính; Sở Không Tồn Tại\tNăm 2024\t\tThủ tướng\n\
             x\tNhiệm vụ C\tPhòng Hợp tác Đầu tư\t\t\t\t\n\
             3.\t\tPhòng Hợp tác Đầu tư\t\t\t\t\n"
        );
        let import = tasks(&input);
        let codes: Vec<_> = import.tasks.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(codes, ["1", "2"]);
        let a = &import.tasks[0];
        assert_eq!((a.due_date, a.due_precision), (None, None));
        assert_eq!(a.due_label.as_deref(), Some("30/02/2023"));
        let b = &import.tasks[1];
        assert_eq!(b.lead_unit_code, None);
        assert_eq!(b.lead_text, "Phòng Ma");
        assert_eq!(b.coordinating_unit_codes, strings(&["STC"]));
        assert_eq!(b.coordinating_note.as_deref(), Some("Sở Không Tồn Tại"));
        assert_eq!(b.decision_authority.as_deref(), Some("Thủ tướng"));
        assert_eq!(b.decision_authority_unit_code, None);
        let warnings: Vec<_> = import
            .warnings
            .iter()
            .map(|w| (w.row, w.column.as_str(), w.text.as_str(), w.reason.as_str()))
            .collect();
        assert_eq!(
            warnings,
            [
                (
                    2,
                    "Thời gian hoàn thành",
                    "30/02/2023",
                    "deadline ignored: 30/2/2023 is not a calendar date"
                ),
                (3, "Chủ trì", "Phòng Ma", "no known unit matches 'Phòng Ma'"),
                (
                    3,
                    "Phối hợp",
                    "Sở Tài chính; Sở Không Tồn Tại",
                    "no known unit matches 'Sở Không Tồn Tại'"
                ),
                (
                    4,
                    "TT",
                    "x",
                    "row skipped: the task number is not like '1.' or '1.2'"
                ),
                (5, "Nhiệm vụ", "", "row skipped: the task has no title"),
            ]
        );
    }

    #[test]
    fn structurally_impossible_tables_are_errors() {
        let err = |result: Result<IndicatorImport, ImportError>| result.expect_err("should fail");
        let r = resolver();
        let e = err(parse_indicators("", &r));
        assert_eq!(
            (e.row, e.reason.as_str()),
            (0, "the table is empty: no header row")
        );
        let e = err(parse_indicators("\u{feff}\n  \n", &r));
        assert_eq!(e.row, 0);
        let e = err(parse_indicators(
            "1. Số dự án\tDự án\t52\t35\tSở Tài chính\n",
            &r,
        ));
        assert_eq!(
            (e.row, e.reason.as_str()),
            (1, "no header row: the first row is data")
        );
        let e = err(parse_indicators("Chỉ tiêu\tĐơn vị\tMục tiêu\n", &r));
        assert_eq!(
            (e.row, e.reason.as_str()),
            (1, "the header has 3 columns, expected 5")
        );
        let e = err(parse_indicators(
            &format!("{INDICATOR_HEADER}\n- Con\tDự án\t1\t2\tSở Tài chính\n"),
            &r,
        ));
        assert_eq!(e.row, 2);
        assert!(e.reason.contains("before any numbered indicator"), "{e}");
        let e = err(parse_indicators(
            &format!("{INDICATOR_HEADER}\n\n1. A\tB\n2. C\tD\t1\n"),
            &r,
        ));
        assert_eq!(
            e.to_string(),
            "row 3: no row has the expected 5 columns (first has 2)"
        );
        let tasks_as_indicators = parse_tasks(INDICATORS_TSV, &r).expect_err("wrong table");
        assert_eq!(
            tasks_as_indicators.reason,
            "the header has 5 columns, expected 7"
        );
    }

    #[test]
    fn odd_width_rows_are_skipped_when_others_fit() {
        let input = format!(
            "{INDICATOR_HEADER}\n1. A\tDự án\t1\t2\tSở Tài chính\t\t\n2. B\tDự án\t1\n3. C\tDự án\t1\t2\tSở Tài chính\textra\n"
        );
        let import = indicators(&input);
        let codes: Vec<_> = import.indicators.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["1"]);
        let rows: Vec<_> = import.warnings.iter().map(|w| w.row).collect();
        assert_eq!(rows, [3, 4]);
        assert_eq!(
            import.warnings[0].reason,
            "row skipped: expected 5 columns, found 3"
        );
    }

    #[test]
    fn parents_that_do_not_add_up_are_plain_sums() {
        let input = format!(
            "{INDICATOR_HEADER}\n\
             1. Doanh nghiệp mới\tDoanh nghiệp\t596\t640\tPhòng Đăng ký kinh doanh\n\
             - Trong đó khởi nghiệp sáng tạo\tDoanh nghiệp\t\t6\tPhòng Đăng ký kinh doanh\n\
             2. Tổng\tDự án\t\t10,5\tSở Tài chính\n\
             - Phần 1\tDự án\t\t3,25\tSở Tài chính\n\
             – Phần 2\tDự án\t\t7,25\tSở Tài chính\n"
        );
        let import = indicators(&input);
        assert_eq!(import.warnings, vec![]);
        let aggregations: Vec<_> = import
            .indicators
            .iter()
            .map(|i| (i.code.as_str(), i.aggregation))
            .collect();
        assert_eq!(
            aggregations,
            [
                ("1", Aggregation::Sum),
                ("1.1", Aggregation::Sum),
                ("2", Aggregation::SumOfChildren),
                ("2.1", Aggregation::Sum),
                ("2.2", Aggregation::Sum),
            ]
        );
    }

    #[test]
    fn reads_written_targets() {
        let target = |text: &str| parse_target(text).map(|t| (t.kind, t.value, t.scope));
        use TargetKind::*;
        use TargetScope::*;
        assert_eq!(target("35"), Ok((AtLeast, 35.0, PlanPeriod)));
        assert_eq!(target("ít nhất 25"), Ok((AtLeast, 25.0, PlanPeriod)));
        assert_eq!(
            target("Tối thiểu 1.000 hằng năm"),
            Ok((AtLeast, 1000.0, EachYear))
        );
        assert_eq!(target("Không quá 3"), Ok((AtMost, 3.0, PlanPeriod)));
        assert_eq!(
            target("không dưới 90% mỗi năm"),
            Ok((AtLeast, 90.0, EachYear))
        );
        assert_eq!(target("dưới 2,5%"), Ok((AtMost, 2.5, PlanPeriod)));
        assert_eq!(target("Bằng 100%"), Ok((Equal, 100.0, PlanPeriod)));
        assert_eq!(
            target("Nằm trong nhóm 05 địa phương dẫn đầu của Tỉnh hằng năm"),
            Ok((RankAtMost, 5.0, EachYear))
        );
        assert_eq!(target("Top 3 hàng năm"), Ok((RankAtMost, 3.0, EachYear)));
        assert!(target("").is_err());
        assert!(target("dẫn đầu").is_err());
        assert!(target("tốt").is_err());
    }

    #[test]
    fn reads_vietnamese_numbers() {
        let cases = [
            ("52", 52.0),
            ("1.234", 1234.0),
            ("1.234.567", 1_234_567.0),
            ("12,5", 12.5),
            ("1.234,5", 1234.5),
            ("12.5", 12.5),
            ("0.75", 0.75),
            ("1.500", 1500.0),
            ("95%", 95.0),
            (" 1 234 ", 1234.0),
            ("-3", -3.0),
            ("+3,0", 3.0),
            ("05", 5.0),
        ];
        for (text, value) in cases {
            assert_eq!(parse_vn_number(text), Ok(value), "{text}");
        }
        for text in [
            "", "abc", "1,2,3", "1.2.3", "12,", ",5", "1.23,4", "1..2", "--1", "%", "1e5", "NaN",
            "inf",
        ] {
            assert!(parse_vn_number(text).is_err(), "{text}");
        }
        assert_eq!(
            parse_vn_number("1,2,3"),
            Err("'1,2,3' is not a number".to_string())
        );
    }

    #[test]
    fn unit_cells_prefer_the_longest_name() {
        let r = resolver();
        let (cell, problems) = parse_unit_cell("Sở Kế hoạch và Đầu tư và Sở Tài chính", &r);
        assert_eq!(
            (cell.codes, cell.note, problems),
            (strings(&["SKHDT", "STC"]), None, vec![])
        );
        let (cell, problems) =
            parse_unit_cell("Trung tâm Hỗ trợ DN và KN, Phòng Tổng hợp, Quy hoạch", &r);
        assert_eq!(cell.codes, strings(&["SKHDT-TTHTDN", "SKHDT-THQH"]));
        assert!(problems.is_empty());
        let (cell, _) = parse_unit_cell("TRUNG TAM HO TRO DOANH NGHIEP VA KHOI NGHIEP", &r);
        assert_eq!(cell.codes, strings(&["SKHDT-TTHTDN"]));
        let (cell, _) = parse_unit_cell("Sở Tài chính; Sở Tài chính", &r);
        assert_eq!(cell.codes, strings(&["STC"]));
        let (cell, problems) = parse_unit_cell("", &r);
        assert_eq!((cell, problems), (UnitCell::default(), vec![]));
    }

    #[test]
    fn unit_cells_keep_unknown_text() {
        let r = resolver();
        let (cell, problems) = parse_unit_cell("Các đơn vị liên quan", &r);
        assert_eq!(cell.codes, Vec::<String>::new());
        assert_eq!(cell.note.as_deref(), Some("Các đơn vị liên quan"));
        assert_eq!(problems, ["no known unit matches 'Các đơn vị liên quan'"]);
        // Text glued to a unit without a separator is suspicious.
        let (cell, problems) = parse_unit_cell("Sở Tài chính tỉnh Tiền Giang", &r);
        assert_eq!(cell.codes, strings(&["STC"]));
        assert_eq!(cell.note.as_deref(), Some("tỉnh Tiền Giang"));
        assert_eq!(problems.len(), 1);
        // A trailing phrase after a separator is the document's usual style.
        let (cell, problems) = parse_unit_cell("Sở Tài chính, các đơn vị liên quan; Phòng Lạ", &r);
        assert_eq!(cell.codes, strings(&["STC"]));
        assert_eq!(
            cell.note.as_deref(),
            Some(", các đơn vị liên quan; Phòng Lạ")
        );
        assert_eq!(problems, ["no known unit matches 'Phòng Lạ'"]);
    }

    #[test]
    fn assignment_cells_split_at_phoi_hop() {
        let r = resolver();
        let (cell, problems) =
            parse_assignment_cell("Phòng Hợp tác Đầu tư phối hợp Ban Quản lý Khu Kinh tế", &r);
        assert_eq!(cell.lead.codes, strings(&["SKHDT-HTDT"]));
        assert_eq!(cell.coordinating.codes, strings(&["BQL-KKT"]));
        assert!(problems.is_empty());
        let (cell, problems) = parse_assignment_cell(
            "Phòng Hợp tác Đầu tư phối hợp với Sở Tài chính và UBND thành phố Cao Lãnh",
            &r,
        );
        assert_eq!(cell.lead.codes, strings(&["SKHDT-HTDT"]));
        assert_eq!(cell.coordinating.codes, strings(&["STC", "UBND-TPCL"]));
        assert!(problems.is_empty());
        let (cell, problems) =
            parse_assignment_cell("Phòng Hợp tác Đầu tư phối hợp các đơn vị liên quan", &r);
        assert_eq!(cell.lead.codes, strings(&["SKHDT-HTDT"]));
        assert_eq!(
            cell.coordinating.note.as_deref(),
            Some("phối hợp các đơn vị liên quan")
        );
        assert!(problems.is_empty());
        // Without role splitting "phối hợp" is just unknown text.
        let (cell, problems) = parse_unit_cell("phối hợp Sở Tài chính", &r);
        assert_eq!(cell.codes, Vec::<String>::new());
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn co_leads_become_coordinating_with_a_warning() {
        let input = format!(
            "{TASK_HEADER}\n1.\tViệc\tPhòng Hợp tác Đầu tư và Sở Tài chính phối hợp Ban Quản lý Khu Kinh tế\tSở Tài chính; UBND thành phố Cao Lãnh\t\t\t\n"
        );
        let import = tasks(&input);
        let task = &import.tasks[0];
        assert_eq!(task.lead_unit_code.as_deref(), Some("SKHDT-HTDT"));
        assert_eq!(
            task.coordinating_unit_codes,
            strings(&["STC", "BQL-KKT", "UBND-TPCL"])
        );
        assert_eq!(task.due_label, None);
        assert_eq!(import.warnings.len(), 1);
        assert_eq!(
            import.warnings[0].reason,
            "several lead units; STC recorded as coordinating"
        );
    }

    #[test]
    fn resolver_matches_whole_phrases_only() {
        let r = resolver();
        assert_eq!(r.resolve("  ubnd   tinh "), Some("UBND-TINH"));
        assert_eq!(r.resolve("Hội đồng nhân dân tỉnh"), Some("HDND-TINH"));
        assert_eq!(r.resolve("Sở Tài chính và"), None);
        assert_eq!(r.resolve(""), None);
    }

    #[test]
    fn row_labels_and_task_codes() {
        assert_eq!(row_label("1. Số"), RowLabel::Numbered(1, "Số"));
        assert_eq!(row_label("12."), RowLabel::Numbered(12, ""));
        assert_eq!(row_label("- Dự án"), RowLabel::Child("Dự án"));
        assert_eq!(row_label("– Dự án"), RowLabel::Child("Dự án"));
        assert_eq!(row_label("1.5 tỷ"), RowLabel::Other);
        assert_eq!(row_label("-5"), RowLabel::Other);
        assert_eq!(row_label("Chỉ tiêu"), RowLabel::Other);
        assert_eq!(row_label("99999999999. x"), RowLabel::Other);
        assert_eq!(task_code("1."), Some("1".to_string()));
        assert_eq!(task_code("01.2."), Some("1.2".to_string()));
        assert_eq!(task_code("1"), Some("1".to_string()));
        for bad in ["", ".", "1..", "I.", "a", "1.a", "99999999999"] {
            assert_eq!(task_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn imports_serialise_in_snake_case() {
        let import = indicators(INDICATORS_TSV);
        let json = serde_json::to_value(&import.indicators[5]).expect("serialises");
        assert_eq!(json["target_kind"], "rank_at_most");
        assert_eq!(json["target_scope"], "each_year");
        assert_eq!(json["aggregation"], "last");
        assert_eq!(json["baseline_value"], serde_json::Value::Null);
        let import = tasks(TASKS_TSV);
        let json = serde_json::to_value(&import.tasks[0]).expect("serialises");
        assert_eq!(json["due_date"], "2022-06-30");
        assert_eq!(json["due_precision"], "month");
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,24}", 0..16)) {
            let r = resolver();
            for cell in &cells {
                let _ = parse_unit_cell(cell, &r);
                let _ = parse_assignment_cell(cell, &r);
                let _ = parse_vn_number(cell);
                let _ = parse_target(cell);
                let _ = r.resolve(cell);
            }
            let indicator_row = cells.iter().take(5).cloned().collect::<Vec<_>>().join("\t");
            let _ = parse_indicators(&format!("{INDICATOR_HEADER}\n{indicator_row}\n"), &r);
            let task_row = cells.iter().take(7).cloned().collect::<Vec<_>>().join("\t");
            let _ = parse_tasks(&format!("{TASK_HEADER}\n{task_row}\n"), &r);
            let _ = parse_tasks(&cells.join(","), &r);
        }

        #[test]
        fn vietnamish_cells_never_panic(
            label in "(1\\.|- |– |x)? ?[A-Za-zÀ-ỹđĐ ]{0,12}",
            numbers in proptest::collection::vec("[-+]?[0-9.,% ]{0,8}", 3),
            unit in "(Sở Tài chính|phối hợp|với|và|;|,| |Phòng|Đầu tư){0,6}",
        ) {
            let r = resolver();
            let row = format!("{label}\t{}\t{}\t{}\t{unit}", numbers[0], numbers[1], numbers[2]);
            let _ = parse_indicators(&format!("{INDICATOR_HEADER}\n1. A\tB\t1\t2\tSở Tài chính\n{row}\n"), &r);
            let task = format!("1.\tViệc\t{unit}\t{unit}\t{}\t\t{unit}", numbers[0]);
            let _ = parse_tasks(&format!("{TASK_HEADER}\n{task}\n"), &r);
        }

        #[test]
        fn formatted_integers_read_back(n in 0u64..10_000_000_000) {
            let digits = n.to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push('.');
                }
                grouped.push(c);
            }
            prop_assert_eq!(parse_vn_number(&grouped), Ok(n as f64));
            prop_assert_eq!(parse_vn_number(&format!("{grouped},5")), Ok(n as f64 + 0.5));
        }
    }
}
