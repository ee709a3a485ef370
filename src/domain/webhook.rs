//! The rules of webhooks that need no database: which events exist, which target URLs are
//! allowed, how payloads are signed, and when a failed delivery is tried again.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::period::{deadline_instant, PeriodCode};
use super::submission::{Schedule, SubmissionStatus};

/// An event a webhook can subscribe to: `submission.submitted`, `submission.accepted`,
/// `submission.returned` (also when an accepted report is reopened) as a report moves through
/// review; `submission.overdue` once per plan, unit and period whose report was not submitted
/// by its deadline; `task.overdue` once per task and deadline in force (after approved
/// extensions) that passed before completion; `task.completed` when a task gets its
/// completion date; `plan.updated` when a plan's fields change or its tables are imported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    /// A unit submitted a report for review.
    #[serde(rename = "submission.submitted")]
    SubmissionSubmitted,
    /// The consolidating unit accepted a report.
    #[serde(rename = "submission.accepted")]
    SubmissionAccepted,
    /// The consolidating unit returned a report to its unit (also when an accepted report is
    /// reopened).
    #[serde(rename = "submission.returned")]
    SubmissionReturned,
    /// A unit's report for a period was not submitted by its deadline.
    #[serde(rename = "submission.overdue")]
    SubmissionOverdue,
    /// A task's deadline in force (after approved extensions) passed before it was completed.
    #[serde(rename = "task.overdue")]
    TaskOverdue,
    /// A task was marked completed.
    #[serde(rename = "task.completed")]
    TaskCompleted,
    /// A plan's own fields changed, or its appendix tables were imported.
    #[serde(rename = "plan.updated")]
    PlanUpdated,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::SubmissionSubmitted,
        EventType::SubmissionAccepted,
        EventType::SubmissionReturned,
        EventType::SubmissionOverdue,
        EventType::TaskOverdue,
        EventType::TaskCompleted,
        EventType::PlanUpdated,
    ];

    /// The event's name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SubmissionSubmitted => "submission.submitted",
            EventType::SubmissionAccepted => "submission.accepted",
            EventType::SubmissionReturned => "submission.returned",
            EventType::SubmissionOverdue => "submission.overdue",
            EventType::TaskOverdue => "task.overdue",
            EventType::TaskCompleted => "task.completed",
            EventType::PlanUpdated => "plan.updated",
        }
    }

    /// The event a submission raises by entering `status` (a reopened report enters
    /// `returned` again, and raises `submission.returned`).
    pub fn entering(status: SubmissionStatus) -> Option<EventType> {
        match status {
            SubmissionStatus::Draft => None,
            SubmissionStatus::Submitted => Some(EventType::SubmissionSubmitted),
            SubmissionStatus::Accepted => Some(EventType::SubmissionAccepted),
            SubmissionStatus::Returned => Some(EventType::SubmissionReturned),
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The events `names` denote, sorted and without repeats; else the names that are unknown.
    pub fn parse_all(names: &[String]) -> Result<Vec<EventType>, Vec<String>> {
        let unknown: Vec<String> = names
            .iter()
            .filter(|n| EventType::parse(n).is_none())
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let mut events: Vec<EventType> = names.iter().filter_map(|n| EventType::parse(n)).collect();
        events.sort();
        events.dedup();
        Ok(events)
    }

    /// All names, for error messages.
    pub fn names() -> String {
        EventType::ALL.map(EventType::as_str).join(", ")
    }
}

/// The JSON body of every webhook POST. It is signed as sent: verify the signature over the
/// raw bytes before parsing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPayload {
    /// The event's id (also in `X-Event-Id`): the same on every retry, so a receiver can drop
    /// an event it has already processed.
    #[schema(example = "0b7e3f5c-8d1e-4c59-9a39-5a1f0f4f2b61")]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the change was committed (UTC).
    pub occurred_at: DateTime<Utc>,
    /// The event's subject: for `submission.*` the submission (`submission_id`, `plan_id`,
    /// `unit_code`, `period`, `status`); for `submission.overdue` the missing report
    /// (`plan_id`, `unit_code`, `period`, `deadline`); for `task.*` the task (`task_id`,
    /// `plan_id`, `code`, `title`, `lead_unit_code`, `due_date`, `completed_on`); for
    /// `plan.updated` the plan (`plan_id`, `number`, `title`, `source`: `update` or `import`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Why a target URL is refused, if it is: it must be an absolute `https` URL (or `http` when
/// `allow_http`), with a host and without credentials. Payloads describe government data and
/// carry a signature made with the webhook's secret; over plain HTTP anyone on the path could
/// read them, so `http` is for development and tests only.
pub fn url_problem(url: &str, allow_http: bool) -> Option<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some("must be an absolute URL such as https://portal.example.vn/hooks".into());
    };
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Some(
                "must use https: payloads describe government data (plain http is allowed only \
                 with WEBHOOK_ALLOW_HTTP=true, for development)"
                    .into(),
            )
        }
        other => return Some(format!("must be an http(s) URL, not {other}:")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("must not carry credentials; the signature authenticates the sender".into());
    }
    if parsed.fragment().is_some() {
        return Some("must not have a #fragment".into());
    }
    None
}

/// The `X-Signature` value for a payload sent at `timestamp` (Unix seconds):
/// `sha256=` and the lower-case hex HMAC-SHA256, keyed with the secret, of
/// `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would only make the
    // receiver refuse the delivery.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + digest.len() * 2);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// How long to wait after the `attempt`-th failed attempt (1 for the first): `base` doubled
/// for each earlier failure, never more than `cap`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    base.saturating_mul(1u32 << doublings).min(cap)
}

/// How retries are spaced and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// How long after the event deliveries are tried at all.
    pub window: Duration,
}

impl RetryPolicy {
    /// When to try again after the `attempt`-th failure at `now` of an event that occurred at
    /// `occurred_at`; `None` when that would fall past the retry window: the delivery failed.
    pub fn next_attempt(
        &self,
        attempt: u32,
        occurred_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        let wait = chrono::TimeDelta::from_std(backoff(attempt, self.base, self.cap)).ok()?;
        let window = chrono::TimeDelta::from_std(self.window).ok()?;
        let next = now.checked_add_signed(wait)?;
        (next <= occurred_at.checked_add_signed(window)?).then_some(next)
    }
}

/// The periods of `years` whose report deadline under one of `schedules` falls in
/// `(after, until]`: those that may have just become overdue. A deadline comes at most a
/// year and a day after its period ends, so only periods from two years before `after` count.
pub fn periods_due_between(
    schedules: &[Schedule],
    years: RangeInclusive<i32>,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<PeriodCode> {
    let first = (*years.start()).max(after.year() - 2);
    let last = (*years.end()).min(until.year());
    let mut periods: Vec<PeriodCode> = schedules
        .iter()
        .flat_map(|schedule| {
            (first..=last)
                .flat_map(move |year| {
                    (1..=12)
                        .filter_map(move |n| PeriodCode::new(year, schedule.period_type, n).ok())
                })
                .filter(move |period| {
                    let deadline = deadline_instant(period, &schedule.deadline);
                    deadline > after && deadline <= until
                })
        })
        .collect();
    periods.sort();
    periods.dedup();
    periods
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn event_names_round_trip_and_unknown_ones_are_listed() {
        for event in EventType::ALL {
            let json = serde_json::to_value(event).unwrap();
            assert_eq!(json, event.as_str());
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            EventType::parse_all(&names(&[
                "task.completed",
                "plan.updated",
                "task.completed"
            ])),
            Ok(vec![EventType::TaskCompleted, EventType::PlanUpdated])
        );
        assert_eq!(
            EventType::parse_all(&names(&["task.completed", "task.deleted", "x"])),
            Err(names(&["task.deleted", "x"]))
        );
    }

    #[test]
    fn url_policy() {
        assert_eq!(
            url_problem("https://portal.example.vn/hooks?x=1", false),
            None
        );
        assert_eq!(url_problem("http://127.0.0.1:9000/h", true), None);
        for bad in [
            "http://127.0.0.1:9000/h",
            "ftp://example.vn/",
            "/relative",
            "https://user:pw@example.vn/",
            "https://example.vn/#frag",
            "not a url",
            "",
        ] {
            assert!(url_problem(bad, false).is_some(), "{bad}");
        }
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // The signed text is "<timestamp>.<body>".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(
            signature("k", 1_700_000_000, b"{\"a\":1}"),
            format!("sha256={:x}", mac.finalize().into_bytes())
        );
        assert_ne!(
            signature("k", 1_700_000_001, b"{\"a\":1}"),
            signature("k", 1_700_000_000, b"{\"a\":1}")
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let waits: Vec<_> = (1..=6).map(|a| backoff(a, s(10), s(60))).collect();
        assert_eq!(waits, [s(10), s(20), s(40), s(60), s(60), s(60)]);
        assert_eq!(backoff(0, s(10), s(60)), s(10));
    }

    #[test]
    fn retries_stop_at_the_window() {
        let policy = RetryPolicy {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(3600),
            window: Duration::from_secs(86_400),
        };
        let start = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let mut now = start;
        let mut attempts = 0;
        while let Some(next) = policy.next_attempt(attempts + 1, start, now) {
            attempts += 1;
            assert!(next > now);
            now = next;
        }
        // 1+2+…+32 minutes, then hourly until a day has passed.
        assert!((25..=30).contains(&attempts), "{attempts}");
        assert!(now <= start + chrono::TimeDelta::days(1));
    }

    #[test]
    fn periods_whose_deadline_just_passed() {
        use crate::domain::period::{DeadlineRule, PeriodType};
        let schedules = [
            Schedule {
                period_type: PeriodType::Quarter,
                deadline: DeadlineRule::DaysAfterPeriodEnd { days: 10 },
                unit_codes: None,
            },
            Schedule {
                period_type: PeriodType::Year,
                deadline: DeadlineRule::DaysAfterPeriodEnd { days: 10 },
                unit_codes: None,
            },
        ];
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Q3 2026 is late from 2026-10-11 00:00 in Hồ Chí Minh (2026-10-10 17:00 UTC).
        let found = periods_due_between(
            &schedules,
            2021..=2030,
            at("2026-10-01T00:00:00Z"),
            at("2026-10-12T00:00:00Z"),
        );
        assert_eq!(found, ["2026-Q3".parse::<PeriodCode>().unwrap()]);
        let none = periods_due_between(
            &schedules,
            2021..=2030,
            at("2026-10-01T00:00:00Z"),
            at("2026-10-10T16:59:59Z"),
        );
        assert!(none.is_empty());
        // The plan's years bound the search.
        let outside = periods_due_between(
            &schedules,
            2021..=2025,
            at("2026-10-01T00:00:00Z"),
            at("2027-01-12T00:00:00Z"),
        );
        assert!(outside.is_empty(), "{outside:?}");
    }

    proptest! {
        #[test]
        fn backoff_is_monotonic_and_capped(attempt in 0u32..1000, base_ms in 1u64..100_000, cap_ms in 1u64..10_000_000) {
            let base = Duration::from_millis(base_ms);
            let cap = Duration::from_millis(cap_ms);
            let wait = backoff(attempt, base, cap);
            prop_assert!(wait <= cap);
            prop_assert!(wait >= base.min(cap));
            prop_assert!(backoff(attempt + 1, base, cap) >= wait);
        }

        #[test]
        fn next_attempt_never_passes_the_window(attempt in 1u32..100, offset_s in 0i64..200_000) {
            let policy = RetryPolicy {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(3600),
                window: Duration::from_secs(86_400),
            };
            let occurred = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().naive_utc();
            let now = occurred + chrono::TimeDelta::seconds(offset_s);
            if let Some(next) = policy.next_attempt(attempt, occurred, now) {
                prop_assert!(next > now);
                prop_assert!(next <= occurred + chrono::TimeDelta::days(1));
            }
        }
    }
}
