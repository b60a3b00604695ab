//! Creations repeated with the same `Idempotency-Key` happen once.

use bangfu_e2e::TestServer;
use serde_json::json;

#[test]
fn a_repeated_create_returns_the_first_answer() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101002");
    let body = json!({"username": "shiqiao_helper", "display_name": "赵刚", "password": "a long passphrase", "role": "helper", "region_id": village});
    let key = [("Idempotency-Key", "create-shiqiao-helper-1")];

    let first = s.call_with(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(body.clone()),
        &key,
    );
    assert_eq!(first.status, 201, "{}", first.text);
    let again = s.call_with(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(body.clone()),
        &key,
    );
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // Only one account exists.
    let list = s.call(
        "GET",
        &format!("/v1/users?region_id={village}"),
        Some(&officer.access),
        None,
    );
    let n = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|u| u["username"] == "shiqiao_helper")
        .count();
    assert_eq!(n, 1);

    // The same key with another body is refused.
    let mut other = body.clone();
    other["display_name"] = json!("别人");
    let r = s.call_with(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(other),
        &key,
    );
    r.assert_problem(422, "idempotency_key_reused");

    // Without a key a repeat is a genuine second attempt, refused as a duplicate username.
    let r = s.call("POST", "/v1/users", Some(&officer.access), Some(body));
    r.assert_problem(409, "username_taken");
}

#[test]
fn concurrent_repeats_create_once() {
    let s = TestServer::start();
    let helper = s.login("qingshan_helper");
    let body = json!({"name": "李芳的手机", "platform": "android"});
    let key = [("Idempotency-Key", "register-phone-7")];
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    s.call_with(
                        "POST",
                        "/v1/devices",
                        Some(&helper.access),
                        Some(body.clone()),
                        &key,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let r = h.join().expect("thread");
                assert_eq!(r.status, 201, "{}", r.text);
                r.body["id"].as_str().expect("id").to_owned()
            })
            .collect()
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let list = s.call("GET", "/v1/devices", Some(&helper.access), None);
    assert_eq!(
        list.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        list.text
    );
}
