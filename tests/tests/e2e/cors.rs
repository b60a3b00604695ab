//! Cross-origin requests over a socket: an allowed origin gets the CORS headers (problems
//! too) and its preflights answered without sign-in, a tus `PATCH` included; any other
//! origin gets none, and by default no origin is allowed.

use bangfu_e2e::{TestDb, TestServer, backend};
use reqwest::blocking::Client;

const ALLOWED: &str = "https://h5.example.gov.cn";

fn preflight(
    s: &TestServer,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::blocking::Response {
    Client::new()
        .request(
            reqwest::Method::OPTIONS,
            s.url("/v1/uploads/0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", headers)
        .send()
        .expect("preflight")
}

fn header(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[test]
fn allowed_origins_get_cors_headers_and_others_none() {
    let s = TestServer::start_configured(TestDb::new(backend()), |c| {
        c.cors = bangfu::infra::http::cors::CorsPolicy::parse(ALLOWED);
    });
    // A tus PATCH's preflight, without sign-in.
    let r = preflight(
        &s,
        ALLOWED,
        "PATCH",
        "authorization, content-type, tus-resumable, upload-offset, x-http-method-override",
    );
    assert_eq!(r.status(), 204);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    let methods = header(&r, "access-control-allow-methods").unwrap_or_default();
    assert!(
        methods.contains("PATCH") && methods.contains("HEAD"),
        "{methods}"
    );
    let allowed = header(&r, "access-control-allow-headers").unwrap_or_default();
    for h in [
        "authorization",
        "tus-resumable",
        "upload-offset",
        "x-http-method-override",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    assert!(header(&r, "access-control-allow-credentials").is_none());

    // An answer to the allowed origin exposes what clients read; a problem too.
    let officer = s.login("county_officer").access;
    let r = Client::new()
        .get(s.url("/v1/regions"))
        .bearer_auth(&officer)
        .header("Origin", ALLOWED)
        .send()
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    let exposed = header(&r, "access-control-expose-headers").unwrap_or_default();
    for h in [
        "ETag",
        "Location",
        "Upload-Offset",
        "Upload-Length",
        "Tus-Resumable",
        "Upload-Expires",
        "Retry-After",
    ] {
        assert!(exposed.contains(h), "{h} in {exposed}");
    }
    assert!(header(&r, "vary").is_some_and(|v| v.contains("Origin")));
    let r = Client::new()
        .get(s.url("/v1/me"))
        .header("Origin", ALLOWED)
        .send()
        .expect("get");
    assert_eq!(r.status(), 401);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );

    // Another origin gets no CORS header, and its preflight is not answered as one.
    let other = "https://elsewhere.example";
    let r = preflight(&s, other, "PATCH", "authorization");
    assert!(header(&r, "access-control-allow-origin").is_none());
    assert!(header(&r, "access-control-allow-methods").is_none());
    let r = Client::new()
        .get(s.url("/v1/regions"))
        .bearer_auth(&officer)
        .header("Origin", other)
        .send()
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(header(&r, "access-control-allow-origin").is_none());
    assert!(header(&r, "access-control-expose-headers").is_none());
}

#[test]
fn by_default_no_origin_is_allowed() {
    let s = TestServer::start();
    let r = preflight(&s, ALLOWED, "PATCH", "authorization");
    assert!(header(&r, "access-control-allow-origin").is_none());
    let r = Client::new()
        .get(s.url("/health"))
        .header("Origin", ALLOWED)
        .send()
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(header(&r, "access-control-allow-origin").is_none());
}
