//! Connections, pools and transactions for both backends.
//!
//! SQLite is the embedded default; PostgreSQL is chosen by a `postgres://` URL. One enum
//! connection serves both so that queries are written once. Two traps shape this file:
//! a SQLite transaction that reads before it writes fails with "database is locked" under
//! concurrency, so every write transaction starts with `BEGIN IMMEDIATE` and SQLite gets a
//! single writer connection; and the multi-connection hides why a connection failed, so we
//! choose the backend from the URL ourselves and report the real error.

pub mod feed;
pub mod group_commit;
pub mod leadership;
pub mod migrate;
pub mod moved;
pub mod schema;
pub mod scoped;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::infra::clock::Clock;

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
use crate::infra::error::Error;
use crate::infra::error::Result;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database lives, parsed from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbTarget {
    /// `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite://path` or a plain path
    /// selects SQLite.
    pub fn parse(url: &str) -> DbTarget {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbTarget::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            DbTarget::Sqlite(PathBuf::from(path))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbTarget::Sqlite(_) => Backend::Sqlite,
            DbTarget::Postgres(_) => Backend::Postgres,
        }
    }

    /// The target with any password removed, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbTarget::Postgres(url) => redact_url(url),
        }
    }
}

fn redact_url(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((creds, host)) => {
            let user = creds.split(':').next().unwrap_or("");
            let masked = if creds.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}")
        }
        None => url.to_owned(),
    }
}

/// How SQLite syncs to disk. `Full` survives power loss; `Normal` survives a crash of the
/// process (WAL) but may lose the last transactions on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub target: DbTarget,
    pub pool_size: u32,
    pub sqlite_sync: SqliteSync,
    pub connect_timeout: Duration,
}

pub struct Manager {
    target: DbTarget,
    sqlite_sync: SqliteSync,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.target.redacted())
    }
}

impl Manager {
    fn establish(&self) -> std::result::Result<DbConn, diesel::ConnectionError> {
        match &self.target {
            DbTarget::Postgres(url) => Ok(DbConn::Pg(PgConnection::establish(url)?)),
            DbTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                let sync = match self.sqlite_sync {
                    SqliteSync::Full => "FULL",
                    SqliteSync::Normal => "NORMAL",
                };
                // Statement journals (multi-row writes) in memory rather than temporary files;
                // checkpoints less often, each copying more (durability is the WAL's).
                let setup = diesel::ConnectionError::CouldntSetupConfiguration;
                conn.batch_execute("PRAGMA busy_timeout = 10000;")
                    .map_err(setup)?;
                // Switching a new file to WAL does not wait for the busy timeout: while
                // another process creates the same file (instances starting together), retry.
                let since = std::time::Instant::now();
                while let Err(e) = conn.batch_execute("PRAGMA journal_mode = WAL;") {
                    if !e.to_string().contains("locked") || since.elapsed().as_secs() >= 10 {
                        return Err(setup(e));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                conn.batch_execute(&format!(
                    "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000;"
                ))
                .map_err(setup)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConn, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        match conn {
            DbConn::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConn::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The database handle shared by all request handlers. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    readers: Pool,
    /// SQLite: one connection, so writers queue in-process instead of spinning on the file
    /// lock. PostgreSQL: the same pool as the readers.
    writers: Pool,
    backend: Backend,
    /// Writes that may share a commit (SQLite).
    shared: std::sync::Arc<crate::infra::db::group_commit::Queue>,
    /// The server's clock, installed for every transaction run here.
    clock: Clock,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects (once directly, so that a wrong password or a missing server is reported as
    /// such) and builds the pools. Does not run migrations.
    pub fn connect(opts: &DbOptions) -> anyhow::Result<Db> {
        if let DbTarget::Sqlite(path) = &opts.target
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        let manager = || Manager {
            target: opts.target.clone(),
            sqlite_sync: opts.sqlite_sync,
        };
        manager()
            .establish()
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", opts.target.redacted()))?;
        let build = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(0))
                .connection_timeout(opts.connect_timeout)
                .build(manager())
        };
        let readers = build(opts.pool_size.max(1))?;
        let writers = match opts.target.backend() {
            Backend::Sqlite => build(1)?,
            Backend::Postgres => readers.clone(),
        };
        Ok(Db {
            readers,
            writers,
            backend: opts.target.backend(),
            shared: Default::default(),
            clock: Clock::default(),
        })
    }

    /// The same database read by another clock (several instances of one test server
    /// share theirs).
    pub fn with_clock(mut self, clock: Clock) -> Db {
        self.clock = clock;
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The clock every transaction here reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A pooled connection for work outside the request path (CLI, migrations).
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.readers.get()?)
    }

    /// Runs read-only work on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (pool, clock) = (self.readers.clone(), self.clock.clone());
        blocking(move || clock.install(|| f(&mut *pool.get()?))).await
    }

    /// Runs `f` in one write transaction on the blocking pool: all of it commits or none.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (pool, clock) = (self.writers.clone(), self.clock.clone());
        blocking(move || clock.install(|| write_tx(&mut *pool.get()?, f))).await
    }
}

impl Db {
    /// Like [`Db::write`] (all of `f` commits or none of it, and it has committed when this
    /// returns), but on SQLite concurrent calls share one commit, each in a savepoint: for
    /// small writes on hot paths (finishing uploads), where the commit's fsync is the cost.
    pub async fn write_shared<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        if self.backend == Backend::Postgres {
            return self.write(f).await;
        }
        let answer = self.shared.push(f);
        let (pool, shared, clock) = (
            self.writers.clone(),
            self.shared.clone(),
            self.clock.clone(),
        );
        blocking(move || {
            clock.install(|| {
                // Whoever holds the writer runs everything queued; if another holder ran
                // this write, it answered before letting the writer go.
                if let Ok(r) = answer.try_recv() {
                    return r;
                }
                let mut conn = pool.get()?;
                shared.run(&mut conn);
                drop(conn);
                answer
                    .recv()
                    .map_err(|_| Error::Internal("shared write lost".into()))?
            })
        })
        .await
    }
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// One write transaction. On SQLite it takes the write lock at `BEGIN`, so no statement in
/// it can fail later for lack of the lock.
pub fn write_tx<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => match <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_err) => {
                // A failed commit leaves the transaction open on some backends.
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                Err(commit_err.into())
            }
        },
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// The default database file inside a data directory.
pub fn default_sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("bangfu.db")
}

/// A multi-row INSERT of new rows, as a `QueryResult<usize>`. Diesel's multi-backend
/// connection cannot build one (the backends differ in how they write defaults), so it is
/// built for each backend.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            Ok(0)
        } else {
            match $conn {
                $crate::infra::db::DbConn::Pg(c) => {
                    diesel::insert_into($table).values(rows).execute(c)
                }
                $crate::infra::db::DbConn::Sqlite(c) => {
                    diesel::insert_into($table).values(rows).execute(c)
                }
            }
        }
    }};
}
pub(crate) use insert_all;

/// A migrated SQLite database in `dir`, for unit tests that need real tables.
#[cfg(test)]
pub fn sqlite_for_tests(dir: &Path) -> anyhow::Result<Db> {
    let db = Db::connect(&DbOptions {
        target: DbTarget::Sqlite(dir.join("bangfu.db")),
        pool_size: 2,
        sqlite_sync: SqliteSync::Normal,
        connect_timeout: Duration::from_secs(5),
    })?;
    migrate::run_pending(&mut *db.conn()?)?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_is_chosen_by_scheme() {
        assert_eq!(
            DbTarget::parse("postgres://u@h/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbTarget::parse("postgresql://u@h/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbTarget::parse("sqlite://data/x.db"),
            DbTarget::Sqlite(PathBuf::from("data/x.db"))
        );
        assert_eq!(
            DbTarget::parse("x.db"),
            DbTarget::Sqlite(PathBuf::from("x.db"))
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            DbTarget::parse("postgres://app:s3cret@db:5432/bangfu").redacted(),
            "postgres://app:***@db:5432/bangfu"
        );
        assert_eq!(
            DbTarget::parse("postgres://app@db/bangfu").redacted(),
            "postgres://app@db/bangfu"
        );
    }
}
