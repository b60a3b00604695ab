//! Failed-login counting, kept in the database so that every server instance sees the
//! same counts.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::db::DbConn;
use super::schema::login_failures;
use crate::error::Result;

/// How many failures a subject may have inside `window` before it must wait.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i64,
    pub window: Duration,
}

/// Seconds until the subject may try again, or `None` when it may try now.
pub fn blocked_for(
    conn: &mut DbConn,
    subject: &str,
    limit: Limit,
    now: NaiveDateTime,
) -> Result<Option<u64>> {
    let since = now - limit.window;
    let recent: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::subject.eq(subject))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .limit(limit.max_failures)
        .load(conn)?;
    if (recent.len() as i64) < limit.max_failures {
        return Ok(None);
    }
    // The oldest of the last `max_failures` leaves the window first.
    let oldest = recent.last().copied().unwrap_or(now);
    let wait = (oldest + limit.window - now).num_seconds().max(1);
    Ok(Some(wait as u64))
}

pub fn record_failure(conn: &mut DbConn, subject: &str, now: NaiveDateTime) -> Result<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(super::new_id()),
            login_failures::subject.eq(subject),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets a subject's failures (after a successful login) and prunes old rows.
pub fn clear(conn: &mut DbConn, subject: &str, now: NaiveDateTime, window: Duration) -> Result<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
        .execute(conn)?;
    diesel::delete(login_failures::table.filter(login_failures::at.lt(now - window)))
        .execute(conn)?;
    Ok(())
}
