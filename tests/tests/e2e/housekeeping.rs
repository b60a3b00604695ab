//! Housekeeping removes ended sessions, dead refresh tokens, old login failures and old
//! idempotency records, and nothing that is still in use.

use bangfu::store::db::{DbOptions, DbTarget, SqliteSync};
use bangfu::store::{Db, housekeeping, now};
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
