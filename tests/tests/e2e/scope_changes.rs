//! Scope changes without data loss: a helper released from a household, a helper moving
//! to another village, a record moved away. The devices concerned receive what became
//! visible, drop what is no longer theirs, and the edits they captured before the change
//! are still accepted and attributed to them.

use std::collections::BTreeSet;

use bangfu_e2e::{DEMO_PASSWORD, Session, TestServer, hlc, new_id};
use bangfu_sync::client::Field;
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn user_id(s: &TestServer, who: &Session, username: &str) -> String {
    let r = s.call("GET", "/v1/users?limit=500", Some(&who.access), None);
    r.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["username"] == username))
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{username} not visible: {}", r.text))
}

fn phone(s: &TestServer, dir: &tempfile::TempDir, user: &str) -> Field {
    let mut f = Field::open(&dir.path().join("phone.db").to_string_lossy(), &s.base).expect("open");
    f.login(user, DEMO_PASSWORD).expect("login");
    f
}

fn ids(f: &mut Field, entity: &str) -> BTreeSet<String> {
    f.records(entity)
        .expect("records")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn visit(region: &str, household: &str, helper: &str, notes: &str) -> Map<String, Value> {
    obj(
        json!({"region_id": region, "household_id": household, "helper_id": helper,
               "kind": "routine", "visited_at": "2026-11-20T09:30:00Z", "notes": notes}),
    )
}

fn live_ids(changes: &[Value], entity: &str) -> BTreeSet<String> {
    let mut live = BTreeSet::new();
    for c in changes.iter().filter(|c| c["entity"] == entity) {
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        if c["deleted"] == true {
            live.remove(&id);
        } else {
            live.insert(id);
        }
    }
    live
}

#[test]
fn a_released_helper_drops_the_household_and_its_earlier_edits_still_count() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.region_id(&county.access, "530123101001");
    let household = s.register_household(&county, &qingshan);
    let helper = user_id(&s, &county, "hekou_helper");
    let local = s.device_session("qingshan_secretary");
    let earlier = new_id();
    let r = s.push(
        &local,
        vec![json!({"mutation_id": new_id(), "entity": "visit", "id": earlier, "base_version": 0,
                    "hlc": hlc(0, "sec"), "fields": visit(&qingshan, &household, &local.user_id, "上次走访")})],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    // Another device in the village, already synced: assignments are no news to its records.
    let (_, secretary_cursor) = s.pull_all(&local, None);

    let assign = format!("/v1/households/{household}/helpers/{helper}");
    let r = s.call("PUT", &assign, Some(&county.access), None);
    assert_eq!(r.status, 200, "{}", r.text);
    let dir = tempfile::tempdir().expect("dir");
    let mut f = phone(&s, &dir, "hekou_helper");
    f.pull().expect("pull");
    assert_eq!(
        ids(&mut f, "household"),
        BTreeSet::from([household.clone()])
    );
    assert_eq!(ids(&mut f, "visit"), BTreeSet::from([earlier.clone()]));
    let (changes, secretary_cursor) = s.pull_all(&local, Some(secretary_cursor));
    assert!(
        changes.iter().all(|c| c["entity"] != "visit"),
        "the assignment re-sends nothing to devices that held the records: {changes:?}"
    );

    // Offline, the helper records a visit and corrects the earlier one; then the case is
    // handed over before the phone syncs.
    let captured = f
        .capture(
            "visit",
            None,
            visit(&qingshan, &household, &helper, "屋顶已修好"),
        )
        .expect("capture");
    f.capture(
        "visit",
        Some(&earlier),
        obj(json!({"notes": "上次走访（已核实）"})),
    )
    .expect("edit");
    let r = s.call("DELETE", &assign, Some(&county.access), None);
    assert_eq!(r.status, 200, "{}", r.text);

    // The pull drops the household, but not the record the outbox still changes.
    f.pull().expect("pull after release");
    assert!(ids(&mut f, "household").is_empty());
    assert_eq!(
        ids(&mut f, "visit"),
        BTreeSet::from([earlier.clone(), captured.clone()]),
        "unsent work stays on the phone"
    );
    assert_eq!(f.pending().expect("pending"), 2);

    // Pushed after the loss, both are accepted: they were made while the case was the helper's.
    let summary = f.push().expect("push");
    assert_eq!((summary.applied, summary.rejected), (2, 0), "{summary:?}");
    f.pull().expect("pull");
    assert!(ids(&mut f, "visit").is_empty(), "then they leave the phone");
    assert!(f.refused().expect("refused").is_empty());
    let (changes, _) = s.pull_all(&local, Some(secretary_cursor));
    let got = |id: &str| {
        changes
            .iter()
            .rev()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(got(&captured)["fields"]["notes"], "屋顶已修好");
    assert_eq!(got(&earlier)["fields"]["notes"], "上次走访（已核实）");
    // Attributed to the helper's device.
    let auditor = s.login("auditor");
    let device = f.device_id().expect("device").expect("registered");
    for id in [&captured, &earlier] {
        let log = s.call(
            "GET",
            &format!("/v1/audit?entity=visit&entity_id={id}&actor_id={helper}"),
            Some(&auditor.access),
            None,
        );
        assert_eq!(
            log.body["items"][0]["device_id"],
            device.as_str(),
            "{}",
            log.text
        );
    }

    // An edit made after the phone learnt of the loss is refused, and kept in quarantine.
    f.capture(
        "visit",
        None,
        visit(&qingshan, &household, &helper, "交接之后"),
    )
    .expect("capture");
    let summary = f.push().expect("push");
    assert_eq!(summary.rejected, 1, "{summary:?}");
    let refused = f.refused().expect("refused");
    assert_eq!(refused[0].3["code"], "out_of_scope", "{refused:?}");
}

#[test]
fn a_helper_moving_village_gets_the_new_one_and_drops_the_old() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.region_id(&county.access, "530123101001");
    let shiqiao = s.region_id(&county.access, "530123101002");
    let (old_home, new_home) = (
        s.register_household(&county, &qingshan),
        s.register_household(&county, &shiqiao),
    );
    let officer = s.device_session("qingshan_officer");
    let record = |region: &str, home: &str, notes: &str| {
        let id = new_id();
        let r = s.push(
            &officer,
            vec![json!({"mutation_id": new_id(), "entity": "visit", "id": id, "base_version": 0,
                        "hlc": hlc(0, "off"), "fields": visit(region, home, &officer.user_id, notes)})],
        );
        assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
        id
    };
    let old_visits = [
        record(&qingshan, &old_home, "青山一"),
        record(&qingshan, &old_home, "青山二"),
    ];
    let new_visit = record(&shiqiao, &new_home, "石桥一");

    let dir = tempfile::tempdir().expect("dir");
    let mut f = phone(&s, &dir, "qingshan_helper");
    f.pull().expect("pull");
    assert_eq!(ids(&mut f, "visit"), BTreeSet::from(old_visits.clone()));
    assert_eq!(ids(&mut f, "household"), BTreeSet::from([old_home.clone()]));
    f.capture(
        "visit",
        Some(&old_visits[0]),
        obj(json!({"notes": "青山一（补记）"})),
    )
    .expect("edit offline");

    // The helper is moved to 石桥村: their sessions end, the phone signs in again.
    let helper = user_id(&s, &county, "qingshan_helper");
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{helper}"),
        Some(&county.access),
        Some(json!({"region_id": shiqiao})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(f.pull().is_err(), "the old session ended");
    f.login("qingshan_helper", DEMO_PASSWORD)
        .expect("sign in again");
    f.sync().expect("sync");
    f.pull().expect("pull");

    // The new village's rows arrived although older than the cursor; the old ones left.
    assert_eq!(ids(&mut f, "visit"), BTreeSet::from([new_visit.clone()]));
    assert_eq!(ids(&mut f, "household"), BTreeSet::from([new_home.clone()]));
    assert_eq!(ids(&mut f, "region"), BTreeSet::from([shiqiao.clone()]));
    assert_eq!(f.pending().expect("pending"), 0);
    assert!(
        f.refused().expect("refused").is_empty(),
        "the edit made before the move is taken"
    );
    let (changes, _) = s.pull_all(&officer, None);
    let edited = changes
        .iter()
        .rev()
        .find(|c| c["id"] == old_visits[0].as_str());
    assert_eq!(edited.expect("visit")["fields"]["notes"], "青山一（补记）");

    // It holds exactly what a fresh phone of the helper would.
    let fresh = s.device_session("qingshan_helper");
    let (changes, _) = s.pull_all(&fresh, None);
    for entity in ["visit", "household", "region"] {
        assert_eq!(ids(&mut f, entity), live_ids(&changes, entity), "{entity}");
    }
}

#[test]
fn a_record_moved_away_is_dropped_where_it_is_no_longer_reached() {
    let s = TestServer::start();
    let county = s.device_session("county_officer");
    let hekou = s.region_id(&county.access, "530123102001");
    let qingshan = s.region_id(&county.access, "530123101001");
    // A county school serves every village of the county, and has a teacher of its own.
    let admin = s.login("admin");
    let r = s.call(
        "POST",
        "/v1/regions",
        Some(&admin.access),
        Some(
            json!({"parent_id": s.region_id(&admin.access, "530123"), "level": "school",
                    "code": "2153012399", "name": "示范县特殊教育学校"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let school = r.body["id"].as_str().expect("school").to_owned();
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&admin.access),
        Some(
            json!({"username": "county_school_teacher", "display_name": "特教学校 王老师",
                    "password": DEMO_PASSWORD, "role": "helper", "region_id": school}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let (child, other) = (new_id(), new_id());
    let make = |id: &str| {
        json!({"mutation_id": new_id(), "entity": "child", "id": id, "base_version": 0, "hlc": hlc(0, "c"),
               "fields": {"region_id": hekou, "school_id": school, "name": "小明", "birth_date": "2014-03-01"}})
    };
    let r = s.push(&county, vec![make(&child), make(&other)]);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    let hekou_officer = s.device_session("hekou_officer");
    let teacher = s.device_session("county_school_teacher");
    let qingshan_officer = s.device_session("qingshan_officer");
    let (_, hekou_cursor) = s.pull_all(&hekou_officer, None);
    let (seen, teacher_cursor) = s.pull_all(&teacher, None);
    assert_eq!(
        live_ids(&seen, "child"),
        BTreeSet::from([child.clone(), other.clone()])
    );
    let (_, qingshan_cursor) = s.pull_all(&qingshan_officer, None);

    // The family moves to 青山村; the other child leaves the school.
    let r = s.push(
        &county,
        vec![
            json!({"mutation_id": new_id(), "entity": "child", "id": child, "base_version": 1,
                   "hlc": hlc(10, "c"), "fields": {"region_id": qingshan}}),
            json!({"mutation_id": new_id(), "entity": "child", "id": other, "base_version": 1,
                   "hlc": hlc(10, "c"), "fields": {"school_id": null}}),
        ],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);

    let drops = |who: &Session, cursor: String| {
        let r = s.pull(who, Some(&cursor));
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.body["drops"]["child"].clone(),
            live_ids(
                r.body["changes"].as_array().map_or(&[][..], Vec::as_slice),
                "child",
            ),
        )
    };
    assert_eq!(
        drops(&hekou_officer, hekou_cursor),
        (json!([child]), BTreeSet::from([other.clone()]))
    );
    // The teacher still reaches the moved child through the school, but not the other one.
    assert_eq!(
        drops(&teacher, teacher_cursor),
        (json!([other]), BTreeSet::from([child.clone()]))
    );
    // 青山镇 gains the moved child; the other one it never reached (the county's school
    // is not the township's).
    assert_eq!(
        drops(&qingshan_officer, qingshan_cursor),
        (Value::Null, BTreeSet::from([child.clone()]))
    );
}
