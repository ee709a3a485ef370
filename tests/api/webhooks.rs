//! Webhooks: administration, signed delivery to a loopback receiver, retries, the outbox's
//! transactional guarantee, overdue events raised once, and two processes on one PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::backend_tests;
use crate::helpers::TestApp;

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON payload")
    }
}

/// A loopback HTTP server that records what it is sent and answers 500 to the first
/// `failures` requests, then 200.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: actix_web::dev::ServerHandle,
}

struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    failures: AtomicUsize,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.received.lock().unwrap().push(Received {
        event_id: header("x-event-id"),
        timestamp: header("x-timestamp"),
        signature: header("x-signature"),
        body: body.to_vec(),
    });
    let failing = state
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        HttpResponse::InternalServerError().body("not now")
    } else {
        HttpResponse::Ok().finish()
    }
}

impl Receiver {
    pub fn start(failures: usize) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = web::Data::new(ReceiverState {
            received: received.clone(),
            failures: AtomicUsize::new(failures),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            received,
            server: handle,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (at most 20 s).
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "waited in vain for {what}; received {received:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

/// Recomputes the signature as a receiver would: HMAC-SHA256 over "<timestamp>.<body>".
pub fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let Some(hex) = received.signature.strip_prefix("sha256=") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(received.timestamp.as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    bytes.is_some_and(|b| mac.verify_slice(&b).is_ok())
}

/// Creates a webhook for `events` to `url` and returns (id, secret).
async fn subscribe(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (i64, String) {
    let created = app
        .post(
            "/api/v1/webhooks",
            token,
            &json!({"url": url, "events": events, "secret": "receiver-secret-0123456789"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (
        created.body["id"].as_i64().unwrap(),
        created.body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Plan 1148's id in the demo data.
async fn demo_plan(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/plans?q=1148", token).await.body["items"][0]["id"]
        .as_i64()
        .unwrap()
}

/// The webhook's delivery log.
async fn deliveries(app: &TestApp, token: &str, webhook: i64) -> Value {
    let answer = app
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries"), token)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// Waits until the webhook's log shows `count` deliveries, all delivered, and returns it.
async fn all_delivered(app: &TestApp, token: &str, webhook: i64, count: i64) -> Value {
    let started = Instant::now();
    loop {
        let log = deliveries(app, token, webhook).await;
        let items = log["items"].as_array().unwrap();
        if log["total"] == count && items.iter().all(|d| d["status"] == "delivered") {
            return log;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

backend_tests! { spawn_app;
    async fn admins_manage_webhooks_and_secrets_are_shown_once(app) {
        let admin = app.token("admin").await;
        let unknown = app.post("/api/v1/webhooks", &admin,
            &json!({"url": "https://portal.example.vn/h", "events": ["task.completed", "task.deleted", "plan.created"]})).await;
        let detail = unknown.problem(422)["errors"][0]["message"].as_str().unwrap().to_owned();
        assert_eq!(unknown.error_fields(), ["events"]);
        assert!(detail.contains("task.deleted, plan.created") && detail.contains("submission.overdue"), "{detail}");
        let bad = app.post("/api/v1/webhooks", &admin,
            &json!({"url": "ftp://portal.example.vn/h", "events": [], "secret": "short", "plan_id": 999})).await;
        assert_eq!(bad.problem(422)["errors"].as_array().unwrap().len(), 3, "{}", bad.body);
        let missing_plan = app.post("/api/v1/webhooks", &admin,
            &json!({"url": "https://portal.example.vn/h", "events": ["plan.updated"], "plan_id": 999})).await;
        assert_eq!(missing_plan.problem(422)["errors"][0]["field"], "plan_id");

        let created = app.post("/api/v1/webhooks", &admin,
            &json!({"url": "https://portal.example.vn/h", "events": ["task.completed", "plan.updated", "plan.updated"],
                "description": "Cổng dịch vụ công"})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        let path = format!("/api/v1/webhooks/{id}");
        assert_eq!(created.header("location"), Some(path.as_str()));
        assert_eq!(created.body["events"], json!(["task.completed", "plan.updated"]));
        let secret = created.body["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() == 70, "a generated secret: {secret}");

        let read = app.get(&path, &admin).await;
        assert_eq!(read.status, 200);
        assert!(read.body.get("secret").is_none(), "never shown again");
        let list = app.get("/api/v1/webhooks", &admin).await;
        assert_eq!(list.body["total"], 1);
        assert!(list.body["items"][0].get("secret").is_none());
        assert_eq!(deliveries(&app, &admin, id).await["total"], 0);

        let audit = app.get(&format!("/api/v1/audit?entity_type=webhook&entity_id={id}"), &admin).await;
        assert_eq!(audit.body["total"], 1);
        assert!(!audit.body.to_string().contains(secret), "the audit trail keeps no secret");
        assert_eq!(app.delete(&path, &admin).await.status, 204);
        app.get(&path, &admin).await.problem(404);
        app.delete(&path, &admin).await.problem(404);
        app.get(&format!("{path}/deliveries"), &admin).await.problem(404);
        let audit = app.get(&format!("/api/v1/audit?entity_type=webhook&entity_id={id}&sort=-id"), &admin).await;
        assert_eq!(audit.body["items"][0]["action"], "delete");
    }
}

backend_tests! { spawn_demo_app;
    async fn only_admins_manage_webhooks(app) {
        let planner = app.token("planner.thqh").await;
        app.get("/api/v1/webhooks", &planner).await.problem(403);
        app.post("/api/v1/webhooks", &planner, &json!({"url": "https://x.vn/", "events": ["plan.updated"]})).await.problem(403);
        app.get("/api/v1/webhooks/1/deliveries", &planner).await.problem(403);
    }

    async fn plain_http_targets_need_the_development_setting(app) {
        let admin = app.token("admin").await;
        let http = app.post("/api/v1/webhooks", &admin,
            &json!({"url": "http://127.0.0.1:9/h", "events": ["plan.updated"]})).await;
        let message = http.problem(422)["errors"][0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("https") && message.contains("WEBHOOK_ALLOW_HTTP"), "{message}");
    }
}

backend_tests! { spawn_webhook_app;
    async fn events_reach_a_loopback_receiver_signed(app) {
        let receiver = Receiver::start(0);
        let admin = app.token("admin").await;
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (webhook, secret) = subscribe(&app, &admin, &receiver.url,
            &["submission.submitted", "submission.accepted", "task.completed", "plan.updated"]).await;
        let plan = demo_plan(&app, &planner).await;
        let task = app.post(&format!("/api/v1/plans/{plan}/tasks"), &planner,
            &json!({"code": "W1", "title": "Kết nối cổng dịch vụ công", "lead_unit_code": "SKHDT-DKKD", "due_label": "Năm 2025"})).await;
        let task_id = task.body["id"].as_i64().unwrap();
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer,
            &json!({"unit_code": "SKHDT-DKKD", "period": "2024",
                "task_updates": [{"task_id": task_id, "status": "completed", "progress_percent": 100, "completed_on": "2024-10-01"}]})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(app.post(&format!("/api/v1/submissions/{id}/submit"), &officer, &json!({})).await.status, 200);
        assert_eq!(app.post(&format!("/api/v1/submissions/{id}/accept"), &planner, &json!({})).await.status, 200);
        assert_eq!(app.patch(&format!("/api/v1/plans/{plan}"), &planner, &json!({"signer": "Giám đốc Sở"})).await.status, 200);

        let received = receiver.wait_for("four events", |r| r.len() >= 4).await;
        let mut types: Vec<String> = received.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
        types.sort();
        assert_eq!(types, ["plan.updated", "submission.accepted", "submission.submitted", "task.completed"]);
        for r in &received {
            assert!(signature_is_valid(&secret, r), "the signature verifies: {r:?}");
            assert!(!signature_is_valid("another-secret-000000", r));
            let payload = r.json();
            assert_eq!(payload["id"], r.event_id.as_str(), "X-Event-Id is the payload's id");
            assert!(payload["occurred_at"].as_str().unwrap().ends_with('Z'));
            let age = chrono::Utc::now().timestamp() - r.timestamp.parse::<i64>().unwrap();
            assert!((0..60).contains(&age), "X-Timestamp is the sending time");
        }
        let accepted = received.iter().map(Received::json).find(|p| p["type"] == "submission.accepted").unwrap();
        assert_eq!(accepted["data"]["submission_id"], id);
        assert_eq!(accepted["data"]["unit_code"], "SKHDT-DKKD");
        assert_eq!(accepted["data"]["status"], "accepted");
        let completed = received.iter().map(Received::json).find(|p| p["type"] == "task.completed").unwrap();
        assert_eq!((completed["data"]["task_id"].as_i64(), completed["data"]["completed_on"].as_str()), (Some(task_id), Some("2024-10-01")));
        let updated = received.iter().map(Received::json).find(|p| p["type"] == "plan.updated").unwrap();
        assert_eq!(updated["data"]["source"], "update");

        let log = all_delivered(&app, &admin, webhook, 4).await;
        for item in log["items"].as_array().unwrap() {
            assert_eq!((item["status"].as_str(), item["attempts"].as_i64(), item["last_http_status"].as_i64()),
                (Some("delivered"), Some(1), Some(200)), "{item}");
            assert!(item["next_attempt_at"].is_null());
        }
        receiver.stop().await;
    }

    async fn a_failing_receiver_gets_the_same_event_again(app) {
        let receiver = Receiver::start(2);
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        let (webhook, secret) = subscribe(&app, &admin, &receiver.url, &["plan.updated"]).await;
        let plan = demo_plan(&app, &planner).await;
        assert_eq!(app.patch(&format!("/api/v1/plans/{plan}"), &planner, &json!({"signer": "Phó Giám đốc"})).await.status, 200);
        let received = receiver.wait_for("three attempts", |r| r.len() >= 3).await;
        let first = &received[0].event_id;
        assert!(received.iter().all(|r| &r.event_id == first), "one event id on every attempt");
        assert!(received.iter().all(|r| signature_is_valid(&secret, r)));
        let item = all_delivered(&app, &admin, webhook, 1).await["items"][0].clone();
        assert_eq!(item["attempts"], 3);
        assert_eq!(item["last_http_status"], 200);
        assert_eq!(item["event_id"], first.as_str());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), 3, "nothing is sent after delivery");
        let pending = app.get(&format!("/api/v1/webhooks/{webhook}/deliveries?status=pending"), &admin).await;
        assert_eq!(pending.body["total"], 0);
        receiver.stop().await;
    }

    async fn an_import_is_a_plan_update_and_a_dry_run_is_nothing(app) {
        let receiver = Receiver::start(0);
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        let (webhook, _) = subscribe(&app, &admin, &receiver.url, &["plan.updated"]).await;
        let plan = app.create_plan(&planner, "1148-hooks").await;
        // A webhook limited to another plan hears nothing of this one.
        let other_plan = demo_plan(&app, &planner).await;
        let elsewhere = app.post("/api/v1/webhooks", &admin,
            &json!({"url": receiver.url, "events": ["plan.updated"], "plan_id": other_plan})).await;
        assert_eq!(elsewhere.body["plan_id"], other_plan);
        let elsewhere = elsewhere.body["id"].as_i64().unwrap();
        let tasks = [("tasks", crate::imports::TASKS.as_bytes().to_vec())];
        let before = app.count("outbox_events");
        let dry = crate::imports::upload(&app, &planner, plan, "?dry_run=true", &tasks).await;
        assert_eq!((dry.status.as_u16(), &dry.body["dry_run"]), (200, &json!(true)), "{}", dry.body);
        assert_eq!(app.count("outbox_events"), before, "a dry run changes nothing, so says nothing");
        let real = crate::imports::upload(&app, &planner, plan, "", &tasks).await;
        assert_eq!(real.status, 200, "{}", real.body);
        let received = receiver.wait_for("the import's event", |r| !r.is_empty()).await;
        let payload = received[0].json();
        assert_eq!((payload["type"].as_str(), payload["data"]["source"].as_str()), (Some("plan.updated"), Some("import")));
        assert_eq!(payload["data"]["plan_id"], plan);
        all_delivered(&app, &admin, webhook, 1).await;
        assert_eq!(deliveries(&app, &admin, elsewhere).await["total"], 0);
        receiver.stop().await;
    }

    async fn a_refused_change_raises_no_event(app) {
        let admin = app.token("admin").await;
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        subscribe(&app, &admin, "http://127.0.0.1:9/never", &["submission.submitted", "submission.accepted"]).await;
        let plan = demo_plan(&app, &planner).await;
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer,
            &json!({"unit_code": "SKHDT-DKKD", "period": "2024"})).await;
        let id = created.body["id"].as_i64().unwrap();
        let before = (app.count("outbox_events"), app.count("webhook_deliveries"));
        // Accepting a draft is refused by the workflow after the transaction began.
        app.post(&format!("/api/v1/submissions/{id}/accept"), &admin, &json!({})).await.problem(409);
        assert_eq!((app.count("outbox_events"), app.count("webhook_deliveries")), before);
        assert_eq!(app.post(&format!("/api/v1/submissions/{id}/submit"), &officer, &json!({})).await.status, 200);
        assert_eq!((app.count("outbox_events"), app.count("webhook_deliveries")), (before.0 + 1, before.1 + 1));
        app.post(&format!("/api/v1/submissions/{id}/submit"), &officer, &json!({})).await.problem(409);
        assert_eq!(app.count("outbox_events"), before.0 + 1, "a second submit is refused and silent");
    }

    async fn overdue_events_are_raised_once(app) {
        let receiver = Receiver::start(0);
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        let (webhook, _) = subscribe(&app, &admin, &receiver.url, &["task.overdue", "submission.overdue"]).await;
        let today = plan_tracker::domain::timeliness::local_date(chrono::Utc::now());
        let year = chrono::Datelike::year(&today);
        let plan = app.create_plan(&planner, "9/KH-HOOKS").await;
        let widened = app.patch(&format!("/api/v1/plans/{plan}"), &planner,
            &json!({"period_start_year": year - 1, "period_end_year": year + 1})).await;
        assert_eq!(widened.status, 200, "{}", widened.body);
        // Monthly reports from one unit, due through the month's last day.
        let schedules = json!({"items": [{"period_type": "month", "deadline": {"days_after_period_end": 0}, "unit_codes": ["SKHDT-DKKD"]}]});
        let put = app.call(reqwest::Method::PUT, &format!("/api/v1/plans/{plan}/schedules"), Some(&planner), Some(&schedules)).await;
        assert_eq!(put.status, 200, "{}", put.body);
        let yesterday = today.pred_opt().unwrap();
        let three_days_ago = today - chrono::TimeDelta::days(3);
        let task = app.post(&format!("/api/v1/plans/{plan}/tasks"), &planner,
            &json!({"code": "T1", "title": "Báo cáo quá hạn", "lead_unit_code": "SKHDT-DKKD", "due_date": three_days_ago, "status": "in_progress"})).await;
        assert_eq!(task.status, 201, "{}", task.body);
        let task_id = task.body["id"].as_i64().unwrap();
        let done = app.post(&format!("/api/v1/plans/{plan}/tasks"), &planner,
            &json!({"code": "T2", "title": "Đã xong", "due_date": yesterday, "status": "completed", "completed_on": yesterday})).await;
        assert_eq!(done.status, 201, "{}", done.body);

        // 40 days back reach one or two month-ends: each month's report is missing once.
        let scan = |pool: plan_tracker::db::Pool| {
            let mut conn = pool.get().unwrap();
            plan_tracker::webhooks::overdue::scan(&mut conn, chrono::Utc::now(), 40).unwrap()
        };
        let first = scan(app.pool.clone());
        let months = (1..=2).filter(|back| {
            let end = chrono::NaiveDate::from_ymd_opt(year, chrono::Datelike::month(&today), 1).unwrap()
                .checked_sub_months(chrono::Months::new(back - 1)).unwrap().pred_opt().unwrap();
            (today - end).num_days() <= 40
        }).count();
        let raised: Vec<String> = {
            let received = receiver.wait_for("the overdue events", |r| r.len() > months).await;
            received.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect()
        };
        assert!(first > months, "raised {first}: the task and each missing month");
        assert_eq!(scan(app.pool.clone()), 0, "a second scan raises nothing");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let received = receiver.received();
        let reports: Vec<Value> = received.iter().map(Received::json).filter(|p| p["type"] == "submission.overdue").collect();
        assert_eq!(reports.len(), months, "{reports:?}");
        assert!(reports.iter().all(|p| p["data"]["unit_code"] == "SKHDT-DKKD" && p["data"]["plan_id"] == plan));

        // An approved extension moves the deadline in force; when the new one passes too, the
        // task is announced again, once.
        let extended = app.post(&format!("/api/v1/tasks/{task_id}/extensions"), &planner,
            &json!({"new_due_date": yesterday, "reason": "Chờ ý kiến Sở Tài chính", "approved_by": "Giám đốc Sở"})).await;
        assert_eq!(extended.status, 201, "{}", extended.body);
        assert_eq!(scan(app.pool.clone()), 1);
        assert_eq!(scan(app.pool.clone()), 0);
        let received = receiver.wait_for("the second overdue event", |r| r.len() >= 2 + months).await;
        let due: Vec<String> = received.iter().map(Received::json).filter(|p| p["type"] == "task.overdue")
            .inspect(|p| assert_eq!(p["data"]["task_id"], task_id))
            .map(|p| p["data"]["due_date"].as_str().unwrap().to_owned()).collect();
        assert_eq!(due, [three_days_ago.to_string(), yesterday.to_string()], "{raised:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.received().len(), 2 + months, "each once");
        all_delivered(&app, &admin, webhook, (2 + months) as i64).await;
        receiver.stop().await;
    }
}
