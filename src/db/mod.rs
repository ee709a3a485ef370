//! Database access: one connection type over SQLite and PostgreSQL, the pool, migrations, and
//! one module of queries per resource.

pub mod audit;
pub mod clients;
pub mod idempotency;
pub mod import;
pub mod indicators;
pub mod outbox;
pub mod overdue;
pub mod pipeline;
pub mod plans;
pub mod progress;
pub mod schedules;
pub mod schema;
pub mod submissions;
pub mod succession;
pub mod tasks;
pub mod units;
pub mod users;
pub mod webhooks;

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to whichever backend `DATABASE_URL` chose; queries are written once for both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// The SQL dialect behind [`DbConnection`], for boxed queries.
pub type Db = <DbConnection as Connection>::Backend;

/// A boxed SQL condition on table `QS`.
pub type Condition<'a, QS> =
    Box<dyn BoxableExpression<QS, Db, SqlType = diesel::sql_types::Bool> + 'a>;

/// `column = ANY(values)`, written `column = value` when there is one value. PostgreSQL plans
/// a prepared statement with an array parameter afresh at every execution while the arrays
/// are small (its generic plan, costed for ten elements, loses to each custom one), and on a
/// one-row page that planning was most of the statement's cost; an equality keeps one
/// generic plan.
pub fn any_of<'a, QS, C, T>(column: C, values: &'a [T]) -> Condition<'a, QS>
where
    C: ExpressionMethods + 'a,
    C::SqlType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    &'a T: diesel::expression::AsExpression<C::SqlType>,
    diesel::dsl::Eq<C, &'a T>: BoxableExpression<QS, Db, SqlType = diesel::sql_types::Bool> + 'a,
    diesel::dsl::EqAny<C, &'a [T]>:
        BoxableExpression<QS, Db, SqlType = diesel::sql_types::Bool> + 'a,
{
    match values {
        [one] => Box::new(column.eq(one)),
        many => Box::new(column.eq_any(many)),
    }
}

/// The row of `$table` with primary key `$key`, if any, read on the backend's own connection
/// rather than through [`DbConnection`]: diesel's multi-connection wrapper renders a query's
/// SQL afresh on each of the passes diesel makes over it (cache key, cache safety, binds),
/// which perf showed as a fifth of the service's CPU on a `GET` by id; on the backend's own
/// connection the statement is found in the prepared-statement cache by its type. For the
/// lookup by key that every single-resource request makes.
macro_rules! find_by_key {
    ($conn:expr, $table:path, $key:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres(c) => $table.find($key).first(c).optional(),
            $crate::db::DbConnection::Sqlite(c) => $table.find($key).first(c).optional(),
        }
    };
}
pub(crate) use find_by_key;

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Which database a URL names. Parsed once, so a PostgreSQL URL can never be mistaken for a
/// SQLite file name (diesel's own multi-connection `establish` tries each backend in turn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: String },
    Postgres { url: String },
}

impl DatabaseUrl {
    /// `sqlite://PATH` or a bare path selects SQLite; `postgres://` or `postgresql://` PostgreSQL.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres {
                url: url.to_owned(),
            }
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            DatabaseUrl::Sqlite {
                path: path.to_owned(),
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite { .. } => "sqlite",
            DatabaseUrl::Postgres { .. } => "postgres",
        }
    }
}

/// How long after a statement succeeded on a connection the pool hands it out again without
/// checking it first (as HikariCP's `aliveBypassWindowMs`): a connection in steady use needs no
/// extra round trip per request, and one idle for longer is pinged before reuse, which is how
/// connections to a database that has restarted are found and replaced.
const ALIVE_WINDOW: Duration = Duration::from_millis(500);

/// A pooled connection and what the pool knows of its health.
pub struct Pooled {
    conn: DbConnection,
    /// When a statement last succeeded on it.
    last_ok: Instant,
    /// Failed and did not answer a ping: the pool drops it rather than handing it out again.
    broken: bool,
}

impl Pooled {
    fn ping(&mut self) -> Result<(), diesel::result::Error> {
        self.conn.batch_execute("SELECT 1")?;
        self.last_ok = Instant::now();
        Ok(())
    }

    /// Records how work on this connection ended. An answer from the database (a row, none,
    /// a constraint violation) shows the connection alive; a failure that may be the
    /// connection's own is checked with a ping. A connection that fails that is broken: the
    /// pool drops it, and the caller is told to retry (503) rather than shown an internal
    /// error, since the database (or the way to it) went away, not the request.
    fn settle<T>(&mut self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        match result {
            Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => {
                if self.ping().is_ok() {
                    return Err(error);
                }
                self.broken = true;
                tracing::warn!(%error, "database connection lost");
                Err(ApiError::Unavailable(
                    "the database connection was lost; retry".into(),
                ))
            }
            other => {
                self.last_ok = Instant::now();
                other
            }
        }
    }
}

impl Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Opens connections for the pool, with the per-connection settings each backend needs.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    connect_timeout: Duration,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = self.open()?;
        Ok(Pooled {
            conn,
            last_ok: Instant::now(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        if conn.last_ok.elapsed() < ALIVE_WINDOW {
            return Ok(());
        }
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.broken
    }
}

impl Manager {
    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres { url } => {
                // libpq otherwise waits for the OS TCP timeout when the server is unreachable.
                let separator = if url.contains('?') { '&' } else { '?' };
                let url = if url.contains("connect_timeout=") {
                    url.clone()
                } else {
                    format!(
                        "{url}{separator}connect_timeout={}",
                        self.connect_timeout.as_secs().max(1)
                    )
                };
                PgConnection::establish(&url)
                    .map(DbConnection::Postgres)
                    .map_err(r2d2::Error::ConnectionError)
            }
            DatabaseUrl::Sqlite { path } => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout must come before journal_mode=WAL, or concurrent first
                // connections fail with "database is locked" while switching the journal.
                // A 1 MiB page cache per pooled connection (SQLite's default is 2 MiB): the
                // operating system caches the file once for all of them.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -1024;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Builds the pool without connecting: the service starts (and `/healthz` answers) even while
/// the database is away; requests then fail with 503 after `checkout_timeout`.
pub fn build_pool(
    url: &DatabaseUrl,
    max_size: u32,
    checkout_timeout: Duration,
) -> anyhow::Result<Pool> {
    if let DatabaseUrl::Sqlite { path } = url {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the folder of {path}"))?;
            }
        }
    }
    let manager = Manager {
        url: url.clone(),
        connect_timeout: checkout_timeout,
    };
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(checkout_timeout)
        .test_on_check_out(true)
        .build_unchecked(manager))
}

/// Applies the pending embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
    Ok(applied.len())
}

/// Runs blocking database work on actix's thread pool with a pooled connection.
pub async fn run<T, F>(pool: &Pool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        let result = work(&mut conn);
        conn.settle(result)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Runs `work` in one transaction: everything it writes lands together or not at all.
pub async fn transaction<T, F>(pool: &Pool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |conn| write_transaction(conn, work)).await
}

/// Runs `work` in a transaction meant to write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction reads first and upgrades to a write lock later,
/// and when another connection has written in between, SQLite fails the upgrade with
/// `SQLITE_BUSY` at once (`busy_timeout` cannot help), so two concurrent changes would answer
/// 503. Taken up front, the lock is waited for. PostgreSQL needs nothing of the kind.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    /// Runs a transaction-manager step on the SQLite connection (only called for SQLite).
    fn on_sqlite(
        conn: &mut DbConnection,
        step: impl FnOnce(&mut SqliteConnection) -> diesel::QueryResult<()>,
    ) -> diesel::QueryResult<()> {
        match conn {
            DbConnection::Sqlite(sqlite) => step(sqlite),
            DbConnection::Postgres(_) => Ok(()),
        }
    }
    // PostgreSQL, or already inside a transaction (a savepoint then): diesel's own.
    let outermost_sqlite = match conn {
        DbConnection::Sqlite(sqlite) => {
            matches!(
                AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth(),
                Ok(None)
            )
        }
        DbConnection::Postgres(_) => false,
    };
    if !outermost_sqlite {
        return conn.transaction(work);
    }
    // One SQLite writer at a time in this process, first come first served. SQLite waits for
    // its write lock by sleeping and retrying (`busy_timeout`), so among many writers one
    // could lose again and again (a p99 of 2 s under 16 writers, bench/RESULTS.md); queued
    // here, each waits only for those that came before it. Writers in other processes still
    // meet `busy_timeout`. (The databases of tests running in parallel share this queue.)
    let writer = SQLITE_WRITER.lock();
    let result = (|| {
        on_sqlite(conn, |c| {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        })?;
        match work(conn) {
            Ok(value) => {
                on_sqlite(conn, AnsiTransactionManager::commit_transaction)?;
                Ok(value)
            }
            Err(error) => match on_sqlite(conn, AnsiTransactionManager::rollback_transaction) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback_error) => Err(rollback_error.into()),
            },
        }
    })();
    parking_lot::MutexGuard::unlock_fair(writer);
    result
}

/// The queue of SQLite write transactions (see [`write_transaction`]).
static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// The current time as stored: UTC without offset, truncated to microseconds so that what is
/// returned on create equals what is read back later on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

/// Which slice of a list to read, in which order (validated by the API layer).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
    /// One of the list's sortable field names.
    pub sort: &'static str,
    pub descending: bool,
}

/// Deletes `entity` `id` with `delete` and records it in the audit trail: 404 when nothing was
/// deleted, 409 with `still_referenced` when other rows still point at it.
pub fn delete_audited(
    conn: &mut DbConnection,
    actor: &audit::Actor,
    entity: &str,
    id: i64,
    still_referenced: &str,
    delete: impl FnOnce(&mut DbConnection) -> Result<usize, diesel::result::Error>,
) -> Result<(), ApiError> {
    use diesel::result::{DatabaseErrorKind, Error};
    match delete(conn) {
        Ok(0) => Err(ApiError::not_found(format!("{entity} {id}"))),
        Ok(_) => audit::record(
            conn,
            actor,
            "delete",
            entity,
            &id.to_string(),
            serde_json::json!({}),
        ),
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
            Err(ApiError::conflict(format!(
                "{entity} {id} {still_referenced}; delete those first"
            )))
        }
        Err(other) => Err(other.into()),
    }
}

/// The text a unit-variant enum is stored as: its serde name (`rank_at_most`).
pub fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Reads back a unit-variant enum stored by [`enum_text`].
pub fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored value {text:?}: {e}")))
}

/// The page just read with how many items match in all. A page that is not full holds the
/// last match, so unless it is empty past the first page (beyond the end: nothing tells how
/// far) the total is known without running `count`, the costliest statement of a short list.
pub fn counted<R>(
    page: &PageRequest,
    rows: Vec<R>,
    count: impl FnOnce() -> QueryResult<i64>,
) -> Result<(Vec<R>, i64), ApiError> {
    let on_page = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let total = if on_page < page.limit && (on_page > 0 || page.offset == 0) {
        page.offset + on_page
    } else {
        count()?
    };
    Ok((rows, total))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern and wraps it for a substring match.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A migrated SQLite database in a temporary folder (removed with the folder), for unit tests.
#[cfg(test)]
pub(crate) fn test_database() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = DatabaseUrl::parse(&dir.path().join("test.db").display().to_string());
    let pool = build_pool(&url, 2, Duration::from_secs(5)).expect("a pool");
    run_migrations(&mut pool.get().expect("a connection")).expect("migrations");
    (dir, pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_selects_backend() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db"),
            DatabaseUrl::Postgres {
                url: "postgres://u@h/db".into()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db"),
            DatabaseUrl::Sqlite {
                path: "./data/x.db".into()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("/tmp/x.db"),
            DatabaseUrl::Sqlite {
                path: "/tmp/x.db".into()
            }
        );
    }

    #[test]
    fn a_connection_that_answers_stays_in_the_pool_with_the_error_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let manager = Manager {
            url: DatabaseUrl::parse(&dir.path().join("t.db").display().to_string()),
            connect_timeout: Duration::from_secs(1),
        };
        let mut conn = manager.connect().unwrap();
        assert!(matches!(conn.settle(Ok(7)), Ok(7)));
        let failed: Result<(), ApiError> = Err(ApiError::Internal(anyhow::anyhow!("a bug")));
        let answer = conn.settle(failed);
        assert!(matches!(answer, Err(ApiError::Internal(_))), "{answer:?}");
        assert!(!manager.has_broken(&mut conn));
        let busy: Result<(), ApiError> = Err(ApiError::Unavailable("busy".into()));
        assert!(matches!(conn.settle(busy), Err(ApiError::Unavailable(d)) if d == "busy"));
        assert!(!manager.has_broken(&mut conn));
        assert!(manager.is_valid(&mut conn).is_ok());
    }

    #[test]
    fn counted_counts_only_when_the_page_cannot_tell() {
        let page = |offset, limit| PageRequest {
            limit,
            offset,
            sort: "id",
            descending: false,
        };
        let count = || Ok(99);
        let cases = [
            // (offset, limit, on page, total)
            (0, 50, 0, 0),     // nothing at all
            (0, 50, 7, 7),     // the first page holds everything
            (100, 50, 7, 107), // the last page
            (0, 50, 50, 99),   // a full page: more may follow
            (100, 50, 50, 99),
            (500, 50, 0, 99), // past the end: how far is unknown
        ];
        for (offset, limit, on_page, total) in cases {
            let rows = vec![(); on_page];
            assert_eq!(
                counted(&page(offset, limit), rows, count).unwrap().1,
                total,
                "offset {offset}, limit {limit}, {on_page} on the page"
            );
        }
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
