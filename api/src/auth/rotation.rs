//! Rotating refresh tokens: one rule for every kind of sign-in. Staff sessions
//! (`auth::sessions`) and applicants' sign-ins (`auth::applicant_sessions`) keep their
//! sessions and tokens in tables of the same shape; this module is the only place that
//! exchanges a token. Only SHA-256 hashes of tokens are stored. A token works once; a used
//! one presented again means it was copied, so the whole session (every token rotated from
//! its sign-in) is revoked, and its access tokens stop working too.

use bangfu_sync::Code;
use chrono::NaiveDateTime;

use crate::infra::db::DbConn;
use crate::infra::error::{Error, Msg, Result};

/// A refresh token as stored, with the state of its session.
#[derive(Debug, Clone)]
pub struct Presented {
    pub session_id: String,
    /// The user or applicant the session belongs to.
    pub holder_id: String,
    /// What the session is for: a token is exchanged only where its kind is expected.
    pub kind: String,
    pub token_expires: NaiveDateTime,
    pub session_expires: NaiveDateTime,
    pub revoked: bool,
}

/// Where one kind of sign-in keeps its sessions and their tokens.
pub trait TokenStore {
    fn find(conn: &mut DbConn, hash: &str) -> Result<Option<Presented>>;
    /// Marks the token used if it is still unused; answers whether it was.
    fn mark_used(conn: &mut DbConn, hash: &str, at: NaiveDateTime) -> Result<bool>;
    fn insert(
        conn: &mut DbConn,
        session_id: &str,
        hash: &str,
        at: NaiveDateTime,
        expires: NaiveDateTime,
    ) -> Result<()>;
    /// Ends the session if it is open.
    fn revoke(conn: &mut DbConn, session_id: &str, why: &str, at: NaiveDateTime) -> Result<()>;
}

pub fn refused(code: Code) -> Error {
    Error::Unauthorized {
        code,
        detail: Msg::fixed(
            "登录已失效，请重新登录。",
            "The sign-in is no longer valid; sign in again.",
        ),
    }
}

/// Exchanges the token hashed `old` for the one hashed `new` in the same session, when
/// the session is of `kind`; answers the session. A reuse revokes the session and is
/// refused: the caller must commit that even though the answer is an error.
pub fn rotate<S: TokenStore>(
    conn: &mut DbConn,
    kind: &str,
    old: &str,
    new: &str,
    new_expires: NaiveDateTime,
) -> Result<Presented> {
    let now = crate::infra::clock::now();
    // A token of another kind of session is no token here: answered as unknown, and left
    // untouched (it is not this endpoint's to spend or revoke).
    let token = S::find(conn, old)?
        .filter(|t| t.kind == kind)
        .ok_or_else(|| refused(Code::RefreshTokenInvalid))?;
    if token.revoked || token.session_expires <= now {
        return Err(refused(Code::SessionEnded));
    }
    // Marked used only if still unused: of two racing refreshes, one wins.
    if !S::mark_used(conn, old, now)? {
        S::revoke(conn, &token.session_id, "refresh_token_reused", now)?;
        return Err(refused(Code::RefreshTokenReused));
    }
    if token.token_expires <= now {
        return Err(refused(Code::RefreshTokenExpired));
    }
    S::insert(
        conn,
        &token.session_id,
        new,
        now,
        new_expires.min(token.session_expires),
    )?;
    Ok(token)
}

/// Implements [`TokenStore`] over a session table and its token table, which share
/// their columns' names: `$holder` is the session's owner column, `$kind` the expression
/// for the session's kind.
macro_rules! token_store {
    ($store:ident, $sessions:ident, $tokens:ident, $holder:ident, $kind:expr) => {
        pub struct $store;

        impl $crate::auth::rotation::TokenStore for $store {
            fn find(
                conn: &mut $crate::infra::db::DbConn,
                hash: &str,
            ) -> $crate::infra::error::Result<Option<$crate::auth::rotation::Presented>> {
                use diesel::prelude::*;
                use $crate::infra::db::schema::$sessions;
                use $crate::infra::db::schema::$tokens;
                let row: Option<(
                    String,
                    String,
                    String,
                    chrono::NaiveDateTime,
                    chrono::NaiveDateTime,
                    Option<chrono::NaiveDateTime>,
                )> = $tokens::table
                    .inner_join($sessions::table)
                    .filter($tokens::token_hash.eq(hash))
                    .select((
                        $sessions::id,
                        $sessions::$holder,
                        $kind,
                        $tokens::expires_at,
                        $sessions::expires_at,
                        $sessions::revoked_at,
                    ))
                    .first(conn)
                    .optional()?;
                Ok(row.map(
                    |(session_id, holder_id, kind, token_expires, session_expires, revoked)| {
                        $crate::auth::rotation::Presented {
                            session_id,
                            holder_id,
                            kind,
                            token_expires,
                            session_expires,
                            revoked: revoked.is_some(),
                        }
                    },
                ))
            }

            fn mark_used(
                conn: &mut $crate::infra::db::DbConn,
                hash: &str,
                at: chrono::NaiveDateTime,
            ) -> $crate::infra::error::Result<bool> {
                use diesel::prelude::*;
                use $crate::infra::db::schema::$tokens;
                let marked =
                    diesel::update($tokens::table.find(hash).filter($tokens::used_at.is_null()))
                        .set($tokens::used_at.eq(at))
                        .execute(conn)?;
                Ok(marked == 1)
            }

            fn insert(
                conn: &mut $crate::infra::db::DbConn,
                session_id: &str,
                hash: &str,
                at: chrono::NaiveDateTime,
                expires: chrono::NaiveDateTime,
            ) -> $crate::infra::error::Result<()> {
                use diesel::prelude::*;
                use $crate::infra::db::schema::$tokens;
                diesel::insert_into($tokens::table)
                    .values((
                        $tokens::token_hash.eq(hash),
                        $tokens::session_id.eq(session_id),
                        $tokens::issued_at.eq(at),
                        $tokens::expires_at.eq(expires),
                    ))
                    .execute(conn)?;
                Ok(())
            }

            fn revoke(
                conn: &mut $crate::infra::db::DbConn,
                session_id: &str,
                why: &str,
                at: chrono::NaiveDateTime,
            ) -> $crate::infra::error::Result<()> {
                use diesel::prelude::*;
                use $crate::infra::db::schema::$sessions;
                diesel::update(
                    $sessions::table
                        .find(session_id)
                        .filter($sessions::revoked_at.is_null()),
                )
                .set(($sessions::revoked_at.eq(at), $sessions::revoked_why.eq(why)))
                .execute(conn)?;
                Ok(())
            }
        }
    };
}
pub(crate) use token_store;
