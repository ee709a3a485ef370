//! API clients: admin CRUD, the OAuth 2.0 client-credentials grant, revocation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Answer, TestApp};

const TOKEN: &str = "/api/v1/auth/token";

/// Creates a client as the admin and returns (id, secret).
async fn create_client(app: &TestApp, body: Value) -> (i64, String) {
    let admin = app.token("admin").await;
    let answer = app.post("/api/v1/clients", &admin, &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.body["id"].as_i64().unwrap();
    assert_eq!(
        answer.header("location"),
        Some(format!("/api/v1/clients/{id}").as_str())
    );
    (
        id,
        answer.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Posts a form to the token endpoint, optionally with HTTP Basic client credentials.
async fn grant(app: &TestApp, form: Form<'_>, basic: Basic<'_>) -> Answer {
    let mut request = app.client.post(app.url(TOKEN)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    Answer::from(request.send().await.unwrap()).await
}

async fn client_token(app: &TestApp, id: i64, secret: &str) -> String {
    let id = id.to_string();
    let answer = grant(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", secret),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "Bearer");
    answer.body["access_token"].as_str().unwrap().to_owned()
}

/// Form fields of a token request.
type Form<'a> = &'a [(&'a str, &'a str)];
/// HTTP Basic client credentials: id and secret.
type Basic<'a> = Option<(&'a str, &'a str)>;

/// Asserts an OAuth 2.0 error answer: problem+json with the RFC 6749 code in `error`.
#[track_caller]
fn oauth_error(answer: &Answer, status: u16, code: &str) {
    answer.problem(status);
    assert_eq!(answer.body["error"], code, "{}", answer.body);
}

backend_tests! { spawn_demo_app;
    async fn a_client_gets_tokens_by_form_and_basic_and_revocation_is_immediate(app) {
        let admin = app.token("admin").await;
        let (id, secret) = create_client(&app,
            json!({"name": "Cổng dịch vụ công", "roles": ["viewer"]})).await;
        assert_eq!(secret.len(), 43);
        // The secret is stored only as a hash and never shown again.
        let shown = app.get(&format!("/api/v1/clients/{id}"), &admin).await;
        assert_eq!(shown.status, 200);
        assert_eq!(shown.body["name"], "Cổng dịch vụ công");
        assert_eq!(shown.body["active"], true);
        let listed = app.get("/api/v1/clients?q=cong%20dich%20vu", &admin).await;
        assert_eq!(listed.body["total"], 1, "{}", listed.body);
        for body in [&shown.body.to_string(), &listed.body.to_string()] {
            assert!(!body.contains(&secret) && !body.contains("secret"), "{body}");
        }
        let stored = {
            use diesel::prelude::*;
            use plan_tracker::db::schema::api_clients;
            let mut pooled = app.pool.get().unwrap();
            let conn: &mut plan_tracker::db::DbConnection = &mut pooled;
            api_clients::table.select(api_clients::secret_hash).first::<String>(conn).unwrap()
        };
        assert!(stored.starts_with("$argon2id$") && !stored.contains(&secret));

        let token = client_token(&app, id, &secret).await;
        let by_basic = grant(&app, &[("grant_type", "client_credentials")],
            Some((&id.to_string(), &secret))).await;
        assert_eq!(by_basic.status, 200, "{}", by_basic.body);

        let me = app.get("/api/v1/me", &token).await;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["kind"], "client");
        assert_eq!(me.body["subject"], format!("client:{id}"));
        assert_eq!(me.body["client_id"], id);
        assert_eq!(me.body["id"], Value::Null);
        assert_eq!(me.body["roles"], json!(["viewer"]));
        assert_eq!(app.get("/api/v1/plans", &token).await.status, 200);
        app.get("/api/v1/users", &token).await.problem(403);

        let revoked = app.patch(&format!("/api/v1/clients/{id}"), &admin, &json!({"active": false})).await;
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        let refused = app.get("/api/v1/me", &token).await;
        refused.problem(401);
        assert!(refused.header("www-authenticate").unwrap().starts_with("Bearer"));
        let again = grant(&app, &[("grant_type", "client_credentials"), ("client_id", &id.to_string()),
            ("client_secret", &secret)], None).await;
        oauth_error(&again, 401, "invalid_client");

        // Every change is audited, by the admin's subject, without the secret.
        let audit = app.get("/api/v1/audit?entity_type=api_client", &admin).await;
        assert_eq!(audit.status, 200, "{}", audit.body);
        let actions: Vec<&str> = audit.body["items"].as_array().unwrap().iter()
            .map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["create", "revoke"]);
        assert_eq!(audit.body["items"][0]["actor_subject"], "user:1");
        assert!(!audit.body.to_string().contains(&secret));
    }

    async fn wrong_secrets_are_invalid_client_and_throttled(app) {
        let (id, secret) = create_client(&app,
            json!({"name": "Hệ thống báo cáo", "roles": ["leader"], "unit_code": "SKHDT-BGD"})).await;
        let id = id.to_string();
        let wrong = grant(&app, &[("grant_type", "client_credentials"), ("client_id", &id),
            ("client_secret", "not-the-secret")], None).await;
        oauth_error(&wrong, 401, "invalid_client");
        assert!(wrong.header("www-authenticate").unwrap().starts_with("Basic"));
        let unknown = grant(&app, &[("grant_type", "client_credentials")],
            Some(("999", "whatever"))).await;
        oauth_error(&unknown, 401, "invalid_client");
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
        // The test settings allow 3 failures per client per window; then even the right
        // secret waits, as for passwords.
        for _ in 0..2 {
            grant(&app, &[("grant_type", "client_credentials")], Some((&id, "wrong"))).await;
        }
        let throttled = grant(&app, &[("grant_type", "client_credentials")], Some((&id, &secret))).await;
        throttled.problem(429);
        assert!(throttled.header("retry-after").is_some());
    }

    async fn malformed_grants_get_rfc6749_error_codes(app) {
        let cases: [(Form, Basic, u16, &str); 5] = [
            (&[("grant_type", "authorization_code"), ("code", "x")], None, 400, "unsupported_grant_type"),
            (&[("client_id", "1"), ("client_secret", "x")], None, 400, "invalid_request"),
            (&[("grant_type", "client_credentials"), ("client_id", "1")], None, 400, "invalid_request"),
            (&[("grant_type", "client_credentials"), ("client_secret", "x")], Some(("1", "x")), 400, "invalid_request"),
            (&[("grant_type", "password"), ("username", "officer.dkkd")], None, 400, "invalid_request"),
        ];
        for (form, basic, status, code) in cases {
            oauth_error(&grant(&app, form, basic).await, status, code);
        }
        let repeated = app.client.post(app.url(TOKEN))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password&grant_type=client_credentials").send().await.unwrap();
        oauth_error(&Answer::from(repeated).await, 400, "invalid_request");
        for hostile in [
            "grant_type=client_credentials&client_id=%C3%28&client_secret=%00",
            "grant_type=client_credentials&client_id=1%27%20OR%201%3D1--&client_secret=x",
            "grant_type=client_credentials&client_id=99999999999999999999999&client_secret=x",
            "%%%&&&==",
        ] {
            let answer = app.client.post(app.url(TOKEN))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(hostile).send().await.unwrap();
            let answer = Answer::from(answer).await;
            assert!(answer.status == 400 || answer.status == 401, "{hostile}: {}", answer.body);
            answer.problem(answer.status.as_u16());
        }
        let garbage_basic = app.client.post(app.url(TOKEN)).header("authorization", "Basic %%%")
            .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        oauth_error(&Answer::from(garbage_basic).await, 401, "invalid_client");
        let text = app.client.post(app.url(TOKEN)).header("content-type", "text/plain")
            .body("hello").send().await.unwrap();
        Answer::from(text).await.problem(415);
        // The password grant, form-encoded as OAuth 2.0 clients send it.
        let password = app.passwords["officer.dkkd"].clone();
        let ok = grant(&app, &[("grant_type", "password"), ("username", "officer.dkkd"),
            ("password", &password)], None).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let bad = grant(&app, &[("grant_type", "password"), ("username", "officer.dkkd"),
            ("password", "Wrong-password-1")], None).await;
        oauth_error(&bad, 400, "invalid_grant");
    }

    async fn only_admins_manage_clients_and_input_is_checked(app) {
        let admin = app.token("admin").await;
        let planner = app.token("planner.thqh").await;
        app.post("/api/v1/clients", &planner, &json!({"name": "x", "roles": ["viewer"]})).await.problem(403);
        app.get("/api/v1/clients", &planner).await.problem(403);
        let bad = app.post("/api/v1/clients", &admin,
            &json!({"name": " ", "roles": ["viewer", "viewer"]})).await;
        bad.problem(422);
        assert_eq!(bad.error_fields(), ["name", "roles"]);
        let no_unit = app.post("/api/v1/clients", &admin,
            &json!({"name": "x", "roles": ["viewer"], "unit_code": "NOPE"})).await;
        no_unit.problem(422);
        assert_eq!(no_unit.error_fields(), ["unit_code"]);
        create_client(&app, json!({"name": "Trùng tên", "roles": ["viewer"]})).await;
        app.post("/api/v1/clients", &admin, &json!({"name": "Trùng tên", "roles": ["viewer"]})).await.problem(409);
        assert_eq!(app.count("api_clients"), 1);
        app.get("/api/v1/clients/999", &admin).await.problem(404);
    }

    async fn what_a_client_changes_is_audited_under_its_subject(app) {
        let admin = app.token("admin").await;
        let (id, secret) = create_client(&app, json!({"name": "Đồng bộ đơn vị", "roles": ["admin"]})).await;
        let token = client_token(&app, id, &secret).await;
        app.create_unit(&token, "SO-TEST", "Đơn vị thử").await;
        let subject = format!("client:{id}");
        let audit = app.get(&format!("/api/v1/audit?actor_subject={subject}"), &admin).await;
        assert_eq!(audit.body["total"], 1, "{}", audit.body);
        let entry = &audit.body["items"][0];
        assert_eq!(entry["entity_type"], "unit");
        assert_eq!(entry["actor_user_id"], Value::Null);
        // An admin client cannot make itself a user; it still has no account.
        let me = app.call(Method::GET, "/api/v1/me", Some(&token), None).await;
        assert_eq!(me.body["kind"], "client");
    }

    async fn idempotency_keys_belong_to_the_calling_client(app) {
        let (id, secret) = create_client(&app, json!({"name": "Phần mềm một cửa",
            "roles": ["officer"], "unit_code": "SKHDT-DKKD"})).await;
        let client = client_token(&app, id, &secret).await;
        let officer = app.token("officer.dkkd").await;
        let plan = app.get("/api/v1/plans?q=1148", &officer).await.body["items"][0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/plans/{plan}/submissions");
        let body = json!({"unit_code": "SKHDT-DKKD", "period": "2024-Q1"});
        let send = |token: &str| {
            app.client.post(app.url(&path)).bearer_auth(token)
                .header("idempotency-key", "mot-cua-2024-q1").json(&body).send()
        };
        let first = Answer::from(send(&client).await.unwrap()).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let replay = Answer::from(send(&client).await.unwrap()).await;
        assert_eq!(replay.status, 201);
        assert_eq!(replay.body["id"], first.body["id"]);
        // The same key from another caller is that caller's own: no replay of the client's
        // answer, but the unit's existing submission.
        let other = Answer::from(send(&officer).await.unwrap()).await;
        assert_eq!(other.problem(409)["existing"], format!("/api/v1/submissions/{}", first.body["id"]));
        assert_eq!(app.count("submissions"), 1);
    }
}
