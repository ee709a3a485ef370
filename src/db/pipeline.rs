//! Reads of one statement on PostgreSQL over one connection per HTTP worker, shared by the
//! worker's requests in flight so that their statements are pipelined.
//!
//! The pool's blocking connections answer one statement at a time: each request wakes a
//! blocking thread, which sends its statement and sleeps until PostgreSQL answers, and
//! PostgreSQL's backend sleeps and wakes once per statement too. On two cores those thread
//! switches cost more than the statement (bench/RESULTS.md, round 7). Here the worker's
//! concurrent requests write their statements to one socket, PostgreSQL reads and answers them
//! in turn, and the answers come back on the worker's own thread. Every request still runs its
//! own statement, started after it arrived: nothing is cached or merged.
//!
//! Only for reads of one statement outside a transaction (a lookup by key): writes and reads
//! that must see one snapshot stay on the pool's connections ([`super::run`],
//! [`super::transaction`]). SQLite has no network round trip to save and keeps the pool.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;

use super::DatabaseUrl;
use crate::error::ApiError;

/// How to reach PostgreSQL for pipelined reads, checked once at start-up and copied into
/// each worker's [`Reader`].
#[derive(Clone)]
pub struct PipelineConfig {
    config: tokio_postgres::Config,
    /// The pool's checkout timeout: the longest wait to connect, and for a statement's answer.
    timeout: Duration,
}

impl PipelineConfig {
    /// `None` for SQLite. A PostgreSQL URL that tokio-postgres cannot read is an error here,
    /// at start-up, rather than a 503 on every read later.
    pub fn for_url(url: &DatabaseUrl, timeout: Duration) -> anyhow::Result<Option<Self>> {
        let DatabaseUrl::Postgres { url } = url else {
            return Ok(None);
        };
        let mut config: tokio_postgres::Config = url.parse().map_err(|error| {
            anyhow::anyhow!("DATABASE_URL cannot be used for pipelined reads: {error}")
        })?;
        config.connect_timeout(timeout);
        Ok(Some(PipelineConfig { config, timeout }))
    }
}

/// The pipelined connection of one HTTP worker, opened on first use and again after it was
/// lost. Lives on the worker's thread (it is not `Send`); `None` inside on SQLite.
pub struct Reader {
    config: Option<PipelineConfig>,
    live: RefCell<Option<Shared>>,
    /// One connection attempt at a time, so a burst of requests after a loss opens one
    /// connection, not one each.
    connecting: tokio::sync::Mutex<()>,
    /// When the last attempt to connect failed.
    failed_at: Cell<Option<Instant>>,
}

/// A connection and whether its driver has ended (the server closed it, or the network).
#[derive(Clone)]
struct Shared {
    conn: Rc<AsyncPgConnection>,
    closed: Rc<Cell<bool>>,
}

/// A pipelined connection handed to one request.
pub struct Lease {
    shared: Shared,
    /// How long its statement may take to be answered (the pool's checkout timeout).
    timeout: Duration,
}

impl Lease {
    /// The connection to run the statement on, as diesel-async's shared-reference connection
    /// (`&AsyncPgConnection`), which pipelines statements issued concurrently.
    pub fn conn(&self) -> &AsyncPgConnection {
        &self.shared.conn
    }
}

impl Reader {
    pub fn new(config: Option<PipelineConfig>) -> Self {
        Reader {
            config,
            live: RefCell::new(None),
            connecting: tokio::sync::Mutex::new(()),
            failed_at: Cell::new(None),
        }
    }

    /// The worker's connection, opened if there is none or the last one was lost; `None` on
    /// SQLite, whose reads stay on the pool. Answers 503 when PostgreSQL cannot be reached
    /// within the pool's checkout timeout.
    pub async fn lease(&self) -> Option<Result<Lease, ApiError>> {
        let config = self.config.as_ref()?;
        let shared = match self.current() {
            Some(shared) => Ok(shared),
            None => self.reconnect(config).await,
        };
        Some(shared.map(|shared| Lease {
            shared,
            timeout: config.timeout,
        }))
    }

    /// Opens the worker's connection, unless a request that waited its turn before this one
    /// already has.
    async fn reconnect(&self, config: &PipelineConfig) -> Result<Shared, ApiError> {
        let asked = Instant::now();
        let _turn = self.connecting.lock().await;
        if let Some(shared) = self.current() {
            return Ok(shared);
        }
        // An attempt that failed while this request waited for its turn is its answer too:
        // trying again would make the requests queued behind a database that does not answer
        // wait one timeout each, in turn.
        if self.failed_at.get().is_some_and(|failed| failed >= asked) {
            return Err(not_reachable());
        }
        let outcome = tokio::time::timeout(config.timeout, open(&config.config)).await;
        let shared = match outcome {
            Ok(Ok(shared)) => shared,
            Ok(Err(error)) => {
                tracing::warn!(%error, "pipelined PostgreSQL connection failed");
                self.failed_at.set(Some(Instant::now()));
                return Err(not_reachable());
            }
            Err(_) => {
                tracing::warn!("pipelined PostgreSQL connection timed out");
                self.failed_at.set(Some(Instant::now()));
                return Err(not_reachable());
            }
        };
        *self.live.borrow_mut() = Some(shared.clone());
        Ok(shared)
    }

    /// Awaits `statement`, run on `lease`, and maps its outcome to the service's errors.
    ///
    /// A failure on a connection whose driver has ended is the database's going away, not the
    /// request's: the connection is forgotten (the next request opens another) and the caller
    /// is told to retry (503), as the pool does with its own connections. So is a statement
    /// unanswered within the checkout timeout: a database that holds the connection open but
    /// answers nothing (a stalled network, a frozen host) would otherwise hold every read of
    /// the worker, since they share the connection.
    pub async fn finish<T>(
        &self,
        lease: &Lease,
        statement: impl std::future::Future<Output = diesel::QueryResult<T>>,
    ) -> Result<T, ApiError> {
        let error = match tokio::time::timeout(lease.timeout, statement).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => ApiError::from(error),
            Err(_) => {
                self.forget(lease);
                tracing::warn!("pipelined PostgreSQL read unanswered; connection dropped");
                return Err(ApiError::Unavailable(
                    "the database did not answer in time; retry".into(),
                ));
            }
        };
        if lease.shared.closed.get() || matches!(error, ApiError::Unavailable(_)) {
            self.forget(lease);
            tracing::warn!(%error, "pipelined PostgreSQL connection lost");
            return Err(ApiError::Unavailable(
                "the database connection was lost; retry".into(),
            ));
        }
        Err(error)
    }

    /// Drops `lease`'s connection as the worker's, unless another has replaced it already;
    /// requests still running on it finish or fail on their own.
    fn forget(&self, lease: &Lease) {
        let mut live = self.live.borrow_mut();
        if live
            .as_ref()
            .is_some_and(|s| Rc::ptr_eq(&s.conn, &lease.shared.conn))
        {
            *live = None;
        }
    }

    fn current(&self) -> Option<Shared> {
        self.live
            .borrow()
            .as_ref()
            .filter(|s| !s.closed.get())
            .cloned()
    }
}

/// Connects, drives the connection on the worker's own thread, and notes when it ends.
async fn open(config: &tokio_postgres::Config) -> anyhow::Result<Shared> {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let closed = Rc::new(Cell::new(false));
    let ended = closed.clone();
    actix_web::rt::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "pipelined PostgreSQL connection ended");
        }
        ended.set(true);
    });
    let conn = AsyncPgConnection::try_from(client).await?;
    Ok(Shared {
        conn: Rc::new(conn),
        closed,
    })
}

fn not_reachable() -> ApiError {
    ApiError::Unavailable("the database is not reachable; retry later".into())
}
