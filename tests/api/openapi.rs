use crate::backend_tests;
use crate::helpers::Answer;

/// The committed contract must be what the code generates. Regenerate with
/// `cargo run -- openapi > openapi/openapi.json` (or run this test with UPDATE_OPENAPI=1).
#[test]
fn committed_openapi_matches_the_code() {
    let generated = plan_tracker::openapi::document_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

backend_tests! { spawn_app;
    async fn serves_the_contract_and_an_offline_docs_page(app) {
        let spec = Answer::from(app.client.get(app.url("/api-docs/openapi.json")).send().await.unwrap()).await;
        assert_eq!(spec.status, 200);
        assert_eq!(spec.body, serde_json::to_value(plan_tracker::openapi::document()).unwrap());
        let page = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "the docs page is served");
        assert!(!html.contains("unpkg.com") && !html.contains("cdn.jsdelivr"), "no CDN needed");
    }
}
