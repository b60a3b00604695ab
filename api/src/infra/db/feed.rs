//! Positions in the sync feed. One counter row hands them out inside the writing
//! transaction; the row stays locked until that transaction commits, so a reader never sees
//! position n+1 before n, and a pull cursor can never pass over a change that commits
//! later (on SQLite the single writer gives the same order).

use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::sync_counter;
use crate::infra::error::Result;

/// Reserves `n` positions and returns the first. `take(conn, 0)` only takes the lock, so
/// that a transaction can read and merge before it knows how many positions it needs.
pub fn take(conn: &mut DbConn, n: i64) -> Result<i64> {
    diesel::update(sync_counter::table.find(1))
        .set(sync_counter::seq.eq(sync_counter::seq + n))
        .execute(conn)?;
    let last: i64 = sync_counter::table
        .find(1)
        .select(sync_counter::seq)
        .first(conn)?;
    Ok(last - n + 1)
}

/// The latest position handed out.
pub fn head(conn: &mut DbConn) -> Result<i64> {
    Ok(sync_counter::table
        .find(1)
        .select(sync_counter::seq)
        .first(conn)?)
}

/// The highest feed position whose tombstone has been removed: a cursor below it may have
/// missed deletions.
pub fn purged_through(conn: &mut DbConn) -> Result<i64> {
    Ok(sync_counter::table
        .find(1)
        .select(sync_counter::purged_through)
        .first(conn)?)
}

/// Raises the purge mark (never lowers it).
pub fn mark_purged(conn: &mut DbConn, through: i64) -> Result<()> {
    diesel::update(
        sync_counter::table
            .find(1)
            .filter(sync_counter::purged_through.lt(through)),
    )
    .set(sync_counter::purged_through.eq(through))
    .execute(conn)?;
    Ok(())
}
