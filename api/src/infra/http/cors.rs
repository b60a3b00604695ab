//! Cross-origin requests (CORS) for web clients served from another origin: uni-app and
//! Taro H5 builds, officers' web apps. Only the configured origins are answered with CORS
//! headers; by default none is, so browsers keep pages of other origins out (same-origin
//! only). Tokens travel in `Authorization`, never in cookies, so credentials are not
//! allowed: a page of an allowed origin still needs a token of its own.
//!
//! A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is
//! answered here, before sign-in and routing: browsers send it without the token.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// The origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Exact origins (`https://h5.example.gov.cn`, scheme, host and port as browsers send
    /// them), or `*` for any origin.
    pub origins: Vec<String>,
}

/// The methods the API serves (with `X-HTTP-Method-Override` for clients without `PATCH`).
const METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Request headers a page may send besides the CORS-safelisted ones: exact names, and the
/// families of tus (`Tus-*`, `Upload-*`) and of bangfu's own (`Bangfu-*`).
const ALLOWED: [&str; 8] = [
    "authorization",
    "content-type",
    "accept-language",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-http-method-override",
    "x-request-id",
];
const ALLOWED_FAMILIES: [&str; 3] = ["tus-", "upload-", "bangfu-"];

/// Response headers a page may read besides the CORS-safelisted ones.
pub const EXPOSED: &str = "ETag, Location, Retry-After, Allow, Content-Disposition, \
    Content-Range, Accept-Ranges, X-Request-Id, Idempotent-Replayed, Upload-Offset, \
    Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size";

/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

impl CorsPolicy {
    /// From a comma-separated list (`BANGFU_CORS_ORIGINS`); blanks are dropped and a
    /// trailing `/` is not part of an origin.
    pub fn parse(list: &str) -> CorsPolicy {
        CorsPolicy {
            origins: list
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

/// Whether a page may send request header `name`.
fn header_allowed(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    ALLOWED.contains(&name.as_str()) || ALLOWED_FAMILIES.iter().any(|f| name.starts_with(f))
}

/// The headers of a preflight's answer: the requested headers that are allowed, echoed.
fn preflight(origin: &HeaderValue, requested: Option<&str>) -> HttpResponse {
    let allowed = requested
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty() && header_allowed(h))
        .collect::<Vec<_>>()
        .join(", ");
    let mut res = HttpResponse::NoContent();
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
        .insert_header((header::VARY, "Origin"));
    if !allowed.is_empty() {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, allowed));
    }
    res.finish()
}

/// Marks an answer for an allowed origin. `Vary: Origin` goes on every answer (even for
/// other origins), so a cache never hands one origin's answer to another.
fn mark(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
    }
}

/// The CORS middleware: outermost, so that every answer (problems too) carries the headers.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let allowed_origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| {
            let policy = req.app_data::<web::Data<CorsPolicy>>();
            o.to_str()
                .is_ok_and(|o| policy.is_some_and(|p| p.allows(o)))
        })
        .cloned();
    if let Some(origin) = &allowed_origin
        && req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let res = preflight(origin, requested.as_deref());
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    mark(res.headers_mut(), allowed_origin);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed() {
        assert!(!CorsPolicy::default().allows("https://h5.example"));
        let p = CorsPolicy::parse(" https://h5.example/, ,http://localhost:5173");
        assert_eq!(p.origins, ["https://h5.example", "http://localhost:5173"]);
        assert!(p.allows("https://h5.example") && p.allows("http://localhost:5173"));
        assert!(!p.allows("https://h5.example.evil") && !p.allows("http://h5.example"));
        assert!(CorsPolicy::parse("*").allows("https://anyone.example"));
    }

    #[test]
    fn the_headers_clients_send_are_allowed_and_others_not() {
        for h in [
            "Authorization",
            "Idempotency-Key",
            "If-Match",
            "Tus-Resumable",
            "Upload-Offset",
            "Upload-Metadata",
            "Bangfu-Sync-Protocol",
            "X-HTTP-Method-Override",
            "Accept-Language",
        ] {
            assert!(header_allowed(h), "{h}");
        }
        assert!(!header_allowed("Cookie") && !header_allowed("X-Forwarded-For"));
    }
}
