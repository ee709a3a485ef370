use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Answer, JWT_SECRET};

fn sign(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

fn claims(sub: i64, overrides: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({"sub": sub.to_string(), "roles": ["admin"], "iat": now, "exp": now + 600,
        "iss": "plan-tracker", "aud": "plan-tracker"});
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

backend_tests! { spawn_demo_app;
    async fn login_returns_a_bearer_token_and_me_tells_who(app) {
        let password = app.passwords["officer.dkkd"].clone();
        let answer = app.login_answer("Officer.DKKD", &password).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["token_type"], "Bearer");
        assert_eq!(answer.body["expires_in"], 3600);
        let token = answer.body["access_token"].as_str().unwrap();
        let me = app.get("/api/v1/me", token).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["username"], "officer.dkkd");
        assert_eq!(me.body["unit_code"], "SKHDT-DKKD");
        assert_eq!(me.body["roles"], json!(["officer"]));
        assert!(me.body.get("password").is_none() && me.body.get("password_hash").is_none());
    }

    async fn wrong_password_and_unknown_user_get_the_same_401(app) {
        let wrong = app.login_answer("officer.dkkd", "Not-the-password-1").await;
        let unknown = app.login_answer("nobody.here", "Not-the-password-1").await;
        wrong.problem(401);
        unknown.problem(401);
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    }

    async fn repeated_failures_are_throttled_even_in_parallel(app) {
        // The test settings allow 3 failures per username per window.
        let attempts = (0..8).map(|_| app.login_answer("leader.bgd", "Wrong-password-1"));
        let answers = futures_util::future::join_all(attempts).await;
        let throttled: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
        assert_eq!(throttled.len(), 5, "exactly 3 attempts were let through");
        assert!(throttled[0].header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
        throttled[0].problem(429);
        // Even the right password waits now; other usernames do not.
        let password = app.passwords["leader.bgd"].clone();
        app.login_answer("leader.bgd", &password).await.problem(429);
        let other = app.passwords["planner.thqh"].clone();
        assert_eq!(app.login_answer("planner.thqh", &other).await.status, 200);
    }

    async fn bad_tokens_get_401_with_www_authenticate(app) {
        let admin_id = 1;
        let now = Utc::now().timestamp();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let alg_none = format!(
            "{}.{}.",
            engine.encode(br#"{"alg":"none","typ":"JWT"}"#),
            engine.encode(claims(admin_id, json!({})).to_string())
        );
        let valid = sign(&claims(admin_id, json!({})), JWT_SECRET);
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        parts[1] = engine.encode(claims(admin_id, json!({"roles": ["admin", "planner"]})).to_string());
        let tampered = parts.join(".");
        // HS/RS confusion: a header claiming RS256 over an HMAC made with the shared secret.
        let rs_header = engine.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = engine.encode(claims(admin_id, json!({})).to_string());
        let signing_input = format!("{rs_header}.{payload}");
        let key = EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap();
        let mac = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256).unwrap();
        let confused = format!("{signing_input}.{mac}");
        let mut kid_header = Header::new(Algorithm::HS256);
        kid_header.kid = Some("someone-elses-key".into());
        let unknown_kid = encode(&kid_header, &claims(admin_id, json!({})), &key).unwrap();
        let cases = [
            ("missing", None),
            ("garbage", Some("not.a.jwt".to_owned())),
            ("expired", Some(sign(&claims(admin_id, json!({"iat": now - 7200, "exp": now - 3600})), JWT_SECRET))),
            ("not yet valid", Some(sign(&claims(admin_id, json!({"nbf": now + 3600})), JWT_SECRET))),
            ("forged", Some(sign(&claims(admin_id, json!({})), "another-secret-another-secret-another"))),
            ("wrong audience", Some(sign(&claims(admin_id, json!({"aud": "someone-else"})), JWT_SECRET))),
            ("wrong issuer", Some(sign(&claims(admin_id, json!({"iss": "someone-else"})), JWT_SECRET))),
            ("alg none", Some(alg_none)),
            ("tampered payload", Some(tampered)),
            ("HS/RS confusion", Some(confused)),
            ("unknown kid", Some(unknown_kid)),
        ];
        // The valid token first: the service now remembers it as verified, and none of its
        // altered forms may pass for it.
        assert_eq!(app.get("/api/v1/me", &valid).await.status, 200, "the control token works");
        for (name, token) in cases {
            let answer = app.call(Method::GET, "/api/v1/me", token.as_deref(), None).await;
            assert_eq!(answer.status, 401, "{name}: {}", answer.body);
            answer.problem(401);
            assert!(answer.header("www-authenticate").unwrap().starts_with("Bearer"), "{name}");
        }
        assert_eq!(app.get("/api/v1/me", &valid).await.status, 200, "and still works");
    }

    async fn a_deactivated_users_token_stops_working_at_once(app) {
        let admin = app.token("admin").await;
        let officer = app.token("officer.htdt").await;
        assert_eq!(app.get("/api/v1/me", &officer).await.status, 200);
        let id = app.get("/api/v1/me", &officer).await.body["id"].as_i64().unwrap();
        let answer = app.patch(&format!("/api/v1/users/{id}"), &admin, &json!({"active": false})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        app.get("/api/v1/me", &officer).await.problem(401);
        let password = app.passwords["officer.htdt"].clone();
        app.login_answer("officer.htdt", &password).await.problem(401);
    }
}
