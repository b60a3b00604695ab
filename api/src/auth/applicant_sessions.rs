//! Applicants' sign-ins (from WeChat), kept as staff sessions are: their refresh tokens
//! rotate by the one rule of `auth::rotation`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::rotation::{self, TokenStore, token_store};
use crate::infra::clock::now;
use crate::infra::db::schema::applicant_sessions;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::Result;

/// Every applicant sign-in is of this kind: the rotation checks a token's kind.
const KIND: &str = "applicant";

token_store!(
    ApplicantTokens,
    applicant_sessions,
    applicant_refresh_tokens,
    applicant_id,
    KIND.into_sql::<diesel::sql_types::Text>()
);

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
    ApplicantTokens::insert(conn, &id, token_hash, t, token_expires.min(session_expires))?;
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
    let s = rotation::rotate::<ApplicantTokens>(conn, KIND, old_hash, new_hash, new_expires)?;
    Ok((s.session_id, s.holder_id))
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
