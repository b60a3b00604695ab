//! Removing what has served its purpose, so tables stay bounded: used and expired refresh
//! tokens, ended sessions, old failed-login records, and idempotency records past the
//! window in which a client may still retry, and sync tombstones and answers past the
//! tombstone horizon, with the feed's scope-change entries. The audit log is kept.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::{
    applicant_refresh_tokens, applicant_sessions, idempotency_keys, login_failures, refresh_tokens,
    sessions, sync_mutations, sync_records,
};
use crate::infra::error::Result;

/// How long a client may repeat a creation with the same `Idempotency-Key`.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);
/// Failed logins older than this no longer count towards any limit.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::hours(1);
/// Ended sessions are kept this long for investigation, then removed.
pub const ENDED_SESSION_RETENTION: Duration = Duration::days(30);
/// Deleted synced records are kept as tombstones this long; a device that has not pulled
/// for longer is told to reset (it keeps its unsent changes). Answers to mutations are
/// kept as long, for retries.
pub const TOMBSTONE_HORIZON: Duration = Duration::days(90);

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub refresh_tokens: usize,
    pub sessions: usize,
    pub login_failures: usize,
    pub idempotency_keys: usize,
    pub tombstones: usize,
    pub sync_answers: usize,
    /// Scope-change entries of the feed (arrivals, drops, moves) past the horizon.
    pub scope_changes: usize,
}

/// One pass, inside the caller's write transaction.
pub fn prune(conn: &mut DbConn, now: NaiveDateTime) -> Result<Pruned> {
    let ended_before = now - ENDED_SESSION_RETENTION;
    let ended = sessions::table
        .filter(
            sessions::expires_at
                .lt(ended_before)
                .or(sessions::revoked_at.lt(ended_before)),
        )
        .select(sessions::id);
    let mut p = Pruned {
        // A refresh token is dead once used or expired; its session's reuse detection only
        // needs the used ones while the session lives.
        refresh_tokens: diesel::delete(
            refresh_tokens::table.filter(
                refresh_tokens::expires_at
                    .lt(now)
                    .or(refresh_tokens::session_id.eq_any(ended)),
            ),
        )
        .execute(conn)?,
        ..Pruned::default()
    };
    p.sessions = diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(ended_before)
                .or(sessions::revoked_at.lt(ended_before)),
        ),
    )
    .execute(conn)?;
    // Applicants' sign-ins likewise (counted with the staff's).
    let ended = applicant_sessions::table
        .filter(
            applicant_sessions::expires_at
                .lt(ended_before)
                .or(applicant_sessions::revoked_at.lt(ended_before)),
        )
        .select(applicant_sessions::id);
    p.refresh_tokens += diesel::delete(
        applicant_refresh_tokens::table.filter(
            applicant_refresh_tokens::expires_at
                .lt(now)
                .or(applicant_refresh_tokens::session_id.eq_any(ended)),
        ),
    )
    .execute(conn)?;
    p.sessions += diesel::delete(
        applicant_sessions::table.filter(
            applicant_sessions::expires_at
                .lt(ended_before)
                .or(applicant_sessions::revoked_at.lt(ended_before)),
        ),
    )
    .execute(conn)?;
    p.login_failures = diesel::delete(
        login_failures::table.filter(login_failures::at.lt(now - LOGIN_FAILURE_WINDOW)),
    )
    .execute(conn)?;
    p.idempotency_keys = diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::created_at.lt(now - IDEMPOTENCY_WINDOW)),
    )
    .execute(conn)?;
    let horizon = now - TOMBSTONE_HORIZON;
    // `deleted` alone, not `deleted = true`: the condition of the partial index
    // `sync_records_tombstones`, which holds only the few deleted rows (without it this
    // read walked all 5 million records of a prefecture: 20 s).
    let expired = sync_records::table
        .filter(sync_records::deleted)
        .filter(sync_records::updated_at.lt(horizon));
    let highest: Option<i64> = expired
        .select(diesel::dsl::max(sync_records::seq))
        .first(conn)?;
    if let Some(h) = highest {
        crate::infra::db::feed::mark_purged(conn, h)?;
        p.tombstones = diesel::delete(expired).execute(conn)?;
    }
    let (n, highest) = crate::records::reach::prune(conn, horizon)?;
    if let Some(h) = highest {
        crate::infra::db::feed::mark_purged(conn, h)?;
    }
    p.scope_changes = n;
    p.sync_answers =
        diesel::delete(sync_mutations::table.filter(sync_mutations::received_at.lt(horizon)))
            .execute(conn)?;
    Ok(p)
}
