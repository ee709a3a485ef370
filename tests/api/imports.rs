use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Answer, TestApp};

const INDICATORS: &str = include_str!("../../seed/plan-1148/appendix-1-indicators.tsv");
pub const TASKS: &str = include_str!("../../seed/plan-1148/appendix-2-tasks.tsv");

pub async fn upload(
    app: &TestApp,
    token: &str,
    plan: i64,
    query: &str,
    parts: &[(&'static str, Vec<u8>)],
) -> Answer {
    let mut form = Form::new();
    for (name, bytes) in parts {
        form = form.part(
            *name,
            Part::bytes(bytes.clone()).file_name(format!("{name}.tsv")),
        );
    }
    let response = app
        .client
        .post(app.url(&format!("/api/v1/plans/{plan}/import{query}")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

fn by_code<'a>(items: &'a Value, code: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("no {code}"))
}

backend_tests! { spawn_demo_app;
    async fn the_plans_own_tables_import_with_every_number_unit_and_date(app) {
        let planner = app.token("planner.thqh").await;
        let plan = app.create_plan(&planner, "1148-copy").await;
        let bom = [b"\xEF\xBB\xBF".as_slice(), INDICATORS.as_bytes()].concat();
        let answer = upload(&app, &planner, plan, "", &[("indicators", bom), ("tasks", TASKS.as_bytes().to_vec())]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["dry_run"], false);
        assert_eq!(answer.body["indicators"]["created"], json!(["1", "2", "2.1", "2.2", "3", "4"]));
        assert_eq!(answer.body["tasks"]["created"], json!(["1", "2"]));

        let list = app.get(&format!("/api/v1/plans/{plan}/indicators"), &planner).await;
        let items = &list.body["items"];
        let expected = [
            ("1", Some(52.0), 35.0, "SKHDT-TTHTDN", json!([])),
            ("2", Some(16.0), 25.0, "SKHDT-HTDT", json!([])),
            ("2.1", Some(13.0), 18.0, "SKHDT-HTDT", json!(["BQL-KKT"])),
            ("2.2", Some(3.0), 7.0, "SKHDT-HTDT", json!(["UBND-TPCL"])),
            ("3", Some(596.0), 640.0, "SKHDT-DKKD", json!([])),
            ("4", None, 5.0, "SKHDT-DKKD", json!([])),
        ];
        for (code, baseline, target, unit, coordinating) in expected {
            let i = by_code(items, code);
            assert_eq!(i["baseline_value"].as_f64(), baseline, "{code}");
            assert_eq!(i["target"]["value"].as_f64(), Some(target), "{code}");
            assert_eq!(i["responsible_unit_code"], unit, "{code}");
            assert_eq!(i["coordinating_unit_codes"], coordinating, "{code}");
        }
        let two = by_code(items, "2");
        assert_eq!(two["aggregation"], "sum_of_children");
        assert_eq!(two["inconsistencies"], json!([]));
        assert_eq!(by_code(items, "2.1")["parent_id"], two["id"]);
        assert_eq!(by_code(items, "1")["baseline_label"], "2016–2020");
        let ddci = by_code(items, "4");
        assert_eq!(ddci["target"], json!({"kind": "rank_at_most", "value": 5.0, "scope": "each_year"}));
        assert_eq!(ddci["target_text"], "Nằm trong nhóm 05 địa phương dẫn đầu của Tỉnh hằng năm");
        assert_eq!(ddci["measure_unit"], "Chỉ số");

        let tasks = app.get(&format!("/api/v1/plans/{plan}/tasks"), &planner).await;
        let one = by_code(&tasks.body["items"], "1");
        assert_eq!((one["due_date"].as_str(), one["due_precision"].as_str()), (Some("2022-06-30"), Some("month")));
        assert_eq!(one["lead_unit_code"], "SKHDT-NVKHDT");
        assert_eq!(one["coordinating_unit_codes"], json!(["STC", "UBND-TPCL"]));
        assert_eq!(one["output_form"], "Tờ trình và Nghị quyết");
        assert_eq!(one["decision_authority"], "Hội đồng nhân dân Tỉnh");
        let two = by_code(&tasks.body["items"], "2");
        assert_eq!((two["due_date"].as_str(), two["due_precision"].as_str()), (Some("2025-12-31"), Some("year")));
        assert_eq!(two["lead_unit_code"], "SKHDT-TTHTDN");
        assert_eq!(two["coordinating_unit_codes"], json!(["UBND-TPCL"]));
        assert!(two["coordinating_note"].as_str().unwrap().contains("các sở, ban, ngành Tỉnh"));

        // Importing again updates by code and keeps the units' progress.
        let id = one["id"].as_i64().unwrap();
        app.patch(&format!("/api/v1/tasks/{id}"), &planner, &json!({"status": "in_progress", "progress_percent": 50})).await;
        let again = upload(&app, &planner, plan, "", &[("indicators", INDICATORS.as_bytes().to_vec()), ("tasks", TASKS.as_bytes().to_vec())]).await;
        assert_eq!(again.body["indicators"]["created"], json!([]));
        assert_eq!(again.body["indicators"]["updated"].as_array().unwrap().len(), 6);
        assert_eq!(again.body["tasks"]["updated"], json!(["1", "2"]));
        assert_eq!(app.get(&format!("/api/v1/tasks/{id}"), &planner).await.body["progress_percent"], 50);
        assert_eq!(app.count("indicators"), 7 + 6);
    }

    async fn a_dry_run_reports_and_writes_nothing(app) {
        let planner = app.token("planner.thqh").await;
        let plan = app.create_plan(&planner, "dry-run").await;
        let audit = app.count("audit_log");
        let csv = "TT,Nhiệm vụ,Chủ trì,Phối hợp,Thời gian,Hình thức,Cấp quyết định\n1.,Việc một,Phòng Đăng ký kinh doanh,Sở Ngoại vụ,Quý II/2023,,\n2.,Việc hai,Phòng Đăng ký kinh doanh,,Tháng 13/2023,,\n";
        let answer = upload(&app, &planner, plan, "?dry_run=true", &[("tasks", csv.as_bytes().to_vec())]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["dry_run"], true);
        assert_eq!(answer.body["tasks"]["created"], json!(["1", "2"]));
        let warnings = answer.body["warnings"].as_array().unwrap();
        assert!(warnings.iter().any(|w| w["row"] == 2 && w["column"] == "Phối hợp" && w["text"] == "Sở Ngoại vụ"), "{warnings:?}");
        assert!(warnings.iter().any(|w| w["row"] == 3 && w["column"] == "Thời gian" && w["table"] == "tasks"), "{warnings:?}");
        assert_eq!(app.count("tasks"), 2, "only plan 1148's");
        assert_eq!(app.count("audit_log"), audit);
    }

    async fn an_unreadable_table_is_refused_whole(app) {
        let planner = app.token("planner.thqh").await;
        let plan = app.create_plan(&planner, "broken").await;
        let broken = "Chỉ tiêu\tĐơn vị\tThực hiện\tMục tiêu\tPhân công\n- Con trước cha\tDự án\t1\t2\tPhòng Hợp tác Đầu tư\n";
        let answer = upload(&app, &planner, plan, "", &[("tasks", TASKS.as_bytes().to_vec()), ("indicators", broken.as_bytes().to_vec())]).await;
        let body = answer.problem(422);
        assert_eq!(body["errors"][0]["field"], "indicators");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("row 2"));
        assert_eq!(app.count("tasks"), 2, "the valid tasks table was not written either");
        let latin1 = upload(&app, &planner, plan, "", &[("tasks", vec![0x54, 0xe2, 0x6e])]).await;
        assert_eq!(latin1.problem(422)["errors"][0]["field"], "tasks");
        let empty = upload(&app, &planner, plan, "", &[]).await;
        empty.problem(400);
        let unknown = upload(&app, &planner, plan, "", &[("budget", b"x".to_vec())]).await;
        assert_eq!(unknown.problem(422)["errors"][0]["field"], "budget");
        let officer = app.token("officer.dkkd").await;
        upload(&app, &officer, plan, "", &[("tasks", TASKS.as_bytes().to_vec())]).await.problem(403);
        let json_body = app.post(&format!("/api/v1/plans/{plan}/import"), &planner, &json!({"tasks": TASKS})).await;
        json_body.problem(415);
        assert_eq!(app.count("tasks"), 2);
    }

    async fn the_demo_holds_plan_1148_with_the_sub_indicator_its_appendix_omits(app) {
        let viewer = app.token("viewer.portal").await;
        let plan = app.get("/api/v1/plans?q=1148", &viewer).await.body["items"][0]["id"].as_i64().unwrap();
        let list = app.get(&format!("/api/v1/plans/{plan}/indicators"), &viewer).await;
        let codes: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["1", "2", "2.1", "2.2", "3", "3.1", "4"]);
        let innovative = by_code(&list.body["items"], "3.1");
        assert_eq!(innovative["target"]["value"], 6.0);
        assert_eq!(innovative["parent_id"], by_code(&list.body["items"], "3")["id"]);
        let tasks = app.get(&format!("/api/v1/plans/{plan}/tasks?lead_unit=SKHDT-TTHTDN"), &viewer).await;
        assert_eq!(tasks.body["total"], 1);
        assert!(tasks.body["items"][0]["legal_basis"][0].as_str().unwrap().contains("947/QĐ-UBND.HC"));
    }
}
