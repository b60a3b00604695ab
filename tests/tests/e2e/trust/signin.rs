//! Sign-in limits that slow a guesser down without letting anyone lock an owner out.

use std::net::{IpAddr, Ipv4Addr};

use bangfu_e2e::{DEMO_PASSWORD, Reply, TestServer};
use serde_json::{Value, json};

/// A client whose requests come from 127.0.0.`n`, as another machine's would.
fn from(n: u8) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .expect("client")
}

fn login(s: &TestServer, client: &reqwest::blocking::Client, body: Value) -> Reply {
    Reply::from(
        client
            .post(s.url("/v1/auth/login"))
            .json(&body)
            .send()
            .expect("login"),
    )
}

fn attempt(
    s: &TestServer,
    client: &reqwest::blocking::Client,
    username: &str,
    password: &str,
) -> Reply {
    login(
        s,
        client,
        json!({"username": username, "password": password}),
    )
}

#[test]
fn failures_count_against_the_guesser_not_the_owner() {
    let s = TestServer::start();
    let attacker = from(2);
    // Guesses at the account, in another spelling of its name, from one machine.
    for _ in 0..6 {
        let r = attempt(&s, &attacker, "QINGSHAN_HELPER", "guess-guess-guess");
        assert!(r.status == 401 || r.status == 429, "{}", r.text);
    }
    let r = attempt(&s, &attacker, "qingshan_helper", DEMO_PASSWORD);
    r.assert_problem(429, "too_many_requests");
    assert!(r.header("retry-after").is_some());
    // The owner, from their own machine, signs in.
    let owner = from(3);
    assert_eq!(
        attempt(&s, &owner, "qingshan_helper", DEMO_PASSWORD).status,
        200
    );

    // Names that belong to nobody never count against an account.
    let sprayer = from(4);
    for i in 0..5 {
        let r = attempt(
            &s,
            &sprayer,
            &format!("no_such_user_{i}"),
            "guess-guess-guess",
        );
        r.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(
        attempt(&s, &sprayer, "hekou_helper", DEMO_PASSWORD).status,
        200
    );
}

#[test]
fn spraying_from_one_address_is_bounded_and_the_owner_keeps_their_device() {
    let s = TestServer::start();
    // The owner's phone, registered before anything happens.
    let first = s.login("admin");
    let r = s.call(
        "POST",
        "/v1/devices",
        Some(&first.access),
        Some(json!({"name": "管理员手机", "platform": "android"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let device = r.body["id"].as_str().expect("device").to_owned();

    // Failures from one address, at many names and at the owner's (past the account's
    // own limit, so that some of those are not even tried).
    let office = from(5);
    for i in 0..40 {
        let name = if i % 5 == 0 {
            "admin".to_owned()
        } else {
            format!("user{i}")
        };
        let r = attempt(&s, &office, &name, "guess-guess-guess");
        assert!(r.status == 401 || r.status == 429, "{}", r.text);
    }
    attempt(&s, &office, "hekou_officer", DEMO_PASSWORD).assert_problem(429, "too_many_requests");
    // From that same address, the owner on their own phone still gets in.
    let r = login(
        &s,
        &office,
        json!({"username": "admin", "password": DEMO_PASSWORD, "device_id": device}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // And from anywhere else, with or without the phone.
    assert_eq!(attempt(&s, &from(6), "admin", DEMO_PASSWORD).status, 200);
}
