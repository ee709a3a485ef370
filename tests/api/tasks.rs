use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{TestApp, DEMO_AUDIT_ROWS};

/// A new, empty plan (the demo plan already holds plan 1148's content).
async fn plan_id(app: &TestApp, token: &str) -> i64 {
    app.create_plan(token, "20/KH-TEST").await
}

fn task(code: &str, lead: &str, due_label: &str) -> Value {
    json!({
        "code": code, "title": format!("Nhiệm vụ {code}"), "lead_unit_code": lead,
        "coordinating_unit_codes": ["STC", "UBND-TPCL"], "due_label": due_label,
        "output_form": "Tờ trình và Nghị quyết", "decision_authority": "Hội đồng nhân dân Tỉnh",
        "legal_basis": ["947/QĐ-UBND.HC"]
    })
}

backend_tests! { spawn_demo_app;
    async fn deadlines_are_read_from_labels_and_judged_by_timeliness(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/tasks");
        let created = app.post(&path, &planner, &task("1", "SKHDT-DKKD", "Tháng 6/2022")).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["due_date"], "2022-06-30");
        assert_eq!(created.body["due_precision"], "month");
        assert_eq!(created.body["timeliness"], "overdue", "not started, deadline long past");
        let id = created.body["id"].as_i64().unwrap();
        let relabelled = app.patch(&format!("/api/v1/tasks/{id}"), &planner, &json!({"due_label": "Quý III/2022"})).await;
        assert_eq!(relabelled.status, 200, "{}", relabelled.body);
        assert_eq!(
            (&relabelled.body["due_date"], &relabelled.body["due_precision"], &relabelled.body["due_label"]),
            (&json!("2022-09-30"), &json!("quarter"), &json!("Quý III/2022")),
            "a new label alone is read into the deadline"
        );
        let by_date = app.patch(&format!("/api/v1/tasks/{id}"), &planner, &json!({"due_date": "2022-06-30", "due_precision": "month"})).await;
        assert_eq!(
            (&by_date.body["due_date"], &by_date.body["due_precision"], &by_date.body["due_label"]),
            (&json!("2022-06-30"), &json!("month"), &json!("Tháng 6/2022")),
            "a new date without a label remakes the label"
        );
        let year = app.post(&path, &planner, &task("2", "SKHDT-TTHTDN", "Năm 2025")).await;
        assert_eq!((year.body["due_date"].as_str(), year.body["due_precision"].as_str()), (Some("2025-12-31"), Some("year")));
        let quarter = app.post(&path, &planner, &task("3", "SKHDT-DKKD", "Quý II/2023")).await;
        assert_eq!(quarter.body["due_date"], "2023-06-30");

        let as_of = app.get(&format!("{path}?as_of=2022-06-30&timeliness=not_due"), &planner).await;
        assert_eq!(as_of.body["total"], 3, "the deadline day itself is not late");
        let overdue = app.get(&format!("{path}?as_of=2022-07-01&timeliness=overdue"), &planner).await;
        assert_eq!(overdue.body["total"], 1);
        assert_eq!(overdue.body["items"][0]["code"], "1");
        assert_eq!(overdue.body["items"][0]["timeliness"], "overdue");

        let extended = app.post(&format!("/api/v1/tasks/{id}/extensions"), &planner,
            &json!({"new_due_date": "2022-09-30", "reason": "Chờ ý kiến Sở Tài chính", "approved_by": "Giám đốc Sở"})).await;
        assert_eq!(extended.status, 201, "{}", extended.body);
        assert_eq!(extended.body["previous_due_date"], "2022-06-30");
        let read = app.get(&format!("/api/v1/tasks/{id}"), &planner).await;
        assert_eq!(read.body["due_date"], "2022-09-30");
        assert_eq!(read.body["original_due_date"], "2022-06-30");
        assert_eq!(read.body["extension_count"], 1);
        let on_time = app.get(&format!("{path}?as_of=2022-07-01&timeliness=overdue"), &planner).await;
        assert_eq!(on_time.body["total"], 0, "the extension moved the deadline");
        let earlier = app.post(&format!("/api/v1/tasks/{id}/extensions"), &planner,
            &json!({"new_due_date": "2022-08-01", "reason": "x", "approved_by": "y"})).await;
        assert_eq!(earlier.problem(422)["errors"][0]["field"], "new_due_date");
        let history = app.get(&format!("/api/v1/tasks/{id}/extensions"), &planner).await;
        assert_eq!(history.body["total"], 1);
        app.patch(&format!("/api/v1/tasks/{id}"), &planner, &json!({"due_label": "Năm 2023"})).await.problem(409);

        let done = app.patch(&format!("/api/v1/tasks/{id}"), &planner, &json!({"status": "completed", "completed_on": "2022-10-15"})).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.body["timeliness"], "completed_late");
        assert_eq!(done.body["progress_percent"], 100);
        let late = app.get(&format!("{path}?timeliness=completed_late"), &planner).await;
        assert_eq!(late.body["total"], 1);
    }

    async fn only_the_lead_units_officers_report_progress(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let created = app.post(&format!("/api/v1/plans/{plan}/tasks"), &planner, &task("1", "SKHDT-DKKD", "Năm 2025")).await;
        let id = created.body["id"].as_i64().unwrap();
        let path = format!("/api/v1/tasks/{id}");

        let own = app.token("officer.dkkd").await;
        let progress = app.patch(&path, &own, &json!({"status": "in_progress", "progress_percent": 40})).await;
        assert_eq!(progress.status, 200, "{}", progress.body);
        assert_eq!(progress.body["progress_percent"], 40);

        let other = app.token("officer.htdt").await;
        let refused = app.patch(&path, &other, &json!({"progress_percent": 90})).await;
        assert!(refused.problem(403)["detail"].as_str().unwrap().contains("lead unit"));
        let retitle = app.patch(&path, &own, &json!({"title": "Đổi tên"})).await;
        retitle.problem(403);
        let leader = app.token("leader.bgd").await;
        app.patch(&path, &leader, &json!({"progress_percent": 90})).await.problem(403);
        let stored = app.get(&path, &planner).await;
        assert_eq!((stored.body["progress_percent"].as_i64(), stored.body["title"].as_str()), (Some(40), Some("Nhiệm vụ 1")));
        assert_eq!(app.count("audit_log"), 3 + DEMO_AUDIT_ROWS, "plan, task, and one progress update");
    }

    async fn task_validation_stores_nothing(app) {
        let planner = app.token("planner.thqh").await;
        let plan = plan_id(&app, &planner).await;
        let path = format!("/api/v1/plans/{plan}/tasks");
        let bad_label = app.post(&path, &planner, &task("1", "SKHDT-DKKD", "Tháng 13/2022")).await;
        assert_eq!(bad_label.problem(422)["errors"][0]["field"], "due_label");
        let mut bad = task("1", "NOPE", "Năm 2025");
        bad["status"] = json!("completed");
        bad["progress_percent"] = json!(101);
        let answer = app.post(&path, &planner, &bad).await;
        answer.problem(422);
        let mut fields = answer.error_fields();
        fields.sort();
        assert_eq!(fields, ["completed_on", "progress_percent"]);
        let unknown_unit = app.post(&path, &planner, &task("1", "NOPE", "Năm 2025")).await;
        assert_eq!(unknown_unit.problem(422)["errors"][0]["field"], "lead_unit_code");
        let bad_date = app.post(&path, &planner, &json!({"code": "1", "title": "T", "due_date": "2023-02-30"})).await;
        assert_eq!(bad_date.problem(422)["errors"][0]["field"], "due_date");
        app.post(&path, &planner, &task("1", "SKHDT-DKKD", "Năm 2025")).await;
        let duplicate = app.post(&path, &planner, &task("1", "SKHDT-DKKD", "Năm 2025")).await;
        duplicate.problem(409);
        let officer = app.token("officer.dkkd").await;
        app.post(&path, &officer, &task("9", "SKHDT-DKKD", "Năm 2025")).await.problem(403);
        assert_eq!(app.count("tasks"), 3, "plan 1148's two and the one created");
        assert_eq!(app.count("task_extensions"), 0);
    }
}
