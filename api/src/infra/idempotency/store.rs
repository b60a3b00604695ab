//! Replay of the first answer to a create request sent again with the same
//! `Idempotency-Key`. The record is written in the same transaction as the creation, so a
//! request either created its record and stored its answer, or did neither.

use bangfu_sync::Code;
use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::idempotency_keys;
use crate::infra::error::{Error, Msg, Result};

/// A stored answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

/// The stored answer for `key`, if any. A key reused with a different request is refused.
pub fn lookup(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<StoredResponse>> {
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((user_id, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some((hash, _, _)) if hash != request_hash => Err(Error::Unprocessable {
            code: Code::IdempotencyKeyReused,
            detail: Msg::fixed(
                "该幂等键已用于另一个不同的请求。",
                "This Idempotency-Key was already used for a different request.",
            ),
        }),
        Some((_, status, body)) => Ok(Some(StoredResponse {
            status: u16::try_from(status).map_err(Error::internal)?,
            body: serde_json::from_str(&body).map_err(Error::internal)?,
        })),
    }
}

pub fn store(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    request_hash: &str,
    resp: &StoredResponse,
) -> Result<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::status.eq(i32::from(resp.status)),
            idempotency_keys::response.eq(resp.body.to_string()),
            idempotency_keys::created_at.eq(crate::infra::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}
