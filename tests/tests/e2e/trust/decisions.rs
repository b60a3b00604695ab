//! Decisions are made by the server's decision endpoints only: devices and resolutions
//! cannot write review or decision fields, authors are who pushes, case numbers are checked
//! on every write, and a moved helper keeps no write access through a backdated clock.

use bangfu_e2e::{Reply, Session, TestServer, hlc, new_id};
use serde_json::{Value, json};

fn mutation(entity: &str, id: &str, base: i64, clock: String, fields: Value) -> Value {
    json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": base, "hlc": clock, "fields": fields})
}

fn one(s: &TestServer, who: &Session, m: Value) -> Value {
    let r = s.push(who, vec![m]);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["results"][0].clone()
}

fn refused(result: &Value, code: &str) {
    assert_eq!(result["status"], "rejected", "{result}");
    let problem = &result["problem"];
    let codes: Vec<&str> = std::iter::once(problem["code"].as_str().unwrap_or(""))
        .chain(
            problem["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["code"].as_str()),
        )
        .collect();
    assert!(codes.contains(&code), "expected {code} in {result}");
}

struct Qingshan {
    village: String,
    household: String,
}

fn qingshan(s: &TestServer) -> Qingshan {
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    Qingshan {
        household: s.register_household(&officer, &village),
        village,
    }
}

fn visit(q: &Qingshan, helper: &str) -> Value {
    json!({"region_id": q.village, "household_id": q.household, "helper_id": helper, "kind": "routine",
           "visited_at": "2026-11-20T09:30:00Z", "notes": "走访"})
}

#[test]
fn devices_cannot_write_decisions_or_speak_for_someone_else() {
    let s = TestServer::start();
    let q = qingshan(&s);
    let helper = s.device_session("qingshan_helper");
    let secretary = s.login("qingshan_secretary");

    // A visit made by someone else, or already approved.
    let r = one(
        &s,
        &helper,
        mutation(
            "visit",
            &new_id(),
            0,
            hlc(0, "h"),
            visit(&q, &secretary.user_id),
        ),
    );
    refused(&r, "not_the_author");
    let mut approved = visit(&q, &helper.user_id);
    approved["review_status"] = json!("approved");
    refused(
        &one(
            &s,
            &helper,
            mutation("visit", &new_id(), 0, hlc(0, "h"), approved),
        ),
        "server_only_field",
    );

    // A correction made already accepted by the county, with its decision times.
    let correction = |status: &str| {
        json!({"region_id": q.village, "household_id": q.household, "field": "address",
               "current_value": "三组 12 号", "proposed_value": "三组 14 号", "review_status": status,
               "village_decided_at": "2026-11-20T09:30:00Z", "township_decided_at": "2026-11-20T09:30:00Z",
               "county_decided_at": "2026-11-20T09:30:00Z"})
    };
    refused(
        &one(
            &s,
            &helper,
            mutation(
                "correction",
                &new_id(),
                0,
                hlc(0, "h"),
                correction("county_accepted"),
            ),
        ),
        "server_only_field",
    );
    // A pending one raised by a device, skipping levels.
    let id = new_id();
    let pending = json!({"region_id": q.village, "household_id": q.household, "field": "address",
                         "current_value": "三组 12 号", "proposed_value": "三组 14 号"});
    assert_eq!(
        one(
            &s,
            &helper,
            mutation("correction", &id, 0, hlc(0, "h"), pending)
        )["status"],
        "applied"
    );
    refused(
        &one(
            &s,
            &helper,
            mutation(
                "correction",
                &id,
                1,
                hlc(10, "h"),
                json!({"review_status": "township_accepted"}),
            ),
        ),
        "server_only_field",
    );
    // Nor from a secretary's device: a decision is the decision endpoint's.
    let secretary_device = s.device_session("qingshan_secretary");
    refused(
        &one(
            &s,
            &secretary_device,
            mutation(
                "correction",
                &id,
                1,
                hlc(20, "s"),
                json!({"review_status": "village_accepted"}),
            ),
        ),
        "server_only_field",
    );
}

/// Sets up a photo of `author`'s that `author` deleted after `other` had edited it, unseen:
/// a delete-versus-edit conflict, the record's whole content kept. Returns (photo id,
/// conflict id).
fn deleted_photo_conflict(
    s: &TestServer,
    q: &Qingshan,
    author: &Session,
    other: &Session,
) -> (String, String) {
    let id = new_id();
    let photo = json!({"region_id": q.village, "sha256": "ab".repeat(32), "subject_entity": "household",
                       "subject_id": q.household, "household_id": q.household, "taken_at": "2026-11-20T09:30:00Z",
                       "caption": "屋顶"});
    assert_eq!(
        one(s, author, mutation("photo", &id, 0, hlc(0, "a"), photo))["status"],
        "applied"
    );
    let edit = one(
        s,
        other,
        mutation("photo", &id, 1, hlc(50, "b"), json!({"caption": "新屋顶"})),
    );
    assert_eq!(edit["status"], "applied", "{edit}");
    let delete = json!({"mutation_id": new_id(), "entity": "photo", "id": id, "op": "delete", "base_version": 1,
                        "hlc": hlc(100, "a"), "fields": {}});
    let deleted = one(s, author, delete);
    assert_eq!(deleted["status"], "conflict", "{deleted}");
    (
        id,
        deleted["conflict_ids"][0]
            .as_str()
            .expect("conflict")
            .to_owned(),
    )
}

fn resolve(s: &TestServer, who: &Session, conflict: &str, body: Value) -> Reply {
    s.call(
        "POST",
        &format!("/v1/sync/conflicts/{conflict}/resolve"),
        Some(&who.access),
        Some(body),
    )
}

#[test]
fn a_resolution_is_judged_like_a_push() {
    let s = TestServer::start();
    let q = qingshan(&s);
    let helper = s.device_session("qingshan_helper");
    let secretary = s.device_session("qingshan_secretary");
    let officer = s.login("qingshan_officer");
    let reviewer = s.login("qingshan_secretary");

    let (_, conflict) = deleted_photo_conflict(&s, &q, &helper, &secretary);
    let forged = json!({"keep": "value", "value": {"caption": "屋顶", "review_status": "approved",
        "reviewed_by": reviewer.user_id, "reviewed_at": "2020-01-01T00:00:00Z"}});
    let r = resolve(&s, &officer, &conflict, forged);
    r.assert_problem(422, "resolution_rejected");
    assert!(
        r.text.contains("review_status"),
        "names the field: {}",
        r.text
    );

    // A secretary approving their own photo through a resolution is refused as well.
    let (_, own) = deleted_photo_conflict(&s, &q, &secretary, &helper);
    let r = resolve(
        &s,
        &reviewer,
        &own,
        json!({"keep": "value", "value": {"caption": "屋顶", "review_status": "approved"}}),
    );
    r.assert_problem(422, "resolution_rejected");
    // The plain resolution still works: the record comes back with its caption.
    let r = resolve(&s, &officer, &conflict, json!({"keep": "lost"}));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn case_numbers_are_checked_whenever_they_are_set() {
    let s = TestServer::start();
    let q = qingshan(&s);
    let teacher = s.device_session("school_teacher");
    let other = s.device_session("qingshan_helper");
    let officer = s.login("qingshan_officer");
    let school = s.region_id(&officer.access, "2153012301");
    let block = |who: &Session| {
        let r = s.call(
            "POST",
            "/v1/case-number-blocks",
            Some(&who.access),
            Some(json!({"series": "dropout_case", "size": 2})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["first"].as_str().expect("first").to_owned()
    };
    let mine = block(&teacher);
    let theirs = block(&other);
    let case = |no: Option<&str>| {
        let mut f = json!({"region_id": q.village, "child_id": new_id(), "school_id": school,
                           "opened_at": "2026-11-20T09:30:00Z", "stage": "dropout_confirmed", "state": "open"});
        if let Some(n) = no {
            f["case_no"] = json!(n);
        }
        f
    };
    let numbered = new_id();
    assert_eq!(
        one(
            &s,
            &teacher,
            mutation("dropout_case", &numbered, 0, hlc(0, "t"), case(Some(&mine)))
        )["status"],
        "applied"
    );
    let bare = new_id();
    assert_eq!(
        one(
            &s,
            &teacher,
            mutation("dropout_case", &bare, 0, hlc(0, "t"), case(None))
        )["status"],
        "applied"
    );
    for (no, code) in [
        (theirs.as_str(), "case_no_not_reserved"),
        (mine.as_str(), "case_no_taken"),
        (
            "=HYPERLINK(\"http://evil.example/\",\"点击\")",
            "case_no_invalid",
        ),
    ] {
        let r = one(
            &s,
            &teacher,
            mutation(
                "dropout_case",
                &bare,
                1,
                hlc(10, "t"),
                json!({"case_no": no}),
            ),
        );
        refused(&r, code);
    }
}

#[test]
fn a_school_and_the_records_region_must_agree() {
    let s = TestServer::start();
    let teacher = s.device_session("school_teacher");
    let hekou = s.login("hekou_officer");
    let hekou_village = s.region_id(&hekou.access, "530123102001");
    let school = s.region_id(&s.login("qingshan_officer").access, "2153012301");
    let helper = s.device_session("hekou_helper");
    let child = new_id();
    let r = one(
        &s,
        &helper,
        mutation(
            "child",
            &child,
            0,
            hlc(0, "h"),
            json!({"region_id": hekou_village, "school_id": school,
            "name": "王小明", "birth_date": "2015-03-01"}),
        ),
    );
    refused(&r, "school_elsewhere");
    let (changes, _) = s.pull_all(&teacher, None);
    assert!(changes.iter().all(|c| c["id"] != child.as_str()));
}

#[test]
fn a_clock_ahead_of_the_server_by_minutes_is_refused() {
    let s = TestServer::start();
    let q = qingshan(&s);
    let helper = s.device_session("qingshan_helper");
    let ahead = one(
        &s,
        &helper,
        mutation(
            "visit",
            &new_id(),
            0,
            hlc(59 * 60_000, "h"),
            visit(&q, &helper.user_id),
        ),
    );
    refused(&ahead, "clock_ahead");
    let close = one(
        &s,
        &helper,
        mutation(
            "visit",
            &new_id(),
            0,
            hlc(60_000, "h"),
            visit(&q, &helper.user_id),
        ),
    );
    assert_eq!(close["status"], "applied", "{close}");
}

/// Signs in on a newly registered phone; returns the session and the phone's device id.
fn phone(s: &TestServer, username: &str) -> (Session, String) {
    let first = s.login(username);
    let r = s.call(
        "POST",
        "/v1/devices",
        Some(&first.access),
        Some(json!({"name": "phone", "platform": "android"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let device = r.body["id"].as_str().expect("id").to_owned();
    (s.login_with(username, Some(&device)), device)
}

/// A helper moved from 青山村 to 河口村: a device signed in only after the move gets no
/// write access to 青山村 by backdating its clock; the old phone does, for what it captured
/// until it learned of the move.
#[test]
fn a_backdated_clock_opens_no_village_its_user_has_left() {
    let s = TestServer::start();
    let started = chrono::Utc::now().timestamp_millis();
    let q = qingshan(&s);
    let (old_phone, device) = phone(&s, "qingshan_helper");
    let id = new_id();
    assert_eq!(
        one(
            &s,
            &old_phone,
            mutation(
                "visit",
                &id,
                0,
                hlc(-5_000, "old"),
                visit(&q, &old_phone.user_id)
            )
        )["status"],
        "applied"
    );

    let county = s.login("county_officer");
    let hekou = s.region_id(&county.access, "530123102001");
    // A clock reading from while the helper was in 青山村, however long the steps take.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let moved_at = chrono::Utc::now().timestamp_millis();
    let before_move = |part: i64| {
        let at = started + (moved_at - started) * part / 10;
        hlc(at - chrono::Utc::now().timestamp_millis(), "old")
    };
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{}", old_phone.user_id),
        Some(&county.access),
        Some(json!({"region_id": hekou})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // A phone signed in after the move, its clock set back.
    let (new_phone, _) = phone(&s, "qingshan_helper");
    let r = one(
        &s,
        &new_phone,
        mutation("visit", &id, 1, before_move(5), json!({"notes": "改写"})),
    );
    refused(&r, "out_of_scope");
    let r = one(
        &s,
        &new_phone,
        mutation(
            "visit",
            &new_id(),
            0,
            before_move(5),
            visit(&q, &new_phone.user_id),
        ),
    );
    refused(&r, "out_of_scope");

    // The old phone, signed in again, hands in what it captured before it learned of the
    // move: from before the move, and from after it while it had not pulled.
    let old_phone = s.login_with("qingshan_helper", Some(&device));
    let r = one(
        &s,
        &old_phone,
        mutation("visit", &id, 1, before_move(6), json!({"notes": "补记"})),
    );
    assert_eq!(r["status"], "applied", "{r}");
    let r = one(
        &s,
        &old_phone,
        mutation(
            "visit",
            &id,
            2,
            hlc(0, "old"),
            json!({"notes": "离村前补记"}),
        ),
    );
    assert_eq!(r["status"], "applied", "{r}");
    // Once it has pulled, it knows: what it captures afterwards there is refused.
    assert_eq!(s.pull(&old_phone, None).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = one(
        &s,
        &old_phone,
        mutation("visit", &id, 3, hlc(10, "old"), json!({"notes": "再改"})),
    );
    refused(&r, "out_of_scope");
}
