//! Deadlines as Vietnamese documents write them: "Tháng 6/2022", "Quý II/2023", "Năm 2025",
//! "31/12/2024".
//!
//! A label names a period; the deadline is the *last day* of that period (a task due "Tháng
//! 6/2022" is on time when finished on 30 June 2022). The precision is kept so that the label can
//! be shown back as the document wrote it.

use std::fmt;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::text::search_key;

/// Years a deadline or reporting period may fall in; anything else is almost surely a typo.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1900..=2200;

/// How precisely a deadline was written: as a day, or as a month, quarter or year (then the
/// deadline is the last day of that period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DuePrecision {
    /// "31/12/2024" or "2024-12-31".
    Day,
    /// "Tháng 6/2022".
    Month,
    /// "Quý II/2023" or "Quý 2/2023".
    Quarter,
    /// "Năm 2025".
    Year,
}

/// Why a deadline label could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineError {
    /// The label is empty or only white space.
    Empty,
    /// The label matches none of the known forms.
    Unrecognised(String),
    /// A year outside [`SUPPORTED_YEARS`].
    YearOutOfRange(i32),
    /// A month number outside 1–12.
    InvalidMonth(u32),
    /// A quarter that is neither I–IV nor 1–4.
    InvalidQuarter(String),
    /// Day, month and year that do not form a calendar date (e.g. 30/02/2023).
    InvalidDate {
        /// Day of month as written.
        day: u32,
        /// Month as written.
        month: u32,
        /// Year as written.
        year: i32,
    },
}

impl fmt::Display for DeadlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the deadline is empty"),
            Self::Unrecognised(label) => write!(
                f,
                "'{label}' is not a deadline; expected 'Tháng M/YYYY', 'Quý I-IV/YYYY', \
                 'Năm YYYY', 'D/M/YYYY' or 'YYYY-MM-DD'"
            ),
            Self::YearOutOfRange(year) => write!(
                f,
                "year {year} is outside {}..={}",
                SUPPORTED_YEARS.start(),
                SUPPORTED_YEARS.end()
            ),
            Self::InvalidMonth(month) => write!(f, "month {month} is not between 1 and 12"),
            Self::InvalidQuarter(quarter) => {
                write!(f, "quarter '{quarter}' is not I, II, III, IV or 1-4")
            }
            Self::InvalidDate { day, month, year } => {
                write!(f, "{day}/{month}/{year} is not a calendar date")
            }
        }
    }
}

impl std::error::Error for DeadlineError {}

/// Reads a deadline label and returns the deadline (the last day of the period it names) and its
/// precision. Case, diacritics and extra spaces are ignored ("thang 6 / 2022" works).
///
/// Accepted forms: `Tháng M/YYYY`, `Quý Q/YYYY` (Q is I–IV or 1–4), `Năm YYYY`, `D/M/YYYY`
/// (one or two digits for day and month) and ISO `YYYY-MM-DD`.
pub fn parse_due_label(label: &str) -> Result<(NaiveDate, DuePrecision), DeadlineError> {
    let key = search_key(label);
    if key.is_empty() {
        return Err(DeadlineError::Empty);
    }
    let unrecognised = || DeadlineError::Unrecognised(label.trim().to_string());
    if let Some(rest) = key.strip_prefix("thang") {
        let (month, year) = split_slash_pair(rest).ok_or_else(unrecognised)?;
        let month = small_number(month).ok_or_else(unrecognised)?;
        let year = parse_year(year).ok_or_else(unrecognised)?;
        return month_end(year?, month).map(|date| (date, DuePrecision::Month));
    }
    if let Some(rest) = key.strip_prefix("quy") {
        let (quarter, year) = split_slash_pair(rest).ok_or_else(unrecognised)?;
        if quarter.is_empty() {
            return Err(unrecognised());
        }
        let year = parse_year(year).ok_or_else(unrecognised)??;
        let quarter = parse_quarter(quarter)?;
        return month_end(year, quarter * 3).map(|date| (date, DuePrecision::Quarter));
    }
    if let Some(rest) = key.strip_prefix("nam") {
        let year = parse_year(rest.trim()).ok_or_else(unrecognised)??;
        return month_end(year, 12).map(|date| (date, DuePrecision::Year));
    }
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let parts = if compact.contains('-') {
        iso_parts(&compact)
    } else {
        day_month_year_parts(&compact)
    };
    let (day, month, year) = parts.ok_or_else(unrecognised)?;
    calendar_date(day, month, year?).map(|date| (date, DuePrecision::Day))
}

/// The canonical Vietnamese label of the period of `precision` that contains `date`:
/// "31/12/2024", "Tháng 6/2022", "Quý II/2023" or "Năm 2025".
pub fn due_label(date: NaiveDate, precision: DuePrecision) -> String {
    let year = date.year();
    match precision {
        DuePrecision::Day => format!("{}/{}/{year}", date.day(), date.month()),
        DuePrecision::Month => format!("Tháng {}/{year}", date.month()),
        DuePrecision::Quarter => format!("Quý {}/{year}", roman_quarter(date.month())),
        DuePrecision::Year => format!("Năm {year}"),
    }
}

/// The last day of the period of `precision` that contains `date` — the deadline that
/// [`due_label`]`(date, precision)` stands for.
pub fn period_end(date: NaiveDate, precision: DuePrecision) -> NaiveDate {
    let last_month = match precision {
        DuePrecision::Day => return date,
        DuePrecision::Month => date.month(),
        DuePrecision::Quarter => date.month().div_ceil(3) * 3,
        DuePrecision::Year => 12,
    };
    // The month is valid by construction, so this only falls back for dates past chrono's range.
    month_end(date.year(), last_month).unwrap_or(date)
}

/// The last day of `month` in `year`, checked against [`SUPPORTED_YEARS`].
fn month_end(year: i32, month: u32) -> Result<NaiveDate, DeadlineError> {
    if !(1..=12).contains(&month) {
        return Err(DeadlineError::InvalidMonth(month));
    }
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first_of_next| first_of_next.pred_opt())
        .ok_or(DeadlineError::YearOutOfRange(year))
}

/// A calendar date from day, month and year, with a specific error for each way it can fail.
fn calendar_date(day: u32, month: u32, year: i32) -> Result<NaiveDate, DeadlineError> {
    if !(1..=12).contains(&month) {
        return Err(DeadlineError::InvalidMonth(month));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DeadlineError::InvalidDate { day, month, year })
}

/// Splits "6/2022" (spaces allowed around the slash) into its two sides.
fn split_slash_pair(text: &str) -> Option<(&str, &str)> {
    let (left, right) = text.split_once('/')?;
    Some((left.trim(), right.trim()))
}

/// A day, month or quarter number written with one or two ASCII digits ("6", "06").
fn small_number(text: &str) -> Option<u32> {
    let valid = (1..=2).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| text.parse().ok()).flatten()
}

/// A four-digit year: `None` when it is not four digits, `Some(Err)` when outside the range.
fn parse_year(text: &str) -> Option<Result<i32, DeadlineError>> {
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = text.parse().ok()?;
    Some(if SUPPORTED_YEARS.contains(&year) {
        Ok(year)
    } else {
        Err(DeadlineError::YearOutOfRange(year))
    })
}

/// A quarter written in Roman (I–IV, any case) or Arabic (1–4) numerals.
fn parse_quarter(text: &str) -> Result<u32, DeadlineError> {
    let quarter = match text {
        "i" | "1" => 1,
        "ii" | "2" => 2,
        "iii" | "3" => 3,
        "iv" | "4" => 4,
        _ => return Err(DeadlineError::InvalidQuarter(text.to_uppercase())),
    };
    Ok(quarter)
}

/// Roman numeral of the quarter that contains `month` (documents write quarters in Roman).
fn roman_quarter(month: u32) -> &'static str {
    match month {
        1..=3 => "I",
        4..=6 => "II",
        7..=9 => "III",
        _ => "IV",
    }
}

/// Parts of an ISO date "YYYY-MM-DD" (exactly two digits for month and day).
fn iso_parts(text: &str) -> Option<(u32, u32, Result<i32, DeadlineError>)> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || month.len() != 2 || day.len() != 2 {
        return None;
    }
    Some((small_number(day)?, small_number(month)?, parse_year(year)?))
}

/// Parts of a Vietnamese date "D/M/YYYY".
fn day_month_year_parts(text: &str) -> Option<(u32, u32, Result<i32, DeadlineError>)> {
    let mut parts = text.split('/');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((small_number(day)?, small_number(month)?, parse_year(year)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn reads_month_labels_as_last_day_of_month() {
        assert_eq!(
            parse_due_label("Tháng 6/2022"),
            Ok((ymd(2022, 6, 30), DuePrecision::Month))
        );
        assert_eq!(
            parse_due_label("tháng 02/2024"),
            Ok((ymd(2024, 2, 29), DuePrecision::Month))
        );
        assert_eq!(
            parse_due_label("Tháng 2/2023"),
            Ok((ymd(2023, 2, 28), DuePrecision::Month))
        );
        assert_eq!(
            parse_due_label("Tháng 12/2023"),
            Ok((ymd(2023, 12, 31), DuePrecision::Month))
        );
        assert_eq!(
            parse_due_label("  thang   6 / 2022 "),
            Ok((ymd(2022, 6, 30), DuePrecision::Month))
        );
        assert_eq!(
            parse_due_label("THÁNG 6/2022"),
            Ok((ymd(2022, 6, 30), DuePrecision::Month))
        );
    }

    #[test]
    fn reads_quarters_in_roman_and_arabic() {
        let q2 = Ok((ymd(2023, 6, 30), DuePrecision::Quarter));
        assert_eq!(parse_due_label("Quý II/2023"), q2);
        assert_eq!(parse_due_label("Quý 2/2023"), q2);
        assert_eq!(parse_due_label("quy ii/2023"), q2);
        assert_eq!(
            parse_due_label("QUÝ iv/2023"),
            Ok((ymd(2023, 12, 31), DuePrecision::Quarter))
        );
        assert_eq!(
            parse_due_label("Quý I/2024"),
            Ok((ymd(2024, 3, 31), DuePrecision::Quarter))
        );
        assert_eq!(
            parse_due_label("Quý III/2024"),
            Ok((ymd(2024, 9, 30), DuePrecision::Quarter))
        );
    }

    #[test]
    fn reads_years_days_and_iso_dates() {
        assert_eq!(
            parse_due_label("Năm 2025"),
            Ok((ymd(2025, 12, 31), DuePrecision::Year))
        );
        assert_eq!(
            parse_due_label("nam 2025"),
            Ok((ymd(2025, 12, 31), DuePrecision::Year))
        );
        assert_eq!(
            parse_due_label("31/12/2024"),
            Ok((ymd(2024, 12, 31), DuePrecision::Day))
        );
        assert_eq!(
            parse_due_label("1/7/2025"),
            Ok((ymd(2025, 7, 1), DuePrecision::Day))
        );
        assert_eq!(
            parse_due_label("29/02/2024"),
            Ok((ymd(2024, 2, 29), DuePrecision::Day))
        );
        assert_eq!(
            parse_due_label("2024-12-31"),
            Ok((ymd(2024, 12, 31), DuePrecision::Day))
        );
    }

    #[test]
    fn rejects_invalid_labels_with_reasons() {
        assert_eq!(parse_due_label(""), Err(DeadlineError::Empty));
        assert_eq!(parse_due_label("   "), Err(DeadlineError::Empty));
        assert_eq!(
            parse_due_label("30/02/2023"),
            Err(DeadlineError::InvalidDate {
                day: 30,
                month: 2,
                year: 2023
            })
        );
        assert_eq!(
            parse_due_label("29/02/2023"),
            Err(DeadlineError::InvalidDate {
                day: 29,
                month: 2,
                year: 2023
            })
        );
        assert_eq!(
            parse_due_label("Tháng 13/2022"),
            Err(DeadlineError::InvalidMonth(13))
        );
        assert_eq!(
            parse_due_label("Tháng 0/2022"),
            Err(DeadlineError::InvalidMonth(0))
        );
        assert_eq!(
            parse_due_label("Quý V/2023"),
            Err(DeadlineError::InvalidQuarter("V".into()))
        );
        assert_eq!(
            parse_due_label("Quý 5/2023"),
            Err(DeadlineError::InvalidQuarter("5".into()))
        );
        assert_eq!(
            parse_due_label("Năm 1899"),
            Err(DeadlineError::YearOutOfRange(1899))
        );
        assert_eq!(
            parse_due_label("1/1/2201"),
            Err(DeadlineError::YearOutOfRange(2201))
        );
        assert_eq!(
            parse_due_label("2024-13-01"),
            Err(DeadlineError::InvalidMonth(13))
        );
        for garbage in [
            "Tháng 6",
            "Năm",
            "6/2022",
            "2024-1-1",
            "1/2/3/2024",
            "sớm",
            "Quý/2023",
        ] {
            assert!(
                matches!(
                    parse_due_label(garbage),
                    Err(DeadlineError::Unrecognised(_))
                ),
                "{garbage}"
            );
        }
    }

    #[test]
    fn errors_explain_themselves_in_english() {
        let message = parse_due_label("30/02/2023").unwrap_err().to_string();
        assert_eq!(message, "30/2/2023 is not a calendar date");
        let message = parse_due_label("Quý V/2023").unwrap_err().to_string();
        assert!(message.contains("quarter 'V'"), "{message}");
        let message = parse_due_label("soon").unwrap_err().to_string();
        assert!(message.starts_with("'soon' is not a deadline"), "{message}");
    }

    #[test]
    fn labels_are_canonical_vietnamese() {
        assert_eq!(
            due_label(ymd(2022, 6, 30), DuePrecision::Month),
            "Tháng 6/2022"
        );
        assert_eq!(
            due_label(ymd(2023, 6, 30), DuePrecision::Quarter),
            "Quý II/2023"
        );
        assert_eq!(
            due_label(ymd(2023, 12, 1), DuePrecision::Quarter),
            "Quý IV/2023"
        );
        assert_eq!(due_label(ymd(2025, 12, 31), DuePrecision::Year), "Năm 2025");
        assert_eq!(
            due_label(ymd(2024, 12, 31), DuePrecision::Day),
            "31/12/2024"
        );
        assert_eq!(due_label(ymd(2025, 7, 1), DuePrecision::Day), "1/7/2025");
    }

    #[test]
    fn precision_serialises_in_snake_case() {
        let json = serde_json::to_string(&DuePrecision::Quarter).expect("serialises");
        assert_eq!(json, "\"quarter\"");
    }

    fn any_precision() -> impl Strategy<Value = DuePrecision> {
        prop_oneof![
            Just(DuePrecision::Day),
            Just(DuePrecision::Month),
            Just(DuePrecision::Quarter),
            Just(DuePrecision::Year),
        ]
    }

    fn any_supported_date() -> impl Strategy<Value = NaiveDate> {
        (SUPPORTED_YEARS, 1u32..=366).prop_map(|(year, ordinal)| {
            NaiveDate::from_yo_opt(year, ordinal)
                .or_else(|| NaiveDate::from_yo_opt(year, 365))
                .expect("day 365 exists every year")
        })
    }

    proptest! {
        #[test]
        fn label_round_trips_for_period_ends(date in any_supported_date(), precision in any_precision()) {
            let end = period_end(date, precision);
            prop_assert_eq!(parse_due_label(&due_label(end, precision)), Ok((end, precision)));
        }

        #[test]
        fn any_date_labels_back_to_its_period_end(date in any_supported_date(), precision in any_precision()) {
            let (parsed, parsed_precision) = parse_due_label(&due_label(date, precision)).expect("own label parses");
            prop_assert_eq!(parsed, period_end(date, precision));
            prop_assert_eq!(parsed_precision, precision);
            prop_assert!(parsed >= date);
        }

        #[test]
        fn never_panics_on_arbitrary_text(label in "\\PC{0,30}") {
            let _ = parse_due_label(&label);
        }

        #[test]
        fn never_panics_on_date_like_text(label in "(Tháng|Quý|Năm|thang|quy)? ?[0-9IVXivx]{0,5}[/-]?[0-9]{0,6}[/-]?[0-9]{0,6}") {
            let _ = parse_due_label(&label);
        }
    }
}
