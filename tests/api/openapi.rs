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
        let committed: serde_json::Value = serde_json::from_str(&plan_tracker::openapi::document_json()).unwrap();
        assert_eq!(spec.body, committed);
        assert_eq!(
            spec.body["webhooks"]["event"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/EventPayload",
            "the events webhook receivers get are part of the contract"
        );
        let page = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "the docs page is served");
        assert!(!html.contains("unpkg.com") && !html.contains("cdn.jsdelivr"), "no CDN needed");
    }
}

backend_tests! { spawn_demo_app;
    async fn every_documented_sort_field_is_accepted_and_no_other(app) {
        // Each list documents its `sort` values as a pattern `^-?(a|b|c)$`; the handler keeps
        // its own list. They must agree, both ways.
        let token = app.token("admin").await;
        let doc = serde_json::to_value(plan_tracker::openapi::document()).unwrap();
        let mut lists = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(params) = item["get"]["parameters"].as_array() else { continue };
            let Some(sort) = params.iter().find(|p| p["name"] == "sort") else { continue };
            lists += 1;
            let pattern = sort["schema"]["pattern"].as_str().expect("sort has a pattern");
            let fields = pattern
                .strip_prefix("^-?(")
                .and_then(|p| p.strip_suffix(")$"))
                .unwrap_or_else(|| panic!("{path}: unexpected sort pattern {pattern}"));
            // The demo plan and task 1 exist; a parent the demo lacks (a submission) answers 404
            // whatever the sort, which is fine: what matters is that no documented value is 422.
            let path = path.replace("{plan_id}", "1").replace("{id}", "1");
            let exists = app.get(&path, &token).await.status == 200;
            for field in fields.split('|') {
                for sort in [field.to_owned(), format!("-{field}")] {
                    let answer = app.get(&format!("{path}?sort={sort}"), &token).await;
                    let expected = if exists { 200 } else { 404 };
                    assert_eq!(answer.status, expected, "{path}?sort={sort}: {}", answer.body);
                }
            }
            if exists {
                let answer = app.get(&format!("{path}?sort=password"), &token).await;
                assert_eq!(answer.problem(422)["errors"][0]["field"], "sort", "{path}");
            }
        }
        assert_eq!(lists, 12, "every list documents its sort fields");
    }
}
