//! `Idempotency-Key` for create requests: the same key with the same body returns the
//! first answer (marked `Idempotent-Replayed: true`); with a different body it is refused.
//!
//! A use case that creates takes a [`Once`] and runs its transaction through [`run`]: the
//! HTTP adapter builds the `Once` from the request (its key, and how the first answer is
//! written down); any other caller passes [`Once::none`]. The use case answers [`Made`]:
//! what it created, or the answer a repeated request gets again.

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
    checked(v.to_str().unwrap_or("")).map(Some)
}

/// A key as given: 1 to 255 visible ASCII characters.
fn checked(k: &str) -> Result<String> {
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
    Ok(k.to_owned())
}

/// A request's key, whose it is, and a fingerprint of what it asked.
#[derive(Debug, Clone)]
struct Keyed {
    owner: String,
    key: String,
    fingerprint: String,
}

type Render<T> = Box<dyn FnOnce(&T) -> Result<StoredResponse> + Send>;

/// How often a creation may happen: once per idempotency key, or (no key) every time. A
/// malformed key is refused when the creation runs, after the use case has judged its
/// input, so that a request's own faults are named first.
pub struct Once<T> {
    keyed: std::result::Result<Option<(Keyed, Render<T>)>, Error>,
}

impl<T> std::fmt::Debug for Once<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once")
            .field(
                "keyed",
                &self.keyed.as_ref().map(|k| k.as_ref().map(|(k, _)| k)),
            )
            .finish()
    }
}

impl<T> Once<T> {
    /// Every call creates (no key was given).
    pub fn none() -> Once<T> {
        Once { keyed: Ok(None) }
    }

    /// From a request's `Idempotency-Key` (none: [`Once::none`]). `owner` is a staff
    /// user's id or `applicant:<id>` (the two never share keys); `render` writes down the
    /// answer the first request got, for repeats to get again.
    pub fn of_request<B: Serialize>(
        req: &HttpRequest,
        owner: &str,
        body: &B,
        render: impl FnOnce(&T) -> Result<StoredResponse> + Send + 'static,
    ) -> Result<Once<T>> {
        Once::keyed(
            key_of(req),
            owner,
            &format!("{}{}", req.method().as_str(), req.path()),
            body,
            render,
        )
    }

    /// From the key a console form carries (a hidden field, drawn when the form was
    /// shown): sending the same form twice creates once. `action` names the form (its
    /// method and address), so that a key is never taken for another form's.
    pub fn of_form<B: Serialize>(
        key: &str,
        owner: &str,
        action: &str,
        body: &B,
        render: impl FnOnce(&T) -> Result<StoredResponse> + Send + 'static,
    ) -> Result<Once<T>> {
        let key = Some(key.trim()).filter(|k| !k.is_empty());
        Once::keyed(key.map(checked).transpose(), owner, action, body, render)
    }

    fn keyed<B: Serialize>(
        key: Result<Option<String>>,
        owner: &str,
        action: &str,
        body: &B,
        render: impl FnOnce(&T) -> Result<StoredResponse> + Send + 'static,
    ) -> Result<Once<T>> {
        let key = match key {
            Ok(Some(key)) => key,
            Ok(None) => return Ok(Once::none()),
            Err(e) => return Ok(Once { keyed: Err(e) }),
        };
        let mut h = Sha256::new();
        h.update(action);
        h.update(serde_json::to_vec(body).map_err(Error::internal)?);
        let keyed = Keyed {
            owner: owner.to_owned(),
            key,
            fingerprint: hex::encode(h.finalize()),
        };
        Ok(Once {
            keyed: Ok(Some((keyed, Box::new(render)))),
        })
    }
}

/// What a creating use case answers.
#[derive(Debug)]
pub enum Made<T> {
    /// Created now.
    New(T),
    /// The same request came before: its answer, to give again.
    Replayed(StoredResponse),
}

impl<T> Made<T> {
    /// The HTTP answer: `render`'s for something new, the stored one (marked
    /// `Idempotent-Replayed`) for a repeat.
    pub fn respond(
        self,
        render: impl FnOnce(&T) -> Result<StoredResponse>,
    ) -> Result<HttpResponse> {
        match self {
            Made::New(v) => Ok(respond(&render(&v)?, false)),
            Made::Replayed(r) => Ok(respond(&r, true)),
        }
    }
}

/// Runs `create` in one write transaction, at most once per `once`'s key.
pub async fn run<T, F>(db: &Db, once: Once<T>, create: F) -> Result<Made<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
{
    let Some((keyed, render)) = once.keyed? else {
        return Ok(Made::New(db.write(create).await?));
    };
    let k = keyed.clone();
    let outcome = db
        .write(move |c| {
            if let Some(prev) = idempotency::lookup(c, &k.owner, &k.key, &k.fingerprint)? {
                return Ok(Made::Replayed(prev));
            }
            let made = create(c)?;
            idempotency::store(c, &k.owner, &k.key, &k.fingerprint, &render(&made)?)?;
            Ok(Made::New(made))
        })
        .await;
    match outcome {
        // Two identical requests raced and the other stored its answer first; any other
        // conflict is the creation's own and stands.
        Err(e @ Error::Conflict { .. }) => {
            let Keyed {
                owner,
                key,
                fingerprint,
            } = keyed;
            match db
                .read(move |c| idempotency::lookup(c, &owner, &key, &fingerprint))
                .await?
            {
                Some(r) => Ok(Made::Replayed(r)),
                None => Err(e),
            }
        }
        other => other,
    }
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
