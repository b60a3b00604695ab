//! The tus 1.0.0 protocol (<https://tus.io/protocols/resumable-upload>) on `/v1/uploads`:
//! core, creation, creation-with-upload, expiration and termination. A client speaks tus by
//! sending `Tus-Resumable: 1.0.0`; every answer under `/v1/uploads` but `OPTIONS` carries
//! it, and a request naming another version is refused with 412 and `Tus-Version`.
//!
//! Creation declares the file by `Upload-Length` and `Upload-Metadata` (comma-separated
//! `key base64(value)` pairs: `sha256`, `kind`, `filename`; others are ignored), and may
//! carry the file itself (`Content-Type: application/offset+octet-stream`), so a small
//! photo goes up in one request. The JSON declaration and a multipart form
//! (`wx.uploadFile`) are the other forms of the same request.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use bangfu_sync::Code;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::LocalBoxFuture;

use crate::infra::error::{Error, FieldError, Msg};
use crate::infra::http::json::ApiJson;
use crate::photos::Kind;
use crate::photos::uploads::model::NewUpload;

pub const UPLOAD_LENGTH: &str = "Upload-Length";
pub const UPLOAD_METADATA: &str = "Upload-Metadata";
/// The body type of chunks, as in tus.
pub const CHUNK_TYPE: &str = "application/offset+octet-stream";
/// The protocol version this server speaks, the only one.
pub const VERSION: &str = "1.0.0";
/// The extensions this server supports, as `OPTIONS` lists them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,expiration,termination";
pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub const TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
pub const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
pub const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
pub const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");

/// Whether the client speaks tus: it sends `Tus-Resumable` (a version other than
/// [`VERSION`] never reaches a handler). Such a client gets tus's answers (`PATCH`: 204,
/// creation: 201 with `Location` also when an unfinished upload is resumed); others get
/// the JSON answers.
pub fn speaks_tus(req: &HttpRequest) -> bool {
    req.headers().contains_key(TUS_RESUMABLE)
}

/// A time as tus's `Upload-Expires` gives it (an RFC 9110 HTTP-date).
pub fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn under_uploads(path: &str) -> bool {
    path == "/v1/uploads" || path.starts_with("/v1/uploads/")
}

/// The tus version check and header for `/v1/uploads`: a request naming a version other
/// than [`VERSION`] in `Tus-Resumable` is refused with 412 and `Tus-Version` (`OPTIONS`
/// excepted, which serves to find the version out), and every answer but `OPTIONS`'s
/// carries `Tus-Resumable`.
pub async fn protocol(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !under_uploads(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let options = req.method() == Method::OPTIONS;
    let other_version = req
        .headers()
        .get(TUS_RESUMABLE)
        .is_some_and(|v| v.as_bytes().trim_ascii() != VERSION.as_bytes());
    let mut res = if other_version && !options {
        let mut refused = HttpResponse::from_error(Error::VersionUnsupported {
            code: Code::TusVersionUnsupported,
            detail: Msg::fixed(
                "本服务器只支持 tus 1.0.0（见 Tus-Version 头）。",
                "This server speaks tus 1.0.0 only (see the Tus-Version header).",
            ),
        });
        refused
            .headers_mut()
            .insert(TUS_VERSION, HeaderValue::from_static(VERSION));
        // The request's parts keep the error with the answer, for the envelope to render.
        ServiceResponse::new(req.into_parts().0, refused)
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    if !options {
        res.headers_mut()
            .insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    }
    Ok(res)
}

/// A creation request: the file declared in JSON or in tus headers (chunks follow by
/// `PATCH`), declared in tus headers with (the start of) its bytes as the body, or a
/// multipart form holding the declaration and the file.
pub enum Creation {
    Declared(NewUpload),
    WithBody(NewUpload, web::Payload),
    Form(actix_multipart::Multipart),
}

fn invalid(field: &str, zh: &'static str, en: &'static str) -> FieldError {
    FieldError::new(field, Code::InvalidFormat, Msg::fixed(zh, en))
}

/// `key base64,key base64,…` into pairs; a key may come without a value.
fn metadata(raw: &str) -> Result<Vec<(String, String)>, FieldError> {
    let bad = || {
        invalid(
            UPLOAD_METADATA,
            "Upload-Metadata 须为逗号分隔的“键 base64值”。",
            "Upload-Metadata is comma-separated `key base64(value)` pairs.",
        )
    };
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once(' ').unwrap_or((pair, ""));
            let bytes = STANDARD.decode(v.trim()).map_err(|_| bad())?;
            Ok((k.to_owned(), String::from_utf8(bytes).map_err(|_| bad())?))
        })
        .collect()
}

/// The declaration in tus headers.
pub fn declared(req: &HttpRequest) -> Result<NewUpload, Error> {
    let get = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let mut errors = Vec::new();
    let size = get(UPLOAD_LENGTH).and_then(|v| v.parse::<i64>().ok());
    if size.is_none() {
        errors.push(FieldError::new(
            UPLOAD_LENGTH,
            Code::Required,
            Msg::fixed(
                "请在 Upload-Length 头中给出文件的字节数。",
                "Give the file's size in bytes in an Upload-Length header.",
            ),
        ));
    }
    let pairs = match metadata(get(UPLOAD_METADATA).unwrap_or("")) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    let value = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let sha256 = value("sha256").unwrap_or_default();
    if sha256.is_empty() && errors.iter().all(|e| e.field != UPLOAD_METADATA) {
        errors.push(FieldError::new(
            "sha256",
            Code::Required,
            Msg::fixed(
                "Upload-Metadata 须含文件的 sha256。",
                "Upload-Metadata must name the file's sha256.",
            ),
        ));
    }
    let kind = match value("kind").as_deref() {
        None => Some(Kind::Photo),
        Some(k) => Kind::parse(k),
    };
    if kind.is_none() {
        errors.push(invalid(
            "kind",
            "kind 须为 photo 或 document。",
            "kind is photo or document.",
        ));
    }
    match (size, kind, errors.is_empty()) {
        (Some(size), Some(kind), true) => Ok(NewUpload {
            sha256,
            size,
            kind,
            file_name: value("filename"),
        }),
        _ => Err(Error::Validation(errors)),
    }
}

/// The body's media type, lowercase, without parameters.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
}

impl FromRequest for Creation {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media = media_type(req);
        if media.as_deref() == Some("multipart/form-data") {
            let form = actix_multipart::Multipart::new(req.headers(), payload.take());
            return Box::pin(async move { Ok(Creation::Form(form)) });
        }
        // A tus creation without the file has no body, or an empty one of any type.
        if speaks_tus(req) && media.as_deref() != Some(CHUNK_TYPE) {
            let declared = declared(req);
            return Box::pin(async move { Ok(Creation::Declared(declared?)) });
        }
        if media.as_deref() == Some(CHUNK_TYPE) {
            let declared = declared(req);
            let body = web::Payload::from_request(req, payload);
            return Box::pin(async move {
                let body = body.await.map_err(|_| Error::BadRequest {
                    code: Code::BodyUnreadable,
                    detail: Msg::fixed("请求体读取失败。", "The request body could not be read."),
                })?;
                Ok(Creation::WithBody(declared?, body))
            });
        }
        let json = ApiJson::<NewUpload>::from_request(req, payload);
        Box::pin(async move { Ok(Creation::Declared(json.await?.0)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_are_base64() {
        let pairs = metadata("sha256 YWJj,kind cGhvdG8=, flag").ok();
        assert_eq!(
            pairs,
            Some(vec![
                ("sha256".into(), "abc".into()),
                ("kind".into(), "photo".into()),
                ("flag".into(), String::new()),
            ])
        );
        assert!(metadata("sha256 ***").is_err());
    }
}
