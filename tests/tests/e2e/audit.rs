//! The audit log: writes are recorded with before and after, reads are scoped, and the
//! database itself refuses to change or delete an entry.

use bangfu_e2e::{Backend, TestServer, backend};
use diesel::{Connection, RunQueryDsl};
use serde_json::json;

#[test]
fn writes_are_audited_with_before_and_after() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let id = s.region_id(&county.access, "530123101001");
    let path = format!("/v1/regions/{id}");

    // The village inherits the county's standard until it sets its own.
    let r = s.call("GET", &path, Some(&county.access), None);
    assert_eq!(
        (
            r.body["dibao_fen"].clone(),
            r.body["effective_dibao_fen"].clone()
        ),
        (json!(null), json!(72000))
    );
    let r = s.call_with(
        "PATCH",
        &path,
        Some(&county.access),
        Some(json!({"dibao_fen": 80000})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.body["effective_dibao_fen"], 80000, "{}", r.text);
    let r = s.call_with(
        "PATCH",
        &path,
        Some(&county.access),
        Some(json!({"dibao_fen": null})),
        &[("If-Match", "\"2\"")],
    );
    assert_eq!(r.body["effective_dibao_fen"], 72000, "{}", r.text);

    let auditor = s.login("auditor");
    let log = s.call(
        "GET",
        &format!("/v1/audit?entity=region&entity_id={id}"),
        Some(&auditor.access),
        None,
    );
    assert_eq!(log.status, 200, "{}", log.text);
    let items = log.body["items"].as_array().expect("items");
    // Newest first: clearing, setting, then the creation by the operator (demo load).
    assert_eq!(items.len(), 3, "{}", log.text);
    assert_eq!(
        items[0]["changes"],
        json!({"dibao_fen": {"before": 80000, "after": null}})
    );
    assert_eq!(
        items[1]["changes"],
        json!({"dibao_fen": {"before": null, "after": 80000}})
    );
    assert_eq!(items[1]["actor_id"], county.user_id.as_str());
    assert_eq!(items[1]["actor_role"], "county_officer");
    assert!(items[1]["request_id"].is_string());
    assert_eq!(items[2]["action"], "create");
    assert!(items[2]["actor_id"].is_null());

    // Paging walks the same entries.
    let p1 = s.call(
        "GET",
        &format!("/v1/audit?entity=region&entity_id={id}&limit=2"),
        Some(&auditor.access),
        None,
    );
    let cursor = p1.body["next_cursor"].as_str().expect("cursor");
    let p2 = s.call(
        "GET",
        &format!("/v1/audit?entity=region&entity_id={id}&limit=2&cursor={cursor}"),
        Some(&auditor.access),
        None,
    );
    assert_eq!(p2.body["items"][0]["id"], items[2]["id"]);
    assert!(p2.body["next_cursor"].is_null());

    // Logins are recorded; passwords never appear anywhere in the log.
    let all = s.call("GET", "/v1/audit?limit=500", Some(&auditor.access), None);
    assert!(
        all.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "login")
    );
    assert!(
        !all.text.contains("argon2"),
        "a password hash leaked into the audit log"
    );
}

#[test]
fn audit_rows_cannot_be_changed_or_deleted() {
    let s = TestServer::start();
    s.login("qingshan_helper");
    let attempts = [
        "UPDATE audit_log SET action = 'tampered'",
        "DELETE FROM audit_log",
    ];
    for sql in attempts {
        let outcome = match backend() {
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&s.db.url).expect("sqlite");
                diesel::sql_query(sql).execute(&mut c)
            }
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&s.db.url).expect("pg");
                diesel::sql_query(sql).execute(&mut c)
            }
        };
        let err = outcome.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
