use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::TestApp;

/// A new, empty plan (the demo plan already holds plan 1148's content).
async fn plan_id(app: &TestApp, token: &str) -> i64 {
    app.create_plan(token, "20/KH-TEST").await
}

fn indicator(
    code: &str,
    parent: Option<i64>,
    baseline: Option<f64>,
    target: f64,
    aggregation: &str,
) -> Value {
    json!({
        "code": code, "name": format!("Chỉ tiêu {code}"), "measure_unit": "Dự án",
        "parent_id": parent, "baseline_value": baseline, "baseline_label": "2016–2020",
        "target": {"kind": "at_least", "value": target, "scope": "plan_period"},
        "aggregation": aggregation, "responsible_unit_code": "SKHDT-HTDT",
        "coordinating_unit_codes": ["BQL-KKT"]
    })
}

backend_tests! { spawn_demo_app;
    async fn parents_and_children_add_up_or_say_they_do_not(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/indicators");
        let parent = app.post(&path, &planner, &indicator("2", None, Some(16.0), 25.0, "sum_of_children")).await;
        assert_eq!(parent.status, 201, "{}", parent.body);
        let parent_id = parent.body["id"].as_i64().unwrap();
        assert_eq!(parent.header("location"), Some(format!("/api/v1/indicators/{parent_id}").as_str()));
        for (code, baseline, target) in [("2.1", 13.0, 18.0), ("2.2", 3.0, 7.0)] {
            let child = app.post(&path, &planner, &indicator(code, Some(parent_id), Some(baseline), target, "sum")).await;
            assert_eq!(child.status, 201, "{}", child.body);
        }
        let read = app.get(&format!("/api/v1/indicators/{parent_id}"), &planner).await;
        assert_eq!(read.body["inconsistencies"], json!([]), "13+3=16 and 18+7=25");
        assert_eq!(read.body["coordinating_unit_codes"], json!(["BQL-KKT"]));

        let changed = app.patch(&format!("/api/v1/indicators/{parent_id}"), &planner,
            &json!({"target": {"kind": "at_least", "value": 30, "scope": "plan_period"}})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        let found = changed.body["inconsistencies"].as_array().unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].as_str().unwrap().contains("25"));

        let children = app.get(&format!("{path}?parent_id={parent_id}&sort=-code"), &planner).await;
        assert_eq!(children.body["total"], 2);
        assert_eq!(children.body["items"][0]["code"], "2.2");
        app.delete(&format!("/api/v1/indicators/{parent_id}"), &planner).await.problem(409);
        app.delete(&format!("/api/v1/plans/{plan}"), &planner).await.problem(409);
        assert_eq!(app.count("indicators"), 7 + 3, "plan 1148's and the three created");
    }

    async fn indicator_rules_are_enforced(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/indicators");
        let parent = app.post(&path, &planner, &indicator("4", None, None, 5.0, "last")).await;
        let parent_id = parent.body["id"].as_i64().unwrap();

        let mut rank = indicator("5", None, None, 2.5, "last");
        rank["target"] = json!({"kind": "rank_at_most", "value": 2.5, "scope": "each_year"});
        rank["responsible_unit_code"] = json!("NOPE");
        let answer = app.post(&path, &planner, &rank).await;
        answer.problem(422);
        assert_eq!(answer.error_fields(), ["target.value"]);
        rank["target"]["value"] = json!(5);
        let answer = app.post(&path, &planner, &rank).await;
        assert_eq!(answer.problem(422)["errors"][0]["field"], "responsible_unit_code");

        let wrong_code = app.post(&path, &planner, &indicator("3.1", Some(parent_id), None, 6.0, "sum")).await;
        assert_eq!(wrong_code.problem(422)["errors"][0]["field"], "code");
        let orphan = app.post(&path, &planner, &indicator("4.1", None, None, 6.0, "sum")).await;
        orphan.problem(422);
        let duplicate = app.post(&path, &planner, &indicator("4", None, None, 5.0, "last")).await;
        assert_eq!(duplicate.problem(409)["existing"], format!("/api/v1/indicators/{parent_id}"));
        let officer = app.token("officer.htdt").await;
        app.post(&path, &officer, &indicator("6", None, None, 1.0, "sum")).await.problem(403);
        app.get("/api/v1/plans/999/indicators", &planner).await.problem(404);
        assert_eq!(app.count("indicators"), 7 + 1);
        let viewer = app.token("viewer.portal").await;
        let list = app.get(&format!("{path}?responsible_unit=SKHDT-HTDT"), &viewer).await;
        assert_eq!(list.body["total"], 1);
    }

    // On PostgreSQL a worker's concurrent reads by id share one pipelined connection
    // (src/db/pipeline.rs): each must still get its own row, see a change committed before
    // it was sent, and a missing id must stay a 404.
    async fn concurrent_reads_by_id_each_get_their_own_indicator(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/indicators");
        let mut ids = Vec::new();
        for n in 1..=12 {
            let created = app.post(&path, &planner, &indicator(&n.to_string(), None, None, n as f64, "sum")).await;
            assert_eq!(created.status, 201, "{}", created.body);
            ids.push((created.body["id"].as_i64().unwrap(), n));
        }
        let reads = (0..8).flat_map(|_| ids.iter()).map(|&(id, n)| {
            let planner = &planner;
            let app = &app;
            async move { (n, app.get(&format!("/api/v1/indicators/{id}"), planner).await) }
        });
        for (n, read) in futures_util::future::join_all(reads).await {
            assert_eq!(read.status, 200, "{}", read.body);
            assert_eq!(read.body["code"], n.to_string());
            assert_eq!(read.body["target"]["value"], n as f64);
        }

        let (id, _) = ids[0];
        let changed = app.patch(&format!("/api/v1/indicators/{id}"), &planner, &json!({"name": "Đã đổi tên"})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        for _ in 0..4 {
            let read = app.get(&format!("/api/v1/indicators/{id}"), &planner).await;
            assert_eq!(read.body["name"], "Đã đổi tên", "a read after the write sees it");
        }
        let missing = app.get("/api/v1/indicators/999999", &planner).await;
        assert!(missing.problem(404)["detail"].as_str().unwrap().contains("999999"));
    }
}
