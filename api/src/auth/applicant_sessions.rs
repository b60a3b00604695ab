//! Applicants' sign-ins and their rotating refresh tokens, kept as staff sessions are
//! (`auth::sessions`): only SHA-256 hashes of refresh tokens are stored; a refresh token
//! works once; a used one presented again means it was copied, so the whole sign-in (the
//! family of tokens rotated from it) is revoked, and its access tokens stop working too.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::infra::clock::now;
use crate::infra::db::schema::{applicant_refresh_tokens as tokens, applicant_sessions};
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, Msg, Result};

fn refused(code: Code) -> Error {
    Error::Unauthorized {
        code,
        detail: Msg::fixed(
            "登录已失效，请重新登录。",
            "The sign-in is no longer valid; sign in again.",
        ),
    }
}

fn insert_token(
    conn: &mut DbConn,
    session_id: &str,
    token_hash: &str,
    at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<()> {
    diesel::insert_into(tokens::table)
        .values((
            tokens::token_hash.eq(token_hash),
            tokens::session_id.eq(session_id),
            tokens::issued_at.eq(at),
            tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Starts an applicant's sign-in with its first refresh token; answers the session id.
pub fn open(
    conn: &mut DbConn,
    applicant_id: &str,
    session_expires: NaiveDateTime,
    token_hash: &str,
    token_expires: NaiveDateTime,
) -> Result<String> {
    let (id, t) = (new_id(), now());
    diesel::insert_into(applicant_sessions::table)
        .values((
            applicant_sessions::id.eq(&id),
            applicant_sessions::applicant_id.eq(applicant_id),
            applicant_sessions::created_at.eq(t),
            applicant_sessions::expires_at.eq(session_expires),
        ))
        .execute(conn)?;
    insert_token(conn, &id, token_hash, t, token_expires.min(session_expires))?;
    Ok(id)
}

/// Exchanges a refresh token for a new one in the same sign-in; answers (session id,
/// applicant id). A token used before revokes the sign-in (the caller commits that even
/// though the answer is an error).
pub fn rotate(
    conn: &mut DbConn,
    old_hash: &str,
    new_hash: &str,
    new_expires: NaiveDateTime,
) -> Result<(String, String)> {
    let t = now();
    let (session_id, token_expires): (String, NaiveDateTime) = tokens::table
        .find(old_hash)
        .select((tokens::session_id, tokens::expires_at))
        .first(conn)
        .optional()?
        .ok_or_else(|| refused(Code::RefreshTokenInvalid))?;
    let (applicant_id, session_expires, revoked): (String, NaiveDateTime, Option<NaiveDateTime>) =
        applicant_sessions::table
            .find(&session_id)
            .select((
                applicant_sessions::applicant_id,
                applicant_sessions::expires_at,
                applicant_sessions::revoked_at,
            ))
            .first(conn)?;
    if revoked.is_some() || session_expires <= t {
        return Err(refused(Code::SessionEnded));
    }
    // Mark used only if still unused: of two racing refreshes, one wins.
    let marked = diesel::update(
        tokens::table
            .find(old_hash)
            .filter(tokens::used_at.is_null()),
    )
    .set(tokens::used_at.eq(t))
    .execute(conn)?;
    if marked == 0 {
        revoke(conn, &session_id, "refresh_token_reused")?;
        return Err(refused(Code::RefreshTokenReused));
    }
    if token_expires <= t {
        return Err(refused(Code::RefreshTokenExpired));
    }
    insert_token(
        conn,
        &session_id,
        new_hash,
        t,
        new_expires.min(session_expires),
    )?;
    Ok((session_id, applicant_id))
}

/// Ends a sign-in: its refresh and access tokens stop working.
pub fn revoke(conn: &mut DbConn, session_id: &str, why: &str) -> Result<()> {
    diesel::update(
        applicant_sessions::table
            .find(session_id)
            .filter(applicant_sessions::revoked_at.is_null()),
    )
    .set((
        applicant_sessions::revoked_at.eq(now()),
        applicant_sessions::revoked_why.eq(why),
    ))
    .execute(conn)?;
    Ok(())
}

/// Whether the applicant's sign-in is still open (not revoked, not past its life).
pub fn live(conn: &mut DbConn, session_id: &str, applicant_id: &str) -> Result<bool> {
    let found: Option<String> = applicant_sessions::table
        .find(session_id)
        .filter(applicant_sessions::applicant_id.eq(applicant_id))
        .filter(applicant_sessions::revoked_at.is_null())
        .filter(applicant_sessions::expires_at.gt(now()))
        .select(applicant_sessions::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}
