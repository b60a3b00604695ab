//! A fresh device's first sync: today's work first, the history after, and an interrupted
//! first sync goes on from the last page it saved.

use std::collections::BTreeSet;

use bangfu_e2e::{DEMO_PASSWORD, Session, TestServer, hlc, new_id};
use bangfu_sync::client::Field;
use serde_json::{Value, json};

fn visit(s: &TestServer, who: &Session, region: &str, home: &str) -> String {
    let id = new_id();
    let fields = json!({"region_id": region, "household_id": home, "helper_id": who.user_id,
                        "kind": "routine", "visited_at": "2026-11-20T09:30:00Z", "notes": "走访"});
    let r = s.push(
        who,
        vec![json!({"mutation_id": new_id(), "entity": "visit", "id": id, "base_version": 0, "hlc": hlc(0, "s"), "fields": fields})],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    id
}

fn keys(changes: &[Value]) -> BTreeSet<(String, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn key(entity: &str, id: &str) -> (String, String) {
    (entity.to_owned(), id.to_owned())
}

fn phone(s: &TestServer, dir: &tempfile::TempDir) -> Field {
    let mut f = Field::open(&dir.path().join("p.db").to_string_lossy(), &s.base).expect("open");
    f.login("qingshan_helper", DEMO_PASSWORD).expect("login");
    f.set_page_size(Some(7));
    f
}

#[test]
fn a_fresh_device_gets_todays_work_first_and_resumes_an_interrupted_first_sync() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let village = s.region_id(&county.access, "530123101001");
    let (helped, other) = (
        s.register_household(&county, &village),
        s.register_household(&county, &village),
    );
    let helper = s.login("qingshan_helper");
    let r = s.call(
        "PUT",
        &format!("/v1/households/{helped}/helpers/{}", helper.user_id),
        Some(&county.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let secretary = s.device_session("qingshan_secretary");
    for _ in 0..25 {
        visit(&s, &secretary, &village, &other);
    }
    // The helper's two visits; the secretary approves one from her phone.
    let helper_phone = s.device_session("qingshan_helper");
    let reviewed = visit(&s, &helper_phone, &village, &helped);
    let r = s.push(
        &secretary,
        vec![
            json!({"mutation_id": new_id(), "entity": "visit", "id": reviewed, "base_version": 1,
                    "hlc": hlc(1, "s"), "fields": {"review_status": "approved"}}),
        ],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let open = visit(&s, &helper_phone, &village, &helped);
    let (child, case, closed) = (new_id(), new_id(), new_id());
    let rec = |entity: &str, id: &str, fields: Value| json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": 0, "hlc": hlc(0, "s"), "fields": fields});
    let case_fields = |state: &str| {
        json!({"region_id": village, "child_id": child, "opened_at": "2026-09-08T08:00:00Z",
               "stage": "persuasion", "state": state, "team": [helper.user_id]})
    };
    let r = s.push(
        &secretary,
        vec![
            rec(
                "child",
                &child,
                json!({"region_id": village, "name": "小红", "birth_date": "2013-05-01"}),
            ),
            rec("dropout_case", &case, case_fields("open")),
            rec("dropout_case", &closed, case_fields("closed")),
        ],
    );
    assert!(
        r.body["results"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["status"] == "applied")),
        "{}",
        r.text
    );

    // The first page is today's work alone; the history follows from the feed's start.
    let device = s.device_session("qingshan_helper");
    let first = s.call_with(
        "GET",
        "/v1/sync/pull?limit=10",
        Some(&device.access),
        None,
        &[bangfu_e2e::SYNC_HEADER],
    );
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        keys(
            first.body["changes"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
        ),
        BTreeSet::from([
            key("household", &helped),
            key("visit", &open),
            key("dropout_case", &case),
            key("child", &child),
        ]),
        "{}",
        first.text
    );
    assert_eq!(first.body["has_more"], true);
    let (history, _) = s.pull_all(
        &device,
        first.body["next_cursor"].as_str().map(str::to_owned),
    );
    let history = keys(&history);
    for k in [
        key("visit", &reviewed),
        key("dropout_case", &closed),
        key("household", &other),
    ] {
        assert!(history.contains(&k), "history brings {k:?}");
    }

    // A phone killed after three pages goes on from the third when it comes back.
    let dir = tempfile::tempdir().expect("dir");
    let mut f = phone(&s, &dir);
    let mut received = 0;
    for _ in 0..3 {
        let (n, more) = f.pull_page().expect("page");
        assert!(more);
        received += n;
    }
    drop(f);
    let mut f = phone(&s, &dir);
    let rest = f.pull().expect("resumed pull");
    let fresh_dir = tempfile::tempdir().expect("dir");
    let mut fresh = phone(&s, &fresh_dir);
    let all = fresh.pull().expect("full pull");
    assert_eq!(
        received + rest,
        all,
        "resumed from its cursor, not from the start"
    );
    for entity in ["visit", "household", "dropout_case", "child", "region"] {
        let ids = |f: &mut Field| -> Vec<(String, i64)> {
            f.records(entity)
                .expect("records")
                .into_iter()
                .map(|r| (r.id, r.version))
                .collect()
        };
        assert_eq!(ids(&mut f), ids(&mut fresh), "{entity}");
    }
}
