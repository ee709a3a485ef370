use serde_json::json;

use crate::backend_tests;

backend_tests! { spawn_app;
    async fn units_are_created_read_and_changed(app) {
        let admin = app.token("admin").await;
        app.create_unit(&admin, "SKHDT", "Sở Kế hoạch và Đầu tư").await;
        let created = app.post("/api/v1/units", &admin, &json!({
            "code": "SKHDT-TTHTDN", "name": "Trung tâm Hỗ trợ Doanh nghiệp và Khởi nghiệp",
            "kind": "internal", "parent_code": "SKHDT", "aliases": ["Trung tâm Hỗ trợ DN và KN"]
        })).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.header("location"), Some("/api/v1/units/SKHDT-TTHTDN"));
        assert_eq!(created.body["aliases"], json!(["Trung tâm Hỗ trợ DN và KN"]));
        assert!(created.body["created_at"].as_str().unwrap().ends_with('Z'));

        let found = app.get("/api/v1/units?q=ho%20tro%20dn%20va%20kn", &admin).await;
        assert_eq!(found.body["total"], 1, "found by alias without diacritics");
        let found = app.get("/api/v1/units?q=KHỞI%20NGHIỆP", &admin).await;
        assert_eq!(found.body["items"][0]["code"], "SKHDT-TTHTDN");

        let changed = app.patch("/api/v1/units/SKHDT-TTHTDN", &admin, &json!({"short_name": "TT HTDN", "valid_to": "2025-02-28"})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(changed.body["short_name"], "TT HTDN");
        let cleared = app.patch("/api/v1/units/SKHDT-TTHTDN", &admin, &json!({"short_name": null})).await;
        assert_eq!(cleared.body["short_name"], serde_json::Value::Null);
        assert_eq!(cleared.body["valid_to"], "2025-02-28", "absent fields stay");
        let active = app.get("/api/v1/units?active_on=2025-06-01", &admin).await;
        assert_eq!(active.body["total"], 1, "only SKHDT existed then");

        let duplicate = app.post("/api/v1/units", &admin, &json!({"code": "SKHDT", "name": "Again", "kind": "internal"})).await;
        assert_eq!(duplicate.problem(409)["existing"], "/api/v1/units/SKHDT");
        app.get("/api/v1/units/NOPE", &admin).await.problem(404);
    }

    async fn unit_references_are_checked(app) {
        let admin = app.token("admin").await;
        app.create_unit(&admin, "A", "Đơn vị A").await;
        let answer = app.post("/api/v1/units", &admin, &json!({"code": "B", "name": "B", "kind": "internal",
            "parent_code": "NOPE", "valid_from": "2025-01-02", "valid_to": "2025-01-01"})).await;
        answer.problem(422);
        assert_eq!(answer.error_fields(), ["valid_to"]);
        let answer = app.post("/api/v1/units", &admin, &json!({"code": "B", "name": "B", "kind": "internal", "successor_code": "A"})).await;
        answer.problem(422);
        assert!(answer.body.to_string().contains("successor_code"), "successors are recorded by a succession: {}", answer.body);
        let answer = app.post("/api/v1/units", &admin, &json!({"code": "B", "name": "B", "kind": "internal", "parent_code": "NOPE"})).await;
        assert_eq!(answer.problem(422)["errors"][0]["field"], "parent_code");
        app.post("/api/v1/units", &admin, &json!({"code": "B", "name": "B", "kind": "internal", "parent_code": "A"})).await;
        let cycle = app.patch("/api/v1/units/A", &admin, &json!({"parent_code": "B"})).await;
        assert!(cycle.problem(422)["errors"][0]["message"].as_str().unwrap().contains("cycle"));
    }

    async fn concurrent_changes_wait_for_each_other(app) {
        // Each change reads, then writes, in one transaction. On SQLite a deferred transaction
        // cannot upgrade its read lock once another has written (SQLITE_BUSY at once, 503);
        // the write lock is taken at BEGIN, so the changes queue instead.
        let admin = app.token("admin").await;
        app.create_unit(&admin, "A", "Đơn vị A").await;
        let changes = (0..16).map(|i| {
            let admin = admin.clone();
            let app = &app;
            async move { app.patch("/api/v1/units/A", &admin, &json!({"name": format!("Đơn vị A {i}")})).await }
        });
        for answer in futures_util::future::join_all(changes).await {
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        assert_eq!(app.count("audit_log"), 17);
    }
}

backend_tests! { spawn_demo_app;
    async fn everyone_reads_units_only_admins_write(app) {
        let viewer = app.token("viewer.portal").await;
        let list = app.get("/api/v1/units?limit=5&sort=-code", &viewer).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["total"], 15, "plan 1148's twelve and the three wards of 2025");
        assert_eq!(list.body["items"].as_array().unwrap().len(), 5);
        assert_eq!(list.body["items"][0]["code"], "UBND-TPCL");
        assert_eq!(list.body["items"][2]["code"], "UBND-PMT");
        let planner = app.token("planner.thqh").await;
        app.patch("/api/v1/units/STC", &planner, &json!({"name": "Sở Tài chính tỉnh Đồng Tháp"})).await.problem(403);
        let found = app.get("/api/v1/units?q=dong%20thap&kind=external", &viewer).await;
        let codes: Vec<&str> = found.body["items"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["BQL-KKT", "HDND-TINH", "UBND-TINH"]);
    }
}
