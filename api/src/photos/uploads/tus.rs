//! The tus protocol's creation-with-upload: `POST /v1/uploads` may carry the file itself
//! (`Content-Type: application/offset+octet-stream`), declared by `Upload-Length` and
//! `Upload-Metadata` (comma-separated `key base64(value)` pairs: `sha256`, `kind`,
//! `filename`), so a small photo goes up in one request. The JSON declaration is the other
//! form of the same request.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
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

/// A creation request: the file declared in JSON (chunks follow by `PATCH`), or declared in
/// tus headers with (the start of) its bytes as the body.
pub enum Creation {
    Declared(NewUpload),
    WithBody(NewUpload, web::Payload),
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

fn is_chunk(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(CHUNK_TYPE))
}

impl FromRequest for Creation {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if is_chunk(req) {
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
