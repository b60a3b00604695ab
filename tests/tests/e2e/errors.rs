//! Every kind of bad input gets a problem+json answer, never actix's text, never a 500,
//! and the server keeps serving.

use bangfu_e2e::TestServer;
use serde_json::json;

#[test]
fn bad_input_of_every_kind_is_a_problem() {
    let s = TestServer::start();
    let t = s.login("county_officer").access;
    let t = Some(t.as_str());

    // Malformed JSON.
    s.raw(
        "POST",
        "/v1/devices",
        t,
        "application/json",
        b"{\"name\": ".to_vec(),
    )
    .assert_problem(400, "malformed_json");
    // Wrong content type.
    s.raw("POST", "/v1/devices", t, "text/plain", b"name=x".to_vec())
        .assert_problem(415, "unsupported_media_type");
    // Oversized body.
    let huge = format!(
        "{{\"name\": \"{}\", \"platform\": \"android\"}}",
        "x".repeat(200_000)
    );
    s.raw(
        "POST",
        "/v1/devices",
        t,
        "application/json",
        huge.into_bytes(),
    )
    .assert_problem(413, "payload_too_large");
    // Wrong types name the field.
    let r = s.call(
        "POST",
        "/v1/devices",
        t,
        Some(json!({"name": 5, "platform": "android"})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "name");
    // Missing and unknown fields.
    s.call(
        "POST",
        "/v1/devices",
        t,
        Some(json!({"platform": "android"})),
    )
    .assert_problem(422, "validation_failed");
    s.call(
        "POST",
        "/v1/devices",
        t,
        Some(json!({"name": "a", "platform": "b", "admin": true})),
    )
    .assert_problem(422, "validation_failed");
    // Every deficiency in one answer.
    let r = s.call(
        "POST",
        "/v1/users",
        t,
        Some(json!({
            "username": "x", "display_name": "", "password": "long enough pw", "role": "helper",
            "region_id": "01936f2e-5b1a-7c3d-8e4f-1a2b3c4d5e6f", "phone": "12"
        })),
    );
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["username", "display_name", "phone"]);
    // Bad ids, bad query parameters, bad cursors.
    s.call("GET", "/v1/regions/not-a-uuid", t, None)
        .assert_problem(400, "invalid_path_parameter");
    s.call("GET", "/v1/regions?limit=abc", t, None)
        .assert_problem(422, "validation_failed");
    s.call("GET", "/v1/regions?limit=100000", t, None)
        .assert_problem(422, "validation_failed");
    s.call("GET", "/v1/regions?cursor=%%%", t, None)
        .assert_problem(422, "validation_failed");
    s.call(
        "GET",
        "/v1/regions/01936f2e-5b1a-7c3d-8e4f-1a2b3c4d5e6f",
        t,
        None,
    )
    .assert_problem(404, "not_found");
    // Unknown routes and methods.
    s.call("GET", "/v1/no-such-thing", t, None)
        .assert_problem(404, "route_not_found");
    let r = s.call("DELETE", "/v1/users", t, None);
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));

    // The server is still serving.
    assert_eq!(s.call("GET", "/health", None, None).status, 200);
}

#[test]
fn problems_speak_the_callers_language() {
    let s = TestServer::start();
    let zh = s.call("GET", "/v1/me", None, None);
    zh.assert_problem(401, "token_missing");
    // The title says what the code means (one per problem type, RFC 9457).
    assert_eq!(zh.body["title"], "缺少访问令牌", "{}", zh.text);
    let en = s.call_with(
        "GET",
        "/v1/me",
        None,
        None,
        &[("Accept-Language", "en-US,en;q=0.9")],
    );
    en.assert_problem(401, "token_missing");
    assert_eq!(en.body["title"], "No access token");
    // The request id is echoed in the header and the body, and taken from the client if sane.
    let r = s.call_with(
        "GET",
        "/v1/me",
        None,
        None,
        &[("X-Request-Id", "phone-42-abc")],
    );
    assert_eq!(r.header("x-request-id"), Some("phone-42-abc"));
    assert_eq!(r.body["request_id"], "phone-42-abc");
}

#[test]
fn optimistic_concurrency_needs_if_match() {
    let s = TestServer::start();
    let t = s.login("county_officer").access;
    let id = s.region_id(&t, "530123101");
    let path = format!("/v1/regions/{id}");
    let r = s.call("GET", &path, Some(&t), None);
    assert_eq!(r.header("etag"), Some("\"1\""));
    s.call("PATCH", &path, Some(&t), Some(json!({"dibao_fen": 75000})))
        .assert_problem(428, "if_match_required");
    let ok = s.call_with(
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"dibao_fen": 75000})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    let stale = s.call_with(
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"dibao_fen": 76000})),
        &[("If-Match", "\"1\"")],
    );
    stale.assert_problem(412, "version_mismatch");
}

/// Hostile shapes that are not malformed: nesting deep enough to exhaust a recursive
/// parser, a push over its route's larger limit. Each is a problem, and the server serves
/// on. (Batch sizes, sign-in rates and open uploads are limited too: see `sync.rs`,
/// `auth.rs` and `photos.rs`.)
#[test]
fn abusive_bodies_are_refused_with_problems() {
    let s = TestServer::start();
    let t = s.device_session("qingshan_helper").access;
    let push_raw = |body: String| {
        let r = s
            .client
            .post(s.url("/v1/sync/push"))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .header("bangfu-sync-protocol", "1")
            .body(body)
            .send()
            .expect("send");
        bangfu_e2e::Reply::from(r)
    };

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    push_raw(format!(
        "{{\"mutations\": [{{\"mutation_id\": \"m\", \"entity\": \"visit\", \"id\": \"v\", \
         \"base_version\": 0, \"hlc\": \"h\", \"fields\": {{\"notes\": {deep}}}}}]}}"
    ))
    .assert_problem(400, "malformed_json");

    let over = format!("{{\"mutations\": [\"{}\"]}}", "x".repeat(9 * 1024 * 1024));
    push_raw(over).assert_problem(413, "payload_too_large");

    // NUL characters, which PostgreSQL's text cannot hold, in a body and in a query.
    s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "a\u{0}b", "password": "x"})),
    )
    .assert_problem(400, "nul_character");
    s.call("GET", "/v1/households?name=a%00b", Some(&t), None)
        .assert_problem(400, "nul_character");

    assert_eq!(s.call("GET", "/health", None, None).status, 200);
}
