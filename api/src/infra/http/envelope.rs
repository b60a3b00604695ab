//! The middleware every request passes through: it assigns a request id, picks the response
//! language, turns every error (ours or actix's) into a problem in that language, records
//! metrics by route, and writes one log line without query strings or bodies (they may hold
//! personal data).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};

use crate::infra::error::{Error, Lang};
use crate::infra::http::metrics::Metrics;
use crate::infra::http::problem;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The request's id, as set by the envelope.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// Chinese unless `Accept-Language` prefers English.
pub fn lang_of(accept_language: Option<&str>) -> Lang {
    let Some(value) = accept_language else {
        return Lang::Zh;
    };
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag.starts_with("en") {
            Lang::En
        } else if tag.starts_with("zh") {
            Lang::Zh
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::Zh, |(_, l)| l)
}

/// The language a request's answer is in.
pub fn request_lang(req: &HttpRequest) -> Lang {
    lang_of(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| v.to_owned())
}

pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let lang = lang_of(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    // Handlers' errors arrive as responses carrying the error; an `Err` here could only come
    // from an inner middleware, and there is none. (Holding a clone of the request across
    // the call is not allowed: routing needs it unshared.)
    // Everything the request reads of the time is the server's clock (a test may move it).
    let clock = req
        .app_data::<web::Data<crate::infra::clock::Clock>>()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default();
    let res = crate::infra::clock::scoped(clock, next.call(req))
        .await?
        .map_into_boxed_body();
    // Kept for the log: the rendered problem does not carry the cause.
    let cause = res
        .response()
        .error()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let mut res = render_problem(res, lang, &id);
    res.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid")),
    );

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(method.as_str(), &route, status, elapsed);
    }
    if status >= 500 {
        tracing::error!(request_id = %id, %method, %route, status, ms = elapsed.as_millis() as u64, %cause, "request failed");
    } else {
        tracing::info!(request_id = %id, %method, %route, status, ms = elapsed.as_millis() as u64, "request");
    }
    Ok(res)
}

/// Re-renders error answers as problems in the caller's language with the request id.
fn render_problem(res: ServiceResponse<BoxBody>, lang: Lang, id: &str) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // The console answers its refusals as pages of its own.
    let page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if page {
        return res;
    }
    let rendered = match res.response().error().and_then(|e| e.as_error::<Error>()) {
        Some(e) => problem::respond(e, lang, Some(id)),
        // actix's own errors (payload, routing) and plain error statuses.
        None => problem::respond(&problem::for_status(status), lang, Some(id)),
    };
    let (req, old) = res.into_parts();
    let mut new = rendered;
    // Keep headers a handler set on purpose (e.g. Allow, WWW-Authenticate).
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !new.headers().contains_key(name)
        {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_negotiation() {
        assert_eq!(lang_of(None), Lang::Zh);
        assert_eq!(lang_of(Some("en")), Lang::En);
        assert_eq!(lang_of(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(lang_of(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(lang_of(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(lang_of(Some("de")), Lang::Zh);
    }
}
