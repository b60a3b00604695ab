//! HTTP method hygiene: a 405 lists in `Allow` every method the path is served with,
//! `HEAD` is served wherever `GET` is, and the tus paths answer `OPTIONS` and `HEAD` as
//! their contract says.

use bangfu_e2e::TestServer;

#[test]
fn allow_lists_every_method_a_path_is_served_with() {
    let s = TestServer::start();
    let t = s.login("county_officer").access;
    let t = Some(t.as_str());
    for (method, path, allow) in [
        ("DELETE", "/v1/users", "GET, HEAD, POST"),
        ("PUT", "/v1/uploads", "GET, HEAD, POST, OPTIONS"),
        (
            "PUT",
            "/v1/uploads/0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10",
            "GET, HEAD, PATCH, DELETE, OPTIONS",
        ),
        ("POST", "/health", "GET, HEAD"),
        ("OPTIONS", "/v1/regions", "GET, HEAD, POST"),
    ] {
        let r = s.call(method, path, t, None);
        r.assert_problem(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        // Every method `Allow` names is served: none of them is a 405.
        for m in allow.split(", ") {
            let served = s.call(m, path, t, None);
            assert_ne!(served.status, 405, "{m} {path}: {}", served.text);
        }
    }
}

#[test]
fn head_is_answered_wherever_get_is_without_a_body() {
    let s = TestServer::start();
    let t = s.login("county_officer").access;
    let get = s.call("GET", "/v1/regions", Some(&t), None);
    let head = s.call("HEAD", "/v1/regions", Some(&t), None);
    assert_eq!((get.status, head.status), (200, 200), "{}", head.text);
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert!(head.text.is_empty(), "{}", head.text);
    // A HEAD that fails says so as a GET would, in its status and headers.
    let refused = s.call("HEAD", "/v1/regions", None, None);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert!(refused.text.is_empty());
}

#[test]
fn tus_discovery_and_offsets_answer_as_documented() {
    let s = TestServer::start();
    for path in [
        "/v1/uploads",
        "/v1/uploads/0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10",
    ] {
        let r = s.call("OPTIONS", path, None, None);
        assert_eq!(r.status, 204, "{path}: {}", r.text);
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
    }
    let t = s.device_session("qingshan_helper").access;
    let missing = "/v1/uploads/0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10";
    let r = s.call_with(
        "HEAD",
        missing,
        Some(&t),
        None,
        &[("Tus-Resumable", "1.0.0")],
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let r = s.call_with(
        "HEAD",
        missing,
        Some(&t),
        None,
        &[("Tus-Resumable", "0.2.2")],
    );
    assert_eq!(r.status, 412);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    let r = s.call("HEAD", missing, None, None);
    assert_eq!(r.status, 401);
    let r = s.call("HEAD", "/v1/uploads/not-an-id", Some(&t), None);
    assert_eq!(r.status, 400);
}
