//! What supervisors see of sync: each device's status, and refused changes kept in a
//! quarantine until someone settles them.

use bangfu_e2e::{SYNC_HEADER, TestServer, hlc, new_id};
use serde_json::{Value, json};

fn child(region: &str) -> Value {
    json!({"mutation_id": new_id(), "entity": "child", "id": new_id(), "base_version": 0, "hlc": hlc(0, "p"),
           "fields": {"region_id": region, "name": "小红", "birth_date": "2013-05-01"}})
}

#[test]
fn refused_changes_wait_in_quarantine_and_devices_show_the_truth() {
    let s = TestServer::start();
    let phone = s.device_session("qingshan_helper");
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let mut bad = child(&village);
    bad["fields"]["birth_date"] = json!("not a date");
    let batch = json!({"mutations": [child(&village), bad.clone()]});
    let push = || {
        s.call_with(
            "POST",
            "/v1/sync/push",
            Some(&phone.access),
            Some(batch.clone()),
            &[
                SYNC_HEADER,
                ("Bangfu-Pending", "2"),
                ("Bangfu-App-Version", "2.3.0"),
            ],
        )
    };
    let r = push();
    assert_eq!(r.body["results"][1]["status"], "rejected", "{}", r.text);
    // The same batch again (a lost answer): nothing is counted twice.
    assert_eq!(push().status, 200);

    let devices = |token: &str| s.call("GET", "/v1/sync/devices", Some(token), None);
    let r = devices(&officer.access);
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["username"] == "qingshan_helper"))
        .cloned()
        .unwrap_or_else(|| panic!("device not listed: {}", r.text));
    assert_eq!(d["app_version"], "2.3.0");
    assert_eq!(d["protocol_version"], 1);
    assert_eq!(d["pushed_total"], 4);
    assert_eq!(d["rejected_total"], 1);
    assert_eq!(d["open_rejections"], 1);
    assert_eq!(d["pending_reported"], 2);
    assert_eq!(d["synced"], false);
    assert!(d["last_push_at"].as_str().is_some());

    // Another township does not see the device; helpers do not supervise.
    let r = devices(&s.login("hekou_officer").access);
    assert!(!r.text.contains("qingshan_helper"), "{}", r.text);
    devices(&phone.access).assert_problem(403, "forbidden");

    let q = s.call("GET", "/v1/sync/quarantine", Some(&officer.access), None);
    assert_eq!(q.status, 200, "{}", q.text);
    let items = q.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", q.text);
    assert_eq!(items[0]["mutation_id"], bad["mutation_id"]);
    assert_eq!(items[0]["problem"]["errors"][0]["field"], "birth_date");
    assert_eq!(items[0]["mutation"]["fields"]["birth_date"], "not a date");

    let settle = |note: &str| {
        s.call(
            "POST",
            &format!(
                "/v1/sync/quarantine/{}/{}/settle",
                items[0]["device_id"].as_str().unwrap_or_default(),
                items[0]["mutation_id"].as_str().unwrap_or_default()
            ),
            Some(&officer.access),
            Some(json!({"note": note})),
        )
    };
    settle("ok").assert_problem(422, "validation_failed");
    let r = settle("已联系帮扶责任人重新录入出生日期");
    assert_eq!(r.body["state"], "settled", "{}", r.text);
    settle("再次处理此条记录").assert_problem(409, "already_settled");
    let open = s.call("GET", "/v1/sync/quarantine", Some(&officer.access), None);
    assert_eq!(open.body["items"].as_array().map(Vec::len), Some(0));

    // With nothing refused open and an empty outbox reported, the device is synced.
    let r = s.call_with(
        "GET",
        "/v1/sync/pull",
        Some(&phone.access),
        None,
        &[SYNC_HEADER, ("Bangfu-Pending", "0")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = devices(&officer.access);
    let d = r.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["username"] == "qingshan_helper"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(d["open_rejections"], 0);
    assert_eq!(d["synced"], true, "{d}");
    assert!(d["last_pull_at"].as_str().is_some());
}
