use serde_json::json;

use crate::backend_tests;

backend_tests! { spawn_app;
    async fn admin_creates_lists_and_changes_users(app) {
        let admin = app.token("admin").await;
        app.create_unit(&admin, "SKHDT-DKKD", "Phòng Đăng ký kinh doanh").await;
        let created = app.post("/api/v1/users", &admin, &json!({
            "username": "Officer.DKKD", "password": "Dang-ky-kinh-doanh-2025",
            "full_name": "Nguyễn Văn An", "unit_code": "SKHDT-DKKD", "roles": ["officer"]
        })).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        assert_eq!(created.header("location"), Some(format!("/api/v1/users/{id}").as_str()));
        assert_eq!(created.body["username"], "officer.dkkd");
        assert!(!created.body.to_string().contains("Dang-ky-kinh-doanh-2025"), "no password in responses");
        assert_eq!(app.count("audit_log"), 2, "the unit and the user");

        let list = app.get("/api/v1/users?q=nguyen%20van&role=officer", &admin).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["total"], 1);
        assert_eq!(list.body["items"][0]["full_name"], "Nguyễn Văn An");

        let changed = app.patch(&format!("/api/v1/users/{id}"), &admin, &json!({"roles": ["officer", "leader"], "password": "Another-password-42"})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(changed.body["roles"], json!(["leader", "officer"]));
        assert_eq!(app.login_answer("officer.dkkd", "Another-password-42").await.status, 200);

        let duplicate = app.post("/api/v1/users", &admin, &json!({
            "username": "officer.dkkd", "password": "Dang-ky-kinh-doanh-2025",
            "full_name": "X", "unit_code": "SKHDT-DKKD", "roles": ["officer"]
        })).await;
        duplicate.problem(409);
    }

    async fn user_validation_lists_every_field(app) {
        let admin = app.token("admin").await;
        let answer = app.post("/api/v1/users", &admin, &json!({
            "username": "x", "password": "short", "full_name": " ", "roles": ["officer", "officer"]
        })).await;
        answer.problem(422);
        let mut fields = answer.error_fields();
        fields.sort();
        fields.dedup();
        assert_eq!(fields, ["full_name", "password", "roles", "unit_code", "username"]);
        let unknown_unit = app.post("/api/v1/users", &admin, &json!({
            "username": "someone", "password": "Long-enough-pw-1", "full_name": "A", "unit_code": "NOPE", "roles": ["officer"]
        })).await;
        assert_eq!(unknown_unit.problem(422)["errors"][0]["field"], "unit_code");
        assert_eq!(app.count("users"), 1, "only the bootstrap admin");
    }

    async fn an_admin_cannot_lock_themself_out(app) {
        let admin = app.token("admin").await;
        let me = app.get("/api/v1/me", &admin).await.body["id"].as_i64().unwrap();
        app.patch(&format!("/api/v1/users/{me}"), &admin, &json!({"active": false})).await.problem(422);
        app.patch(&format!("/api/v1/users/{me}"), &admin, &json!({"roles": ["viewer"]})).await.problem(422);
        app.get("/api/v1/users/424242", &admin).await.problem(404);
    }
}

backend_tests! { spawn_demo_app;
    async fn only_admins_manage_users(app) {
        for username in ["planner.thqh", "leader.bgd", "officer.dkkd", "viewer.portal"] {
            let token = app.token(username).await;
            let answer = app.get("/api/v1/users", &token).await;
            assert!(answer.problem(403)["detail"].as_str().unwrap().contains("admin"), "{username}");
            app.post("/api/v1/users", &token, &json!({
                "username": "intruder", "password": "Long-enough-pw-1", "full_name": "I",
                "unit_code": "SKHDT-DKKD", "roles": ["admin"]
            })).await.problem(403);
        }
        assert_eq!(app.count("users"), 6);
    }
}
