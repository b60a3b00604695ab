//! `Idempotency-Key` for create requests: the same key with the same body returns the
//! first answer (marked `Idempotent-Replayed: true`); with a different body it is refused.

pub mod store;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bangfu_sync::Code;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::idempotency::store as idempotency;
use crate::infra::idempotency::store::StoredResponse;

pub const HEADER: &str = "Idempotency-Key";

fn key_of(req: &HttpRequest) -> Result<Option<String>> {
    let Some(v) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let k = v.to_str().unwrap_or("");
    if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Validation(vec![FieldError::new(
            HEADER,
            Code::InvalidIdempotencyKey,
            Msg::fixed(
                "Idempotency-Key 须为 1 到 255 个可见 ASCII 字符。",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            ),
        )]));
    }
    Ok(Some(k.to_owned()))
}

fn respond(r: &StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut b = HttpResponse::build(status);
    if replayed {
        b.insert_header(("Idempotent-Replayed", "true"));
    }
    b.json(&r.body)
}

/// Runs `create` in one write transaction, at most once per idempotency key of `owner`
/// (a staff user's id, or `applicant:<id>`: the two never share keys).
pub async fn create_once<B, F>(
    db: &Db,
    owner: &str,
    req: &HttpRequest,
    body: &B,
    create: F,
) -> Result<HttpResponse>
where
    B: Serialize,
    F: FnOnce(&mut DbConn) -> Result<StoredResponse> + Send + 'static,
{
    let Some(key) = key_of(req)? else {
        let r = db.write(create).await?;
        return Ok(respond(&r, false));
    };
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update(req.path());
    h.update(serde_json::to_vec(body).map_err(Error::internal)?);
    let hash = hex::encode(h.finalize());
    let user = owner.to_owned();
    let (k, hh, u) = (key.clone(), hash.clone(), user.clone());
    let outcome = db
        .write(move |c| {
            if let Some(prev) = idempotency::lookup(c, &u, &k, &hh)? {
                return Ok((prev, true));
            }
            let r = create(c)?;
            idempotency::store(c, &u, &k, &hh, &r)?;
            Ok((r, false))
        })
        .await;
    match outcome {
        Ok((r, replayed)) => Ok(respond(&r, replayed)),
        // Two identical requests raced and the other stored its answer first; any other
        // conflict is the creation's own and stands.
        Err(e @ Error::Conflict { .. }) => {
            match db
                .read(move |c| idempotency::lookup(c, &user, &key, &hash))
                .await?
            {
                Some(r) => Ok(respond(&r, true)),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// A stored answer from a serialisable body.
pub fn answer<T: Serialize>(status: StatusCode, body: &T) -> Result<StoredResponse> {
    Ok(StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_value(body).map_err(Error::internal)?,
    })
}
