//! Tokens of trusted external issuers: one RS256 issuer with a JWKS served here on loopback,
//! one ES256 issuer with a PEM key file. The keys under tests/fixtures/test-keys are test keys
//! made with openssl for these tests only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_demo_app_with, Answer, Backend, TestApp, JWT_SECRET};

const SSO: &str = "https://sso.test";
const PORTAL: &str = "https://portal.test";
const DOWN: &str = "https://down.test";
const GOV_CODE: &str = "000.20.34.H20";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/test-keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn jwk(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("test-{name}.jwk.json"))).unwrap(),
    )
    .unwrap()
}

/// A JWKS endpoint on loopback that counts how often it is fetched.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(keys: Value) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/jwks",
            listener.local_addr().unwrap().port()
        );
        let (served, counted) = (keys.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (served, counted) = (served.clone(), counted.clone());
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().unwrap().clone();
                    async move { HttpResponse::Ok().json(body) }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        JwksServer { url, keys, hits }
    }

    fn serve(&self, keys: Value) {
        *self.keys.lock().unwrap() = keys;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The demo app trusting both test issuers; unit SKHDT-THQH carries the electronic agency
/// code, SKHDT-NVKHDT ceased in 2025.
async fn setup(backend: Backend) -> (TestApp, JwksServer) {
    let jwks = JwksServer::start(json!({"keys": [jwk("rsa-1")]}));
    // A port nothing listens on, for an issuer whose JWKS is unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuers = json!([
        {"issuer": DOWN, "audience": "plan-tracker", "algorithms": ["RS256"],
         "jwks_url": format!("http://127.0.0.1:{closed}/jwks"), "role_map": {"CanBo": "officer"}},
        {"issuer": SSO, "audience": "plan-tracker", "algorithms": ["RS256"],
         "jwks_url": jwks.url, "min_refresh_secs": 1,
         "claims": {"unit": "unit", "roles": "groups"},
         "role_map": {"CanBo": "officer", "LanhDao": "leader", "QuanTri": "admin"}},
        {"issuer": PORTAL, "audience": "plan-tracker-portal", "algorithms": ["ES256"],
         "keys": [{"pem_file": fixture("test-ec-1.pub.pem"), "kid": "ec-1"}],
         "claims": {"subject": "preferred_username", "name": "full_name",
                    "unit": "org.gov_code", "unit_is": "gov_code", "roles": "scope"},
         "role_map": {"plans.read": "viewer", "plans.plan": "planner"}}
    ])
    .to_string();
    let app = spawn_demo_app_with(backend, &[("TRUSTED_ISSUERS", &issuers)]).await;
    let admin = app.token("admin").await;
    let answer = app
        .patch(
            "/api/v1/units/SKHDT-THQH",
            &admin,
            &json!({"gov_code": GOV_CODE}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let ceased = json!({"successors": [{"code": "SKHDT-THQH"}], "effective_on": "2025-03-02",
        "transfer": {"indicators": false, "tasks": false, "open_submissions": false}});
    let answer = app
        .post("/api/v1/units/SKHDT-NVKHDT/succession", &admin, &ceased)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    (app, jwks)
}

/// Claims of a fresh token from `iss` for `aud`, with `extra` claims on top.
fn claims(iss: &str, aud: &str, extra: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({"iss": iss, "aud": aud, "iat": now, "exp": now + 600});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture(&format!("test-{name}.key.pem"))).unwrap())
        .unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture("test-ec-1.key.pem")).unwrap()).unwrap()
}

/// A token of the RS256 issuer signed with the key `name`, named by `kid`.
fn sso_token(name: &str, kid: &str, extra: Value) -> String {
    sign(
        Algorithm::RS256,
        &rsa_key(name),
        Some(kid),
        &claims(SSO, "plan-tracker", extra),
    )
}

fn officer() -> Value {
    json!({"sub": "u-100", "name": "Lê Văn C", "unit": "SKHDT-DKKD", "groups": ["CanBo", "Khac"]})
}

async fn me(app: &TestApp, token: &str) -> Answer {
    app.call(Method::GET, "/api/v1/me", Some(token), None).await
}

/// Runs each test on SQLite, and on PostgreSQL when the suite was built for it.
macro_rules! issuer_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }

            #[cfg(pg_tests)]
            #[tokio::test]
            async fn postgres() {
                super::$name(crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

issuer_tests!(
    rs256_tokens_via_jwks_map_roles_and_units_and_follow_key_rotation,
    es256_tokens_via_pem_map_the_electronic_agency_code,
    every_invalid_external_token_gets_401,
    valid_tokens_without_a_usable_unit_or_role_get_403,
    an_issuer_whose_keys_cannot_be_fetched_gets_503,
);

async fn rs256_tokens_via_jwks_map_roles_and_units_and_follow_key_rotation(backend: Backend) {
    let (app, jwks) = setup(backend).await;
    assert_eq!(jwks.hits(), 0, "keys are fetched on first use");
    let accounts = app.count("users");
    let token = sso_token("rsa-1", "rsa-1", officer());
    let answer = me(&app, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["kind"], "external");
    assert_eq!(answer.body["subject"], format!("external:{SSO}#u-100"));
    assert_eq!(answer.body["issuer"], SSO);
    assert_eq!(answer.body["full_name"], "Lê Văn C");
    assert_eq!(answer.body["unit_code"], "SKHDT-DKKD");
    assert_eq!(answer.body["roles"], json!(["officer"]));
    assert_eq!(answer.body["id"], Value::Null);
    assert_eq!(me(&app, &token).await.status, 200);
    assert_eq!(jwks.hits(), 1, "the key set is cached");

    // The issuer rotates to a new key: a token naming it refetches once, then is accepted.
    jwks.serve(json!({"keys": [jwk("rsa-1"), jwk("rsa-2")]}));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = sso_token("rsa-2", "rsa-2", officer());
    assert_eq!(me(&app, &rotated).await.status, 200);
    assert_eq!(jwks.hits(), 2);
    // Another unknown kid inside min_refresh_secs fetches nothing and is refused.
    let unknown = me(&app, &sso_token("rsa-2", "rsa-3", officer())).await;
    unknown.problem(401);
    assert!(
        unknown.body["detail"].as_str().unwrap().contains("kid"),
        "{}",
        unknown.body
    );
    assert_eq!(jwks.hits(), 2, "no second fetch within the refresh window");
    assert_eq!(me(&app, &rotated).await.status, 200);
    assert_eq!(jwks.hits(), 2);

    // A user known only to the issuer acts, and the audit trail names them.
    let admin = sso_token(
        "rsa-2",
        "rsa-2",
        json!({"sub": "root-7", "groups": "QuanTri"}),
    );
    app.create_unit(&admin, "SO-SSO", "Đơn vị từ SSO").await;
    let local_admin = app.token("admin").await;
    let audit = app
        .get(
            "/api/v1/audit?entity_type=unit&entity_id=SO-SSO",
            &local_admin,
        )
        .await;
    assert_eq!(audit.body["total"], 1, "{}", audit.body);
    assert_eq!(
        audit.body["items"][0]["actor_subject"],
        format!("external:{SSO}#root-7")
    );
    assert_eq!(audit.body["items"][0]["actor_user_id"], Value::Null);
    assert_eq!(
        app.count("users"),
        accounts,
        "external users get no local account"
    );
}

async fn es256_tokens_via_pem_map_the_electronic_agency_code(backend: Backend) {
    let (app, jwks) = setup(backend).await;
    let claims = claims(
        PORTAL,
        "plan-tracker-portal",
        json!({"preferred_username": "tran.b",
        "full_name": "Trần Thị B", "org": {"gov_code": GOV_CODE}, "scope": "openid plans.read plans.plan"}),
    );
    let token = sign(Algorithm::ES256, &ec_key(), Some("ec-1"), &claims);
    let answer = me(&app, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["subject"], format!("external:{PORTAL}#tran.b"));
    assert_eq!(answer.body["unit_code"], "SKHDT-THQH");
    assert_eq!(answer.body["roles"], json!(["planner", "viewer"]));
    assert_eq!(app.get("/api/v1/plans", &token).await.status, 200);
    assert_eq!(jwks.hits(), 0, "the PEM issuer needs no JWKS");
}

async fn every_invalid_external_token_gets_401(backend: Backend) {
    let (app, _jwks) = setup(backend).await;
    let now = Utc::now().timestamp();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good = sso_token("rsa-1", "rsa-1", officer());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut elevated = claims(SSO, "plan-tracker", officer());
    elevated["groups"] = json!(["QuanTri"]);
    parts[1] = engine.encode(elevated.to_string());
    let tampered = parts.join(".");
    // HS/RS confusion: HS256 with the issuer's public key (or our own secret) as the HMAC key.
    let public_pem = std::fs::read(fixture("test-rsa-1.pub.pem")).unwrap();
    let with_public_key = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_pem).unwrap(),
        Some("rsa-1"),
        &claims(SSO, "plan-tracker", officer()),
    );
    let with_our_secret = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
        None,
        &claims(SSO, "plan-tracker", officer()),
    );
    let portal_claims = json!({"preferred_username": "tran.b", "org": {"gov_code": GOV_CODE},
        "scope": "plans.read"});
    let cases = [
        (
            "expired",
            "expired",
            sso_token(
                "rsa-1",
                "rsa-1",
                json!({"sub": "u", "unit": "SKHDT-DKKD",
            "groups": ["CanBo"], "iat": now - 7200, "exp": now - 3600}),
            ),
        ),
        (
            "not yet valid",
            "not yet valid",
            sso_token(
                "rsa-1",
                "rsa-1",
                json!({"sub": "u", "unit": "SKHDT-DKKD",
            "groups": ["CanBo"], "nbf": now + 3600}),
            ),
        ),
        (
            "wrong audience",
            "audience",
            sign(
                Algorithm::RS256,
                &rsa_key("rsa-1"),
                Some("rsa-1"),
                &claims(SSO, "someone-else", officer()),
            ),
        ),
        (
            "unknown issuer",
            "not accepted",
            sign(
                Algorithm::RS256,
                &rsa_key("rsa-1"),
                Some("rsa-1"),
                &claims("https://elsewhere.test", "plan-tracker", officer()),
            ),
        ),
        (
            "signed by another key",
            "signature",
            sso_token("rsa-2", "rsa-1", officer()),
        ),
        ("tampered", "signature", tampered),
        ("unknown kid", "kid", sso_token("rsa-1", "rsa-9", officer())),
        ("HS256 with the public key", "algorithm", with_public_key),
        ("HS256 with our own secret", "algorithm", with_our_secret),
        (
            "RS256 to an ES256-only issuer",
            "algorithm",
            sign(
                Algorithm::RS256,
                &rsa_key("rsa-1"),
                Some("ec-1"),
                &claims(PORTAL, "plan-tracker-portal", portal_claims.clone()),
            ),
        ),
        (
            "ES256 with an unknown kid",
            "kid",
            sign(
                Algorithm::ES256,
                &ec_key(),
                Some("ec-2"),
                &claims(PORTAL, "plan-tracker-portal", portal_claims.clone()),
            ),
        ),
        (
            "no subject",
            "subject",
            sso_token(
                "rsa-1",
                "rsa-1",
                json!({"unit": "SKHDT-DKKD", "groups": ["CanBo"]}),
            ),
        ),
    ];
    for (name, reason, token) in cases {
        let answer = me(&app, &token).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.body);
        answer.problem(401);
        let detail = answer.body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{name}: {detail}");
        assert!(
            answer
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer"),
            "{name}"
        );
    }
    assert_eq!(me(&app, &good).await.status, 200, "the control token works");
    // The service's own tokens keep working beside the external ones.
    let own = app.token("officer.dkkd").await;
    assert_eq!(me(&app, &own).await.body["kind"], "user");
}

async fn valid_tokens_without_a_usable_unit_or_role_get_403(backend: Backend) {
    let (app, _jwks) = setup(backend).await;
    let cases = [
        (
            "unknown unit",
            json!({"sub": "u", "unit": "NO-SUCH-UNIT", "groups": ["CanBo"]}),
            "NO-SUCH-UNIT",
        ),
        (
            "ceased unit",
            json!({"sub": "u", "unit": "SKHDT-NVKHDT", "groups": ["CanBo"]}),
            "successor is SKHDT-THQH",
        ),
        (
            "no unit",
            json!({"sub": "u", "groups": ["CanBo"]}),
            "no unit",
        ),
        (
            "unmapped roles",
            json!({"sub": "u", "unit": "SKHDT-DKKD", "groups": ["Khach"]}),
            "Khach",
        ),
        (
            "no roles",
            json!({"sub": "u", "unit": "SKHDT-DKKD"}),
            "no roles",
        ),
    ];
    for (name, extra, detail) in cases {
        let answer = me(&app, &sso_token("rsa-1", "rsa-1", extra)).await;
        answer.problem(403);
        let text = answer.body["detail"].as_str().unwrap();
        assert!(text.contains(detail), "{name}: {text}");
    }
    let unknown_gov_code = claims(
        PORTAL,
        "plan-tracker-portal",
        json!({"preferred_username": "x",
        "org": {"gov_code": "000.00.00.Z99"}, "scope": "plans.read"}),
    );
    let answer = me(
        &app,
        &sign(Algorithm::ES256, &ec_key(), Some("ec-1"), &unknown_gov_code),
    )
    .await;
    answer.problem(403);
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("000.00.00.Z99"));
}

async fn an_issuer_whose_keys_cannot_be_fetched_gets_503(backend: Backend) {
    let (app, _jwks) = setup(backend).await;
    let claims = claims(DOWN, "plan-tracker", officer());
    let token = sign(Algorithm::RS256, &rsa_key("rsa-1"), Some("rsa-1"), &claims);
    // The outage is the issuer's, not the token's: 503 with Retry-After, not a 401 that would
    // tell the client to drop a good token. A retry within the refresh window fetches nothing
    // and answers the same.
    for _ in 0..2 {
        let answer = me(&app, &token).await;
        answer.problem(503);
        assert!(answer.header("retry-after").is_some());
        assert!(
            answer.body["detail"].as_str().unwrap().contains(DOWN),
            "{}",
            answer.body
        );
    }
}
