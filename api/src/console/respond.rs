//! How the console answers: every page and redirect carries the same security headers,
//! and is never cached; state-changing requests must come from the console's own pages.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

/// No inline script or style anywhere (htmx's indicator styles are turned off by its meta
/// config), nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
    script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The cookie that carries the browser's session.
pub const COOKIE: &str = "bangfu_console";

/// The header htmx sends the form token in (set by `hx-headers` on every page).
pub const CSRF_HEADER: &str = "x-csrf-token";

fn secured(mut b: HttpResponseBuilder) -> HttpResponseBuilder {
    b.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

/// A rendered page.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    secured(HttpResponse::build(status))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// After a form: "see this page" (303), so a reload does not post again.
pub fn see_other(location: &str) -> HttpResponse {
    secured(HttpResponse::SeeOther())
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
        ))
        .finish()
}

/// Whether the request is served over TLS (directly, or as the proxy in front reports).
pub fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The session cookie: HttpOnly, SameSite=Strict, for the whole site; `Secure` over TLS or
/// when configured. `None` clears it.
pub fn session_cookie(token: Option<&str>, secure: bool) -> actix_web::cookie::Cookie<'static> {
    use actix_web::cookie::{Cookie, SameSite};
    let mut c = Cookie::build(COOKIE, token.unwrap_or("").to_owned())
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .finish();
    if token.is_none() {
        c.make_removal();
    }
    c
}

/// Whether a state-changing request comes from this site's own pages: a browser says where
/// a request comes from (`Sec-Fetch-Site`, `Origin`); one that says another site is refused.
pub fn same_origin(req: &HttpRequest) -> bool {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return true;
    }
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = h("sec-fetch-site")
        && site != "same-origin"
    {
        return false;
    }
    match h("origin") {
        None => true,
        Some(origin) => {
            let info = req.connection_info();
            origin == format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// Compares form tokens in time independent of where they differ.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn posts_from_elsewhere_are_refused() {
        let from = |site: Option<&str>, origin: Option<&str>| {
            let mut r = TestRequest::post()
                .uri("/x")
                .insert_header(("host", "console.example"));
            if let Some(s) = site {
                r = r.insert_header(("sec-fetch-site", s));
            }
            if let Some(o) = origin {
                r = r.insert_header(("origin", o));
            }
            same_origin(&r.to_http_request())
        };
        assert!(from(Some("same-origin"), Some("http://console.example")));
        assert!(from(None, None));
        assert!(!from(Some("cross-site"), None));
        assert!(!from(Some("same-site"), None));
        assert!(!from(None, Some("http://evil.example")));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
    }
}
