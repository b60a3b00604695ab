//! Staff sign-in sessions: API sessions with rotating refresh tokens (rotated by
//! `auth::rotation`, the one rule for every kind of sign-in) and the console's browser
//! sessions, whose token is the cookie.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::queries::UserRow;
use crate::auth::rotation::{self, TokenStore, refused, token_store};
use crate::domain::access::Grants;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{refresh_tokens, regions, sessions, users};
use crate::infra::error::Result;
use crate::regions::queries::RegionRow;

/// What a staff session is for. An API session's refresh token is exchanged at
/// `/v1/auth/refresh`; a browser session's token is the console's cookie. Neither works as
/// the other: a cookie cannot be turned into bearer tokens, nor a bearer sign-in into a
/// cookie that escapes the console's idle timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Api,
    Browser,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Api => "api",
            SessionKind::Browser => "browser",
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub device_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_why: Option<String>,
    pub kind: String,
}

token_store!(
    StaffTokens,
    sessions,
    refresh_tokens,
    user_id,
    sessions::kind
);

/// Starts a session of `kind` with its first refresh token.
pub fn open(
    conn: &mut DbConn,
    kind: SessionKind,
    user_id: &str,
    device_id: Option<&str>,
    session_expires: NaiveDateTime,
    token_hash: String,
    token_expires: NaiveDateTime,
) -> Result<SessionRow> {
    let now = crate::infra::clock::now();
    let session = SessionRow {
        id: crate::infra::db::new_id(),
        user_id: user_id.to_owned(),
        device_id: device_id.map(str::to_owned),
        created_at: now,
        expires_at: session_expires,
        revoked_at: None,
        revoked_why: None,
        kind: kind.as_str().to_owned(),
    };
    diesel::insert_into(sessions::table)
        .values(&session)
        .execute(conn)?;
    StaffTokens::insert(
        conn,
        &session.id,
        &token_hash,
        now,
        token_expires.min(session_expires),
    )?;
    Ok(session)
}

/// Exchanges an API session's refresh token for a new one in the same session; answers
/// (session id, user id).
pub fn rotate(
    conn: &mut DbConn,
    old_hash: &str,
    new_hash: String,
    new_expires: NaiveDateTime,
) -> Result<(String, String)> {
    let s = rotation::rotate::<StaffTokens>(
        conn,
        SessionKind::Api.as_str(),
        old_hash,
        &new_hash,
        new_expires,
    )?;
    Ok((s.session_id, s.holder_id))
}

/// Ends a session: its refresh tokens and access tokens stop working.
pub fn revoke(conn: &mut DbConn, session_id: &str, why: &str) -> Result<()> {
    StaffTokens::revoke(conn, session_id, why, crate::infra::clock::now())
}

/// A console cookie's session: open, of the browser kind, its token unexpired (the idle
/// timeout) and started after `started_after` (the absolute lifetime). Answers (session id,
/// user id, the token's expiry, when the session started).
pub fn browser_session(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
    started_after: NaiveDateTime,
) -> Result<Option<(String, String, NaiveDateTime, NaiveDateTime)>> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .filter(sessions::kind.eq(SessionKind::Browser.as_str()))
        .filter(sessions::created_at.gt(started_after))
        .select((
            sessions::id,
            sessions::user_id,
            refresh_tokens::expires_at,
            sessions::created_at,
        ))
        .first(conn)
        .optional()?)
}

/// Moves a console token's expiry: the idle clock restarts.
pub fn slide(conn: &mut DbConn, token_hash: &str, until: NaiveDateTime) -> Result<()> {
    diesel::update(refresh_tokens::table.find(token_hash))
        .set(refresh_tokens::expires_at.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Everything needed to serve one authenticated request.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub user: UserRow,
    pub region: RegionRow,
    pub device_id: Option<String>,
    /// Records readable through unexpired break-the-glass grants.
    pub grants: Grants,
    /// Paths of the households the user is assigned to help.
    pub assigned_paths: Vec<String>,
}

/// Loads the session's user if the session is open and the user active: a few indexed
/// queries per request, which is what makes logout and deactivation take effect at once.
pub fn context(conn: &mut DbConn, session_id: &str, user_id: &str) -> Result<SessionContext> {
    let now = crate::infra::clock::now();
    let (device_id, user, region): (Option<String>, UserRow, RegionRow) = sessions::table
        .inner_join(users::table.inner_join(regions::table))
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(users::active.eq(true))
        .select((
            sessions::device_id,
            UserRow::as_select(),
            RegionRow::as_select(),
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| refused(Code::SessionEnded))?;
    let grants = crate::access::queries::live(conn, user_id, now)?;
    let assigned_paths = crate::households::queries::assigned_paths(conn, user_id)?;
    Ok(SessionContext {
        user,
        region,
        device_id,
        grants,
        assigned_paths,
    })
}
