//! Housekeeping removes ended sessions, dead refresh tokens, old login failures and old
//! idempotency records, sync tombstones past their horizon, and nothing still in use.

use bangfu::infra::clock::now;
use bangfu::infra::db::Db;
use bangfu::infra::db::{DbOptions, DbTarget, SqliteSync};
use bangfu::ops::housekeeping;
use bangfu_e2e::TestServer;
use serde_json::json;

#[test]
fn pruning_keeps_what_is_alive() {
    let s = TestServer::start();
    let ended = s.login("qingshan_helper");
    assert_eq!(
        s.call("POST", "/v1/auth/logout", Some(&ended.access), None)
            .status,
        204
    );
    let alive = s.login("qingshan_officer");
    s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "hekou_helper", "password": "wrong password!"})),
    );
    let r = s.call_with(
        "POST",
        "/v1/devices",
        Some(&alive.access),
        Some(json!({"name": "平板", "platform": "android"})),
        &[("Idempotency-Key", "old-key")],
    );
    assert_eq!(r.status, 201);

    let db = Db::connect(&DbOptions {
        target: DbTarget::parse(&s.db.url),
        pool_size: 1,
        sqlite_sync: SqliteSync::Full,
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .expect("db");
    let mut conn = db.conn().expect("conn");
    // Today nothing has aged out, and a sign-in still works afterwards.
    let today = housekeeping::prune(&mut conn, now()).expect("prune");
    assert_eq!(today, housekeeping::Pruned::default());
    assert_eq!(
        s.call("GET", "/v1/me", Some(&alive.access), None).status,
        200
    );

    // Forty days on: the logged-out session and its token go, and so do the failed login
    // and the idempotency record; the live session's last token has expired too (30 days).
    let later = housekeeping::prune(&mut conn, now() + chrono::Duration::days(40)).expect("prune");
    assert_eq!(later.sessions, 1, "{later:?}");
    assert_eq!(later.refresh_tokens, 2, "{later:?}");
    assert_eq!(later.login_failures, 2, "{later:?}");
    assert_eq!(later.idempotency_keys, 1, "{later:?}");
}

/// Tombstones past the horizon are removed; a device whose cursor is older is told to
/// reset, and the reference client starts over without losing its unsent change.
#[test]
fn a_device_older_than_the_tombstone_horizon_resets_and_keeps_its_unsent_changes() {
    use bangfu_sync::client::Field;
    let s = TestServer::start();
    let officer = s.device_session("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let dir = tempfile::tempdir().expect("dir");
    let mut phone =
        Field::open(&dir.path().join("phone.db").to_string_lossy(), &s.base).expect("open");
    phone
        .login("qingshan_helper", bangfu_e2e::DEMO_PASSWORD)
        .expect("login");
    phone.pull().expect("first pull");
    let (_, old_cursor) = s.pull_all(&officer, None);

    // A child the phone received, then deleted elsewhere.
    let gone = bangfu_e2e::new_id();
    let child = |id: &str, base: i64, op: Option<&str>| {
        let mut m = json!({"mutation_id": bangfu_e2e::new_id(), "entity": "child", "id": id,
            "base_version": base, "hlc": bangfu_e2e::hlc(0, "o"),
            "fields": {"region_id": village, "name": "小军", "birth_date": "2012-02-02"}});
        if let Some(op) = op {
            m["op"] = json!(op);
            m["fields"] = json!({});
        }
        m
    };
    assert_eq!(s.push(&officer, vec![child(&gone, 0, None)]).status, 200);
    phone.pull().expect("pull");
    assert!(phone.record("child", &gone).expect("record").is_some());
    let r = s.push(&officer, vec![child(&gone, 1, Some("delete"))]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);

    // Offline meanwhile, the phone records a child of its own.
    let mut fields = serde_json::Map::new();
    fields.insert("region_id".into(), json!(village));
    fields.insert("name".into(), json!("小兰"));
    fields.insert("birth_date".into(), json!("2014-04-04"));
    let mine = phone.capture("child", None, fields).expect("capture");

    // A hundred days on, housekeeping removes the tombstone.
    let db = Db::connect(&DbOptions {
        target: DbTarget::parse(&s.db.url),
        pool_size: 1,
        sqlite_sync: SqliteSync::Full,
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .expect("db");
    let pruned = housekeeping::prune(
        &mut db.conn().expect("conn"),
        now() + chrono::Duration::days(100),
    )
    .expect("prune");
    assert_eq!(pruned.tombstones, 1);

    // An old cursor is refused with a clear answer ...
    s.pull(&officer, Some(&old_cursor))
        .assert_problem(410, "reset_required");
    // ... and the reference client starts over: its own change is pushed and kept, the
    // deleted record is gone although no tombstone told it so.
    phone.sync().expect("sync after reset");
    assert_eq!(phone.pending().expect("pending"), 0);
    assert!(phone.record("child", &mine).expect("record").is_some());
    assert!(phone.record("child", &gone).expect("record").is_none());
    let (all, _) = s.pull_all(&officer, None);
    assert!(all.iter().any(|c| c["id"] == mine.as_str()));
}
