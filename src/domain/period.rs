//! Reporting periods ("2023", "2023-H1", "2023-Q2", "2023-05") and the deadlines by which a
//! unit's report for a period is due.
//!
//! Deadlines are evaluated in Asia/Ho_Chi_Minh and represented by an *exclusive cutoff*: the
//! first instant at which a submission is late. A report is on time iff
//! `submitted_at < cutoff` ([`is_on_time`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::deadline::SUPPORTED_YEARS;
use super::timeliness::HO_CHI_MINH;

/// The length of a reporting period.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    /// A calendar year: "2023".
    Year,
    /// A half year: "2023-H1" (Jan–Jun), "2023-H2" (Jul–Dec).
    HalfYear,
    /// A calendar quarter: "2023-Q1" … "2023-Q4".
    Quarter,
    /// A calendar month: "2023-01" … "2023-12".
    Month,
}

impl PeriodType {
    /// How many periods of this type a year has.
    fn per_year(self) -> u32 {
        match self {
            Self::Year => 1,
            Self::HalfYear => 2,
            Self::Quarter => 4,
            Self::Month => 12,
        }
    }

    /// The English name used in error messages.
    fn noun(self) -> &'static str {
        match self {
            Self::Year => "year",
            Self::HalfYear => "half-year",
            Self::Quarter => "quarter",
            Self::Month => "month",
        }
    }

    /// How many months one period of this type lasts.
    fn months(self) -> u32 {
        12 / self.per_year()
    }
}

/// A valid reporting period. Fields are private so that only a valid period can exist; it
/// (de)serialises as its code string, e.g. `"2023-Q1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeriodCode {
    year: i32,
    period_type: PeriodType,
    /// 1-based position within the year (1 for a year).
    number: u32,
}

/// Why a period code or deadline rule was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodError(String);

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeriodError {}

impl PeriodCode {
    /// The period of `period_type` numbered `number` (1-based: half 1–2, quarter 1–4, month 1–12;
    /// 1 for a year) in `year`.
    pub fn new(year: i32, period_type: PeriodType, number: u32) -> Result<Self, PeriodError> {
        if !SUPPORTED_YEARS.contains(&year) {
            return Err(PeriodError(format!(
                "year {year} is outside {}..={}",
                SUPPORTED_YEARS.start(),
                SUPPORTED_YEARS.end()
            )));
        }
        if !(1..=period_type.per_year()).contains(&number) {
            return Err(PeriodError(format!(
                "{} number {number} is not between 1 and {}",
                period_type.noun(),
                period_type.per_year()
            )));
        }
        Ok(Self {
            year,
            period_type,
            number,
        })
    }

    /// The period of `period_type` that contains `date` (`None` outside the supported years).
    pub fn containing(date: NaiveDate, period_type: PeriodType) -> Option<Self> {
        let number = (date.month() - 1) / period_type.months() + 1;
        Self::new(date.year(), period_type, number).ok()
    }

    /// Year, half year, quarter or month.
    pub fn period_type(&self) -> PeriodType {
        self.period_type
    }

    /// The calendar year the period lies in.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The first day of the period.
    pub fn start(&self) -> NaiveDate {
        let month = (self.number - 1) * self.period_type.months() + 1;
        // Valid by construction (supported year, month 1–12); the fallback is unreachable.
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the period (inclusive).
    pub fn end(&self) -> NaiveDate {
        let last_month = self.number * self.period_type.months();
        let first_of_next = if last_month == 12 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, last_month + 1, 1)
        };
        // Valid by construction; the fallback is unreachable.
        first_of_next
            .and_then(|date| date.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// Whether `date` lies in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        (self.start()..=self.end()).contains(&date)
    }
}

impl fmt::Display for PeriodCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, number) = (self.year, self.number);
        match self.period_type {
            PeriodType::Year => write!(f, "{year}"),
            PeriodType::HalfYear => write!(f, "{year}-H{number}"),
            PeriodType::Quarter => write!(f, "{year}-Q{number}"),
            PeriodType::Month => write!(f, "{year}-{number:02}"),
        }
    }
}

impl FromStr for PeriodCode {
    type Err = PeriodError;

    /// Parses exactly the canonical forms `YYYY`, `YYYY-H1`, `YYYY-Q1` and `YYYY-MM`; no
    /// surrounding spaces, lower case or unpadded months, so that each period has one code.
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            PeriodError(format!(
                "'{code}' is not a period code; expected YYYY, YYYY-H1..H2, YYYY-Q1..Q4 or \
                 YYYY-01..12"
            ))
        };
        let out_of_range =
            |error: PeriodError| PeriodError(format!("'{code}' is not a period code: {error}"));
        let (year, part) = match code.split_once('-') {
            Some((year, part)) => (year, Some(part)),
            None => (code, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let (period_type, digits) = match part {
            None => return Self::new(year, PeriodType::Year, 1).map_err(out_of_range),
            Some(part) => match part.as_bytes().first() {
                Some(b'H') => (PeriodType::HalfYear, &part[1..]),
                Some(b'Q') => (PeriodType::Quarter, &part[1..]),
                _ if part.len() == 2 => (PeriodType::Month, part),
                _ => return Err(invalid()),
            },
        };
        let expected_len = if period_type == PeriodType::Month {
            2
        } else {
            1
        };
        if digits.len() != expected_len || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let number: u32 = digits.parse().map_err(|_| invalid())?;
        Self::new(year, period_type, number).map_err(out_of_range)
    }
}

impl TryFrom<String> for PeriodCode {
    type Error = PeriodError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        code.parse()
    }
}

impl From<PeriodCode> for String {
    fn from(period: PeriodCode) -> Self {
        period.to_string()
    }
}

/// A day of the year without a year, "MM-DD"; 02-29 is allowed (it means 02-28 in a common
/// year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// A month and day that exist in some year (so 02-29 is accepted, 02-30 is not).
    pub fn new(month: u32, day: u32) -> Result<Self, PeriodError> {
        // 2024 is a leap year, so it has every month-day that any year has.
        if NaiveDate::from_ymd_opt(2024, month, day).is_none() {
            return Err(PeriodError(format!(
                "{month:02}-{day:02} is not a day of the year"
            )));
        }
        Ok(Self { month, day })
    }

    /// The month, 1–12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(&self) -> u32 {
        self.day
    }

    /// This day in `year`; 02-29 falls back to 02-28 in a common year.
    fn in_year(self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for MonthDay {
    type Err = PeriodError;

    /// Parses "MM-DD" with exactly two digits each.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || PeriodError(format!("'{text}' is not a day of the year in MM-DD form"));
        let (month, day) = text.split_once('-').ok_or_else(invalid)?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(month) || !two_digits(day) {
            return Err(invalid());
        }
        let month = month.parse().map_err(|_| invalid())?;
        let day = day.parse().map_err(|_| invalid())?;
        Self::new(month, day)
    }
}

/// When a report for a period is due.
///
/// JSON: `{"fixed": "11-30", "exclusive": true}` (exclusive defaults to false) or
/// `{"days_after_period_end": 10}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DeadlineRuleJson", into = "DeadlineRuleJson")]
pub enum DeadlineRule {
    /// A fixed day in the period's year. `exclusive`: the report must arrive *before* that day
    /// begins ("trước ngày 30 tháng 11"); otherwise it may arrive during that day.
    Fixed {
        /// The day of the year.
        date: MonthDay,
        /// Whether the day itself is already late.
        exclusive: bool,
    },
    /// Through the end of the `days`-th day after the period's last day (0: the last day
    /// itself).
    DaysAfterPeriodEnd {
        /// Days of grace after the period ends.
        days: u32,
    },
}

/// The JSON shape of a [`DeadlineRule`]: exactly one of `fixed` or `days_after_period_end`.
/// A reporting deadline as JSON: either `{"fixed": "MM-DD", "exclusive": true}` (a day in the
/// period's own year; `exclusive` means the report must arrive *before* that day begins, as in
/// "trước ngày 30 tháng 11") or `{"days_after_period_end": N}` (through the Nth day after the
/// period ends). Days are in Asia/Ho_Chi_Minh.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"fixed": "11-30", "exclusive": true}))]
pub struct DeadlineRuleJson {
    /// A day of the year, `MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{2}-[0-9]{2}$", example = "11-30")]
    fixed: Option<String>,
    /// With `fixed`: the day itself is already late. Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exclusive: Option<bool>,
    /// Days after the period's last day; that whole day still counts as on time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 366)]
    days_after_period_end: Option<u32>,
}

impl TryFrom<DeadlineRuleJson> for DeadlineRule {
    type Error = PeriodError;

    fn try_from(json: DeadlineRuleJson) -> Result<Self, Self::Error> {
        match (json.fixed, json.exclusive, json.days_after_period_end) {
            (Some(fixed), exclusive, None) => Ok(Self::Fixed {
                date: fixed.parse()?,
                exclusive: exclusive.unwrap_or(false),
            }),
            (None, None, Some(days)) => Ok(Self::DaysAfterPeriodEnd { days }),
            _ => Err(PeriodError(
                "a deadline rule needs either 'fixed' (with optional 'exclusive') or \
                 'days_after_period_end'"
                    .to_string(),
            )),
        }
    }
}

impl From<DeadlineRule> for DeadlineRuleJson {
    fn from(rule: DeadlineRule) -> Self {
        match rule {
            DeadlineRule::Fixed { date, exclusive } => Self {
                fixed: Some(date.to_string()),
                exclusive: Some(exclusive),
                days_after_period_end: None,
            },
            DeadlineRule::DaysAfterPeriodEnd { days } => Self {
                fixed: None,
                exclusive: None,
                days_after_period_end: Some(days),
            },
        }
    }
}

/// The exclusive cutoff of a report for `period` under `rule`: the first instant (UTC) at which
/// the report is late, i.e. the start of the first late day in Asia/Ho_Chi_Minh.
///
/// A fixed day is taken in the period's calendar year (even when that is before the period
/// ends, as with annual reports due in November that carry estimates). A cutoff beyond chrono's
/// range (about 11 million years of grace) saturates at the latest representable instant.
pub fn deadline_instant(period: &PeriodCode, rule: &DeadlineRule) -> DateTime<Utc> {
    first_late_day(period, rule)
        .and_then(|day| {
            HO_CHI_MINH
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .single()
        })
        .map_or(DateTime::<Utc>::MAX_UTC, |local| local.with_timezone(&Utc))
}

/// Whether a report submitted at `submitted_at` meets the exclusive `cutoff` from
/// [`deadline_instant`].
pub fn is_on_time(submitted_at: DateTime<Utc>, cutoff: DateTime<Utc>) -> bool {
    submitted_at < cutoff
}

/// The first local day on which a report is late.
fn first_late_day(period: &PeriodCode, rule: &DeadlineRule) -> Option<NaiveDate> {
    match *rule {
        DeadlineRule::Fixed {
            date,
            exclusive: true,
        } => date.in_year(period.year()),
        DeadlineRule::Fixed {
            date,
            exclusive: false,
        } => date.in_year(period.year())?.succ_opt(),
        DeadlineRule::DaysAfterPeriodEnd { days } => period
            .end()
            .checked_add_days(Days::new(u64::from(days) + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn period(code: &str) -> PeriodCode {
        code.parse().expect("valid test period")
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("valid test instant")
    }

    fn fixed(month: u32, day: u32, exclusive: bool) -> DeadlineRule {
        DeadlineRule::Fixed {
            date: MonthDay::new(month, day).expect("valid test month-day"),
            exclusive,
        }
    }

    #[test]
    fn parses_each_period_type() {
        let cases = [
            ("2023", PeriodType::Year, ymd(2023, 1, 1), ymd(2023, 12, 31)),
            (
                "2023-H1",
                PeriodType::HalfYear,
                ymd(2023, 1, 1),
                ymd(2023, 6, 30),
            ),
            (
                "2023-H2",
                PeriodType::HalfYear,
                ymd(2023, 7, 1),
                ymd(2023, 12, 31),
            ),
            (
                "2023-Q1",
                PeriodType::Quarter,
                ymd(2023, 1, 1),
                ymd(2023, 3, 31),
            ),
            (
                "2023-Q4",
                PeriodType::Quarter,
                ymd(2023, 10, 1),
                ymd(2023, 12, 31),
            ),
            (
                "2024-02",
                PeriodType::Month,
                ymd(2024, 2, 1),
                ymd(2024, 2, 29),
            ),
            (
                "2023-02",
                PeriodType::Month,
                ymd(2023, 2, 1),
                ymd(2023, 2, 28),
            ),
            (
                "2023-12",
                PeriodType::Month,
                ymd(2023, 12, 1),
                ymd(2023, 12, 31),
            ),
        ];
        for (code, period_type, start, end) in cases {
            let p = period(code);
            assert_eq!(p.period_type(), period_type, "{code}");
            assert_eq!(p.year(), code[..4].parse::<i32>().expect("year"), "{code}");
            assert_eq!((p.start(), p.end()), (start, end), "{code}");
            assert_eq!(p.to_string(), code);
        }
    }

    #[test]
    fn rejects_non_canonical_codes() {
        for code in [
            "2023-Q5",
            "2023-Q0",
            "2023-13",
            "2023-00",
            "23",
            "2023-H3",
            "2023-H0",
            " 2023",
            "2023 ",
            "2023-1",
            "2023-q1",
            "2023-h1",
            "2023-Q01",
            "2023-",
            "",
            "-2023",
            "1899",
            "2201",
            "2023-Q1-01",
            "２０２３",
            "2023-M1",
            "2023-H",
        ] {
            let error = code.parse::<PeriodCode>().expect_err(code);
            assert!(
                error.to_string().contains("is not a period code"),
                "{code}: {error}"
            );
        }
    }

    #[test]
    fn errors_say_what_is_out_of_range() {
        let error = "2023-Q5".parse::<PeriodCode>().expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "'2023-Q5' is not a period code: quarter number 5 is not between 1 and 4"
        );
        let error = "1899".parse::<PeriodCode>().expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "'1899' is not a period code: year 1899 is outside 1900..=2200"
        );
    }

    #[test]
    fn constructors_validate() {
        assert!(PeriodCode::new(2023, PeriodType::Quarter, 5).is_err());
        assert!(PeriodCode::new(2023, PeriodType::Year, 2).is_err());
        assert!(PeriodCode::new(1800, PeriodType::Year, 1).is_err());
        assert_eq!(
            PeriodCode::containing(ymd(2023, 8, 15), PeriodType::Quarter),
            Some(period("2023-Q3"))
        );
        assert_eq!(
            PeriodCode::containing(ymd(2023, 8, 15), PeriodType::HalfYear),
            Some(period("2023-H2"))
        );
        assert_eq!(
            PeriodCode::containing(ymd(1800, 8, 15), PeriodType::Year),
            None
        );
    }

    #[test]
    fn serialises_as_its_code() {
        let json = serde_json::to_string(&period("2023-Q1")).expect("serialises");
        assert_eq!(json, "\"2023-Q1\"");
        let back: PeriodCode = serde_json::from_str("\"2023-07\"").expect("deserialises");
        assert_eq!(back, period("2023-07"));
        let error = serde_json::from_str::<PeriodCode>("\"2023-Q5\"").expect_err("invalid");
        assert!(
            error.to_string().contains("'2023-Q5' is not a period code"),
            "{error}"
        );
        let type_json = serde_json::to_string(&PeriodType::HalfYear).expect("serialises");
        assert_eq!(type_json, "\"half_year\"");
    }

    #[test]
    fn deadline_rules_have_the_documented_json_shapes() {
        let rule: DeadlineRule =
            serde_json::from_str(r#"{"fixed":"11-30","exclusive":true}"#).expect("fixed");
        assert_eq!(rule, fixed(11, 30, true));
        assert_eq!(
            serde_json::to_string(&rule).expect("serialises"),
            r#"{"fixed":"11-30","exclusive":true}"#
        );
        let rule: DeadlineRule =
            serde_json::from_str(r#"{"days_after_period_end":10}"#).expect("days");
        assert_eq!(rule, DeadlineRule::DaysAfterPeriodEnd { days: 10 });
        assert_eq!(
            serde_json::to_string(&rule).expect("serialises"),
            r#"{"days_after_period_end":10}"#
        );
        let rule: DeadlineRule = serde_json::from_str(r#"{"fixed":"02-29"}"#).expect("leap");
        assert_eq!(rule, fixed(2, 29, false));
    }

    #[test]
    fn deadline_rules_reject_bad_json() {
        for json in [
            r#"{"fixed":"02-30"}"#,
            r#"{"fixed":"13-01"}"#,
            r#"{"fixed":"11-3"}"#,
            r#"{"fixed":"1130"}"#,
            r#"{"fixed":"11-30","days_after_period_end":3}"#,
            r#"{"exclusive":true}"#,
            r#"{"days_after_period_end":10,"exclusive":true}"#,
            r#"{"days_after_period_end":-1}"#,
            r#"{"due":"11-30"}"#,
            r#"{}"#,
        ] {
            assert!(
                serde_json::from_str::<DeadlineRule>(json).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn fixed_exclusive_deadline_is_before_the_day_begins() {
        let cutoff = deadline_instant(&period("2023"), &fixed(11, 30, true));
        assert_eq!(cutoff, at("2023-11-29T17:00:00Z"));
        assert!(is_on_time(at("2023-11-29T16:59:59Z"), cutoff));
        assert!(!is_on_time(at("2023-11-29T17:00:00Z"), cutoff));
    }

    #[test]
    fn fixed_inclusive_deadline_runs_through_the_day() {
        let cutoff = deadline_instant(&period("2023"), &fixed(11, 30, false));
        assert_eq!(cutoff, at("2023-11-30T17:00:00Z"));
        assert!(is_on_time(at("2023-11-30T16:59:59Z"), cutoff));
        assert!(!is_on_time(at("2023-11-30T17:00:00Z"), cutoff));
    }

    #[test]
    fn fixed_leap_day_falls_back_in_common_years() {
        let rule = fixed(2, 29, false);
        assert_eq!(
            deadline_instant(&period("2024"), &rule),
            at("2024-02-29T17:00:00Z")
        );
        assert_eq!(
            deadline_instant(&period("2023"), &rule),
            at("2023-02-28T17:00:00Z")
        );
        assert_eq!(
            deadline_instant(&period("2023"), &fixed(2, 29, true)),
            at("2023-02-27T17:00:00Z")
        );
    }

    #[test]
    fn fixed_day_is_in_the_periods_year() {
        assert_eq!(
            deadline_instant(&period("2023-Q1"), &fixed(11, 30, true)),
            at("2023-11-29T17:00:00Z")
        );
    }

    #[test]
    fn days_after_period_end_runs_through_the_last_day() {
        let rule = DeadlineRule::DaysAfterPeriodEnd { days: 10 };
        let cutoff = deadline_instant(&period("2023-Q1"), &rule);
        assert_eq!(cutoff, at("2023-04-10T17:00:00Z"));
        assert!(is_on_time(at("2023-04-10T16:59:59Z"), cutoff));
        assert!(!is_on_time(at("2023-04-10T17:00:00Z"), cutoff));
        let same_day = DeadlineRule::DaysAfterPeriodEnd { days: 0 };
        assert_eq!(
            deadline_instant(&period("2024-02"), &same_day),
            at("2024-02-29T17:00:00Z")
        );
        assert_eq!(
            deadline_instant(&period("2023-12"), &rule),
            at("2024-01-10T17:00:00Z")
        );
    }

    #[test]
    fn huge_grace_saturates_instead_of_panicking() {
        let rule = DeadlineRule::DaysAfterPeriodEnd { days: u32::MAX };
        assert_eq!(
            deadline_instant(&period("2200-12"), &rule),
            DateTime::<Utc>::MAX_UTC
        );
    }

    fn any_period() -> impl Strategy<Value = PeriodCode> {
        (
            SUPPORTED_YEARS,
            prop_oneof![
                Just(PeriodType::Year),
                Just(PeriodType::HalfYear),
                Just(PeriodType::Quarter),
                Just(PeriodType::Month)
            ],
            1u32..=12,
        )
            .prop_map(|(year, period_type, n)| {
                let number = (n - 1) % period_type.per_year() + 1;
                PeriodCode::new(year, period_type, number).expect("generated in range")
            })
    }

    proptest! {
        #[test]
        fn display_parse_round_trips(p in any_period()) {
            prop_assert_eq!(p.to_string().parse::<PeriodCode>(), Ok(p));
        }

        #[test]
        fn start_is_not_after_end(p in any_period()) {
            prop_assert!(p.start() <= p.end());
            prop_assert_eq!(p.start().year(), p.year());
            prop_assert_eq!(p.end().year(), p.year());
            prop_assert!(p.contains(p.start()) && p.contains(p.end()));
        }

        #[test]
        fn every_date_is_in_exactly_one_period_of_each_type(year in SUPPORTED_YEARS, ordinal in 1u32..=366) {
            let Some(date) = NaiveDate::from_yo_opt(year, ordinal) else { return Ok(()) };
            for (period_type, count) in [
                (PeriodType::HalfYear, 2),
                (PeriodType::Quarter, 4),
                (PeriodType::Month, 12),
            ] {
                let holders: Vec<_> = (1..=count)
                    .filter_map(|n| PeriodCode::new(year, period_type, n).ok())
                    .filter(|p| p.contains(date))
                    .collect();
                prop_assert_eq!(holders.len(), 1);
                prop_assert_eq!(Some(holders[0]), PeriodCode::containing(date, period_type));
            }
        }

        #[test]
        fn invalid_strings_never_panic(code in "\\PC{0,12}") {
            if let Ok(p) = code.parse::<PeriodCode>() {
                prop_assert_eq!(p.to_string(), code);
            }
        }

        #[test]
        fn code_like_strings_never_panic(code in "[0-9 ]{0,5}-?[HQMhq]?[0-9]{0,3}") {
            if let Ok(p) = code.parse::<PeriodCode>() {
                prop_assert_eq!(p.to_string(), code);
            }
        }

        #[test]
        fn days_after_end_cutoff_is_local_midnight_after_grace(p in any_period(), days in 0u32..400) {
            let cutoff = deadline_instant(&p, &DeadlineRule::DaysAfterPeriodEnd { days });
            let last_on_time = cutoff - chrono::TimeDelta::seconds(1);
            prop_assert_eq!(
                super::super::timeliness::local_date(last_on_time),
                p.end() + Days::new(u64::from(days))
            );
            prop_assert!(is_on_time(last_on_time, cutoff));
            prop_assert!(!is_on_time(cutoff, cutoff));
        }
    }
}
