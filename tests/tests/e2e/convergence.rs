//! Property test of the sync protocol with the reference client: several devices edit
//! offline and sync in random order; afterwards every device holds exactly the server's
//! records, nothing was created twice, and no edit of a field was lost without a trace.

use std::collections::{BTreeMap, HashMap};

use bangfu_e2e::TestServer;
use bangfu_sync::client::Field;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const DEVICES: [&str; 3] = ["qingshan_helper", "qingshan_secretary", "qingshan_officer"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    EditNotes(usize, usize),
    EditKind(usize, usize, usize),
    EditNeeds(usize, usize, usize),
    Delete(usize, usize),
    Push(usize),
    Pull(usize),
    Sync(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let dev = 0..DEVICES.len();
    prop_oneof![
        2 => dev.clone().prop_map(Op::Create),
        4 => (dev.clone(), any::<usize>()).prop_map(|(d, r)| Op::EditNotes(d, r)),
        2 => (dev.clone(), any::<usize>(), 0..3usize).prop_map(|(d, r, k)| Op::EditKind(d, r, k)),
        2 => (dev.clone(), any::<usize>(), 0..3usize).prop_map(|(d, r, k)| Op::EditNeeds(d, r, k)),
        1 => (dev.clone(), any::<usize>()).prop_map(|(d, r)| Op::Delete(d, r)),
        2 => dev.clone().prop_map(Op::Push),
        2 => dev.clone().prop_map(Op::Pull),
        2 => dev.prop_map(Op::Sync),
    ]
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A `notes` value written by a device, and whether a later writer had seen it.
struct Write {
    device: usize,
    record: String,
    value: String,
    superseded: bool,
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let s = TestServer::start();
    let dirs: Vec<tempfile::TempDir> = DEVICES
        .iter()
        .map(|_| tempfile::tempdir().expect("dir"))
        .collect();
    let mut devices: Vec<Field> = DEVICES
        .iter()
        .zip(&dirs)
        .map(|(user, dir)| {
            let mut f = Field::open(&dir.path().join("device.db").to_string_lossy(), &s.base)
                .expect("open");
            f.login(user, bangfu_e2e::DEMO_PASSWORD).expect("login");
            f.pull().expect("first pull");
            f
        })
        .collect();
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = s.register_household(&officer, &village);
    let mut created: Vec<String> = Vec::new();
    let mut writes: Vec<Write> = Vec::new();

    for (i, op) in ops.into_iter().enumerate() {
        let pick = |f: &mut Field, r: usize| -> Option<String> {
            let recs = f.records("visit").expect("records");
            (!recs.is_empty()).then(|| recs[r % recs.len()].id.clone())
        };
        match op {
            Op::Create(d) => {
                let helper = devices[d].user_id().expect("user");
                let value = format!("d{d}-op{i}");
                let id = devices[d]
                    .capture(
                        "visit",
                        None,
                        obj(json!({"region_id": village, "household_id": household, "helper_id": helper, "kind": "routine",
                                   "visited_at": "2026-11-20T09:30:00Z", "notes": value})),
                    )
                    .expect("capture");
                writes.push(Write {
                    device: d,
                    record: id.clone(),
                    value,
                    superseded: false,
                });
                created.push(id);
            }
            Op::EditNotes(d, r) => {
                if let Some(id) = pick(&mut devices[d], r) {
                    // Whatever this device shows now, it has seen: writes of it are superseded.
                    let seen = devices[d]
                        .record("visit", &id)
                        .expect("record")
                        .and_then(|x| x.fields.get("notes").cloned());
                    // So has its own earlier writes: a device's edits follow each other.
                    for w in writes.iter_mut().filter(|w| {
                        w.record == id && (w.device == d || Some(json!(w.value)) == seen)
                    }) {
                        w.superseded = true;
                    }
                    let value = format!("d{d}-op{i}");
                    devices[d]
                        .capture("visit", Some(&id), obj(json!({"notes": value})))
                        .expect("edit");
                    writes.push(Write {
                        device: d,
                        record: id,
                        value,
                        superseded: false,
                    });
                }
            }
            Op::EditKind(d, r, k) => {
                if let Some(id) = pick(&mut devices[d], r) {
                    let kind = ["routine", "look_back", "verification"][k];
                    devices[d]
                        .capture("visit", Some(&id), obj(json!({"kind": kind})))
                        .expect("edit");
                }
            }
            Op::EditNeeds(d, r, k) => {
                if let Some(id) = pick(&mut devices[d], r) {
                    let item = ["food", "safe_housing", "basic_medical"][k];
                    devices[d]
                        .capture(
                            "visit",
                            Some(&id),
                            obj(json!({"basic_needs": {item: "not_met"}})),
                        )
                        .expect("edit");
                }
            }
            Op::Delete(d, r) => {
                if let Some(id) = pick(&mut devices[d], r) {
                    devices[d].delete("visit", &id).expect("delete");
                }
            }
            Op::Push(d) => {
                devices[d].push().expect("push");
            }
            Op::Pull(d) => {
                devices[d].pull().expect("pull");
            }
            Op::Sync(d) => {
                devices[d].sync().expect("sync");
            }
        }
    }
    // Devices stop editing; each syncs twice.
    for _ in 0..2 {
        for f in devices.iter_mut() {
            f.sync().expect("final sync");
        }
    }

    // The server's records, read from scratch.
    let reader = s.device_session("county_officer");
    let (changes, _) = s.pull_all(&reader, None);
    let server: BTreeMap<String, &Value> = changes
        .iter()
        .filter(|c| c["entity"] == "visit")
        .map(|c| (c["id"].as_str().unwrap_or_default().to_owned(), c))
        .collect();

    // Exactly once: every record created on a device exists on the server, once.
    let mut ids = created.clone();
    ids.sort();
    prop_assert_eq!(server.keys().cloned().collect::<Vec<_>>(), ids);

    // Convergence: every device holds exactly the server's live records.
    for (d, f) in devices.iter_mut().enumerate() {
        prop_assert_eq!(f.pending().expect("pending"), 0);
        prop_assert!(
            f.refused().expect("refused").is_empty(),
            "device {} had changes refused",
            d
        );
        let local: HashMap<String, (i64, Map<String, Value>)> = f
            .records("visit")
            .expect("records")
            .into_iter()
            .map(|r| (r.id, (r.version, r.fields)))
            .collect();
        let live: HashMap<String, (i64, Map<String, Value>)> = server
            .iter()
            .filter(|(_, c)| c["deleted"] == false)
            .map(|(id, c)| {
                (
                    id.clone(),
                    (
                        c["version"].as_i64().unwrap_or(0),
                        c["fields"].as_object().cloned().unwrap_or_default(),
                    ),
                )
            })
            .collect();
        prop_assert_eq!(&local, &live, "device {} diverged", d);
    }

    // No lost update: a notes value nobody had seen before overwriting it is the record's
    // value now, or is kept in a conflict (deleted records keep theirs in the delete's).
    let conflicts = s.call(
        "GET",
        "/v1/sync/conflicts?state=all&limit=500",
        Some(&officer.access),
        None,
    );
    let conflict_items = conflicts.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for w in writes.iter().filter(|w| !w.superseded) {
        let rec = server.get(&w.record);
        let deleted = rec.is_some_and(|c| c["deleted"] == true);
        let is_final = rec.is_some_and(|c| c["fields"]["notes"] == json!(w.value));
        let kept = conflict_items.iter().any(|c| {
            c["record_id"] == json!(w.record)
                && (c["lost"] == json!(w.value)
                    || c["kept"] == json!(w.value)
                    || c["lost"]["notes"] == json!(w.value))
        });
        prop_assert!(
            is_final || kept || deleted,
            "the edit {:?} of {} was lost without a conflict",
            w.value,
            w.record
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BANGFU_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(8),
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn devices_converge_without_loss_or_duplicates(ops in prop::collection::vec(op(), 5..60)) {
        run(ops)?;
    }
}
