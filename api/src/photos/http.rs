//! Serving stored photos and documents: `/v1/photos/{sha256}`, and [`send`], which every
//! endpoint serving stored bytes answers with. A caller may fetch a file only if a record
//! they may see names it and its maker sent the bytes (`store::photos::reach_file`):
//! knowing the digest is not enough. Roles that may not see personal data get copies
//! without EXIF location.

use std::ops::Range;

use actix_web::body::SizedStream;
use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::infra::blobs::{BlobKey, Variant};
use crate::infra::error::{Error, Result};
use crate::infra::http::json::Query;
use crate::photos::Sha256Hex;
use crate::photos::service::{self, Form};
use crate::photos::uploads::queries::BlobRow;
use crate::state::AppState;

pub use crate::photos::service::Viewer;

/// Which form of the file to fetch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// The file as uploaded (without EXIF/XMP metadata for roles that may not see location).
    #[default]
    Original,
    /// JPEG, at most 1600 pixels on the long side, no metadata.
    Medium,
    /// JPEG, at most 320 pixels on the long side, no metadata.
    Thumb,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhotoQuery {
    /// `original` (default), `medium` or `thumb`.
    #[serde(default)]
    #[param(inline)]
    pub size: Size,
}

impl Size {
    fn form(self) -> Form {
        match self {
            Size::Original => Form::Original,
            Size::Medium => Form::Medium,
            Size::Thumb => Form::Thumb,
        }
    }
}

/// A single `bytes=` range against a file of `size` bytes. `Ok(None)`: no usable range
/// header (send everything); several ranges are answered with the whole file.
pub fn parse_range(value: Option<&str>, size: u64) -> Result<Option<Range<u64>>> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    let Some(spec) = v.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let r = match (a.trim().is_empty(), b.trim().is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => {
            let n = num(b).ok_or(Error::RangeNotSatisfiable { size })?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            size.saturating_sub(n)..size
        }
        (false, true) => {
            let start = num(a).ok_or(Error::RangeNotSatisfiable { size })?;
            start..size
        }
        (false, false) => {
            let (start, end) = (
                num(a).ok_or(Error::RangeNotSatisfiable { size })?,
                num(b).ok_or(Error::RangeNotSatisfiable { size })?,
            );
            if end < start {
                return Err(unsatisfiable);
            }
            start..(end + 1).min(size)
        }
        (true, true) => return Ok(None),
    };
    if r.start >= size {
        return Err(unsatisfiable);
    }
    Ok(Some(r))
}

/// Fetch a stored photo (or document) by its SHA-256, whole or a byte range. Allowed when a
/// photo record in the caller's scope names it; `404` otherwise, as for a file that does not
/// exist. Roles without the right to see personal data get originals without EXIF location;
/// every original with EXIF location sent to a role that may see it is in the audit log.
#[utoipa::path(tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the file, 64 hex digits"), PhotoQuery,
           ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-65535`"),
           ("If-None-Match" = Option<String>, Header, description = "The ETag held; 304 if unchanged")),
    responses((status = 200, description = "The bytes (image/jpeg, image/png, image/webp, image/heic or application/pdf)",
                headers(("ETag" = String), ("Accept-Ranges" = String))),
              (status = 206, description = "The requested range", headers(("Content-Range" = String), ("ETag" = String))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 403, description = "The original carries its location and the role may not see it (`location_withheld`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such file, or no photo record in the caller's scope names it", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The resized copy is still being made (`derivative_pending`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 416, description = "The range lies outside the file", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[get("/v1/photos/{sha256}")]
pub async fn download(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPull>,
    req: HttpRequest,
    sha256: web::Path<String>,
    q: Query<PhotoQuery>,
) -> Result<HttpResponse> {
    // A malformed digest names no file: the same answer as a file not in scope.
    let sha = Sha256Hex::parse(&sha256).map_err(|_| Error::NotFound)?;
    let (blob, path) = service::reach(&state.db, &caller, &sha).await?;
    let viewer = Viewer::Staff(caller.actor());
    send(&state, &req, &viewer, blob, &path, q.size).await
}

/// Sends a file the caller was found to reach (see `store::photos::reach_file`): the
/// form the size asks for, without its location for viewers who may not see it, with
/// `ETag` and byte ranges. An original with GPS sent to staff who may see it is audited.
pub async fn send(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    blob: BlobRow,
    region_path: &str,
    size: Size,
) -> Result<HttpResponse> {
    let (variant, media_type) =
        service::release(&state.db, viewer, &blob, region_path, size.form()).await?;
    let sha = Sha256Hex::parse(&blob.sha256).map_err(|_| Error::NotFound)?;
    let etag = format!("\"{}.{}\"", sha, variant_tag(variant));
    let header_str = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header_str(header::IF_NONE_MATCH).is_some_and(|v| {
        v.split(',').any(|t| {
            t.trim() == etag || t.trim() == "*" || t.trim().trim_start_matches("W/") == etag
        })
    }) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let key = BlobKey::new(&sha, variant);
    let size = service::stored_size(&state.db, &state.photos, blob, &key, variant).await?;
    // If-Range with another validator: send the whole file.
    let range_header = match header_str(header::IF_RANGE) {
        Some(v) if v.trim() != etag => None,
        _ => header_str(header::RANGE),
    };
    let range = parse_range(range_header.as_deref(), size)?;
    let stream = state.photos.store.get(&key, range.clone()).await?;
    let (status, len) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, size),
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Already compressed; and byte ranges must address the stored bytes.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_str(&media_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ));
    if let Some(r) = &range {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", r.start, r.end - 1),
        ));
    }
    Ok(res.body(SizedStream::new(len, stream)))
}

fn variant_tag(v: Variant) -> &'static str {
    match v {
        Variant::Original => "original",
        Variant::Stripped => "stripped",
        Variant::Medium => "medium",
        Variant::Thumb => "thumb",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |v: &str| parse_range(Some(v), 100).ok().flatten();
        assert_eq!(r("bytes=0-9"), Some(0..10));
        assert_eq!(r("bytes=90-"), Some(90..100));
        assert_eq!(r("bytes=-10"), Some(90..100));
        assert_eq!(r("bytes=95-200"), Some(95..100));
        assert_eq!(r("bytes=0-1,5-6"), None);
        assert_eq!(r("items=0-1"), None);
        assert!(parse_range(Some("bytes=100-"), 100).is_err());
        assert!(parse_range(Some("bytes=9-3"), 100).is_err());
        assert!(parse_range(None, 100).is_ok_and(|r| r.is_none()));
    }
}
