//! Sign-in sessions and their rotating refresh tokens. Only SHA-256 hashes of refresh
//! tokens are stored. A refresh token works once; presenting a used one again means it was
//! copied, so the whole session is revoked (reuse detection).

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::queries::UserRow;
use crate::domain::access::Grants;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{refresh_tokens, regions, sessions, users};
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries::RegionRow;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub device_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_why: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    token_hash: String,
    session_id: String,
    issued_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

fn refused(code: Code) -> Error {
    Error::Unauthorized {
        code,
        detail: Msg::fixed(
            "登录已失效，请重新登录。",
            "The sign-in is no longer valid; sign in again.",
        ),
    }
}

/// Starts a session with its first refresh token.
pub fn open(
    conn: &mut DbConn,
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
    };
    diesel::insert_into(sessions::table)
        .values(&session)
        .execute(conn)?;
    insert_token(
        conn,
        &session.id,
        token_hash,
        now,
        token_expires.min(session_expires),
    )?;
    Ok(session)
}

fn insert_token(
    conn: &mut DbConn,
    session_id: &str,
    token_hash: String,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(RefreshRow {
            token_hash,
            session_id: session_id.to_owned(),
            issued_at: now,
            expires_at,
            used_at: None,
        })
        .execute(conn)?;
    Ok(())
}

/// Exchanges a refresh token for a new one in the same session. Returns the session.
pub fn rotate(
    conn: &mut DbConn,
    old_hash: &str,
    new_hash: String,
    new_expires: NaiveDateTime,
) -> Result<SessionRow> {
    let now = crate::infra::clock::now();
    let token: RefreshRow = refresh_tokens::table
        .find(old_hash)
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| refused(Code::RefreshTokenInvalid))?;
    let session: SessionRow = sessions::table
        .find(&token.session_id)
        .select(SessionRow::as_select())
        .first(conn)?;
    if session.revoked_at.is_some() || session.expires_at <= now {
        return Err(refused(Code::SessionEnded));
    }
    // Mark used only if still unused: of two racing refreshes, one wins.
    let marked = diesel::update(
        refresh_tokens::table
            .find(old_hash)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    if marked == 0 {
        revoke(conn, &session.id, "refresh_token_reused")?;
        return Err(refused(Code::RefreshTokenReused));
    }
    if token.expires_at <= now {
        return Err(refused(Code::RefreshTokenExpired));
    }
    insert_token(
        conn,
        &session.id,
        new_hash,
        now,
        new_expires.min(session.expires_at),
    )?;
    Ok(session)
}

/// Ends a session: its refresh tokens and access tokens stop working.
pub fn revoke(conn: &mut DbConn, session_id: &str, why: &str) -> Result<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(crate::infra::clock::now()),
        sessions::revoked_why.eq(why),
    ))
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
