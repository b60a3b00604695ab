//! Embedded migrations, one set per backend, applied at start.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::db::DbConn;
use crate::error::{Error, Result};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

fn set_for(conn: &DbConn) -> EmbeddedMigrations {
    match conn {
        DbConn::Sqlite(_) => SQLITE,
        DbConn::Pg(_) => POSTGRES,
    }
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>> {
    let set = set_for(conn);
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(set),
        DbConn::Pg(c) => c.run_pending_migrations(set),
    }
    .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
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
