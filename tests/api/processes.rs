//! The real binary as operators run it: signals, and several processes on one database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{access_token, Answer, ADMIN_PASSWORD, JWT_SECRET};

/// A `plan-tracker serve` process and the address it listens on.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str, demo: bool) -> Server {
        Server::start_with(database_url, demo, &[])
    }

    /// Starts a server with `env` added to its environment.
    fn start_with(database_url: &str, demo: bool, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plan-tracker"));
        command.arg("serve");
        if demo {
            command.arg("--demo");
        }
        command.envs(env.iter().copied());
        let mut child = command
            .env("DATABASE_URL", database_url)
            .env("BIND", "127.0.0.1:0")
            .env("JWT_SECRET", JWT_SECRET)
            .env("BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LOG_FORMAT", "json")
            .env("SHUTDOWN_TIMEOUT_SECS", "10")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start plan-tracker");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            assert!(
                Instant::now() < deadline,
                "the server did not report its port"
            );
            let line = lines.next().expect("server output").expect("a line");
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["message"] == "listening" {
                break event["port"].as_u64().expect("port");
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn token(client: &reqwest::Client, base: &str) -> String {
    access_token(client, base, "admin", ADMIN_PASSWORD).await
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sigterm.db").display());
    let mut server = Server::start(&url, false);
    let client = reqwest::Client::new();
    let token = token(&client, &server.base).await;
    let requests: Vec<_> = (0..20)
        .map(|_| {
            client
                .get(format!("{}/api/v1/units", server.base))
                .bearer_auth(&token)
                .send()
        })
        .collect();
    let in_flight = tokio::spawn(futures_util::future::join_all(requests));
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.terminate();
    let answers = in_flight.await.unwrap();
    let started: Vec<_> = answers.into_iter().filter_map(Result::ok).collect();
    assert!(
        !started.is_empty(),
        "some requests were in flight when the signal came"
    );
    assert!(
        started.iter().all(|r| r.status() == 200),
        "every request that got in was answered"
    );
    let stopped_at = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(15),
            "did not exit within the shutdown timeout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err(),
        "new connections are refused"
    );
}

#[tokio::test]
async fn sqlite_concurrent_writers_never_see_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("writers.db").display());
    let server = Server::start(&url, false);
    let client = reqwest::Client::new();
    let token = token(&client, &server.base).await;
    let writes = (0..40).map(|n| {
        client
            .post(format!("{}/api/v1/units", server.base))
            .bearer_auth(&token)
            .json(&json!({"code": format!("UNIT-{n}"), "name": format!("Đơn vị {n}"), "kind": "internal"}))
            .send()
    });
    let answers = futures_util::future::join_all(writes).await;
    let mut created = 0;
    for answer in answers {
        let answer = Answer::from(answer.unwrap()).await;
        match answer.status.as_u16() {
            201 => created += 1,
            503 => assert!(answer.header("retry-after").is_some()),
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    let list = client
        .get(format!("{}/api/v1/units?limit=100", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::from(list).await.body["total"], created);
}

/// Sends `method path` with `token` (and a JSON `body`) and returns the answer.
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_deactivation_reaches_every_process_within_the_caller_cache_time() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("two.db").display());
    let here = Server::start(&url, false);
    let other = Server::start_with(&url, false, &[("CALLER_CACHE_MS", "300")]);
    let client = reqwest::Client::new();
    let admin = token(&client, &here.base).await;
    let unit =
        json!({"code": "SKHDT-DKKD", "name": "Phòng Đăng ký kinh doanh", "kind": "internal"});
    let made = send(
        &client,
        Method::POST,
        format!("{}/api/v1/units", here.base),
        &admin,
        Some(unit),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let user = json!({"username": "officer.dkkd", "password": "Dang-ky-kinh-doanh-2025",
        "full_name": "Nguyễn Văn An", "unit_code": "SKHDT-DKKD", "roles": ["officer"]});
    let made = send(
        &client,
        Method::POST,
        format!("{}/api/v1/users", here.base),
        &admin,
        Some(user),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_i64().unwrap();
    let officer = access_token(
        &client,
        &here.base,
        "officer.dkkd",
        "Dang-ky-kinh-doanh-2025",
    )
    .await;
    let me = |server: &Server| format!("{}/api/v1/me", server.base);
    // Both processes have read the account and keep it for a moment.
    assert_eq!(
        send(&client, Method::GET, me(&here), &officer, None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(&client, Method::GET, me(&other), &officer, None)
            .await
            .status,
        200
    );

    let off = json!({"active": false});
    let changed = send(
        &client,
        Method::PATCH,
        format!("{}/api/v1/users/{id}", here.base),
        &admin,
        Some(off),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    // The process that made the change forgets the account at once …
    send(&client, Method::GET, me(&here), &officer, None)
        .await
        .problem(401);
    // … the other one when its cache time (300 ms here) has passed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    send(&client, Method::GET, me(&other), &officer, None)
        .await
        .problem(401);
}

#[cfg(pg_tests)]
mod postgres {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    use reqwest::Method;

    /// A fresh schema on TEST_DATABASE_URL, dropped at the end.
    struct Schema {
        admin_url: String,
        name: String,
    }

    impl Schema {
        fn new() -> Schema {
            let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
            let name = format!("p_{}", uuid::Uuid::new_v4().simple());
            PgConnection::establish(&admin_url)
                .unwrap()
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .unwrap();
            Schema { admin_url, name }
        }

        fn url(&self) -> String {
            let separator = if self.admin_url.contains('?') {
                '&'
            } else {
                '?'
            };
            format!(
                "{}{separator}options=-csearch_path%3D{}",
                self.admin_url, self.name
            )
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }

    /// Creates unit SKHDT and a 2026–2030 plan it issues; returns the plan's id.
    async fn unit_and_plan(client: &reqwest::Client, base: &str, token: &str) -> i64 {
        let unit = client
            .post(format!("{base}/api/v1/units"))
            .bearer_auth(token)
            .json(&json!({"code": "SKHDT", "name": "Sở Kế hoạch và Đầu tư", "kind": "internal"}))
            .send()
            .await
            .unwrap();
        assert_eq!(unit.status(), 201);
        let plan = client
            .post(format!("{base}/api/v1/plans"))
            .bearer_auth(token)
            .json(&json!({"number": "1/KH", "title": "Kế hoạch", "issuer_unit_code": "SKHDT", "issued_on": "2026-01-05",
                "period_start_year": 2026, "period_end_year": 2030, "consolidating_unit_code": "SKHDT"}))
            .send()
            .await
            .unwrap();
        Answer::from(plan).await.body["id"].as_i64().unwrap()
    }

    /// Two processes poll one outbox: every event reaches the receiver exactly once, each in
    /// one attempt, whichever process claimed it.
    #[tokio::test]
    async fn two_processes_deliver_each_event_once() {
        const EVENTS: usize = 60;
        let schema = Schema::new();
        let fast = crate::helpers::FAST_WEBHOOKS;
        let first = Server::start_with(&schema.url(), false, fast);
        let second = Server::start_with(&schema.url(), false, fast);
        let receiver = crate::webhooks::Receiver::start(0);
        let client = reqwest::Client::new();
        let token = token(&client, &first.base).await;
        let hook = client
            .post(format!("{}/api/v1/webhooks", first.base))
            .bearer_auth(&token)
            .json(&json!({"url": receiver.url, "events": ["plan.updated"]}))
            .send()
            .await
            .unwrap();
        let hook = Answer::from(hook).await.body["id"].as_i64().unwrap();
        let plan = unit_and_plan(&client, &first.base, &token).await;
        let updates = (0..EVENTS).map(|n| {
            let base = if n % 2 == 0 {
                &first.base
            } else {
                &second.base
            };
            client
                .request(Method::PATCH, format!("{base}/api/v1/plans/{plan}"))
                .bearer_auth(&token)
                .json(&json!({"signer": format!("Người ký {n}")}))
                .send()
        });
        for answer in futures_util::future::join_all(updates).await {
            assert_eq!(answer.unwrap().status(), 200);
        }
        receiver
            .wait_for("every event", |r| r.len() >= EVENTS)
            .await;
        // Time for a duplicate to show up, had one been claimed twice.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let received = receiver.received();
        let mut ids: Vec<&str> = received.iter().map(|r| r.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            (received.len(), ids.len()),
            (EVENTS, EVENTS),
            "each event once"
        );
        let log = client
            .get(format!(
                "{}/api/v1/webhooks/{hook}/deliveries?limit=500",
                second.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let log = Answer::from(log).await.body;
        assert_eq!(log["total"], EVENTS);
        assert!(log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["attempts"] == 1));
        receiver.stop().await;
    }

    #[tokio::test]
    async fn two_processes_on_one_database_lose_no_update_and_create_once() {
        let schema = Schema::new();
        let first = Server::start(&schema.url(), false);
        let second = Server::start(&schema.url(), false);
        let client = reqwest::Client::new();
        let token = token(&client, &first.base).await;
        let plan = unit_and_plan(&client, &first.base, &token).await;
        // Idempotent creates through both processes at once.
        let body = json!({"unit_code": "SKHDT", "period": "2026"});
        let creates = (0..8).map(|n| {
            let base = if n % 2 == 0 {
                &first.base
            } else {
                &second.base
            };
            client
                .post(format!("{base}/api/v1/plans/{plan}/submissions"))
                .bearer_auth(&token)
                .header("idempotency-key", "both-processes")
                .json(&body)
                .send()
        });
        let answers = futures_util::future::join_all(creates).await;
        let mut id = None;
        for answer in answers {
            let answer = Answer::from(answer.unwrap()).await;
            assert!(
                answer.status == 201 || answer.status == 409,
                "{} {}",
                answer.status,
                answer.body
            );
            if answer.status == 201 {
                id = Some(answer.body["id"].as_i64().unwrap());
            }
        }
        let list = client
            .get(format!("{}/api/v1/submissions", second.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(Answer::from(list).await.body["total"], 1, "created once");
        // Concurrent edits with one ETag through both: exactly one wins.
        let id = id.expect("one create answered 201");
        let path = format!("/api/v1/submissions/{id}");
        let read = Answer::from(
            client
                .get(format!("{}{path}", first.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let tag = read.header("etag").unwrap().to_owned();
        let edits = (0..8).map(|n| {
            let base = if n % 2 == 0 {
                &first.base
            } else {
                &second.base
            };
            client
                .request(Method::PATCH, format!("{base}{path}"))
                .bearer_auth(&token)
                .header("if-match", &tag)
                .json(&json!({"results": format!("phiên bản {n}")}))
                .send()
        });
        let statuses: Vec<u16> = futures_util::future::join_all(edits)
            .await
            .into_iter()
            .map(|r| r.unwrap().status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 412).count(),
            7,
            "{statuses:?}"
        );
    }
}
