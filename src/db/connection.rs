//! One connection type over both backends, the pool, migrations and write transactions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

#[derive(diesel::MultiConnection)]
pub enum Db {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The r2d2 pool, with the manager's reachability hint at hand (r2d2 does not expose its manager).
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<DbManager>,
    reachable: Arc<AtomicBool>,
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<DbManager>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
pub type PooledDb = r2d2::PooledConnection<DbManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is and how to treat each new connection.
#[derive(Debug, Clone)]
pub struct DbTarget {
    pub backend: Backend,
    /// A `postgres://` URL or a SQLite file path.
    pub location: String,
    pub sqlite_synchronous: String,
    pub busy_timeout_ms: u64,
}

impl DbTarget {
    /// `postgres://…`/`postgresql://…` selects PostgreSQL; anything else is a SQLite file
    /// (`sqlite://path`, `sqlite:path` or a bare path).
    pub fn parse(url: &str) -> DbTarget {
        let (backend, location) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (Backend::Postgres, url.to_string())
            } else {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                (Backend::Sqlite, path.to_string())
            };
        DbTarget {
            backend,
            location,
            sqlite_synchronous: "FULL".into(),
            busy_timeout_ms: 5000,
        }
    }
}

/// Opens connections of exactly the configured backend (never guessing from the URL at connect time).
#[derive(Debug, Clone)]
pub struct DbManager {
    target: DbTarget,
    /// Whether the last attempt to connect or to validate a connection worked. A hint only (the
    /// database stays the truth): while it is down, requests fail fast instead of each waiting
    /// out the pool's acquire timeout.
    reachable: Arc<AtomicBool>,
}

impl DbManager {
    fn observe<T, E>(&self, result: Result<T, E>) -> Result<T, E> {
        self.reachable.store(result.is_ok(), Ordering::Relaxed);
        result
    }
}

/// How long a request waits for a connection while the database is known to be unreachable:
/// enough for one reconnect to a server that is back, far below the pool's acquire timeout.
const UNREACHABLE_WAIT: Duration = Duration::from_millis(150);

/// A connection from the pool. An idle one is taken at once; otherwise the request waits for one
/// up to the acquire timeout, or only briefly while the database is unreachable, and then fails
/// with `service_unavailable`.
pub fn checkout(pool: &Pool) -> Result<PooledDb, crate::error::ServiceError> {
    if let Some(conn) = pool.try_get() {
        return Ok(conn);
    }
    let waited = if pool.reachable.load(Ordering::Relaxed) {
        pool.get()
    } else {
        pool.get_timeout(UNREACHABLE_WAIT)
    };
    waited.map_err(|_| crate::error::ServiceError::Unavailable)
}

impl ManageConnection for DbManager {
    type Connection = Db;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Db, Self::Error> {
        let connected = self.open();
        self.observe(connected)
    }

    fn is_valid(&self, conn: &mut Db) -> Result<(), Self::Error> {
        let answered = conn
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError);
        self.observe(answered)
    }

    fn has_broken(&self, conn: &mut Db) -> bool {
        <Db as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

impl DbManager {
    fn open(&self) -> Result<Db, diesel::r2d2::Error> {
        let target = &self.target;
        match target.backend {
            Backend::Postgres => PgConnection::establish(&target.location)
                .map(Db::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&target.location)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: the other pragmas may already need to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
                    target.busy_timeout_ms, target.sqlite_synchronous
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Db::Sqlite(conn))
            }
        }
    }
}

pub fn build_pool(target: &DbTarget, size: u32, acquire_timeout: Duration) -> anyhow::Result<Pool> {
    if target.backend == Backend::Sqlite {
        if let Some(dir) = std::path::Path::new(&target.location).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
    }
    let reachable = Arc::new(AtomicBool::new(true));
    let inner = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(acquire_timeout)
        .build(DbManager {
            target: target.clone(),
            reachable: reachable.clone(),
        })?;
    Ok(Pool { inner, reachable })
}

pub fn run_migrations(conn: &mut Db) -> anyhow::Result<usize> {
    let applied = match conn {
        Db::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        Db::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`: taking the write lock up
/// front means two transactions never both read and then deadlock upgrading to writers.
pub fn write_tx<T, E, F>(conn: &mut Db, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Db) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    run_tx(conn, "BEGIN", "BEGIN IMMEDIATE", f)
}

/// A read-only transaction that sees the whole database at one point in time.
pub fn snapshot_tx<T, E, F>(conn: &mut Db, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Db) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    run_tx(
        conn,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "BEGIN",
        f,
    )
}

fn run_tx<T, E, F>(conn: &mut Db, pg_begin: &str, sqlite_begin: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Db) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        Db::Pg(inner) => AnsiTransactionManager::begin_transaction_sql(inner, pg_begin)?,
        Db::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, sqlite_begin)?,
    }
    match f(conn) {
        Ok(value) => {
            <Db as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            <Db as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

pub fn backend_of(conn: &Db) -> Backend {
    match conn {
        Db::Pg(_) => Backend::Postgres,
        Db::Sqlite(_) => Backend::Sqlite,
    }
}

/// Makes concurrent writers of one row take turns until the transaction ends, for checks that
/// span several rows (a member's caps, an activity's capacity). PostgreSQL locks the row;
/// SQLite needs nothing, its write transactions already run one at a time (BEGIN IMMEDIATE).
pub fn lock_row(conn: &mut Db, table: &'static str, id: i64) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let Db::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"))
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    Ok(())
}
