//! Builds the application from settings: pool, migrations, keys, routes, middleware.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress, DefaultHeaders};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use rand::RngCore;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::api::extract;
use crate::auth::cache::CallerCache;
use crate::auth::jwks::TrustedIssuers;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::error::ApiError;
use crate::openapi::{self, MethodTable};
use crate::webhooks::worker::Worker;

/// Where the OpenAPI document is served (and the docs page reads it from).
const OPENAPI_PATH: &str = "/api-docs/openapi.json";

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    /// External issuers whose tokens are accepted besides the service's own.
    pub issuers: TrustedIssuers,
    pub throttle: LoginThrottle,
    /// Recently resolved token subjects (accounts and API clients).
    pub callers: CallerCache,
    pub settings: Settings,
    pub methods: MethodTable,
}

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    settings: Settings,
}

impl Application {
    /// Connects, migrates, creates the bootstrap admin if asked, and binds `settings.bind`.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = connect_and_migrate(&settings)?;
        bootstrap_admin(&pool, &settings)?;
        Self::build_with_pool(settings, pool)
    }

    /// Serves with an existing pool, touching no database at start.
    pub fn build_with_pool(settings: Settings, pool: Pool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let server = run(listener, settings.clone(), pool.clone())?;
        Ok(Application {
            port,
            server,
            pool,
            settings,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves, with the webhook worker beside it, until SIGTERM or SIGINT; in-flight requests
    /// and webhook deliveries finish within the shutdown timeout.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let worker = Worker::start(self.pool, self.settings.webhooks.clone())
            .map_err(std::io::Error::other)?;
        let served = self.server.await;
        worker.stop(self.settings.shutdown_timeout).await;
        served
    }
}

/// Opens the pool and applies pending migrations.
pub fn connect_and_migrate(settings: &Settings) -> anyhow::Result<Pool> {
    let pool = db::build_pool(
        &settings.database_url,
        settings.db_pool_size,
        settings.db_checkout_timeout,
    )?;
    let mut conn = pool
        .get()
        .context("connecting to the database (DATABASE_URL)")?;
    let applied = db::run_migrations(&mut conn)?;
    tracing::info!(
        applied,
        backend = settings.database_url.backend_name(),
        "database migrated"
    );
    Ok(pool)
}

fn bootstrap_admin(pool: &Pool, settings: &Settings) -> anyhow::Result<()> {
    let Some(password) = &settings.bootstrap_admin_password else {
        return Ok(());
    };
    let mut conn = pool.get()?;
    if db::users::count(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))? > 0 {
        return Ok(());
    }
    if let Some(weakness) = crate::auth::password::weakness(password, "admin") {
        anyhow::bail!("BOOTSTRAP_ADMIN_PASSWORD {weakness}");
    }
    let new = db::users::NewUser {
        username: "admin".into(),
        password_hash: crate::auth::password::hash(password)?,
        full_name: "Quản trị hệ thống".into(),
        unit_code: None,
        roles: vec![crate::domain::role::Role::Admin],
    };
    db::users::insert(&mut conn, &new).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!("created the bootstrap user admin");
    Ok(())
}

fn signing_secret(settings: &Settings) -> Vec<u8> {
    settings.jwt_secret.clone().unwrap_or_else(|| {
        tracing::warn!(
            "JWT_SECRET is not set: using a random key; tokens stop working when the process \
             restarts and are not shared between processes"
        );
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        key
    })
}

/// Answers requests no route matched: 405 with `Allow` for a known path, else 404.
async fn no_route(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Err(match state.methods.allowed(req.path()) {
        Some(allowed) => ApiError::MethodNotAllowed {
            method: req.method().clone(),
            allowed: allowed.to_vec(),
        },
        None => ApiError::NotFound(format!("no resource at {}", req.path())),
    })
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
            "x-request-id",
        ])
        .expose_headers(["location", "etag", "x-request-id", "retry-after"])
        .max_age(3600);
    origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}

fn run(listener: TcpListener, settings: Settings, pool: Pool) -> anyhow::Result<Server> {
    let document = openapi::document();
    // Built once; each answer shares these bytes.
    let contract = web::Bytes::from(openapi::json_of(&document));
    let pool_size = pool.max_size() as usize;
    let workers = match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let state = web::Data::new(AppState {
        pool,
        tokens: TokenKeys::new(
            &signing_secret(&settings),
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.token_ttl.as_secs() as i64,
        )?,
        issuers: TrustedIssuers::new(&settings.trusted_issuers, &settings.jwt_issuer)?,
        throttle: LoginThrottle::new(settings.login_max_failures, settings.login_lockout),
        callers: CallerCache::new(settings.caller_cache_ttl),
        methods: MethodTable::from_document(&document),
        settings: settings.clone(),
    });
    let max_body = settings.max_body_bytes;
    let pipeline = db::pipeline::PipelineConfig::for_url(
        &settings.database_url,
        settings.db_checkout_timeout,
    )?;
    let server = HttpServer::new(move || {
        App::new()
            .into_utoipa_app()
            .configure(crate::api::configure)
            .into_app()
            .app_data(state.clone())
            // Per worker: each worker's requests share their own pipelined connection.
            .app_data(web::Data::new(db::pipeline::Reader::new(pipeline.clone())))
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .app_data(web::QueryConfig::default().error_handler(extract::query_error))
            .route(
                OPENAPI_PATH,
                web::get().to({
                    let contract = contract.clone();
                    move || {
                        let body = contract.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(body)
                        }
                    }
                }),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .config(Config::new([OPENAPI_PATH]).validator_url("none")),
            )
            .default_service(web::to(no_route))
            .wrap(cors(&state.settings.cors_origins))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Cache-Control", "no-store"))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .wrap(from_fn(crate::telemetry::request_context))
            // Outermost, so it compresses the final body: the request context rewrites
            // problem bodies, and a body rewritten after compression would be sent as plain
            // JSON under `Content-Encoding: gzip`.
            .wrap(Compress::default())
    })
    .listen(listener)?
    .workers(workers)
    // Database work runs on blocking threads, a pool of them per worker (reads by id on
    // PostgreSQL excepted: src/db/pipeline.rs). Together they hold no more threads than the
    // pool has connections, so work waits for a thread in the blocking pool's first-come
    // queue, never for a connection: r2d2 lets a newcomer take a freed
    // connection before the thread that waited longest, and under load some requests then
    // waited close to a second (bench/RESULTS.md). Fewer threads also mean fewer stacks and
    // allocator arenas (actix's default is 512 per worker).
    .worker_max_blocking_threads((pool_size / workers).max(1))
    .shutdown_timeout(settings.shutdown_timeout.as_secs());
    Ok(server.run())
}
