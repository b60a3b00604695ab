//! Sign-in, token refresh rotation, logout, expired and forged tokens, rate limits, devices.

use bangfu_e2e::TestServer;
use serde_json::json;

fn secret(server: &TestServer) -> String {
    std::fs::read_to_string(server.db.dir.path().join("jwt_secret"))
        .expect("generated secret")
        .trim()
        .to_owned()
}

fn token_with(secret: &[u8], sub: &str, sid: &str, iat: i64, exp: i64) -> String {
    let claims = json!({"sub": sub, "sid": sid, "iat": iat, "exp": exp, "iss": "bangfu", "aud": "bangfu-api"});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

#[test]
fn login_refresh_rotation_and_logout() {
    let s = TestServer::start();
    let session = s.login("qingshan_helper");
    let me = s.call("GET", "/v1/me", Some(&session.access), None);
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "qingshan_helper");
    assert_eq!(me.body["phone"], "13800000007", "own phone is not masked");

    // Rotation: the new refresh token works, the old one is refused...
    let r1 = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": session.refresh})),
    );
    assert_eq!(r1.status, 200, "{}", r1.text);
    let new_refresh = r1.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(new_refresh, session.refresh);
    let reused = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": session.refresh})),
    );
    reused.assert_problem(401, "refresh_token_reused");
    // ...and reuse of a stolen token ends the whole session, including the new tokens.
    let after = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": new_refresh})),
    );
    after.assert_problem(401, "session_ended");
    let access = r1.body["access_token"].as_str().expect("access");
    s.call("GET", "/v1/me", Some(access), None)
        .assert_problem(401, "session_ended");

    // Logout ends a session at once.
    let other = s.login("qingshan_helper");
    assert_eq!(
        s.call("POST", "/v1/auth/logout", Some(&other.access), None)
            .status,
        204
    );
    s.call("GET", "/v1/me", Some(&other.access), None)
        .assert_problem(401, "session_ended");
    let r = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": other.refresh})),
    );
    r.assert_problem(401, "session_ended");
}

#[test]
fn missing_expired_and_forged_tokens_are_refused() {
    let s = TestServer::start();
    let session = s.login("county_officer");
    s.call("GET", "/v1/me", None, None)
        .assert_problem(401, "token_missing");
    s.call("GET", "/v1/me", Some("garbage"), None)
        .assert_problem(401, "token_invalid");

    let claims = session.access.split('.').nth(1).expect("payload");
    use base64::Engine;
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("b64"),
    )
    .expect("json");
    let (sub, sid) = (
        payload["sub"].as_str().expect("sub"),
        payload["sid"].as_str().expect("sid"),
    );
    let now = chrono::Utc::now().timestamp();

    let expired = token_with(secret(&s).as_bytes(), sub, sid, now - 7200, now - 3600);
    let r = s.call("GET", "/v1/me", Some(&expired), None);
    r.assert_problem(401, "token_expired");

    let forged = token_with(
        b"an attacker's guess at the secret key",
        sub,
        sid,
        now,
        now + 600,
    );
    s.call("GET", "/v1/me", Some(&forged), None)
        .assert_problem(401, "token_invalid");

    // A valid signature on a session that does not exist.
    let unknown = token_with(
        secret(&s).as_bytes(),
        sub,
        "01900000-0000-7000-8000-000000000000",
        now,
        now + 600,
    );
    s.call("GET", "/v1/me", Some(&unknown), None)
        .assert_problem(401, "session_ended");
}

#[test]
fn failed_logins_are_rate_limited() {
    let s = TestServer::start();
    for _ in 0..5 {
        let r = s.call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": "hekou_helper", "password": "wrong password!"})),
        );
        r.assert_problem(401, "invalid_credentials");
    }
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "hekou_helper", "password": bangfu_e2e::DEMO_PASSWORD})),
    );
    r.assert_problem(429, "too_many_requests");
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(wait > 0 && wait <= 15 * 60);
    // Other accounts are not locked by it.
    s.login("qingshan_helper");
    // Unknown users fail the same way as wrong passwords.
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "nobody", "password": "whatever it is"})),
    );
    r.assert_problem(401, "invalid_credentials");
}

#[test]
fn failed_logins_from_one_address_are_limited_across_usernames() {
    let s = TestServer::start();
    // 30 failures from this address, each on another (made-up) account.
    for i in 0..30 {
        let r = s.call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": format!("guess{i}"), "password": "wrong password!"})),
        );
        r.assert_problem(401, "invalid_credentials");
    }
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "qingshan_helper", "password": bangfu_e2e::DEMO_PASSWORD})),
    );
    r.assert_problem(429, "too_many_requests");
}

#[test]
fn devices_bind_sessions_and_revoking_ends_them() {
    let s = TestServer::start();
    let first = s.login("qingshan_helper");
    let device_id = "01936f2e-5b1a-7c3d-8e4f-1a2b3c4d5e6f";
    let body = json!({"id": device_id, "name": "李芳的手机", "platform": "android", "app_version": "1.0.0"});
    let r = s.call(
        "POST",
        "/v1/devices",
        Some(&first.access),
        Some(body.clone()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // Registering again returns the same device.
    let again = s.call("POST", "/v1/devices", Some(&first.access), Some(body));
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (200, Some(device_id))
    );

    // Another account cannot claim the id.
    let other = s.login("hekou_helper");
    let r = s.call(
        "POST",
        "/v1/devices",
        Some(&other.access),
        Some(json!({"id": device_id, "name": "x", "platform": "ios"})),
    );
    r.assert_problem(409, "device_id_taken");
    // Nor sign in with it.
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "hekou_helper", "password": bangfu_e2e::DEMO_PASSWORD, "device_id": device_id})),
    );
    r.assert_problem(422, "validation_failed");

    let bound = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "qingshan_helper", "password": bangfu_e2e::DEMO_PASSWORD, "device_id": device_id})),
    );
    assert_eq!(bound.status, 200, "{}", bound.text);
    let bound_access = bound.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // A write from the bound session names the device in the audit log.
    let r = s.call(
        "POST",
        "/v1/devices",
        Some(&bound_access),
        Some(json!({"name": "备用平板", "platform": "android"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let tablet = r.body["id"].as_str().expect("id").to_owned();
    let auditor = s.login("auditor");
    let log = s.call(
        "GET",
        &format!("/v1/audit?entity=device&entity_id={tablet}"),
        Some(&auditor.access),
        None,
    );
    assert_eq!(log.body["items"][0]["device_id"], device_id, "{}", log.text);

    // Revoking the phone ends the session bound to it, not the others.
    let r = s.call(
        "POST",
        &format!("/v1/devices/{device_id}/revoke"),
        Some(&first.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["revoked_at"].is_string());
    s.call("GET", "/v1/me", Some(&bound_access), None)
        .assert_problem(401, "session_ended");
    assert_eq!(
        s.call("GET", "/v1/me", Some(&first.access), None).status,
        200
    );
}
