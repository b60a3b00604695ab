//! Field-work rules end to end: a term's dropout campaign in one township from the registry
//! to close-out, driven through the reference sync client; deadlines on work lists and on
//! the phone; home teaching, corrections, employment, pairing, look-backs, campaigns,
//! case numbers and metrics; and the same records giving the same results whatever order
//! they arrive in.

use bangfu_e2e::{Session, TestServer, hlc, new_id};
use bangfu_sync::client::Field;
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// An instant `days` from now (negative: in the past), RFC 3339.
fn at(days: f64) -> String {
    (Utc::now() + Duration::seconds((days * 86_400.0) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The local (China) date `days` from today.
fn day(days: i64) -> String {
    ((Utc::now() + Duration::hours(8)).date_naive() + Duration::days(days)).to_string()
}

fn device(s: &TestServer, user: &str, dir: &tempfile::TempDir) -> Field {
    let mut f =
        Field::open(&dir.path().join("phone.db").to_string_lossy(), &s.base).expect("open store");
    f.login(user, bangfu_e2e::DEMO_PASSWORD).expect("login");
    f.sync().expect("first sync");
    f
}

fn sync(f: &mut Field) {
    let (pushed, _) = f.sync().expect("sync");
    assert_eq!(
        pushed.rejected,
        0,
        "nothing refused: {pushed:?} {:?}",
        f.refused()
    );
}

fn items(r: &bangfu_e2e::Reply) -> Vec<Value> {
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn of_kind(list: &[Value], kind: &str) -> Vec<Value> {
    list.iter().filter(|d| d["kind"] == kind).cloned().collect()
}

fn work_list(s: &TestServer, who: &Session, view: &str) -> Vec<Value> {
    let r = s.call(
        "GET",
        &format!("/v1/work-list?view={view}&horizon_days=31&limit=500"),
        Some(&who.access),
        None,
    );
    assert_eq!(r.status, 200, "work list: {}", r.text);
    items(&r)
}

struct Places {
    village: String,
    township: String,
    school: String,
}

fn places(s: &TestServer, officer: &Session) -> Places {
    Places {
        village: s.region_id(&officer.access, "530123101001"),
        township: s.region_id(&officer.access, "530123101"),
        school: s.region_id(&officer.access, "2153012301"),
    }
}

#[test]
fn a_terms_dropout_campaign_from_registry_to_close_out_through_the_sync_client() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut teacher = device(&s, "school_teacher", &dirs[0]);
    let mut helper = device(&s, "qingshan_helper", &dirs[1]);
    let teacher_id = teacher.user_id().expect("id");
    let helper_id = helper.user_id().expect("id");

    // The township starts the term's campaign: term began two days ago.
    let r = s.call("POST", "/v1/campaigns", Some(&officer.access), Some(json!({
        "region_id": p.township, "kind": "dropout", "name": "秋季学期控辍保学", "starts_on": day(-10), "term_starts_on": day(-2),
        "phases": [{"kind": "training", "name": "培训", "due_on": day(-5)}, {"kind": "visiting", "name": "开学走访", "due_on": day(4)},
                   {"kind": "completing_data", "name": "完善台账", "due_on": day(20)}, {"kind": "supervision", "name": "督导", "due_on": day(40)}]
    })));
    assert_eq!(r.status, 201, "{}", r.text);
    let campaign = r.body["id"].as_str().expect("id").to_owned();

    // The registry: two pupils of compulsory age at the school, captured offline.
    let pupil = |name: &str, born: &str| {
        obj(
            json!({"region_id": p.village, "school_id": p.school, "name": name, "birth_date": born,
        "gender": "male", "has_student_status": true, "enrollment": "in_school"}),
        )
    };
    let seen = teacher
        .capture("child", None, pupil("李小明", "2016-03-02"))
        .expect("child");
    let dropped = teacher
        .capture("child", None, pupil("王小军", "2013-07-19"))
        .expect("child");
    teacher.capture("pupil_check", None, obj(json!({"region_id": p.village, "child_id": seen, "school_id": p.school,
        "checked_at": at(-0.5), "by_user_id": teacher_id, "method": "at_school", "finding": "in_school"}))).expect("check");
    sync(&mut teacher);

    let progress = s.call(
        "GET",
        &format!("/v1/campaigns/{campaign}/progress"),
        Some(&officer.access),
        None,
    );
    assert_eq!(progress.status, 200, "{}", progress.text);
    assert_eq!(
        progress.body["unchecked_children"],
        json!([dropped]),
        "{}",
        progress.text
    );
    assert_eq!(progress.body["offices"][0]["id"], p.school.as_str());
    assert_eq!(
        (
            progress.body["offices"][0]["total"].as_i64(),
            progress.body["offices"][0]["done"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let teacher_session = s.login("school_teacher");
    let mine = work_list(&s, &teacher_session, "mine");
    let check = of_kind(&mine, "start_of_term_check");
    assert_eq!(
        check.len(),
        1,
        "the school's start-of-term check is on its teachers' list: {mine:?}"
    );
    assert_eq!(check[0]["params"]["checked"], 1);

    // The second pupil has dropped out: a numbered case, opened offline.
    teacher
        .reserve_case_numbers("dropout_case", 5)
        .expect("reserve");
    let case_no = teacher.next_case_no("dropout_case").expect("number");
    assert!(
        case_no.starts_with("530123-") && case_no.contains("-KC-"),
        "{case_no}"
    );
    let case = teacher
        .capture(
            "dropout_case",
            None,
            obj(
                json!({"region_id": p.village, "child_id": dropped, "school_id": p.school,
        "opened_at": at(-20.0), "stage": "dropout_confirmed", "state": "open", "case_no": case_no,
        "team": [teacher_id, helper_id, new_id()]}),
            ),
        )
        .expect("case");
    let doc = |kind: &str, on: String, by: &str, extra: Value| {
        let mut m = obj(
            json!({"region_id": p.village, "child_id": dropped, "case_id": case, "school_id": p.school,
            "kind": kind, "issued_on": on, "issued_by": by, "by_user_id": teacher_id}),
        );
        m.extend(obj(extra));
        m
    };
    for (kind, days) in [
        ("enrollment_notice", -60),
        ("registration", -55),
        ("dropout_confirmation", -20),
    ] {
        teacher
            .capture(
                "dropout_document",
                None,
                doc(kind, day(days), "school", json!({})),
            )
            .expect("doc");
    }
    teacher.capture("retrieval_attempt", None, obj(json!({"region_id": p.village, "case_id": case, "school_id": p.school,
        "method": "phone_call", "attempted_at": at(-18.0), "by_user_id": teacher_id, "party": "school", "result": "refused"}))).expect("attempt");
    sync(&mut teacher);
    helper.sync().expect("pull the case");
    let visit = helper.capture("retrieval_attempt", None, obj(json!({"region_id": p.village, "case_id": case, "school_id": p.school,
        "method": "home_visit", "attempted_at": at(-15.0), "by_user_id": helper_id, "party": "village", "result": "promised"}))).expect("attempt");
    helper.capture("photo", None, obj(json!({"region_id": p.village, "sha256": "a".repeat(64), "subject_entity": "retrieval_attempt",
        "subject_id": visit, "taken_at": at(-15.0)}))).expect("photo");
    sync(&mut helper);
    teacher.sync().expect("sync");
    teacher
        .capture(
            "dropout_document",
            None,
            doc("upward_report", day(-14), "school", json!({})),
        )
        .expect("doc");
    teacher
        .capture(
            "dropout_document",
            None,
            doc(
                "return_deadline_notice",
                day(-10),
                "school",
                json!({"deadline_on": day(-3)}),
            ),
        )
        .expect("doc");
    sync(&mut teacher);

    let ev = s.call(
        "GET",
        &format!("/v1/dropout-cases/{case}/evaluation"),
        Some(&officer.access),
        None,
    );
    assert_eq!(ev.status, 200, "{}", ev.text);
    assert_eq!(ev.body["verified_stage"], "return_urged", "{}", ev.text);
    assert_eq!(ev.body["next_step"], "penalty");
    // The guardian's week has passed: the school's clock is missed and has climbed to the
    // township; the township's penalty decision is due.
    let mine = work_list(&s, &teacher_session, "mine");
    let ret = of_kind(&mine, "dropout_return_deadline");
    assert_eq!(ret.len(), 1, "{mine:?}");
    assert_eq!(ret[0]["standing"], "overdue");
    assert_eq!(ret[0]["escalation_level"], 1);
    assert_eq!(ret[0]["escalated_to_region_id"], p.township.as_str());
    let township_list = work_list(&s, &officer, "mine");
    assert_eq!(
        of_kind(&township_list, "dropout_penalty_decision").len(),
        1,
        "{township_list:?}"
    );

    // Out of order is refused online: a court application before the penalty.
    let court = s.call(
        "POST",
        &format!("/v1/dropout-cases/{case}/documents"),
        Some(&officer.access),
        Some(json!({"kind": "court_application", "issued_on": day(0), "issued_by": "court"})),
    );
    court.assert_problem(422, "step_out_of_order");
    // A school may not issue the township's decision.
    s.call(
        "POST",
        &format!("/v1/dropout-cases/{case}/documents"),
        Some(&teacher_session.access),
        Some(json!({"kind": "penalty_decision", "issued_on": day(0), "issued_by": "township"})),
    )
    .assert_problem(403, "not_the_issuer");
    let penalty = s.call("POST", &format!("/v1/dropout-cases/{case}/documents"), Some(&officer.access),
        Some(json!({"kind": "penalty_decision", "issued_on": day(0), "issued_by": "township", "document_no": "青山镇教罚〔2026〕3号"})));
    assert_eq!(penalty.status, 201, "{}", penalty.text);
    assert_eq!(penalty.body["verified_stage"], "penalty");
    assert!(
        of_kind(&work_list(&s, &officer, "mine"), "dropout_penalty_decision").is_empty(),
        "met by the decision"
    );

    // The child comes back: the school confirms, the case is closed out on the phone.
    teacher.sync().expect("sync");
    teacher
        .capture(
            "dropout_document",
            None,
            doc("return_confirmation", day(0), "school", json!({})),
        )
        .expect("doc");
    let mut close = obj(json!({"state": "closed", "outcome": "returned", "closed_at": at(-0.01)}));
    close.insert("stage".into(), json!("penalty"));
    teacher
        .capture("dropout_case", Some(&case), close)
        .expect("close");
    sync(&mut teacher);
    // A retrieval attempt made before the news reached the village arrives later: kept, shown.
    helper.capture("retrieval_attempt", None, obj(json!({"region_id": p.village, "case_id": case, "school_id": p.school,
        "method": "phone_call", "attempted_at": at(0.0), "by_user_id": helper_id, "party": "village", "result": "returned"}))).expect("late");
    sync(&mut helper);
    let ev = s.call(
        "GET",
        &format!("/v1/dropout-cases/{case}/evaluation"),
        Some(&officer.access),
        None,
    );
    assert_eq!(
        ev.body["close_out"],
        json!({"state": "confirmed", "outcome": "returned"}),
        "{}",
        ev.text
    );
    let findings: Vec<&str> = ev.body["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(findings, ["recorded_after_close"], "{}", ev.text);
    let ret = ev.body["deadlines"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        of_kind(&ret, "dropout_return_deadline")[0]["standing"],
        "met_late"
    );

    // The township's figures: one case returned of one, the school's check half done.
    let county = s.login("county_officer");
    let m = s.call(
        "GET",
        &format!(
            "/v1/supervision/metrics?region_id={}&from={}&to={}",
            p.township,
            day(-30),
            day(0)
        ),
        Some(&county.access),
        None,
    );
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["totals"]["dropout_cases_returned"], 1, "{}", m.text);
    assert_eq!(m.body["totals"]["dropout_cases_open"], 0);
    assert_eq!(m.body["totals"]["retrieval_rate"], 1.0);
    // The rate's denominator is in the answer: the one case open during the period.
    assert_eq!(m.body["totals"]["dropout_cases_in_period"], 1, "{}", m.text);
    // Rolled up: the county's answer holds the township, whose figures sum to the county's.
    let c = s.call(
        "GET",
        &format!("/v1/supervision/metrics?from={}&to={}", day(-30), day(0)),
        Some(&county.access),
        None,
    );
    let qingshan = c.body["children"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["region_id"] == p.township.as_str())
                .cloned()
        })
        .expect("township row");
    assert_eq!(qingshan["dropout_cases_returned"], 1, "{}", c.text);
    assert_eq!(c.body["totals"]["dropout_cases_returned"], 1);
    assert_eq!(qingshan["dropout_cases_in_period"], 1, "{}", c.text);
    assert_eq!(c.body["totals"]["dropout_cases_in_period"], 1);
    // Helpers do not read metrics.
    s.call(
        "GET",
        &format!("/v1/supervision/metrics?from={}&to={}", day(-30), day(0)),
        Some(&s.login("qingshan_helper").access),
        None,
    )
    .assert_problem(403, "forbidden");
}

#[test]
fn case_numbers_come_only_from_the_pushing_devices_block() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut teacher = device(&s, "school_teacher", &dirs[0]);
    let mut other = device(&s, "qingshan_helper", &dirs[1]);
    teacher
        .reserve_case_numbers("dropout_case", 3)
        .expect("reserve");
    other
        .reserve_case_numbers("dropout_case", 3)
        .expect("reserve");
    let mine = teacher.next_case_no("dropout_case").expect("no");
    let theirs = other.next_case_no("dropout_case").expect("no");
    assert_ne!(mine, theirs, "two devices never hold the same number");
    let case = |no: &str| {
        obj(
            json!({"region_id": p.village, "child_id": new_id(), "school_id": p.school, "opened_at": at(0.0),
        "stage": "dropout_confirmed", "state": "open", "case_no": no}),
        )
    };
    teacher
        .capture("dropout_case", None, case(&mine))
        .expect("case");
    teacher
        .capture("dropout_case", None, case(&theirs))
        .expect("case");
    teacher
        .capture("dropout_case", None, case(&mine))
        .expect("case");
    teacher
        .capture("dropout_case", None, case("530123-2026-KC-99999"))
        .expect("case");
    let (summary, _) = teacher.sync().expect("sync");
    assert_eq!(summary.rejected, 3, "{summary:?}");
    let codes: Vec<String> = teacher
        .refused()
        .expect("refused")
        .iter()
        .map(|(_, _, _, p)| {
            p["errors"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        codes,
        [
            "case_no_not_reserved",
            "case_no_taken",
            "case_no_not_reserved"
        ],
        "{codes:?}"
    );
    assert_eq!(teacher.case_numbers_left("dropout_case").expect("left"), 2);
    // Blocks belong to devices: a session without one is told so.
    let r = s.call(
        "POST",
        "/v1/case-number-blocks",
        Some(&officer.access),
        Some(json!({"series": "dropout_case", "size": 10})),
    );
    r.assert_problem(422, "device_required");
    let big = s.call(
        "POST",
        "/v1/case-number-blocks",
        Some(&s.device_session("school_teacher").access),
        Some(json!({"series": "dropout_case", "size": 501})),
    );
    big.assert_problem(422, "validation_failed");
}

#[test]
fn home_teaching_is_checked_month_by_month() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let teacher = s.device_session("school_teacher");
    let child = new_id();
    let held = Utc::now() - Duration::seconds(120);
    let month = (held + Duration::hours(8)).format("%Y-%m").to_string();
    let held_at = held.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let m = |entity: &str, id: &str, f: Value| json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": 0, "hlc": hlc(0, "t"), "fields": f});
    let (s1, s2, s3) = (new_id(), new_id(), new_id());
    let session = |id: &str, hours: f64| {
        m(
            "teaching_session",
            id,
            json!({"region_id": p.village, "child_id": child, "school_id": p.school,
        "teacher_id": teacher.user_id, "held_at": held_at, "class_hours": hours, "lesson_plan_signed": true}),
        )
    };
    let photo = |of: &str| {
        m(
            "photo",
            &new_id(),
            json!({"region_id": p.school, "sha256": "b".repeat(64), "subject_entity": "teaching_session", "subject_id": of, "taken_at": held_at}),
        )
    };
    let r = s.push(&teacher, vec![
        m("child", &child, json!({"region_id": p.village, "school_id": p.school, "name": "赵小雨", "birth_date": "2015-05-05", "enrollment": "home_teaching", "has_student_status": true})),
        m("dropout_document", &new_id(), json!({"region_id": p.village, "child_id": child, "school_id": p.school, "kind": "home_teaching_agreement", "issued_on": day(-40), "issued_by": "school", "by_user_id": teacher.user_id})),
        session(&s1, 2.0), photo(&s1), session(&s2, 1.5), photo(&s2),
    ]);
    assert!(
        r.body["results"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["status"] == "applied")),
        "{}",
        r.text
    );
    let list = s.call(
        "GET",
        &format!("/v1/home-teaching/compliance?month={month}"),
        Some(&officer.access),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        (
            list.body["children"].as_i64(),
            list.body["compliant"].as_i64()
        ),
        (Some(1), Some(0)),
        "{}",
        list.text
    );
    let row = &list.body["items"][0];
    assert_eq!(
        (row["sessions"].as_i64(), row["qualifying"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        row["shortfalls"],
        json!([{"session_id": s2, "reasons": ["too_short"]}])
    );
    let clocks = s.call(
        "GET",
        &format!("/v1/deadlines?kind=home_teaching_month&subject_id={child}&limit=100"),
        Some(&officer.access),
        None,
    );
    let current: Vec<Value> = items(&clocks)
        .into_iter()
        .filter(|d| d["params"]["month"] == month.as_str())
        .collect();
    assert_eq!(current.len(), 1, "{}", clocks.text);
    assert_eq!(current[0]["met_at"], Value::Null);

    // A second full session with its photo: the month complies, and its clock is met.
    let r = s.push(&teacher, vec![session(&s3, 2.5), photo(&s3)]);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    let list = s.call(
        "GET",
        &format!("/v1/home-teaching/compliance?month={month}"),
        Some(&officer.access),
        None,
    );
    assert_eq!(list.body["compliant"], 1, "{}", list.text);
    assert_eq!(
        list.body["items"],
        json!([]),
        "only the short are listed by default"
    );
    let clocks = s.call(
        "GET",
        &format!("/v1/deadlines?kind=home_teaching_month&subject_id={child}&limit=100"),
        Some(&officer.access),
        None,
    );
    let current: Vec<Value> = items(&clocks)
        .into_iter()
        .filter(|d| d["params"]["month"] == month.as_str())
        .collect();
    assert_eq!(
        current[0]["met_at"].as_str().map(|t| t[..19].to_owned()),
        Some(held_at[..19].to_owned()),
        "{}",
        clocks.text
    );
    s.call(
        "GET",
        "/v1/home-teaching/compliance?month=2026-13",
        Some(&officer.access),
        None,
    )
    .assert_problem(422, "validation_failed");
}

#[test]
fn corrections_climb_village_township_county_with_a_clock_at_each_level() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let household = s.register_household(&officer, &p.village);
    let helper = s.device_session("qingshan_helper");
    let id = new_id();
    let r = s.push(&helper, vec![json!({"mutation_id": new_id(), "entity": "correction", "id": id, "base_version": 0, "hlc": hlc(0, "h"),
        "fields": {"region_id": p.village, "household_id": household, "field": "address", "current_value": "三组 12 号", "proposed_value": "三组 14 号", "reason": "门牌已改"}})]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let secretary = s.login("qingshan_secretary");
    let village = of_kind(&work_list(&s, &secretary, "mine"), "correction_review");
    assert_eq!(village.len(), 1);
    assert_eq!(village[0]["params"]["level"], "village");
    assert_eq!(village[0]["term"], "working_days:5");
    let decide = |who: &Session, body: Value| {
        s.call(
            "POST",
            &format!("/v1/corrections/{id}/decision"),
            Some(&who.access),
            Some(body),
        )
    };
    // Not the township's turn yet.
    decide(&officer, json!({"decision": "accept"})).assert_problem(409, "not_at_your_level");
    let ok = decide(&secretary, json!({"decision": "accept"}));
    assert_eq!(ok.body["review_status"], "village_accepted", "{}", ok.text);
    assert!(of_kind(&work_list(&s, &secretary, "mine"), "correction_review").is_empty());
    let township = of_kind(&work_list(&s, &officer, "mine"), "correction_review");
    assert_eq!(township.len(), 1);
    assert_eq!(township[0]["params"]["level"], "township");
    decide(&officer, json!({"decision": "reject"})).assert_problem(422, "validation_failed");
    let no = decide(
        &officer,
        json!({"decision": "reject", "reason": "与户籍登记一致"}),
    );
    assert_eq!(no.body["review_status"], "rejected", "{}", no.text);
    decide(&s.login("county_officer"), json!({"decision": "accept"}))
        .assert_problem(409, "not_at_your_level");
    decide(&helper, json!({"decision": "accept"})).assert_problem(403, "forbidden");
    // The phone learns the outcome.
    let (changes, _) = s.pull_all(&helper, None);
    let c = changes
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("correction pulled");
    assert_eq!(c["fields"]["review_status"], "rejected");
    assert_eq!(c["fields"]["decision_reason"], "与户籍登记一致");
}

#[test]
fn a_rejected_photo_becomes_a_task_on_the_helpers_phone_until_retaken() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let household = s.register_household(&officer, &p.village);
    let helper = s.device_session("qingshan_helper");
    let (visit, photo) = (new_id(), new_id());
    let m = |entity: &str, id: &str, base: i64, node: &str, f: Value| json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": base, "hlc": hlc(0, node), "fields": f});
    let r = s.push(&helper, vec![
        m("visit", &visit, 0, "h", json!({"region_id": p.village, "household_id": household, "helper_id": helper.user_id, "kind": "routine", "visited_at": at(-0.1)})),
        m("photo", &photo, 0, "h", json!({"region_id": p.village, "household_id": household, "sha256": "c".repeat(64), "subject_entity": "visit", "subject_id": visit, "taken_at": at(-0.1)})),
    ]);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    let secretary = s.device_session("qingshan_secretary");
    let backlog = s.call("GET", "/v1/work-list", Some(&secretary.access), None);
    assert_eq!(
        backlog.body["photo_reviews_pending"], 1,
        "the secretary's review backlog: {}",
        backlog.text
    );
    let r = s.push(
        &secretary,
        vec![m(
            "photo",
            &photo,
            1,
            "s",
            json!({"review_status": "rejected", "review_reason": "照片模糊，看不清屋顶"}),
        )],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let task = of_kind(&work_list(&s, &helper, "mine"), "photo_rework");
    assert_eq!(task.len(), 1, "the author has a task");
    assert_eq!(task[0]["params"]["reason"], "照片模糊，看不清屋顶");
    assert_eq!(task[0]["term"], "working_days:3");
    // It is on the phone too.
    let (changes, cursor) = s.pull_all(&helper, None);
    let on_phone: Vec<&Value> = changes
        .iter()
        .filter(|c| c["entity"] == "deadline" && c["fields"]["kind"] == "photo_rework")
        .collect();
    assert_eq!(on_phone.len(), 1, "{changes:?}");
    assert_eq!(
        on_phone[0]["fields"]["params"]["subject_id"],
        visit.as_str()
    );
    // A new picture of the same visit meets it, and the phone hears so.
    // Taken after the rejection (instants travel to the second).
    let r = s.push(&helper, vec![m("photo", &new_id(), 0, "h", json!({"region_id": p.village, "household_id": household, "sha256": "d".repeat(64), "subject_entity": "visit", "subject_id": visit, "taken_at": at(0.0001)}))]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert!(of_kind(&work_list(&s, &helper, "mine"), "photo_rework").is_empty());
    let (changes, _) = s.pull_all(&helper, Some(cursor));
    let met: Vec<&Value> = changes
        .iter()
        .filter(|c| c["entity"] == "deadline")
        .collect();
    assert_eq!(met.len(), 1);
    assert!(met[0]["fields"]["met_at"].is_string(), "{met:?}");
}

#[test]
fn placements_pairs_and_look_backs_run_their_clocks_and_escalate() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let household = s.register_household(&officer, &p.village);
    let helper = s.device_session("qingshan_helper");
    let teacher = s.device_session("school_teacher");
    let m = |entity: &str, f: Value| json!({"mutation_id": new_id(), "entity": entity, "id": new_id(), "base_version": 0, "hlc": hlc(0, "x"), "fields": f});
    let plan = m(
        "employment_plan",
        json!({"region_id": p.village, "household_id": household, "person_name": "王大山", "category": "zero_employment_family",
        "helper_id": helper.user_id, "opened_at": at(-2.0), "agreement_signed_on": day(-2)}),
    );
    let look_back = m(
        "visit",
        json!({"region_id": p.village, "household_id": household, "helper_id": helper.user_id, "kind": "look_back",
        "visited_at": at(-1.0), "basic_needs": {"food": "met", "safe_housing": "not_met"}}),
    );
    let r = s.push(&helper, vec![plan, look_back]);
    assert!(
        r.body["results"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["status"] == "applied")),
        "{}",
        r.text
    );
    let pair = m(
        "pair",
        json!({"region_id": p.village, "school_id": p.school, "teacher_id": teacher.user_id, "child_id": new_id(),
        "program": "four_ones", "difficulty": "learning", "starts_on": day(-21)}),
    );
    let r = s.push(&teacher, vec![pair]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);

    let mine = work_list(&s, &helper, "mine");
    let placement = of_kind(&mine, "employment_placement");
    assert_eq!(placement.len(), 1, "{mine:?}");
    assert_eq!(placement[0]["standing"], "overdue", "24 hours have passed");
    assert_eq!(placement[0]["term"], "hours:24");
    assert!(
        placement[0]["countdown_seconds"]
            .as_i64()
            .is_some_and(|c| c < -86_000)
    );
    let help = of_kind(&mine, "renewed_help");
    assert_eq!(help[0]["params"]["failing"], json!(["safe_housing"]));
    let weekly = of_kind(&work_list(&s, &teacher, "mine"), "pair_session");
    assert!(
        weekly.len() >= 4,
        "weekly talks and study checks owed: {weekly:?}"
    );
    // The township sees its helper's missed placement, escalated to it.
    let team = work_list(&s, &officer, "team");
    let seen = of_kind(&team, "employment_placement");
    assert_eq!(seen.len(), 1, "{team:?}");
    assert_eq!(seen[0]["escalation_level"], 1);
    assert_eq!(seen[0]["escalated_to_region_id"], p.township.as_str());
    assert!(
        of_kind(&work_list(&s, &officer, "mine"), "employment_placement").is_empty(),
        "not the officer's own"
    );

    // Placed (late) and visited again with housing now safe: both clocks met.
    let plan_id = placement[0]["subject_id"]
        .as_str()
        .expect("plan")
        .to_owned();
    let r = s.push(&helper, vec![
        m("employment_event", json!({"region_id": p.village, "plan_id": plan_id, "household_id": household, "kind": "placed", "at": at(-0.5), "by_user_id": helper.user_id, "employer": "县城物流园"})),
        m("visit", json!({"region_id": p.village, "household_id": household, "helper_id": helper.user_id, "kind": "routine", "visited_at": at(-0.2), "basic_needs": {"safe_housing": "met"}})),
    ]);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    let mine = work_list(&s, &helper, "mine");
    assert!(
        of_kind(&mine, "employment_placement").is_empty()
            && of_kind(&mine, "renewed_help").is_empty(),
        "{mine:?}"
    );
    let report = s.call(
        "GET",
        &format!("/v1/deadlines/compliance?from={}&to={}", day(-30), day(30)),
        Some(&officer.access),
        None,
    );
    let placement = report.body["kinds"]
        .as_array()
        .and_then(|k| {
            k.iter()
                .find(|x| x["kind"] == "employment_placement")
                .cloned()
        })
        .expect("kind");
    assert_eq!(
        (
            placement["met_late"].as_i64(),
            placement["met_on_time"].as_i64()
        ),
        (Some(1), Some(0)),
        "{}",
        report.text
    );
}

/// A household visited again and again (the ledger benchmark sends every visit to one)
/// costs the look-back rules only the visits that decide renewed help: its failing
/// look-back and the first later visit that meets it, not its whole history. Reading every
/// visit of the household for each page of the feed made the projector's memory and time
/// grow with the household's history, under every export that ran beside it.
#[test]
fn look_backs_read_the_visits_that_decide_them_not_the_households_history() {
    use bangfu::deadlines::derive::look_back_visits;
    use bangfu::infra::db::Db;
    use bangfu::infra::db::{DbOptions, DbTarget, SqliteSync};

    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let household = s.register_household(&officer, &p.village);
    let quiet = s.register_household(&officer, &p.village);
    let helper = s.device_session("qingshan_helper");
    let visit = |household: &str, kind: &str, when: f64, needs: Value| {
        json!({"mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "x"),
            "fields": {"region_id": p.village, "household_id": household, "helper_id": helper.user_id,
                       "kind": kind, "visited_at": at(when), "basic_needs": needs}})
    };
    let look_back = visit(
        &household,
        "look_back",
        -3.0,
        json!({"food": "met", "safe_housing": "not_met"}),
    );
    let meets = visit(&household, "routine", -1.0, json!({"safe_housing": "met"}));
    let look_back_id = look_back["id"].as_str().unwrap_or_default().to_owned();
    let meets_id = meets["id"].as_str().unwrap_or_default().to_owned();
    let mut all = vec![look_back, meets];
    // Visits before the look-back, and after the one that met it: none of them matter.
    for k in 0..700 {
        let before = -20.0 + f64::from(k) * 0.01;
        all.push(visit(&household, "routine", before, json!({"food": "met"})));
        all.push(visit(&quiet, "routine", before, json!({"food": "met"})));
        let after = -0.9 + f64::from(k) * 0.001;
        all.push(visit(&household, "routine", after, json!({"food": "met"})));
    }
    for batch in all.chunks(500) {
        let r = s.push(&helper, batch.to_vec());
        assert!(
            r.body["results"]
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x["status"] == "applied")),
            "{}",
            r.text
        );
    }
    // A work list brings the projector up to date; the help was met by the later visit.
    let mine = work_list(&s, &helper, "mine");
    assert!(of_kind(&mine, "renewed_help").is_empty(), "{mine:?}");

    let db = Db::connect(&DbOptions {
        target: DbTarget::parse(&s.db.url),
        pool_size: 1,
        sqlite_sync: SqliteSync::Full,
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .expect("db");
    let mut conn = db.conn().expect("conn");
    let read = look_back_visits(&mut conn, &[household.clone(), quiet.clone()]).expect("read");
    let ids: Vec<&str> = read
        .get(&household)
        .map(|(_, vs)| vs.iter().map(|v| v.id.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [look_back_id.as_str(), meets_id.as_str()],
        "of 1402 visits"
    );
    assert!(
        !read.contains_key(&quiet),
        "700 visits, no look-back: none read"
    );
}

#[test]
fn a_visit_campaign_tracks_each_helpers_households() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let p = places(&s, &officer);
    let household = s.register_household(&officer, &p.village);
    let helper = s.device_session("qingshan_helper");
    let r = s.call(
        "PUT",
        &format!("/v1/households/{household}/helpers/{}", helper.user_id),
        Some(&officer.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let body = json!({"region_id": p.township, "kind": "visit", "name": "大走访", "starts_on": day(-3),
        "phases": [{"kind": "training", "name": "培训", "due_on": day(-1)}, {"kind": "visiting", "name": "入户走访", "due_on": day(5)}]});
    let r = s.call("POST", "/v1/campaigns", Some(&officer.access), Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let visits = of_kind(&work_list(&s, &helper, "mine"), "campaign_visits");
    assert_eq!(visits.len(), 1);
    assert_eq!(
        (
            visits[0]["params"]["households"].as_i64(),
            visits[0]["params"]["visited"].as_i64()
        ),
        (Some(1), Some(0))
    );
    // The training phase is overdue on the township's list until marked done.
    assert_eq!(
        of_kind(&work_list(&s, &officer, "mine"), "campaign_phase")[0]["standing"],
        "overdue"
    );
    let r = s.push(&helper, vec![json!({"mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "h"),
        "fields": {"region_id": p.village, "household_id": household, "helper_id": helper.user_id, "kind": "routine", "visited_at": at(-0.1)}})]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert!(
        of_kind(&work_list(&s, &helper, "mine"), "campaign_visits").is_empty(),
        "all visited"
    );
    let progress = s.call(
        "GET",
        &format!("/v1/campaigns/{id}/progress"),
        Some(&officer.access),
        None,
    );
    assert_eq!(
        progress.body["helpers"][0]["id"],
        helper.user_id.as_str(),
        "{}",
        progress.text
    );
    assert_eq!(progress.body["helpers"][0]["ratio"], 1.0);
    assert_eq!(progress.body["villages"][0]["id"], p.village.as_str());
    // Marking a phase done needs the version read.
    let path = format!("/v1/campaigns/{id}/phases/0/complete");
    s.call("POST", &path, Some(&officer.access), None)
        .assert_problem(428, "if_match_required");
    let done = s.call_with(
        "POST",
        &path,
        Some(&officer.access),
        None,
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.body["phases"][0]["completed_at"].is_string());
    s.call_with(
        "POST",
        &path,
        Some(&officer.access),
        None,
        &[("If-Match", "\"2\"")],
    )
    .assert_problem(409, "phase_already_completed");
    assert!(
        of_kind(&work_list(&s, &officer, "mine"), "campaign_phase")
            .iter()
            .all(|d| d["params"]["phase"] != "training")
    );
    // Campaigns are the officers' to run.
    let again = json!({"region_id": p.township, "kind": "visit", "name": "大走访", "starts_on": day(0),
        "phases": [{"kind": "visiting", "name": "走访", "due_on": day(5)}]});
    s.call("POST", "/v1/campaigns", Some(&helper.access), Some(again))
        .assert_problem(403, "forbidden");
    let bad = s.call("POST", "/v1/campaigns", Some(&officer.access), Some(json!({"region_id": p.township, "kind": "dropout", "name": "x", "starts_on": day(0), "phases": []})));
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        ["phases", "phases", "term_starts_on"],
        "every problem at once: {}",
        bad.text
    );
    // Another township's region is the form's field to correct, and says no more than a
    // region that does not exist.
    let hekou = s.login("hekou_officer");
    for region in [p.township.clone(), bangfu_e2e::new_id()] {
        let plan = json!({"region_id": region, "kind": "visit", "name": "大走访", "starts_on": day(0),
            "phases": [{"kind": "visiting", "name": "走访", "due_on": day(5)}]});
        let r = s.call("POST", "/v1/campaigns", Some(&hekou.access), Some(plan));
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "region_id", "{}", r.text);
        assert_eq!(r.body["errors"][0]["code"], "out_of_scope", "{}", r.text);
    }
}

/// One scenario's records: (pushed by the teacher?, mutation).
fn scenario(p: &Places, teacher: &str, helper: &str) -> Vec<(bool, Value)> {
    let (child, case, a1, a2) = (
        "0193b4a0-0000-7000-8000-000000000001",
        "0193b4a0-0000-7000-8000-000000000002",
        "0193b4a0-0000-7000-8000-000000000003",
        "0193b4a0-0000-7000-8000-000000000004",
    );
    let m = |id: &str, entity: &str, f: Value| json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": 0, "hlc": hlc(0, "z"), "fields": f});
    let doc = |n: u32, kind: &str, on: String, extra: Value| {
        let mut f = obj(
            json!({"region_id": p.village, "child_id": child, "case_id": case, "school_id": p.school, "kind": kind, "issued_on": on, "issued_by": "school", "by_user_id": teacher}),
        );
        f.extend(obj(extra));
        (
            true,
            m(
                &format!("0193b4a0-0000-7000-8000-0000000001{n:02}"),
                "dropout_document",
                Value::Object(f),
            ),
        )
    };
    vec![
        (
            true,
            m(
                child,
                "child",
                json!({"region_id": p.village, "school_id": p.school, "name": "周小兰", "birth_date": "2014-04-04", "has_student_status": true, "enrollment": "not_in_school"}),
            ),
        ),
        (
            true,
            m(
                case,
                "dropout_case",
                json!({"region_id": p.village, "child_id": child, "school_id": p.school, "opened_at": at(-30.0), "stage": "penalty", "state": "closed", "outcome": "returned", "closed_at": at(-2.0), "team": [teacher, helper, "0193b4a0-0000-7000-8000-0000000000ff"]}),
            ),
        ),
        doc(1, "enrollment_notice", day(-60), json!({})),
        doc(2, "registration", day(-55), json!({})),
        doc(3, "dropout_confirmation", day(-29), json!({})),
        doc(4, "upward_report", day(-25), json!({})),
        doc(
            5,
            "return_deadline_notice",
            day(-20),
            json!({"deadline_on": day(-13)}),
        ),
        doc(6, "return_confirmation", day(-2), json!({})),
        (
            true,
            m(
                a1,
                "retrieval_attempt",
                json!({"region_id": p.village, "case_id": case, "school_id": p.school, "method": "phone_call", "attempted_at": at(-28.0), "by_user_id": teacher, "party": "school", "result": "refused"}),
            ),
        ),
        (
            false,
            m(
                a2,
                "retrieval_attempt",
                json!({"region_id": p.village, "case_id": case, "school_id": p.school, "method": "home_visit", "attempted_at": at(-26.0), "by_user_id": helper, "party": "village", "result": "refused"}),
            ),
        ),
        (
            false,
            m(
                "0193b4a0-0000-7000-8000-000000000201",
                "photo",
                json!({"region_id": p.village, "sha256": "e".repeat(64), "subject_entity": "retrieval_attempt", "subject_id": a2, "taken_at": at(-26.0)}),
            ),
        ),
        (
            false,
            m(
                "0193b4a0-0000-7000-8000-000000000005",
                "retrieval_attempt",
                json!({"region_id": p.village, "case_id": case, "school_id": p.school, "method": "phone_call", "attempted_at": at(-1.0), "by_user_id": helper, "party": "village", "result": "returned"}),
            ),
        ),
    ]
}

/// The judgement and clocks of the scenario's case, without what moves with the clock
/// (countdowns) or with the number of writes (versions, row ids).
fn outcome(s: &TestServer, who: &Session, p: &Places) -> Value {
    let case = "0193b4a0-0000-7000-8000-000000000002";
    let mut ev = s
        .call(
            "GET",
            &format!("/v1/dropout-cases/{case}/evaluation"),
            Some(&who.access),
            None,
        )
        .body;
    let mut clocks = ev["deadlines"].take();
    for d in clocks.as_array_mut().into_iter().flatten() {
        for k in ["id", "version", "countdown_seconds"] {
            d.as_object_mut().map(|o| o.remove(k));
        }
    }
    // Each server has its own region ids: name them by role.
    let text = json!({"evaluation": ev, "deadlines": clocks})
        .to_string()
        .replace(&p.village, "village")
        .replace(&p.township, "township")
        .replace(&p.school, "school");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn the_same_records_in_any_order_give_the_same_judgement() {
    let mut seen: Option<Value> = None;
    // Orders: as captured, reversed, and two interleavings of the two phones.
    for seed in 0..4u64 {
        let s = TestServer::start();
        let officer = s.login("qingshan_officer");
        let p = places(&s, &officer);
        let teacher = s.device_session("school_teacher");
        let helper = s.device_session("qingshan_helper");
        let mut records = scenario(&p, &teacher.user_id, &helper.user_id);
        match seed {
            0 => {}
            1 => records.reverse(),
            _ => {
                // A fixed pseudo-random shuffle per seed (Fisher–Yates with an LCG).
                let mut x = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                for i in (1..records.len()).rev() {
                    x = x
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    records.swap(i, (x >> 33) as usize % (i + 1));
                }
            }
        }
        for (by_teacher, m) in records {
            let r = s.push(if by_teacher { &teacher } else { &helper }, vec![m]);
            assert_eq!(
                r.body["results"][0]["status"], "applied",
                "seed {seed}: {}",
                r.text
            );
        }
        let got = outcome(&s, &officer, &p);
        assert_eq!(
            got["evaluation"]["close_out"],
            json!({"state": "confirmed", "outcome": "returned"}),
            "seed {seed}: {got}"
        );
        assert_eq!(
            got["evaluation"]["verified_stage"], "return_urged",
            "no penalty decision on file: {got}"
        );
        match &seen {
            None => seen = Some(got),
            Some(first) => assert_eq!(&got, first, "seed {seed} differs"),
        }
    }
}
