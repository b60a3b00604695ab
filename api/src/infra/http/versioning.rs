//! Row versions as entity tags: reads send `ETag: "<version>"`, updates must send it back
//! in `If-Match` (428 without it, 412 when it is stale).

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::infra::error::{Error, Result};

pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The version named by `If-Match`.
pub fn if_match(req: &HttpRequest) -> Result<i64> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(Error::PreconditionRequired)?
        .to_str()
        .map_err(|_| Error::PreconditionFailed)?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map_err(|_| Error::PreconditionFailed)
}
