//! Two instances on one database and one photo store, as behind a load balancer: what one
//! instance learns, the other knows. Uploads move between instances chunk by chunk, sign-in
//! failures count together, idempotency records answer on either, and instances starting
//! together migrate the database once.

use bangfu_e2e::{DEMO_PASSWORD, Reply, TestDb, TestServer, backend};
use serde_json::json;

use crate::photos::{jpeg, sha, start_upload};

fn two() -> TestServer {
    TestServer::start_instances(TestDb::new(backend()), 2, |_| {})
}

/// One chunk sent to instance `i`.
fn patch_on(s: &TestServer, i: usize, token: &str, id: &str, at: usize, chunk: &[u8]) -> Reply {
    let r = s
        .client
        .patch(format!("{}/v1/uploads/{id}", s.base_of(i)))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", at.to_string())
        .body(chunk.to_vec())
        .send()
        .expect("patch");
    Reply::from(r)
}

/// The offset the server reports holding.
fn offset(s: &TestServer, token: &str, id: &str) -> usize {
    let r = s.call("GET", &format!("/v1/uploads/{id}"), Some(token), None);
    r.body["offset"].as_u64().expect("offset") as usize
}

#[test]
fn an_upload_goes_on_from_whichever_instance_takes_the_next_chunk() {
    let s = two();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(300, 11, false);
    let r = start_upload(&s, &helper, &photo, "photo");
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let cuts = [0, photo.len() / 3, photo.len() * 2 / 3, photo.len()];
    for (n, w) in cuts.windows(2).enumerate() {
        let got = patch_on(&s, n, &helper.access, &id, w[0], &photo[w[0]..w[1]]);
        assert_eq!(got.status, 200, "chunk {n}: {}", got.text);
        assert_eq!(got.body["offset"], w[1]);
        // Either instance reports the same offset.
        for i in 0..2 {
            let head = s
                .client
                .get(format!("{}/v1/uploads/{id}", s.base_of(i)))
                .bearer_auth(&helper.access)
                .send()
                .map(Reply::from)
                .expect("progress");
            assert_eq!(head.body["offset"], w[1], "instance {i}: {}", head.text);
        }
    }
    // The file assembled from chunks taken by different instances is the one declared,
    // served by either instance.
    let done = s.call(
        "GET",
        &format!("/v1/uploads/{id}"),
        Some(&helper.access),
        None,
    );
    assert_eq!(done.body["state"], "complete", "{}", done.text);
    assert_eq!(done.body["blob"]["sha256"], sha(&photo));
    // No chunk is kept once the file is whole.
    let parts = s.db.dir.path().join("photos").join("parts");
    assert!(crate::photos::files_under(&parts).is_empty());
}

#[test]
fn the_same_chunk_sent_to_both_instances_at_once_is_taken_once() {
    let s = two();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(400, 12, false);
    let r = start_upload(&s, &helper, &photo, "photo");
    let id = r.body["id"].as_str().expect("id").to_owned();
    let half = photo.len() / 2;
    for round in 0..5 {
        // A phone that timed out and retried through the other instance: the same chunk
        // arrives twice at the same moment. One of them moves the offset, the other is told
        // to ask for it; neither corrupts the file.
        let at = offset(&s, &helper.access, &id);
        if at >= half {
            break;
        }
        let end = (at + half / 5 + 1).min(half);
        let answers: Vec<Reply> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let (s, token, id, chunk) = (&s, &helper.access, &id, &photo[at..end]);
                    sc.spawn(move || patch_on(s, i, token, id, at, chunk))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("patch"))
                .collect()
        });
        let taken = answers.iter().filter(|a| a.status == 200).count();
        assert_eq!(taken, 1, "round {round}: {answers:?}");
        for a in answers.iter().filter(|a| a.status != 200) {
            assert_eq!(a.status, 409, "round {round}: {}", a.text);
            assert!(
                ["upload_busy", "offset_mismatch"].contains(&a.body["code"].as_str().unwrap_or("")),
                "{}",
                a.text
            );
        }
    }
    let at = offset(&s, &helper.access, &id);
    let done = patch_on(&s, 1, &helper.access, &id, at, &photo[at..]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "complete");
    assert_eq!(done.body["blob"]["sha256"], sha(&photo));
}

#[test]
fn sign_in_failures_count_across_instances() {
    let s = two();
    let login = |i: usize, password: &str| {
        s.client
            .post(format!("{}/v1/auth/login", s.base_of(i)))
            .json(&json!({"username": "qingshan_helper", "password": password}))
            .send()
            .map(Reply::from)
            .expect("login")
    };
    // The account's limit is 5 failures in 15 minutes, whichever instance saw them.
    for n in 0..5 {
        let r = login(n, "not the password");
        assert_eq!(r.status, 401, "attempt {n}: {}", r.text);
    }
    for i in 0..2 {
        login(i, DEMO_PASSWORD).assert_problem(429, "too_many_requests");
    }
}

#[test]
fn an_idempotency_key_answers_the_same_on_either_instance() {
    let s = two();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101002");
    let body = json!({"username": "shiqiao_helper2", "display_name": "赵刚", "password": "a long passphrase",
                      "role": "helper", "region_id": village});
    let create = |i: usize| {
        s.client
            .post(format!("{}/v1/users", s.base_of(i)))
            .bearer_auth(&officer.access)
            .header("Idempotency-Key", "scale-out-helper-1")
            .json(&body)
            .send()
            .map(Reply::from)
            .expect("create")
    };
    let first = create(0);
    assert_eq!(first.status, 201, "{}", first.text);
    let again = create(1);
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[test]
fn instances_starting_together_migrate_the_database_once() {
    let db = TestDb::new(backend());
    let config = bangfu::infra::config::Config::load(&bangfu::infra::config::Overrides {
        addr: None,
        data_dir: Some(db.dir.path().to_owned()),
        database_url: Some(db.url.clone()),
        config: None,
    })
    .expect("config");
    let started: Vec<String> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let config = config.clone();
                sc.spawn(move || bangfu::app::prepare(&config).map(|_| ()))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("prepare").err().map(|e| format!("{e:#}")))
            .collect()
    });
    assert!(
        started.is_empty(),
        "an instance failed to start: {started:?}"
    );
    // Every migration is recorded once, and the schema is complete.
    let s = TestServer::start_on(db);
    let r = s.call("GET", "/ready", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
}
