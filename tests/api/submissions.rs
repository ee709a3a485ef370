use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Answer, TestApp};

/// Plan 1148's id and its indicators' ids by code.
async fn plan_1148(app: &TestApp, token: &str) -> (i64, std::collections::HashMap<String, i64>) {
    let plan = app.get("/api/v1/plans?q=1148", token).await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let list = app
        .get(&format!("/api/v1/plans/{plan}/indicators"), token)
        .await;
    let ids = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["id"].as_i64().unwrap(),
            )
        })
        .collect();
    (plan, ids)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    Answer::from(request.send().await.unwrap()).await
}

fn etag(answer: &Answer) -> String {
    answer.header("etag").expect("an ETag").to_owned()
}

backend_tests! { spawn_demo_app;
    async fn plan_1148_reports_go_through_review(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, ids) = plan_1148(&app, &planner).await;
        let task = app.post(&format!("/api/v1/plans/{plan}/tasks"), &planner,
            &json!({"code": "9", "title": "Số hóa hồ sơ đăng ký doanh nghiệp", "lead_unit_code": "SKHDT-DKKD", "due_label": "Năm 2025"})).await;
        let task_id = task.body["id"].as_i64().unwrap();

        let body = json!({
            "unit_code": "SKHDT-DKKD", "period": "2023",
            "indicator_values": [
                {"indicator_id": ids["3"], "value": 120, "kind": "estimate", "note": "ước thực hiện"},
                {"indicator_id": ids["4"], "value": 4, "kind": "actual", "out_of": 12, "published_on": "2024-03-15"}
            ],
            "task_updates": [{"task_id": task_id, "status": "in_progress", "progress_percent": 30}],
            "results": "Đã cấp đăng ký cho 120 doanh nghiệp"
        });
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer, &body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        let path = format!("/api/v1/submissions/{id}");
        assert_eq!(created.header("location"), Some(path.as_str()));
        assert_eq!(created.body["status"], "draft");
        assert_eq!(created.body["deadline"], "2023-11-29T17:00:00Z", "before 30 November begins in Vietnam");
        assert_eq!(created.body["timeliness"], "late", "2023's deadline has passed unsubmitted");
        assert_eq!(created.body["allowed_transitions"], json!(["submit"]));

        // Edit with the ETag; a stale or missing one changes nothing.
        let read = app.get(&path, &officer).await;
        let tag = etag(&read);
        let mut values = body["indicator_values"].clone();
        values[0] = json!({"indicator_id": ids["3"], "value": 132, "kind": "actual"});
        let patch = json!({"indicator_values": values});
        let edited = send(&app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&patch)).await;
        assert_eq!(edited.status, 200, "{}", edited.body);
        assert_ne!(etag(&edited), tag);
        assert_eq!(edited.body["indicator_values"][0]["kind"], "actual", "the actual figure supersedes the estimate");
        send(&app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&json!({"results": "x"}))).await.problem(412);
        send(&app, Method::PATCH, &path, &officer, &[], Some(&json!({"results": "x"}))).await.problem(428);
        assert_eq!(app.get(&path, &officer).await.body["results"], "Đã cấp đăng ký cho 120 doanh nghiệp");

        // Submit (late for 2023), return with a reason, resubmit, accept.
        let submitted = app.post(&format!("{path}/submit"), &officer, &json!({})).await;
        assert_eq!(submitted.status, 200, "{}", submitted.body);
        assert_eq!(submitted.body["timeliness"], "late");
        let first = submitted.body["first_submitted_at"].clone();
        let returned = app.post(&format!("{path}/return"), &planner, &json!({
            "reason": "Đề nghị bổ sung thuyết minh", "comments": [{"indicator_id": ids["3"], "comment": "Ghi rõ nguồn số liệu"}]
        })).await;
        assert_eq!(returned.status, 200, "{}", returned.body);
        assert_eq!(returned.body["status"], "returned");
        assert_eq!(returned.body["review_comments"][0]["comment"], "Ghi rõ nguồn số liệu");
        let tag = etag(&app.get(&path, &officer).await);
        send(&app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&json!({"difficulties": "Thiếu nhân lực"}))).await;
        let resubmitted = app.post(&format!("{path}/submit"), &officer, &json!({})).await;
        assert_eq!(resubmitted.body["first_submitted_at"], first, "timeliness keeps the first submission");
        let accepted = app.post(&format!("{path}/accept"), &planner, &json!({})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        assert_eq!(accepted.body["status"], "accepted");
        let task_now = app.get(&format!("/api/v1/tasks/{task_id}"), &planner).await;
        assert_eq!(task_now.body["progress_percent"], 30, "accepting applies the task updates");
        assert_eq!(task_now.body["status"], "in_progress");

        // Reopen, change, and see the difference from the accepted version.
        let reopened = app.post(&format!("{path}/reopen"), &planner, &json!({"reason": "Cập nhật số liệu chính thức"})).await;
        assert_eq!(reopened.body["status"], "returned");
        assert_eq!(reopened.body["changes_since_accepted"], json!([]));
        let tag = etag(&reopened);
        let mut values = app.get(&path, &officer).await.body["indicator_values"].clone();
        values[0]["value"] = json!(140);
        let changed = send(&app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&json!({"indicator_values": values}))).await;
        let changes = changed.body["changes_since_accepted"].as_array().unwrap().clone();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0]["field"], format!("indicator:{}", ids["3"]));
        assert_eq!(changes[0]["before"]["value"], 132.0);
        // Lists read the same as the report itself: a page of one and a page of several, each
        // report with its own values and only the reopened one with changes.
        let other = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer, &json!({
            "unit_code": "SKHDT-DKKD", "period": "2024",
            "indicator_values": [{"indicator_id": ids["3"], "value": 7, "kind": "actual"}]
        })).await;
        assert_eq!(other.status, 201, "{}", other.body);
        let one = app.get(&format!("/api/v1/submissions?plan_id={plan}&unit=SKHDT-DKKD&period=2023"), &officer).await;
        assert_eq!(one.body["items"].as_array().map(Vec::len), Some(1), "{}", one.body);
        assert_eq!(one.body["items"][0], changed.body);
        let several = app.get(&format!("/api/v1/submissions?plan_id={plan}&unit=SKHDT-DKKD&limit=100"), &officer).await;
        let listed = |id: &Value| several.body["items"].as_array().unwrap().iter().find(|s| &s["id"] == id).cloned();
        assert_eq!(listed(&changed.body["id"]), Some(changed.body.clone()));
        assert_eq!(listed(&other.body["id"]), Some(other.body.clone()));
        assert_eq!(other.body["changes_since_accepted"], Value::Null);
        assert_eq!(other.body["indicator_values"][0]["value"], 7.0);
        app.post(&format!("{path}/submit"), &officer, &json!({})).await;
        app.post(&format!("{path}/accept"), &planner, &json!({})).await;
        let versions = app.get(&format!("{path}/versions"), &officer).await;
        let versions = versions.body.as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0]["content"]["indicator_values"][0]["value"], 132.0);
        assert_eq!(versions[1]["content"]["indicator_values"][0]["value"], 140.0);

        // Every step is in the history, with the state before and after.
        let history = app.get(&format!("{path}/history"), &officer).await;
        let actions: Vec<&str> = history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["create", "update", "submit", "return", "update", "submit", "accept", "reopen", "update", "submit", "accept"]);
        let accept = &history.body["items"][6];
        assert_eq!((accept["before"]["status"].as_str(), accept["after"]["status"].as_str()), (Some("submitted"), Some("accepted")));
        let audit = app.get(&format!("/api/v1/audit?entity_type=submission&entity_id={id}&sort=-id&limit=1"), &planner).await;
        assert_eq!(audit.body["total"], 11);
        assert_eq!(audit.body["items"][0]["action"], "accept");
        app.get("/api/v1/audit", &officer).await.problem(403);
    }

    async fn a_report_before_30_november_is_on_time(app) {
        let planner = app.token("planner.thqh").await;
        let admin = app.token("admin").await;
        let plan = app.create_plan(&planner, "5/KH-2026").await;
        let schedules = json!({"items": [{"period_type": "year", "deadline": {"fixed": "11-30", "exclusive": true}}]});
        let put = send(&app, Method::PUT, &format!("/api/v1/plans/{plan}/schedules"), &planner, &[], Some(&schedules)).await;
        assert_eq!(put.status, 200, "{}", put.body);
        // The test plan runs 2021–2025, so widen it to a year whose deadline is still ahead.
        app.patch(&format!("/api/v1/plans/{plan}"), &planner, &json!({"period_end_year": 2030})).await;
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &admin, &json!({"unit_code": "SKHDT-HTDT", "period": "2029"})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["timeliness"], "not_submitted");
        assert_eq!(created.body["deadline"], "2029-11-29T17:00:00Z");
        let id = created.body["id"].as_i64().unwrap();
        let submitted = app.post(&format!("/api/v1/submissions/{id}/submit"), &admin, &json!({})).await;
        assert_eq!(submitted.body["timeliness"], "on_time");
        let late = app.get(&format!("/api/v1/submissions?plan_id={plan}&late=true"), &planner).await;
        assert_eq!(late.body["total"], 0);
        let on_time = app.get(&format!("/api/v1/submissions?plan_id={plan}&late=false"), &planner).await;
        assert_eq!(on_time.body["total"], 1);
        // Moving the deadline moves the judgement of existing reports.
        let earlier = json!({"items": [{"period_type": "year", "deadline": {"fixed": "01-01", "exclusive": true}}]});
        send(&app, Method::PUT, &format!("/api/v1/plans/{plan}/schedules"), &planner, &[], Some(&earlier)).await;
        let judged = app.get(&format!("/api/v1/submissions/{id}"), &planner).await;
        assert_eq!(judged.body["deadline"], "2028-12-31T17:00:00Z");
        let read = app.get(&format!("/api/v1/plans/{plan}/schedules"), &planner).await;
        assert_eq!(read.body["items"][0]["deadline"], json!({"fixed": "01-01", "exclusive": true}));
    }

    async fn every_forbidden_transition_answers_409_with_what_is_allowed(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, _) = plan_1148(&app, &planner).await;
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer, &json!({"unit_code": "SKHDT-DKKD", "period": "2022"})).await;
        let path = format!("/api/v1/submissions/{}", created.body["id"]);
        let reason = json!({"reason": "Lý do"});
        // draft: only its unit and admins know it exists
        let admin = app.token("admin").await;
        app.post(&format!("{path}/accept"), &planner, &json!({})).await.problem(404);
        let refused = app.post(&format!("{path}/accept"), &admin, &json!({})).await;
        assert!(refused.problem(409)["detail"].as_str().unwrap().contains("allowed now: submit"));
        app.post(&format!("{path}/return"), &admin, &reason).await.problem(409);
        app.post(&format!("{path}/reopen"), &admin, &reason).await.problem(409);
        // submitted
        app.post(&format!("{path}/submit"), &officer, &json!({})).await;
        app.post(&format!("{path}/submit"), &officer, &json!({})).await.problem(409);
        app.post(&format!("{path}/reopen"), &planner, &reason).await.problem(409);
        let tag = etag(&app.get(&path, &officer).await);
        send(&app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&json!({"results": "x"}))).await.problem(409);
        app.post(&format!("{path}/return"), &planner, &json!({"reason": "  "})).await.problem(422);
        app.post(&format!("{path}/accept"), &officer, &json!({})).await.problem(403);
        let leader = app.token("leader.bgd").await;
        app.post(&format!("{path}/accept"), &leader, &json!({})).await.problem(403);
        // accepted
        app.post(&format!("{path}/accept"), &planner, &json!({})).await;
        app.post(&format!("{path}/accept"), &planner, &json!({})).await.problem(409);
        app.post(&format!("{path}/return"), &planner, &reason).await.problem(409);
        app.post(&format!("{path}/submit"), &officer, &json!({})).await.problem(409);
        app.post(&format!("{path}/reopen"), &officer, &reason).await.problem(403);
        assert_eq!(app.get(&path, &officer).await.body["status"], "accepted");
    }

    async fn officers_write_only_their_own_units_data(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, ids) = plan_1148(&app, &planner).await;
        let audit_before = app.count("audit_log");
        let path = format!("/api/v1/plans/{plan}/submissions");
        let foreign_indicator = json!({"unit_code": "SKHDT-DKKD", "period": "2024",
            "indicator_values": [{"indicator_id": ids["2.1"], "value": 3, "kind": "actual"}]});
        let refused = app.post(&path, &officer, &foreign_indicator).await;
        assert!(refused.problem(403)["detail"].as_str().unwrap().contains("indicator 2.1"));
        let foreign_task_id = app.get(&format!("/api/v1/plans/{plan}/tasks?lead_unit=SKHDT-NVKHDT"), &planner).await.body["items"][0]["id"].clone();
        let foreign_task = json!({"unit_code": "SKHDT-DKKD", "period": "2024",
            "task_updates": [{"task_id": foreign_task_id, "status": "in_progress", "progress_percent": 10}]});
        assert!(app.post(&path, &officer, &foreign_task).await.problem(403)["detail"].as_str().unwrap().contains("task 1"));
        app.post(&path, &officer, &json!({"unit_code": "SKHDT-HTDT", "period": "2024"})).await.problem(403);
        app.post(&path, &planner, &json!({"unit_code": "SKHDT-THQH", "period": "2024"})).await.problem(403);
        assert_eq!(app.count("submissions"), 0, "nothing stored");
        assert_eq!(app.count("submission_values"), 0);
        assert_eq!(app.count("audit_log"), audit_before, "a failed transaction leaves no audit row");

        // Visibility: drafts stay in the unit; accepted reports are public.
        let own = app.post(&path, &officer, &json!({"unit_code": "SKHDT-DKKD", "period": "2024"})).await;
        let id = own.body["id"].as_i64().unwrap();
        let other = app.token("officer.htdt").await;
        let viewer = app.token("viewer.portal").await;
        app.get(&format!("/api/v1/submissions/{id}"), &other).await.problem(404);
        app.get(&format!("/api/v1/submissions/{id}"), &planner).await.problem(404);
        assert_eq!(app.get("/api/v1/submissions", &planner).await.body["total"], 0);
        app.post(&format!("/api/v1/submissions/{id}/submit"), &officer, &json!({})).await;
        assert_eq!(app.get(&format!("/api/v1/submissions/{id}"), &planner).await.status, 200);
        app.get(&format!("/api/v1/submissions/{id}"), &viewer).await.problem(404);
        app.post(&format!("/api/v1/submissions/{id}/accept"), &planner, &json!({})).await;
        assert_eq!(app.get(&format!("/api/v1/submissions/{id}"), &viewer).await.status, 200);
        assert_eq!(app.get("/api/v1/submissions?status=accepted", &other).await.body["total"], 1);
    }

    async fn concurrent_edits_with_one_etag_let_exactly_one_win(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, _) = plan_1148(&app, &planner).await;
        let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer, &json!({"unit_code": "SKHDT-DKKD", "period": "2021"})).await;
        let path = format!("/api/v1/submissions/{}", created.body["id"]);
        let tag = etag(&created);
        let edits = (0..8).map(|n| {
            let body = json!({"results": format!("Phiên bản {n}")});
            let (path, officer, tag) = (path.clone(), officer.clone(), tag.clone());
            let app = &app;
            async move { send(app, Method::PATCH, &path, &officer, &[("if-match", &tag)], Some(&body)).await }
        });
        let answers = futures_util::future::join_all(edits).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 7, "{statuses:?}");
        let winner = answers.iter().find(|a| a.status == 200).unwrap();
        let stored = app.get(&path, &officer).await;
        assert_eq!(stored.body["results"], winner.body["results"]);
        assert_eq!(stored.body["version"], 2);
        // `If-Match: *` matches whatever version is current (RFC 9110), here the winner's.
        let any = send(&app, Method::PATCH, &path, &officer, &[("if-match", "*")], Some(&json!({"results": "Bất kỳ"}))).await;
        assert_eq!(any.status, 200, "{}", any.body);
        assert_eq!(any.body["version"], 3);
    }

    async fn idempotent_creates_create_once(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, ids) = plan_1148(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/submissions");
        let body = json!({"unit_code": "SKHDT-DKKD", "period": "2024-Q1",
            "indicator_values": [{"indicator_id": ids["3"], "value": 41, "kind": "actual"}]});
        let retries = (0..6).map(|_| send(&app, Method::POST, &path, &officer, &[("idempotency-key", "dkkd-2024-q1")], Some(&body)));
        let answers = futures_util::future::join_all(retries).await;
        for answer in &answers {
            assert!(answer.status == 201 || answer.status == 409, "{} {}", answer.status, answer.body);
        }
        assert_eq!(app.count("submissions"), 1, "created once");
        let replay = send(&app, Method::POST, &path, &officer, &[("idempotency-key", "dkkd-2024-q1")], Some(&body)).await;
        assert_eq!(replay.status, 201);
        let first = answers.iter().find(|a| a.status == 201).unwrap();
        assert_eq!(replay.body["id"], first.body["id"]);
        assert_eq!(replay.header("location"), first.header("location"));
        assert_eq!(replay.body["deadline"], "2024-04-10T17:00:00Z", "quarterly figures: 10 days after the quarter");
        let other_body = json!({"unit_code": "SKHDT-DKKD", "period": "2024-Q2"});
        let mismatch = send(&app, Method::POST, &path, &officer, &[("idempotency-key", "dkkd-2024-q1")], Some(&other_body)).await;
        assert_eq!(mismatch.problem(422)["errors"][0]["field"], "Idempotency-Key");
        let duplicate = app.post(&path, &officer, &body).await;
        assert_eq!(duplicate.problem(409)["existing"], format!("/api/v1/submissions/{}", first.body["id"]));
        assert_eq!(app.count("submissions"), 1);
    }

    async fn invalid_periods_and_values_are_refused(app) {
        let officer = app.token("officer.dkkd").await;
        let planner = app.token("planner.thqh").await;
        let (plan, ids) = plan_1148(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/submissions");
        for period in ["2023-Q5", "2023-13", "23", "2023-H3", "2019"] {
            let answer = app.post(&path, &officer, &json!({"unit_code": "SKHDT-DKKD", "period": period})).await;
            assert_eq!(answer.problem(422)["errors"][0]["field"], "period", "{period}");
        }
        let cases = [
            (json!({"indicator_id": ids["3"], "value": -5, "kind": "actual"}), "indicator_values[0].value"),
            (json!({"indicator_id": ids["4"], "value": 2.5, "kind": "actual"}), "indicator_values[0].value"),
            (json!({"indicator_id": ids["4"], "value": 13, "kind": "actual", "out_of": 12}), "indicator_values[0].value"),
            (json!({"indicator_id": ids["3"], "value": 5, "kind": "guess"}), "indicator_values[0].kind"),
            (json!({"indicator_id": 999_999, "value": 5, "kind": "actual"}), "indicator_values[0].indicator_id"),
        ];
        for (value, field) in cases {
            let answer = app.post(&path, &officer, &json!({"unit_code": "SKHDT-DKKD", "period": "2023", "indicator_values": [value]})).await;
            assert_eq!(answer.problem(422)["errors"][0]["field"], field, "{value}");
        }
        let other_plan = app.create_plan(&planner, "other").await;
        let foreign = app.post(&format!("/api/v1/plans/{other_plan}/indicators"), &planner, &json!({
            "code": "1", "name": "X", "measure_unit": "Dự án", "target": {"kind": "at_least", "value": 1, "scope": "plan_period"},
            "aggregation": "sum", "responsible_unit_code": "SKHDT-DKKD"})).await;
        let answer = app.post(&path, &officer, &json!({"unit_code": "SKHDT-DKKD", "period": "2023",
            "indicator_values": [{"indicator_id": foreign.body["id"], "value": 1, "kind": "actual"}]})).await;
        assert!(answer.problem(422)["errors"][0]["message"].as_str().unwrap().contains("not in plan"));
        let overflow = app.client.post(app.url(&path)).bearer_auth(&officer).header("content-type", "application/json")
            .body(format!(r#"{{"unit_code":"SKHDT-DKKD","period":"2023","indicator_values":[{{"indicator_id":{},"value":1e309,"kind":"actual"}}]}}"#, ids["3"]))
            .send().await.unwrap();
        assert!(Answer::from(overflow).await.status.is_client_error());
        assert_eq!(app.count("submissions"), 0);
    }

    async fn four_years_of_annual_reports_are_kept_and_judged(app) {
        let officer = app.token("officer.htdt").await;
        let planner = app.token("planner.thqh").await;
        let (plan, ids) = plan_1148(&app, &planner).await;
        for (year, projects) in [(2021, 3), (2022, 5), (2023, 4), (2024, 6)] {
            let created = app.post(&format!("/api/v1/plans/{plan}/submissions"), &officer, &json!({
                "unit_code": "SKHDT-HTDT", "period": year.to_string(),
                "indicator_values": [{"indicator_id": ids["2.1"], "value": projects, "kind": "actual"}]
            })).await;
            assert_eq!(created.status, 201, "{}", created.body);
            assert_eq!(created.body["deadline"], format!("{year}-11-29T17:00:00Z"));
            let path = format!("/api/v1/submissions/{}", created.body["id"]);
            assert_eq!(app.post(&format!("{path}/submit"), &officer, &json!({})).await.status, 200);
            assert_eq!(app.post(&format!("{path}/accept"), &planner, &json!({})).await.status, 200);
        }
        let accepted = app.get(&format!("/api/v1/submissions?plan_id={plan}&unit=SKHDT-HTDT&status=accepted&sort=period"), &planner).await;
        let periods: Vec<&str> = accepted.body["items"].as_array().unwrap().iter().map(|s| s["period"].as_str().unwrap()).collect();
        assert_eq!(periods, ["2021", "2022", "2023", "2024"]);
        let late = app.get(&format!("/api/v1/submissions?plan_id={plan}&late=true"), &planner).await;
        assert_eq!(late.body["total"], 4, "submitted today, long after each 30 November");
        assert_eq!(app.count("submission_versions"), 4);

        // The audit trail is append-only even for direct database access.
        use diesel::RunQueryDsl;
        let mut pooled = app.pool.get().unwrap();
        let conn: &mut plan_tracker::db::DbConnection = &mut pooled;
        assert!(diesel::sql_query("UPDATE audit_log SET action = 'forged'").execute(conn).is_err());
        assert!(diesel::sql_query("DELETE FROM audit_log").execute(conn).is_err());
    }
}
