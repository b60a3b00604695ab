//! Embedded migrations, one set per backend, applied at start.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::infra::db::DbConn;
use crate::infra::error::{Error, Result};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

fn set_for(conn: &DbConn) -> EmbeddedMigrations {
    match conn {
        DbConn::Sqlite(_) => SQLITE,
        DbConn::Pg(_) => POSTGRES,
    }
}

/// The PostgreSQL advisory lock held while migrating, so that instances starting together
/// apply each migration once, one after the other (any fixed number, the same everywhere).
pub const MIGRATION_LOCK: i64 = 0x6261_6e67_6675; // "bangfu"

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>> {
    let set = set_for(conn);
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
        Error::Internal(format!("migration failed: {e}"))
    };
    let names = |v: Vec<diesel::migration::MigrationVersion<'_>>| -> Vec<String> {
        v.iter().map(|v| v.to_string()).collect()
    };
    match conn {
        // One write transaction around the lot: the list of applied migrations is read
        // under SQLite's write lock, and another process waits (busy timeout) rather than
        // apply the same migrations (each then runs as a savepoint).
        DbConn::Sqlite(c) => c
            .immediate_transaction(|c| {
                c.run_pending_migrations(set)
                    .map(names)
                    .map_err(diesel::result::Error::QueryBuilderError)
            })
            .map_err(|e| Error::Internal(format!("migration failed: {e}"))),
        DbConn::Pg(c) => {
            use diesel::RunQueryDsl;
            let lock = |c: &mut diesel::PgConnection, f: &str| {
                diesel::sql_query(format!("SELECT {f}({MIGRATION_LOCK})"))
                    .execute(c)
                    .map_err(|e| Error::Unavailable(format!("migration lock: {e}")))
            };
            lock(c, "pg_advisory_lock")?;
            let applied = c.run_pending_migrations(set).map(names).map_err(failed);
            lock(c, "pg_advisory_unlock")?;
            applied
        }
    }
}

/// True when every embedded migration has been applied.
pub fn is_current(conn: &mut DbConn) -> Result<bool> {
    let set = set_for(conn);
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(set),
        DbConn::Pg(c) => c.has_pending_migration(set),
    }
    .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(!pending)
}
