//! The delivery worker: a background task of `serve` that claims due deliveries, POSTs them
//! signed, records each attempt, and now and then raises overdue events.
//!
//! Several processes may run it on one PostgreSQL: a delivery is claimed with a lease
//! (`locked_until`) under `FOR UPDATE SKIP LOCKED`, so two workers never hold one delivery at
//! the same time, and a crashed worker's claim expires. The lease outlasts the HTTP timeout,
//! so an attempt ends before its claim can pass to another worker. Delivery is at least once:
//! a process killed between the receiver's answer and the record sends it again later.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::overdue;
use crate::config::WebhookSettings;
use crate::db::webhooks::{Claimed, Outcome};
use crate::db::{self, Pool};
use crate::domain::webhook::{signature, EventPayload, EventType, RetryPolicy};
use crate::error::ApiError;

/// How many deliveries one worker sends at once.
const BATCH: i64 = 16;
/// How much longer than the HTTP timeout a claim lasts, for the database round trips.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The longest error text kept in the delivery log.
const MAX_ERROR: usize = 500;

/// The running worker; [`Worker::stop`] ends it.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current runtime.
    pub fn start(pool: Pool, settings: WebhookSettings) -> anyhow::Result<Worker> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            // A redirect could carry the signed payload somewhere the admin did not choose.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("plan-tracker-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(pool, settings, client, stopped));
        Ok(Worker { stop, task })
    }

    /// Lets the deliveries in flight finish (at most `grace`), then ends the worker. A delivery
    /// cut off keeps its claim until the lease ends and is sent again after it.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!("the webhook worker did not stop in time");
        }
    }
}

async fn run(
    pool: Pool,
    settings: WebhookSettings,
    client: reqwest::Client,
    mut stopped: watch::Receiver<bool>,
) {
    let mut next_scan = Instant::now();
    while !*stopped.borrow() {
        if Instant::now() >= next_scan {
            next_scan = Instant::now() + settings.overdue_scan_interval;
            let lookback = settings.overdue_lookback_days;
            match db::run(&pool, move |conn| overdue::scan(conn, Utc::now(), lookback)).await {
                Ok(0) => {}
                Ok(raised) => tracing::info!(raised, "overdue events raised"),
                Err(error) => tracing::warn!(%error, "overdue scan failed"),
            }
        }
        let sent = deliver_due(&pool, &client, &settings)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "webhook delivery round failed");
                0
            });
        if sent > 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll_interval) => {}
            changed = stopped.changed() => if changed.is_err() { break },
        }
    }
}

/// Claims the due deliveries and sends them concurrently; returns how many were claimed.
async fn deliver_due(
    pool: &Pool,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<usize, ApiError> {
    let now = db::now();
    if !db::run(pool, move |conn| db::webhooks::any_due(conn, now)).await? {
        return Ok(0);
    }
    let lease_until = TimeDelta::from_std(settings.timeout.saturating_mul(2) + LEASE_MARGIN)
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "WEBHOOK_TIMEOUT_MS is too large for a lease"
            ))
        })?;
    let claimed = db::run(pool, move |conn| {
        db::webhooks::claim_due(conn, now, lease_until, BATCH)
    })
    .await?;
    let count = claimed.len();
    let mut attempts = JoinSet::new();
    for delivery in claimed {
        let (pool, client, retry) = (pool.clone(), client.clone(), settings.retry);
        attempts.spawn(async move {
            let id = delivery.delivery_id;
            let outcome = attempt(&client, &delivery, &retry).await;
            if let Outcome::Failed { error, .. } = &outcome {
                tracing::warn!(delivery = id, %error, "webhook delivery failed for good");
            }
            db::run(&pool, move |conn| {
                db::webhooks::record_attempt(conn, id, lease_until, &outcome)
            })
            .await
        });
    }
    while let Some(joined) = attempts.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "recording a webhook attempt failed"),
            Err(error) => tracing::error!(%error, "a webhook attempt panicked"),
        }
    }
    Ok(count)
}

/// The exact bytes sent for a claimed delivery.
fn body_of(delivery: &Claimed) -> Result<Vec<u8>, String> {
    let event_type = EventType::parse(&delivery.event_type)
        .ok_or_else(|| format!("unknown stored event type {:?}", delivery.event_type))?;
    let data = serde_json::from_str(&delivery.data).map_err(|e| format!("stored data: {e}"))?;
    serde_json::to_vec(&EventPayload {
        id: delivery.event_id.clone(),
        event_type,
        occurred_at: delivery.occurred_at.and_utc(),
        data,
    })
    .map_err(|e| format!("encoding the payload: {e}"))
}

/// An error and its causes on one line, without the URL (it may carry a token).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out: "
    } else {
        ""
    };
    let error = error.without_url();
    let mut text = format!("{kind}{error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text.chars().take(MAX_ERROR).collect()
}

/// One attempt to deliver, and what comes of it.
async fn attempt(client: &reqwest::Client, delivery: &Claimed, retry: &RetryPolicy) -> Outcome {
    let body = match body_of(delivery) {
        Ok(body) => body,
        Err(error) => {
            return Outcome::Failed {
                http_status: None,
                error,
            }
        }
    };
    let timestamp = Utc::now().timestamp();
    let sent = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Event-Id", &delivery.event_id)
        .header("X-Event-Type", &delivery.event_type)
        .header("X-Timestamp", timestamp.to_string())
        .header("X-Signature", signature(&delivery.secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    let (http_status, error) = match sent {
        Ok(answer) if answer.status().is_success() => {
            return Outcome::Delivered {
                http_status: i32::from(answer.status().as_u16()),
            }
        }
        Ok(answer) => (
            Some(i32::from(answer.status().as_u16())),
            format!("the receiver answered HTTP {}", answer.status()),
        ),
        Err(error) => (None, describe(error)),
    };
    let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
    match retry.next_attempt(attempts, delivery.occurred_at, db::now()) {
        Some(next_attempt_at) => Outcome::Retry {
            http_status,
            error,
            next_attempt_at,
        },
        None => Outcome::Failed { http_status, error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(window: Duration) -> WebhookSettings {
        WebhookSettings {
            allow_http: true,
            poll_interval: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(10),
                window,
            },
            overdue_scan_interval: Duration::from_secs(3600),
            overdue_lookback_days: 7,
        }
    }

    /// An unreachable receiver: retried while the window lasts, then marked failed with the
    /// cause in the log.
    #[tokio::test]
    async fn a_delivery_fails_for_good_when_the_window_is_over() {
        let (_dir, pool) = db::test_database();
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let webhook = db::webhooks::WebhookRow {
            id: 0,
            url: format!("http://127.0.0.1:{port}/hooks"),
            secret: "0123456789abcdef".into(),
            plan_id: None,
            description: None,
            created_by_user_id: None,
            created_at: db::now(),
        };
        let mut conn = pool.get().unwrap();
        let webhook = db::webhooks::insert(&mut conn, &webhook, &[EventType::PlanUpdated]).unwrap();
        db::outbox::enqueue(
            &mut conn,
            EventType::PlanUpdated,
            None,
            Some(1),
            serde_json::json!({}),
        )
        .unwrap();
        let client = reqwest::Client::new();
        let page = db::PageRequest {
            limit: 10,
            offset: 0,
            sort: "id",
            descending: false,
        };
        let log = |conn: &mut db::DbConnection| {
            db::webhooks::deliveries(conn, webhook.row.id, None, &page)
                .unwrap()
                .0
                .remove(0)
        };

        let within_window = settings(Duration::from_secs(3600));
        assert_eq!(
            deliver_due(&pool, &client, &within_window).await.unwrap(),
            1
        );
        let retried = log(&mut conn);
        assert_eq!((retried.status.as_str(), retried.attempts), ("pending", 1));
        assert!(retried.last_error.is_some() && retried.last_http_status.is_none());
        // Not due again until the backoff has passed.
        assert_eq!(
            deliver_due(&pool, &client, &within_window).await.unwrap(),
            0
        );

        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            deliver_due(&pool, &client, &settings(Duration::ZERO))
                .await
                .unwrap(),
            1
        );
        let failed = log(&mut conn);
        assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 2));
        assert!(
            failed
                .last_error
                .is_some_and(|e| !e.contains(&port.to_string())),
            "no URL in the log"
        );
        assert_eq!(
            deliver_due(&pool, &client, &within_window).await.unwrap(),
            0,
            "failed is final"
        );
    }
}
