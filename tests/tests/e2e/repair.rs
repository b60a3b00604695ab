//! Repair without a full restore: a device whose store was damaged compares bucket digests
//! with the server and fetches only what differs.

use std::collections::BTreeMap;

use bangfu_e2e::{DEMO_PASSWORD, SYNC_HEADER, TestServer, hlc, new_id};
use bangfu_sync::client::{Field, cli};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{Value, json};

/// entity -> id -> (version, fields) of what the device shows.
fn held(f: &mut Field) -> BTreeMap<(String, String), (i64, Value)> {
    let mut out = BTreeMap::new();
    for entity in ["visit", "household", "region"] {
        for r in f.records(entity).expect("records") {
            out.insert((r.entity, r.id), (r.version, Value::Object(r.fields)));
        }
    }
    out
}

#[test]
fn a_damaged_store_is_repaired_with_only_the_difference() {
    let s = TestServer::start();
    let officer = s.device_session("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = s.register_household(&officer, &village);
    let visits: Vec<Value> = (0..120)
        .map(|i| {
            json!({"mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "o"),
                   "fields": {"region_id": village, "household_id": household, "helper_id": officer.user_id,
                              "kind": "routine", "visited_at": "2026-11-20T09:30:00Z", "notes": format!("走访 {i}")}})
        })
        .collect();
    let r = s.push(&officer, visits.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    // Two of them change later, so that a stale copy differs by version.
    let edits: Vec<Value> = visits[..2]
        .iter()
        .map(|v| json!({"mutation_id": new_id(), "entity": "visit", "id": v["id"], "base_version": 1, "hlc": hlc(5, "o"), "fields": {"notes": "已复查"}}))
        .collect();

    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("phone.db").to_string_lossy().into_owned();
    let mut f = Field::open(&store, &s.base).expect("open");
    f.login("qingshan_helper", DEMO_PASSWORD).expect("login");
    f.pull().expect("pull");
    let good = held(&mut f);
    assert_eq!(
        good.len(),
        120 + 1 + 1,
        "visits, the household, the village"
    );
    drop(f);
    assert_eq!(s.push(&officer, edits).status, 200);

    // Damage: three rows lost, the household lost, a stray row that the server never had.
    let mut c = SqliteConnection::establish(&store).expect("device store");
    let id = |i: usize| visits[i]["id"].as_str().unwrap_or_default().to_owned();
    for lost in [id(10), id(20), id(30), household.clone()] {
        diesel::sql_query("DELETE FROM records WHERE id = ?")
            .bind::<Text, _>(lost)
            .execute(&mut c)
            .expect("delete");
    }
    let stray = new_id();
    diesel::sql_query(
        "INSERT INTO records (entity, id, version, deleted, data) VALUES ('visit', ?, 1, 0, '{}')",
    )
    .bind::<Text, _>(&stray)
    .execute(&mut c)
    .expect("insert");
    drop(c);

    let mut out = Vec::new();
    let argv = [
        "bangfu-field",
        "--store",
        &store,
        "--server",
        &s.base,
        "repair",
    ];
    cli::run(argv, &mut "".as_bytes(), &mut out).expect("repair");
    let out = String::from_utf8_lossy(&out).into_owned();
    // 3 lost visits, 2 stale ones, the household; the stray row dropped. Nothing else came.
    let (buckets, rest) = out.split_once(" bucket(s) differed; ").expect("summary");
    assert_eq!(rest.trim(), "received 6, dropped 1", "{out}");
    let buckets: usize = buckets.parse().expect("count");
    assert!((1..=8).contains(&buckets), "{out}");

    let mut f = Field::open(&store, &s.base).expect("reopen");
    let repaired = held(&mut f);
    let fresh_dir = tempfile::tempdir().expect("dir");
    let mut fresh =
        Field::open(&fresh_dir.path().join("p.db").to_string_lossy(), &s.base).expect("open");
    fresh
        .login("qingshan_helper", DEMO_PASSWORD)
        .expect("login");
    fresh.pull().expect("pull");
    assert_eq!(
        repaired,
        held(&mut fresh),
        "the repaired store holds the server's rows"
    );
    assert_eq!(f.repair().expect("again").buckets, 0);
    // The cursor was left alone: the next pull goes on from it.
    f.pull().expect("pull after repair");
    assert_eq!(held(&mut f), repaired);
}

#[test]
fn malformed_digests_and_oversized_repairs_are_refused() {
    let s = TestServer::start();
    let a = s.device_session("qingshan_helper");
    let post = |path: &str, body: Value| {
        s.call_with("POST", path, Some(&a.access), Some(body), &[SYNC_HEADER])
    };
    post(
        "/v1/sync/digest",
        json!({"digests": {"visit": {"3": "not hex"}}}),
    )
    .assert_problem(422, "validation_failed");
    let many: Vec<u16> = (0..65).collect();
    post("/v1/sync/repair", json!({"buckets": {"visit": many}}))
        .assert_problem(422, "validation_failed");
    post("/v1/sync/repair", json!({"buckets": {"spaceship": [1]}}))
        .assert_problem(422, "validation_failed");
    let r = post("/v1/sync/digest", json!({"digests": {}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["differing"]["region"].is_array(),
        "an empty store differs: {}",
        r.text
    );
}
