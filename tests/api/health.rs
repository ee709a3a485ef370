use plan_tracker::db;
use plan_tracker::startup::Application;

use crate::backend_tests;
use crate::helpers::{settings_with, Answer};

backend_tests! { spawn_app;
    async fn probes_answer_with_request_id_and_security_headers(app) {
        let live = Answer::from(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
        assert_eq!(live.status, 200);
        assert_eq!(live.body["status"], "ok");
        let ready = Answer::from(
            app.client.get(app.url("/readyz")).header("X-Request-Id", "portal-req-42").send().await.unwrap(),
        )
        .await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body["status"], "ready");
        assert_eq!(ready.header("x-request-id"), Some("portal-req-42"), "an incoming id is echoed");
        assert!(live.header("x-request-id").is_some_and(|id| id.len() >= 32), "an id is generated");
        assert_eq!(live.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(live.header("cache-control"), Some("no-store"));
        assert!(live.header("server").is_none(), "no server banner");
    }
}

#[tokio::test]
async fn readiness_fails_fast_when_the_database_is_unreachable() {
    // Nothing listens on port 1: the pool can never connect.
    let settings = settings_with(
        "postgres://postgres@127.0.0.1:1/none",
        &[("DB_TIMEOUT_SECS", "1")],
    );
    let pool = db::build_pool(&settings.database_url, 2, settings.db_checkout_timeout).unwrap();
    let app = Application::build_with_pool(settings, pool).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let started = std::time::Instant::now();
    let ready = Answer::from(client.get(format!("{base}/readyz")).send().await.unwrap()).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no hang"
    );
    ready.problem(503);
    assert!(ready.header("retry-after").is_some());

    let login = Answer::from(
        client
            .post(format!("{base}/api/v1/auth/token"))
            .json(&serde_json::json!({"username": "admin", "password": "whatever-123"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    login.problem(503);

    let live = Answer::from(client.get(format!("{base}/healthz")).send().await.unwrap()).await;
    assert_eq!(live.status, 200, "liveness does not depend on the database");
}
