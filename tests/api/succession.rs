//! Units that merge and split: responsibility follows the successor from the effective day,
//! history keeps the unit of its time.

use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::TestApp;

async fn plan_1148(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/plans?q=1148", token).await.body["items"][0]["id"]
        .as_i64()
        .unwrap()
}

/// The ids of the items listed at `path`.
async fn ids(app: &TestApp, token: &str, path: &str) -> Vec<i64> {
    let answer = app.get(path, token).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn progress(app: &TestApp, token: &str, plan: i64, as_of: &str) -> Value {
    let answer = app
        .get(
            &format!("/api/v1/plans/{plan}/progress?as_of={as_of}"),
            token,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The responsible unit of indicator `id` in a progress answer.
fn responsible(progress: &Value, id: i64) -> String {
    progress["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .map(|i| i["responsible_unit_code"].as_str().unwrap_or("").to_owned())
        .unwrap()
}

/// Compliance of `period` judged on `as_of`: unit code → (state, submission id).
async fn compliance(
    app: &TestApp,
    token: &str,
    plan: i64,
    period: &str,
    as_of: &str,
) -> Vec<(String, String, Option<i64>)> {
    let answer = app
        .get(
            &format!("/api/v1/plans/{plan}/compliance?period={period}&as_of={as_of}"),
            token,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unit_code"].as_str().unwrap().to_owned(),
                u["state"].as_str().unwrap().to_owned(),
                u["submission_id"].as_i64(),
            )
        })
        .collect()
}

/// The ids of a unit's dashboard's `part` (indicators or tasks) on `day`.
async fn dashboard(app: &TestApp, token: &str, unit: &str, day: &str, part: &str) -> Vec<i64> {
    let answer = app
        .get(
            &format!("/api/v1/units/{unit}/dashboard?as_of={day}"),
            token,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body[part]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

backend_tests! {
    spawn_demo_app;

    async fn demo_records_the_reorganisation_of_2025(app) {
        let planner = app.token("planner.thqh").await;
        let skhdt = app.get("/api/v1/units/SKHDT", &planner).await.body;
        assert_eq!(skhdt["valid_to"], "2025-02-28");
        assert_eq!(skhdt["successor_code"], "STC");
        assert_eq!(skhdt["successors"], json!([{"code": "STC", "share": null, "effective_on": "2025-03-01"}]));
        let stc = app.get("/api/v1/units/STC", &planner).await.body;
        assert_eq!(stc["predecessors"][0]["code"], "SKHDT");
        let city = app.get("/api/v1/units/UBND-TPCL", &planner).await.body;
        assert_eq!(city["valid_to"], "2025-06-30");
        assert_eq!(city["successor_code"], Value::Null, "a split has no single successor");
        let wards: Vec<&str> = city["successors"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
        assert_eq!(wards, ["UBND-PCL", "UBND-PMN", "UBND-PMT"]);

        // The city only coordinated: its place among coordinating units went to the wards.
        let plan = plan_1148(&app, &planner).await;
        let tasks = app.get(&format!("/api/v1/plans/{plan}/tasks?sort=code"), &planner).await;
        assert_eq!(tasks.body["items"][0]["coordinating_unit_codes"], json!(["STC", "UBND-PCL", "UBND-PMN", "UBND-PMT"]));
        let indicators = app.get(&format!("/api/v1/plans/{plan}/indicators?q=đấu giá"), &planner).await;
        assert_eq!(indicators.body["items"][0]["coordinating_unit_codes"], json!(["UBND-PCL", "UBND-PMN", "UBND-PMT"]));
    }

    async fn a_merge_moves_responsibility_from_its_effective_day(app) {
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        let dkkd = app.token("officer.dkkd").await;
        let plan = plan_1148(&app, &planner).await;
        app.create_unit(&admin, "STC-DKKD", "Phòng Đăng ký kinh doanh (Sở Tài chính)").await;
        let held = ids(&app, &planner, &format!("/api/v1/plans/{plan}/indicators?responsible_unit=SKHDT-DKKD")).await;
        assert!(!held.is_empty());
        let indicator = held[0];
        // 2023 reported and accepted before the merger; a 2025 draft still open.
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &dkkd, &json!({"unit_code": "SKHDT-DKKD", "period": "2023",
            "indicator_values": [{"indicator_id": indicator, "value": 140.0, "kind": "actual"}]})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let accepted = created.body["id"].as_i64().unwrap();
        app.post(&format!("/api/v1/submissions/{accepted}/submit"), &dkkd, &json!({})).await;
        assert_eq!(app.post(&format!("/api/v1/submissions/{accepted}/accept"), &planner, &json!({})).await.status, 200);
        let draft = app.post(&format!("/api/v1/plans/{plan}/submissions"), &dkkd, &json!({"unit_code": "SKHDT-DKKD", "period": "2025"})).await;
        assert_eq!(draft.status, 201, "{}", draft.body);
        let draft = draft.body["id"].as_i64().unwrap();

        let (audit_before, successions_before) = (app.count("audit_log"), app.count("unit_successions"));
        let merge = json!({"successors": [{"code": "STC-DKKD", "share": 1.0}], "effective_on": "2025-03-01",
            "transfer": {"indicators": true, "tasks": true, "open_submissions": true}});
        assert_eq!(app.post("/api/v1/units/SKHDT-DKKD/succession", &dkkd, &merge).await.status, 403, "officers cannot");
        let answer = app.post("/api/v1/units/SKHDT-DKKD/succession", &admin, &merge).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.header("location"), Some("/api/v1/units/SKHDT-DKKD"));
        assert_eq!(answer.body["unit"]["valid_to"], "2025-02-28");
        assert_eq!(answer.body["unit"]["successor_code"], "STC-DKKD");
        let mut moved: Vec<i64> = answer.body["moved"].as_array().unwrap().iter()
            .filter(|m| m["kind"] == "indicator").map(|m| m["id"].as_i64().unwrap()).collect();
        moved.sort();
        let mut held = held;
        held.sort();
        assert_eq!(moved, held);
        assert_eq!(answer.body["moved_submissions"], json!([draft]));
        let moved_count = answer.body["moved"].as_array().unwrap().len() as i64;
        assert_eq!(app.count("audit_log"), audit_before + moved_count + 1, "one record per move and one for the succession");
        assert_eq!(app.count("unit_successions"), successions_before + 1);

        // Now: the successor holds the indicators; the old unit's report keeps its maker.
        assert_eq!(ids(&app, &planner, &format!("/api/v1/plans/{plan}/indicators?responsible_unit=STC-DKKD&sort=id")).await, held);
        assert!(ids(&app, &planner, &format!("/api/v1/plans/{plan}/indicators?responsible_unit=SKHDT-DKKD")).await.is_empty());
        // (Drafts are visible to their unit and admins only.)
        assert_eq!(ids(&app, &admin, "/api/v1/submissions?unit=STC-DKKD").await, [draft]);
        let all = app.get("/api/v1/submissions?unit=STC-DKKD&include_predecessors=true&sort=id", &admin).await;
        let makers: Vec<(i64, &str)> = all.body["items"].as_array().unwrap().iter()
            .map(|s| (s["id"].as_i64().unwrap(), s["unit_code"].as_str().unwrap())).collect();
        assert_eq!(makers, [(accepted, "SKHDT-DKKD"), (draft, "STC-DKKD")]);

        // As of a day before the merger the old unit is responsible and owes; after it, the
        // successor, whose predecessor's report counts for it.
        assert_eq!(responsible(&progress(&app, &planner, plan, "2025-02-28").await, indicator), "SKHDT-DKKD");
        assert_eq!(responsible(&progress(&app, &planner, plan, "2025-03-01").await, indicator), "STC-DKKD");
        let then = compliance(&app, &planner, plan, "2023", "2024-12-31").await;
        assert!(then.contains(&("SKHDT-DKKD".into(), "late".into(), Some(accepted))), "{then:?}");
        assert!(!then.iter().any(|u| u.0 == "STC-DKKD"));
        let now = compliance(&app, &planner, plan, "2023", "2026-01-15").await;
        assert!(now.contains(&("STC-DKKD".into(), "late".into(), Some(accepted))), "{now:?}");
        assert!(!now.iter().any(|u| u.0 == "SKHDT-DKKD"));
        assert!(dashboard(&app, &planner, "SKHDT-DKKD", "2025-02-28", "indicators").await.contains(&indicator));
        assert!(!dashboard(&app, &planner, "SKHDT-DKKD", "2025-03-01", "indicators").await.contains(&indicator));
        assert!(dashboard(&app, &planner, "STC-DKKD", "2026-01-15", "indicators").await.contains(&indicator));

        let again = app.post("/api/v1/units/SKHDT-DKKD/succession", &admin, &merge).await;
        again.problem(409);
        app.patch("/api/v1/units/SKHDT-DKKD", &admin, &json!({"valid_to": null})).await.problem(409);
        assert_eq!(app.patch("/api/v1/units/SKHDT-DKKD", &admin, &json!({"short_name": "ĐKKD (cũ)"})).await.status, 200);
    }

    async fn a_split_needs_an_assignment_for_every_item(app) {
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        let plan = plan_1148(&app, &planner).await;
        for (code, name) in [("HTDT-A", "Trung tâm Khởi nghiệp A"), ("HTDT-B", "Trung tâm Khởi nghiệp B")] {
            app.create_unit(&admin, code, name).await;
        }
        let indicators = ids(&app, &planner, &format!("/api/v1/plans/{plan}/indicators?responsible_unit=SKHDT-TTHTDN")).await;
        let tasks = ids(&app, &planner, &format!("/api/v1/plans/{plan}/tasks?lead_unit=SKHDT-TTHTDN")).await;
        assert!(!indicators.is_empty() && !tasks.is_empty());
        let split = |assignments: Value, open: bool| json!({
            "successors": [{"code": "HTDT-A", "share": 0.6}, {"code": "HTDT-B", "share": 0.4}],
            "effective_on": "2025-07-01",
            "transfer": {"indicators": true, "tasks": true, "open_submissions": open},
            "assignments": assignments});
        let (successions, audit) = (app.count("unit_successions"), app.count("audit_log"));

        let unassigned = app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(json!([]), false)).await;
        unassigned.problem(422);
        assert_eq!(unassigned.body["errors"].as_array().unwrap().len(), indicators.len() + tasks.len(),
            "one error per unassigned item: {}", unassigned.body);
        let first = json!([{"indicator_id": indicators[0], "to": "HTDT-A"}]);
        let partial = app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(first, false)).await;
        assert_eq!(partial.body["errors"].as_array().unwrap().len(), indicators.len() + tasks.len() - 1);
        let elsewhere = json!([{"indicator_id": indicators[0], "to": "STC"}]);
        let wrong = app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(elsewhere, false)).await;
        assert_eq!(wrong.problem(422)["errors"][0]["field"], "assignments[0].to");
        app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(json!([]), true)).await.problem(422);
        let not_held = json!([{"task_id": 999999, "to": "HTDT-A"}]);
        app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(not_held, false)).await.problem(422);
        let over = json!({"successors": [{"code": "HTDT-A", "share": 0.7}, {"code": "HTDT-B", "share": 0.7}],
            "effective_on": "2025-07-01", "transfer": {"indicators": false, "tasks": false, "open_submissions": false}});
        app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &over).await.problem(422);
        let unknown = json!({"successors": [{"code": "NOPE"}], "effective_on": "2025-07-01",
            "transfer": {"indicators": false, "tasks": false, "open_submissions": false}});
        app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &unknown).await.problem(422);
        assert_eq!((app.count("unit_successions"), app.count("audit_log")), (successions, audit), "refused changes store nothing");
        assert_eq!(app.get("/api/v1/units/SKHDT-TTHTDN", &planner).await.body["valid_to"], Value::Null);

        // Indicators to A, tasks to B.
        let assignments: Vec<Value> = indicators.iter().map(|id| json!({"indicator_id": id, "to": "HTDT-A"}))
            .chain(tasks.iter().map(|id| json!({"task_id": id, "to": "HTDT-B"}))).collect();
        let answer = app.post("/api/v1/units/SKHDT-TTHTDN/succession", &admin, &split(json!(assignments), false)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["unit"]["successor_code"], Value::Null);
        assert_eq!(ids(&app, &planner, &format!("/api/v1/plans/{plan}/indicators?responsible_unit=HTDT-A")).await, indicators);
        assert_eq!(ids(&app, &planner, &format!("/api/v1/plans/{plan}/tasks?lead_unit=HTDT-B")).await, tasks);
        assert_eq!(
            ids(&app, &planner, &format!("/api/v1/plans/{plan}/tasks?lead_unit=HTDT-A&include_predecessors=true")).await,
            Vec::<i64>::new(),
            "its predecessor now leads nothing"
        );
        let before = progress(&app, &planner, plan, "2025-06-30").await;
        let after = progress(&app, &planner, plan, "2025-07-01").await;
        assert_eq!(responsible(&before, indicators[0]), "SKHDT-TTHTDN");
        assert_eq!(responsible(&after, indicators[0]), "HTDT-A");
        let mut sorted = tasks.clone();
        sorted.sort();
        let mut old = dashboard(&app, &planner, "SKHDT-TTHTDN", "2025-06-30", "tasks").await;
        old.sort();
        assert_eq!(old, sorted);
        let mut new = dashboard(&app, &planner, "HTDT-B", "2026-01-15", "tasks").await;
        new.sort();
        assert_eq!(new, sorted);
        assert!(dashboard(&app, &planner, "HTDT-B", "2025-06-30", "tasks").await.is_empty());
        let owed_before: Vec<String> = compliance(&app, &planner, plan, "2024", "2025-06-30").await.into_iter().map(|u| u.0).collect();
        let owed_after: Vec<String> = compliance(&app, &planner, plan, "2024", "2025-07-01").await.into_iter().map(|u| u.0).collect();
        assert!(owed_before.contains(&"SKHDT-TTHTDN".to_owned()) && !owed_before.contains(&"HTDT-A".to_owned()));
        assert!(owed_after.contains(&"HTDT-A".to_owned()) && owed_after.contains(&"HTDT-B".to_owned()));
        assert!(!owed_after.contains(&"SKHDT-TTHTDN".to_owned()));
    }
}
