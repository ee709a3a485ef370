use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::DEMO_AUDIT_ROWS;

fn plan(number: &str) -> Value {
    json!({
        "number": number, "title": "Kế hoạch phát triển kinh tế - xã hội thành phố Cao Lãnh",
        "issuer_unit_code": "SKHDT", "issued_on": "2022-05-06",
        "period_start_year": 2021, "period_end_year": 2025, "vision_year": 2030,
        "consolidating_unit_code": "SKHDT-THQH",
        "basis": [{"number": "72/KH-UBND", "date": "2022-03-03", "title": "Kế hoạch của UBND Tỉnh"}]
    })
}

backend_tests! { spawn_demo_app;
    async fn planners_create_change_and_delete_plans(app) {
        let planner = app.token("planner.thqh").await;
        let created = app.post("/api/v1/plans", &planner, &plan("15/KH-SKHĐT")).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(created.header("location"), Some(format!("/api/v1/plans/{id}").as_str()));
        assert_eq!(created.body["basis"][0]["number"], "72/KH-UBND");
        let read = app.get(&format!("/api/v1/plans/{id}"), &planner).await;
        assert_eq!(read.body, created.body, "what was stored is what was answered");

        let changed = app.patch(&format!("/api/v1/plans/{id}"), &planner, &json!({"period_end_year": 2026, "signer": "Giám đốc"})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(changed.body["period_end_year"], 2026);
        assert_eq!(changed.body["vision_year"], 2030);

        let duplicate = app.post("/api/v1/plans", &planner, &plan("1148/KH-SKHĐT")).await;
        let body = duplicate.problem(409);
        assert!(body["existing"].as_str().unwrap().starts_with("/api/v1/plans/"));
        let renumber = app.patch(&format!("/api/v1/plans/{id}"), &planner, &json!({"number": "1148/KH-SKHĐT"})).await;
        renumber.problem(409);

        assert_eq!(app.delete(&format!("/api/v1/plans/{id}"), &planner).await.status, 204);
        app.get(&format!("/api/v1/plans/{id}"), &planner).await.problem(404);
        app.delete(&format!("/api/v1/plans/{id}"), &planner).await.problem(404);
        assert_eq!(app.count("plans"), 1);
        assert_eq!(app.count("audit_log"), 3 + DEMO_AUDIT_ROWS);
    }

    async fn plan_validation_names_every_field_and_stores_nothing(app) {
        let admin = app.token("admin").await;
        let mut bad = plan("   ");
        bad["period_start_year"] = json!(2026);
        bad["vision_year"] = json!(2024);
        bad["basis"][0]["title"] = json!("");
        let answer = app.post("/api/v1/plans", &admin, &bad).await;
        answer.problem(422);
        let mut fields = answer.error_fields();
        fields.sort();
        assert_eq!(fields, ["basis[0].title", "number", "period_end_year", "vision_year"]);
        let mut unknown_unit = plan("16/KH-SKHĐT");
        unknown_unit["issuer_unit_code"] = json!("NOPE");
        let answer = app.post("/api/v1/plans", &admin, &unknown_unit).await;
        assert_eq!(answer.problem(422)["errors"][0]["field"], "issuer_unit_code");
        let mut bad_date = plan("17/KH-SKHĐT");
        bad_date["issued_on"] = json!("2023-02-30");
        assert_eq!(app.post("/api/v1/plans", &admin, &bad_date).await.problem(422)["errors"][0]["field"], "issued_on");
        assert_eq!(app.count("plans"), 1);
    }

    async fn only_planners_and_admins_write_plans(app) {
        for username in ["leader.bgd", "officer.dkkd", "viewer.portal"] {
            let token = app.token(username).await;
            let answer = app.post("/api/v1/plans", &token, &plan("99/KH-X")).await;
            assert!(answer.problem(403)["detail"].as_str().unwrap().contains("planner"));
            let list = app.get("/api/v1/plans", &token).await;
            assert_eq!(list.status, 200, "{username} reads plans");
        }
        assert_eq!(app.count("plans"), 1);
    }

    async fn plans_page_sort_and_search_without_diacritics(app) {
        let planner = app.token("planner.thqh").await;
        for n in 1..=7 {
            let mut p = plan(&format!("{n}/KH-TEST"));
            p["title"] = json!(format!("Kế hoạch số {n} về khởi nghiệp"));
            assert_eq!(app.post("/api/v1/plans", &planner, &p).await.status, 201);
        }
        let page = app.get("/api/v1/plans?q=khoi%20nghiep&limit=3&offset=3&sort=-number", &planner).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body["total"], 7);
        assert_eq!((page.body["limit"].as_i64(), page.body["offset"].as_i64()), (Some(3), Some(3)));
        let numbers: Vec<&str> = page.body["items"].as_array().unwrap().iter().map(|p| p["number"].as_str().unwrap()).collect();
        assert_eq!(numbers, ["4/KH-TEST", "3/KH-TEST", "2/KH-TEST"]);
        let found = app.get("/api/v1/plans?q=CAO%20LANH%20den%20nam%202025", &planner).await;
        assert_eq!(found.body["items"][0]["number"], "1148/KH-SKHĐT");
        let decomposed = app.get("/api/v1/plans?q=1148%2FKH-SKH%C4%90T", &planner).await;
        assert_eq!(decomposed.body["total"], 1);
        let by_year = app.get("/api/v1/plans?year=2030", &planner).await;
        assert_eq!(by_year.body["total"], 0);
        let out_of_range = app.get("/api/v1/plans?year=1899", &planner).await;
        assert_eq!(out_of_range.problem(422)["errors"][0]["field"], "year");
    }
}
