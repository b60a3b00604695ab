//! The sync protocol over HTTP: push and pull, scope, exactly-once, merge and conflicts,
//! tombstones, bad records in a batch, limits, versions, and a feed that never skips.

use bangfu_e2e::{Session, TestServer, hlc, new_id};
use serde_json::{Value, json};

struct Village {
    region: String,
    household: String,
}

/// 青山村 with a newly registered household.
fn qingshan(s: &TestServer, who: &Session) -> Village {
    let region = s.region_id(&who.access, "530123101001");
    let officer = s.login("qingshan_officer");
    Village {
        household: s.register_household(&officer, &region),
        region,
    }
}

fn visit(v: &Village, helper: &str, id: &str, notes: &str) -> Value {
    json!({
        "mutation_id": new_id(), "entity": "visit", "id": id, "base_version": 0, "hlc": hlc(0, "dev-a"),
        "fields": {"region_id": v.region, "household_id": v.household, "helper_id": helper, "kind": "routine",
                   "visited_at": "2026-11-20T09:30:00Z", "basic_needs": {"food": "met", "safe_housing": "not_met"}, "notes": notes}
    })
}

fn change(base: i64, id: &str, clock: String, fields: Value) -> Value {
    json!({"mutation_id": new_id(), "entity": "visit", "id": id, "base_version": base, "hlc": clock, "fields": fields})
}

fn find<'a>(changes: &'a [Value], id: &str) -> Option<&'a Value> {
    changes.iter().rev().find(|c| c["id"] == id)
}

#[test]
fn pushed_records_reach_every_device_in_scope_and_no_other() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let officer = s.device_session("qingshan_officer");
    let elsewhere = s.device_session("hekou_helper");
    let v = qingshan(&s, &a);
    let id = new_id();

    let r = s.push(&a, vec![visit(&v, &a.user_id, &id, "屋顶漏雨")]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(r.body["results"][0]["version"], 1);

    let (changes, _) = s.pull_all(&officer, None);
    let got = find(&changes, &id).expect("the township officer receives the visit");
    assert_eq!(got["fields"]["notes"], "屋顶漏雨");
    assert_eq!(got["version"], 1);
    // Reference data comes along: the officer's regions.
    assert!(
        changes
            .iter()
            .any(|c| c["entity"] == "region" && c["fields"]["code"] == "530123101001")
    );

    let (other, _) = s.pull_all(&elsewhere, None);
    assert!(
        find(&other, &id).is_none(),
        "another township's device must not receive it"
    );
    assert!(other.iter().filter(|c| c["entity"] == "region").all(|c| {
        c["fields"]["code"]
            .as_str()
            .is_some_and(|x| x.starts_with("530123102"))
    }));

    // A device outside the region cannot write into it either.
    let r = s.push(
        &elsewhere,
        vec![change(1, &id, hlc(10, "dev-x"), json!({"notes": "改写"}))],
    );
    assert_eq!(r.body["results"][0]["status"], "rejected");
    assert_eq!(r.body["results"][0]["problem"]["code"], "out_of_scope");
}

#[test]
fn a_repeated_push_is_answered_once() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let v = qingshan(&s, &a);
    let id = new_id();
    let batch = vec![
        visit(&v, &a.user_id, &id, "first"),
        change(1, &id, hlc(5, "dev-a"), json!({"notes": "second"})),
    ];

    let first = s.push(&a, batch.clone());
    assert_eq!(first.status, 200, "{}", first.text);
    // A pull says which of its mutations the server has: the outbox can be emptied even
    // when the push answer never arrived.
    let p = s.pull(&a, None);
    assert_eq!(
        p.body["last_mutation_id"], batch[1]["mutation_id"],
        "{}",
        p.text
    );
    // The answer was lost on the way; the phone sends the same batch again.
    let again = s.push(&a, batch.clone());
    assert_eq!(again.body["results"], first.body["results"]);
    let (changes, _) = s.pull_all(&a, None);
    let rec = find(&changes, &id).expect("record");
    assert_eq!(
        (rec["version"].as_i64(), rec["fields"]["notes"].as_str()),
        (Some(2), Some("second"))
    );

    // The same mutation id with different content is refused, not applied.
    let mut forged = batch[1].clone();
    forged["fields"]["notes"] = json!("third");
    let r = s.push(&a, vec![forged]);
    assert_eq!(r.body["results"][0]["status"], "rejected");
    assert_eq!(
        r.body["results"][0]["problem"]["code"],
        "mutation_id_reused"
    );
    let (changes, _) = s.pull_all(&a, None);
    assert_eq!(
        find(&changes, &id).expect("record")["fields"]["notes"],
        "second"
    );
}

#[test]
fn concurrent_edits_merge_and_true_conflicts_are_kept_for_a_person() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let b = s.device_session("qingshan_secretary");
    let v = qingshan(&s, &a);
    let id = new_id();
    assert_eq!(
        s.push(&a, vec![visit(&v, &a.user_id, &id, "base")]).status,
        200
    );

    // Both devices saw version 1 and edit offline: different fields, and the same field.
    let ra = s.push(
        &a,
        vec![change(
            1,
            &id,
            hlc(1_000, "dev-a"),
            json!({"notes": "from a", "kind": "look_back"}),
        )],
    );
    assert_eq!(ra.body["results"][0]["status"], "applied", "{}", ra.text);
    let rb = s.push(
        &b,
        vec![change(
            1,
            &id,
            hlc(500, "dev-b"),
            json!({"notes": "from b", "location": {"lat": 25.04, "lng": 102.71}}),
        )],
    );
    let result = &rb.body["results"][0];
    assert_eq!(result["status"], "conflict", "{}", rb.text);
    let conflict_id = result["conflict_ids"][0]
        .as_str()
        .expect("conflict id")
        .to_owned();

    // Different fields merged; the later edit of `notes` won; nothing is lost.
    let (changes, cursor) = s.pull_all(&a, None);
    let rec = find(&changes, &id).expect("record");
    assert_eq!(rec["fields"]["kind"], "look_back");
    assert_eq!(rec["fields"]["location"]["lat"], 25.04);
    assert_eq!(rec["fields"]["notes"], "from a");
    let list = s.call(
        "GET",
        &format!("/v1/sync/conflicts?record_id={id}"),
        Some(&b.access),
        None,
    );
    let c = &list.body["items"][0];
    assert_eq!(
        (
            c["id"].as_str(),
            c["field"].as_str(),
            c["lost"].as_str(),
            c["kept"].as_str()
        ),
        (
            Some(conflict_id.as_str()),
            Some("notes"),
            Some("from b"),
            Some("from a")
        )
    );

    // A helper may not settle it; the secretary puts the lost value back.
    let r = s.call(
        "POST",
        &format!("/v1/sync/conflicts/{conflict_id}/resolve"),
        Some(&a.access),
        Some(json!({"keep": "lost"})),
    );
    r.assert_problem(403, "forbidden");
    let r = s.call(
        "POST",
        &format!("/v1/sync/conflicts/{conflict_id}/resolve"),
        Some(&b.access),
        Some(json!({"keep": "lost"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "resolved");
    let again = s.call(
        "POST",
        &format!("/v1/sync/conflicts/{conflict_id}/resolve"),
        Some(&b.access),
        Some(json!({"keep": "kept"})),
    );
    again.assert_problem(409, "conflict_already_resolved");

    // The resolution reaches devices like any change.
    let (changes, _) = s.pull_all(&a, Some(cursor));
    assert_eq!(
        find(&changes, &id).expect("resolved record")["fields"]["notes"],
        "from b"
    );
    let open = s.call("GET", "/v1/sync/conflicts", Some(&b.access), None);
    assert_eq!(
        open.body["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        open.text
    );
}

#[test]
fn deletes_travel_as_tombstones_and_evidence_never_changes() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let v = qingshan(&s, &a);
    let id = new_id();
    s.push(&a, vec![visit(&v, &a.user_id, &id, "to delete")]);
    let (_, cursor) = s.pull_all(&a, None);
    let r = s.push(&a, vec![json!({"mutation_id": new_id(), "entity": "visit", "id": id, "op": "delete", "base_version": 1, "hlc": hlc(10, "dev-a")})]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let (changes, _) = s.pull_all(&a, Some(cursor));
    let t = find(&changes, &id).expect("tombstone");
    assert_eq!(
        (t["deleted"].as_bool(), t["version"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(t["fields"], json!({}));
    // Each synced change is in the audit log, with the device that made it.
    let auditor = s.login("auditor");
    let log = s.call(
        "GET",
        &format!("/v1/audit?entity=visit&entity_id={id}"),
        Some(&auditor.access),
        None,
    );
    let items = log.body["items"].as_array().expect("items");
    let actions: Vec<&str> = items.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["delete", "create"], "{}", log.text);
    assert!(
        items
            .iter()
            .all(|e| e["device_id"].is_string() && e["actor_id"] == a.user_id.as_str())
    );
    assert_eq!(items[1]["changes"]["notes"]["after"], "to delete");

    // A retrieval attempt is evidence: sending it again is harmless, changing it is refused.
    let case = new_id();
    let attempt = new_id();
    let fields = json!({"region_id": v.region, "case_id": case, "method": "home_visit", "attempted_at": "2026-11-20T10:00:00Z", "by_user_id": a.user_id, "result": "refused"});
    let make = |f: Value, base: i64| json!({"mutation_id": new_id(), "entity": "retrieval_attempt", "id": attempt, "base_version": base, "hlc": hlc(20, "dev-a"), "fields": f});
    assert_eq!(
        s.push(&a, vec![make(fields.clone(), 0)]).body["results"][0]["status"],
        "applied"
    );
    assert_eq!(
        s.push(&a, vec![make(fields.clone(), 0)]).body["results"][0]["status"],
        "unchanged"
    );
    let r = s.push(&a, vec![make(json!({"result": "returned"}), 1)]);
    assert_eq!(
        r.body["results"][0]["problem"]["code"], "validation_failed",
        "{}",
        r.text
    );
}

#[test]
fn each_record_of_a_batch_is_judged_on_its_own() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let county = s.login("county_officer");
    let v = qingshan(&s, &a);
    let hekou = s.region_id(&county.access, "530123102001");
    let good = new_id();
    let mut unknown_field = visit(&v, &a.user_id, &new_id(), "x");
    unknown_field["fields"]["colour"] = json!("red");
    let mut wrong_type = visit(&v, &a.user_id, &new_id(), "x");
    wrong_type["fields"]["visited_at"] = json!("yesterday");
    let mut other_region = visit(&v, &a.user_id, &new_id(), "x");
    other_region["fields"]["region_id"] = json!(hekou);
    let unknown_entity = json!({"mutation_id": new_id(), "entity": "spaceship", "id": new_id(), "base_version": 0, "hlc": hlc(0, "dev-a"), "fields": {}});
    let future = json!({"mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(48 * 3_600_000, "dev-a"), "fields": {}});

    let r = s.push(
        &a,
        vec![
            unknown_field,
            wrong_type,
            visit(&v, &a.user_id, &good, "good"),
            other_region,
            unknown_entity,
            future,
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let results = r.body["results"].as_array().expect("results");
    let summary: Vec<(&str, &str)> = results
        .iter()
        .map(|x| {
            (
                x["status"].as_str().unwrap_or(""),
                x["problem"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("rejected", "validation_failed"),
            ("rejected", "validation_failed"),
            ("applied", ""),
            ("rejected", "out_of_scope"),
            ("rejected", "unknown_entity"),
            ("rejected", "clock_ahead"),
        ]
    );
    assert_eq!(results[0]["problem"]["errors"][0]["field"], "colour");
    assert_eq!(results[1]["problem"]["errors"][0]["field"], "visited_at");
    let (changes, _) = s.pull_all(&a, None);
    assert!(find(&changes, &good).is_some());
    assert_eq!(changes.iter().filter(|c| c["entity"] == "visit").count(), 1);
}

#[test]
fn limits_versions_and_devices_are_enforced() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let v = qingshan(&s, &a);
    let too_many: Vec<Value> = (0..1001)
        .map(|_| visit(&v, &a.user_id, &new_id(), "x"))
        .collect();
    s.push(&a, too_many).assert_problem(413, "batch_too_large");
    let huge = "x".repeat(9 * 1024 * 1024);
    let body = format!("{{\"mutations\": [], \"padding\": \"{huge}\"}}");
    let r = s
        .client
        .post(s.url("/v1/sync/push"))
        .bearer_auth(&a.access)
        .header("content-type", "application/json")
        .header("Bangfu-Sync-Protocol", "1")
        .body(body)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 413);

    // Bodies and answers may be gzip-compressed.
    let batch = json!({"mutations": [visit(&v, &a.user_id, &new_id(), "压缩")]}).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, batch.as_bytes()).expect("gzip");
    let r = s
        .client
        .post(s.url("/v1/sync/push"))
        .bearer_auth(&a.access)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("Bangfu-Sync-Protocol", "1")
        .body(gz.finish().expect("gzip"))
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let r = s
        .client
        .get(s.url("/v1/sync/pull"))
        .bearer_auth(&a.access)
        .header("accept-encoding", "gzip")
        .header("Bangfu-Sync-Protocol", "1")
        .send()
        .expect("send");
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let mut text = String::new();
    let body = r.bytes().expect("body");
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body.as_ref()), &mut text)
        .expect("gunzip");
    assert!(text.contains("压缩"), "{text}");

    let r = s.call_with(
        "GET",
        "/v1/sync/pull",
        Some(&a.access),
        None,
        &[("Bangfu-Sync-Protocol", "0")],
    );
    r.assert_problem(426, "client_upgrade_required");
    // Without the header the client is told what is missing, not to upgrade.
    s.call("GET", "/v1/sync/pull", Some(&a.access), None)
        .assert_problem(400, "sync_protocol_required");
    s.call_with(
        "GET",
        "/v1/sync/pull?cursor=bogus",
        Some(&a.access),
        None,
        &[bangfu_e2e::SYNC_HEADER],
    )
    .assert_problem(422, "validation_failed");

    // Pushing needs a registered device; auditors only read.
    let plain = s.login("qingshan_helper");
    s.push(&plain, vec![])
        .assert_problem(422, "device_required");
    let auditor = s.login("auditor");
    s.push(&auditor, vec![]).assert_problem(403, "forbidden");
    assert_eq!(s.pull(&auditor, None).status, 200);
}

#[test]
fn the_feed_never_skips_a_change_under_concurrent_pushes() {
    let s = TestServer::start();
    let writers: Vec<Session> = [
        "qingshan_helper",
        "qingshan_secretary",
        "qingshan_officer",
        "county_officer",
    ]
    .iter()
    .map(|u| s.device_session(u))
    .collect();
    let reader = s.device_session("county_officer");
    let v = qingshan(&s, &writers[0]);
    const BATCHES: usize = 15;
    const PER_BATCH: usize = 20;

    let (expected, seen) = std::thread::scope(|scope| {
        let pushers: Vec<_> = writers
            .iter()
            .map(|w| {
                let v = &v;
                let s = &s;
                scope.spawn(move || {
                    let mut ids = Vec::new();
                    for _ in 0..BATCHES {
                        let batch: Vec<Value> = (0..PER_BATCH)
                            .map(|_| {
                                let id = new_id();
                                ids.push(id.clone());
                                visit(v, &w.user_id, &id, "concurrent")
                            })
                            .collect();
                        let r = s.push(w, batch);
                        assert_eq!(r.status, 200, "{}", r.text);
                    }
                    ids
                })
            })
            .collect();
        // A reader polls with its cursor while the writers push.
        let poller = scope.spawn(|| {
            let mut seen = std::collections::HashSet::new();
            let mut cursor: Option<String> = None;
            let total = writers.len() * BATCHES * PER_BATCH;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while seen.len() < total && std::time::Instant::now() < deadline {
                let r = s.pull(&reader, cursor.as_deref());
                assert_eq!(r.status, 200, "{}", r.text);
                for c in r.body["changes"].as_array().into_iter().flatten() {
                    if c["entity"] == "visit" {
                        seen.insert(c["id"].as_str().unwrap_or_default().to_owned());
                    }
                }
                cursor = r.body["next_cursor"].as_str().map(str::to_owned);
            }
            seen
        });
        let expected: Vec<String> = pushers
            .into_iter()
            .flat_map(|p| p.join().expect("pusher"))
            .collect();
        (expected, poller.join().expect("poller"))
    });
    let missing: Vec<&String> = expected.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "the polling reader's cursor skipped {} of {} records",
        missing.len(),
        expected.len()
    );
}
