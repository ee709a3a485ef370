//! Starts the real application on a fresh database and speaks HTTP to it.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use plan_tracker::config::Settings;
use plan_tracker::db::{self, Pool};
use plan_tracker::demo;
use plan_tracker::startup::{connect_and_migrate, Application};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-42";
pub const ADMIN_PASSWORD: &str = "Bootstrap-root-2025";
/// The audit rows the demo data starts with: its two successions of 2025.
pub const DEMO_AUDIT_ROWS: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(pg_tests), allow(dead_code))]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Removes the test's database when the test ends.
enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, schema } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    /// Demo passwords by username, when the app was started with the demo data.
    pub passwords: HashMap<String, String>,
    _guard: DbGuard,
}

/// A fresh, empty database of `backend` and its URL.
fn fresh_database(backend: Backend) -> (String, DbGuard) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, DbGuard::Sqlite(dir))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL")
                .expect("TEST_DATABASE_URL must be set for PostgreSQL tests");
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&admin_url)
                .unwrap_or_else(|e| panic!("PostgreSQL at TEST_DATABASE_URL is unreachable: {e}"));
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create test schema");
            let separator = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
            (url, DbGuard::Postgres { admin_url, schema })
        }
    }
}

pub fn settings_with(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = [
        ("BIND", "127.0.0.1:0"),
        ("DATABASE_URL", database_url),
        ("JWT_SECRET", JWT_SECRET),
        ("BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_LOCKOUT_SECS", "120"),
        ("DB_TIMEOUT_SECS", "2"),
        ("DB_POOL_SIZE", "4"),
        ("WORKERS", "1"),
        ("MAX_BODY_BYTES", "262144"),
        ("SHUTDOWN_TIMEOUT_SECS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings")
}

async fn start(backend: Backend, demo_data: bool, extra: &[(&str, &str)]) -> TestApp {
    let (url, guard) = fresh_database(backend);
    let settings = settings_with(&url, extra);
    let mut passwords = HashMap::new();
    if demo_data {
        let pool = connect_and_migrate(&settings).expect("migrate");
        let mut conn = pool.get().expect("connection");
        for c in demo::load(&mut conn).expect("demo data") {
            passwords.insert(c.username, c.password);
        }
    }
    let app = Application::build(settings.clone()).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool =
        db::build_pool(&settings.database_url, 2, std::time::Duration::from_secs(5)).expect("pool");
    TestApp {
        address,
        client: reqwest::Client::new(),
        pool,
        passwords,
        _guard: guard,
    }
}

/// The app on an empty database with only the bootstrap admin.
pub async fn spawn_app(backend: Backend) -> TestApp {
    start(backend, false, &[]).await
}

/// The app with plan 1148's demo data: its units, the plan, and one user per role.
pub async fn spawn_demo_app(backend: Backend) -> TestApp {
    start(backend, true, &[]).await
}

/// Webhook settings for tests: loopback `http://` receivers, and polls and retries in
/// milliseconds. The overdue scan is left to the tests, which run it themselves.
pub const FAST_WEBHOOKS: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOW_HTTP", "true"),
    ("WEBHOOK_POLL_MS", "50"),
    ("WEBHOOK_TIMEOUT_MS", "2000"),
    ("WEBHOOK_BACKOFF_BASE_MS", "100"),
    ("WEBHOOK_BACKOFF_MAX_MS", "400"),
    ("WEBHOOK_OVERDUE_SCAN_MS", "3600000"),
];

/// The demo app with [`FAST_WEBHOOKS`].
pub async fn spawn_webhook_app(backend: Backend) -> TestApp {
    start(backend, true, FAST_WEBHOOKS).await
}

/// The demo app with extra settings (e.g. `TRUSTED_ISSUERS`).
pub async fn spawn_demo_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    start(backend, true, extra).await
}

/// A response's status, headers and JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn from(response: Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with `status`, returning its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:plan-tracker:problem:")));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        assert!(self.body["instance"].is_string());
        &self.body
    }

    /// The field names of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A token for `username` from the service at `base`, for tests that start the service
/// themselves rather than through [`TestApp`].
pub async fn access_token(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> String {
    let answer = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login request");
    let answer = Answer::from(answer).await;
    assert_eq!(answer.status, 200, "login {username}: {}", answer.body);
    answer.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::from(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login_answer(&self, username: &str, password: &str) -> Answer {
        let body = serde_json::json!({"username": username, "password": password});
        self.call(Method::POST, "/api/v1/auth/token", None, Some(&body))
            .await
    }

    /// A token for `username`: the bootstrap admin, or a demo user.
    pub async fn token(&self, username: &str) -> String {
        let password = match username {
            "admin" if !self.passwords.contains_key("admin") => ADMIN_PASSWORD,
            other => self
                .passwords
                .get(other)
                .map(String::as_str)
                .expect("known demo user"),
        };
        let answer = self.login_answer(username, password).await;
        assert_eq!(answer.status, 200, "login {username}: {}", answer.body);
        answer.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Counts the rows of `table`, to assert what was (not) stored.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut pooled = self.pool.get().expect("connection");
        let conn: &mut db::DbConnection = &mut pooled;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .expect("count")
            .n
    }

    /// Creates an empty 2021–2025 plan numbered `number` and returns its id.
    pub async fn create_plan(&self, token: &str, number: &str) -> i64 {
        let body = serde_json::json!({
            "number": number, "title": format!("Kế hoạch {number}"), "issuer_unit_code": "SKHDT",
            "issued_on": "2022-05-06", "period_start_year": 2021, "period_end_year": 2025,
            "consolidating_unit_code": "SKHDT-THQH"
        });
        let answer = self.post("/api/v1/plans", token, &body).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_i64().expect("plan id")
    }

    /// Creates a unit as `token`'s caller and returns its code.
    pub async fn create_unit(&self, token: &str, code: &str, name: &str) -> String {
        let answer = self
            .post(
                "/api/v1/units",
                token,
                &serde_json::json!({"code": code, "name": name, "kind": "internal"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        code.to_owned()
    }
}

/// Defines each test twice: on SQLite always, and on PostgreSQL when the suite was built with
/// TEST_DATABASE_URL set. The first argument names the helper that starts the app
/// (`spawn_app` or `spawn_demo_app`).
#[macro_export]
macro_rules! backend_tests {
    ($spawn:ident; $(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::helpers::$spawn($crate::helpers::Backend::Sqlite).await).await
            }

            #[cfg(pg_tests)]
            #[tokio::test]
            async fn postgres() {
                run($crate::helpers::$spawn($crate::helpers::Backend::Postgres).await).await
            }
        }
    )*};
}
