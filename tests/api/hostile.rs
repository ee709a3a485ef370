//! Hostile input against every write endpoint: each answer is a 4xx problem and nothing is
//! stored, not even an audit row.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Answer, TestApp};

const TABLES: [&str; 19] = [
    "units",
    "users",
    "plans",
    "indicators",
    "tasks",
    "task_extensions",
    "schedules",
    "submissions",
    "submission_values",
    "submission_task_updates",
    "idempotency_keys",
    "audit_log",
    "unit_successions",
    "responsibility_transfers",
    "webhooks",
    "webhook_events",
    "outbox_events",
    "webhook_deliveries",
    "api_clients",
];

fn counts(app: &TestApp) -> Vec<i64> {
    TABLES.iter().map(|t| app.count(t)).collect()
}

async fn raw(app: &TestApp, method: Method, path: &str, token: &str, body: Vec<u8>) -> Answer {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

backend_tests! { spawn_demo_app;
    async fn hostile_bodies_are_refused_and_store_nothing(app) {
        let admin = app.token("admin").await;
        let plan = app.get("/api/v1/plans?q=1148", &admin).await.body["items"][0]["id"].as_i64().unwrap();
        let other_plan = app.create_plan(&admin, "99/KH-OTHER").await;
        let foreign = app.post(&format!("/api/v1/plans/{other_plan}/indicators"), &admin, &json!({
            "code": "1", "name": "X", "measure_unit": "Dự án", "target": {"kind": "at_least", "value": 1, "scope": "plan_period"},
            "aggregation": "sum", "responsible_unit_code": "SKHDT-DKKD"})).await.body["id"].as_i64().unwrap();
        let task = app.get(&format!("/api/v1/plans/{plan}/tasks"), &admin).await.body["items"][0]["id"].as_i64().unwrap();
        let indicator = app.get(&format!("/api/v1/plans/{plan}/indicators"), &admin).await.body["items"][0]["id"].as_i64().unwrap();
        let client = app.post("/api/v1/clients", &admin, &json!({"name": "Cổng", "roles": ["viewer"]}))
            .await.body["id"].as_i64().unwrap();
        let before = counts(&app);

        let endpoints: Vec<(Method, String)> = vec![
            (Method::POST, "/api/v1/units".into()),
            (Method::PATCH, "/api/v1/units/STC".into()),
            (Method::POST, "/api/v1/units/SKHDT-DKKD/succession".into()),
            (Method::POST, "/api/v1/users".into()),
            (Method::PATCH, "/api/v1/users/2".into()),
            (Method::POST, "/api/v1/plans".into()),
            (Method::PATCH, format!("/api/v1/plans/{plan}")),
            (Method::POST, format!("/api/v1/plans/{plan}/indicators")),
            (Method::PATCH, format!("/api/v1/indicators/{indicator}")),
            (Method::POST, format!("/api/v1/plans/{plan}/tasks")),
            (Method::PATCH, format!("/api/v1/tasks/{task}")),
            (Method::POST, format!("/api/v1/tasks/{task}/extensions")),
            (Method::PUT, format!("/api/v1/plans/{plan}/schedules")),
            (Method::POST, format!("/api/v1/plans/{plan}/submissions")),
            (Method::POST, "/api/v1/webhooks".into()),
            (Method::POST, "/api/v1/clients".into()),
            (Method::PATCH, format!("/api/v1/clients/{client}")),
            (Method::POST, "/api/v1/auth/token".into()),
        ];
        // 100 000 characters: within the body limit, far over every field's documented maximum.
        let long = "a".repeat(100_000);
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("malformed", b"{\"code\": ".to_vec()),
            ("truncated", b"{\"name\": \"Phong".to_vec()),
            ("not an object", b"\"text\"".to_vec()),
            ("NaN", b"{\"value\": NaN}".to_vec()),
            ("Infinity", b"{\"progress_percent\": Infinity}".to_vec()),
            ("huge number", b"{\"period_start_year\": 1e309}".to_vec()),
            ("invalid UTF-8", vec![b'{', b'"', b'n', b'a', b'm', b'e', b'"', b':', b'"', 0xc3, 0x28, b'"', b'}']),
            ("unknown field", br#"{"drop_table": "units"}"#.to_vec()),
            ("top-level array", br#"["X", "Y", "internal"]"#.to_vec()),
            ("nested objects as arrays", json!({"code": "Z", "name": "Z", "measure_unit": "x", "aggregation": "sum", "unit_code": "SKHDT-DKKD", "period": "2023",
                "target": ["at_least", 1, "plan_period"], "indicator_values": [[indicator, 1.0, "actual"]], "items": [["year", {"fixed": "11-30"}]],
                "successors": [["STC", null]], "effective_on": "2025-03-01", "transfer": [true, true, true]}).to_string().into_bytes()),
            ("wrong types", br#"{"code": 1, "name": [], "kind": {}, "title": false, "unit_code": 7, "period": 2024, "items": "x", "new_due_date": 5}"#.to_vec()),
            ("NUL bytes", json!({"name": "a\u{0}b", "title": "a\u{0}b", "reason": "a\u{0}b", "full_name": "a\u{0}b", "code": "A\u{0}"}).to_string().into_bytes()),
            ("injection", json!({"code": "X'; DROP TABLE units;--", "name": "'; DROP TABLE plans;--", "username": "a'--", "unit_code": "' OR 1=1 --", "period": "2024' --"}).to_string().into_bytes()),
            ("path traversal", json!({"code": "../../etc/passwd", "unit_code": "../SKHDT"}).to_string().into_bytes()),
            ("100 000-character code", json!({"code": long, "username": long}).to_string().into_bytes()),
            ("100 000-character names", json!({"name": long, "title": long}).to_string().into_bytes()),
            ("100 000-character text", json!({"full_name": long, "reason": long, "difficulties": long}).to_string().into_bytes()),
            ("invalid dates", json!({"issued_on": "2023-02-30", "due_date": "2023-02-30", "new_due_date": "2023-13-01", "valid_from": "30/02/2023", "completed_on": "2023-02-29"}).to_string().into_bytes()),
            ("negative counts", json!({"unit_code": "SKHDT-DKKD", "period": "2023", "progress_percent": -5, "indicator_values": [{"indicator_id": indicator, "value": -3, "kind": "actual"}]}).to_string().into_bytes()),
            ("another plan's id", json!({"unit_code": "SKHDT-DKKD", "period": "2023", "parent_id": foreign, "indicator_values": [{"indicator_id": foreign, "value": 1, "kind": "actual"}]}).to_string().into_bytes()),
        ];
        for (method, path) in &endpoints {
            for (name, body) in &bodies {
                let answer = raw(&app, method.clone(), path, &admin, body.clone()).await;
                assert!(answer.status.is_client_error(), "{method} {path} {name}: {} {}", answer.status, answer.body);
                assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{method} {path} {name}");
                let text = answer.body.to_string().to_lowercase();
                for leak in ["select ", "insert ", "sqlite", "postgres", "/src/", ".rs:", "panicked"] {
                    assert!(!text.contains(leak), "{method} {path} {name} leaks {leak:?}: {text}");
                }
            }
        }
        let oversized = vec![b' '; 300_000];
        for (method, path) in &endpoints {
            raw(&app, method.clone(), path, &admin, oversized.clone()).await.problem(413);
        }
        for path in [
            "/api/v1/units/..%2F..%2Fetc",
            "/api/v1/plans/1%20OR%201=1",
            "/api/v1/indicators/-1",
            "/api/v1/submissions?unit=%27%20OR%201%3D1--&period=2024",
            "/api/v1/plans?q=%25%27%3B--&issuer_unit=%27%20OR%20%271%27%3D%271",
        ] {
            let answer = app.get(path, &admin).await;
            assert!(answer.status.is_client_error() || answer.body["total"] == 0, "{path}: {} {}", answer.status, answer.body);
        }
        assert_eq!(counts(&app), before, "no row stored in {TABLES:?}");
    }
}
