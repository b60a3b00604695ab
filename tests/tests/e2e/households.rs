//! The household registry over HTTP: checked registration, no person twice, masked and
//! unmasked reads, lookup by ID number, and assigned helpers whose scope follows the
//! assignment (through the registry and through sync).

use bangfu_e2e::{Session, TestServer, hlc, new_id, resident_id};
use serde_json::{Value, json};

fn household_body(region: &str, id_number: &str, birth: &str) -> Value {
    json!({
        "region_id": region, "address": "青山村三组 12 号", "phone": "13812345678",
        "members": [{"name": "张秀英", "relation": "head", "id_number": id_number,
                     "birth_date": birth, "gender": "female"}],
        "items": [{"category": "farming", "amount_fen": 360000, "year": 2026},
                  {"category": "illness", "amount_fen": 1200000, "year": 2026, "note": "慢性病门诊"}],
    })
}

fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn registration_masks_numbers_and_unmasking_is_for_officers_and_audited() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let (id_number, birth) = resident_id(true);

    let r = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(household_body(&village, &id_number, &birth)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let shown = r.body["members"][0]["id_number"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(shown.len(), 18);
    assert!(shown.contains("********"), "masked: {shown}");
    assert!(
        !r.text.contains(&id_number),
        "the full number never in a plain answer"
    );
    assert_eq!(r.body["phone"], "138****5678");
    assert_eq!(r.body["items"][1]["kind"], "expense");
    assert_eq!(r.body["items"][1]["amount_fen"], 1_200_000);

    // In full only for a stated reason: none, or one that says nothing, is refused.
    for unstated in ["", "&reason=", "&reason=%E3%80%82%20%20"] {
        let r = s.call(
            "GET",
            &format!("/v1/households/{id}?unmask=true{unstated}"),
            Some(&officer.access),
            None,
        );
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "reason", "{}", r.text);
        assert!(!r.text.contains(&id_number));
    }
    let full = s.call(
        "GET",
        &format!("/v1/households/{id}?unmask=true&reason=核对身份信息"),
        Some(&officer.access),
        None,
    );
    assert_eq!(full.status, 200, "{}", full.text);
    assert_eq!(full.body["members"][0]["id_number"], id_number.as_str());
    assert_eq!(full.body["phone"], "13812345678");

    // A helper in the same village reads the household, masked, and may not unmask.
    let helper = s.login("qingshan_helper");
    let seen = s.call(
        "GET",
        &format!("/v1/households/{id}"),
        Some(&helper.access),
        None,
    );
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(!seen.text.contains(&id_number));
    s.call(
        "GET",
        &format!("/v1/households/{id}?unmask=true&reason=核对身份信息"),
        Some(&helper.access),
        None,
    )
    .assert_problem(403, "forbidden");

    // The unmasked read is in the audit trail; the number itself is not.
    let admin = s.login("admin");
    let trail = s.call(
        "GET",
        &format!("/v1/audit?entity=household&entity_id={id}"),
        Some(&admin.access),
        None,
    );
    assert_eq!(trail.status, 200, "{}", trail.text);
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        actions.contains(&"create") && actions.contains(&"unmask"),
        "{actions:?}"
    );
    // One unmasking, the one with a reason, which its entry keeps.
    let unmasks: Vec<&serde_json::Value> = trail.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "unmask")
        .collect();
    assert_eq!(unmasks.len(), 1, "{unmasks:?}");
    assert_eq!(unmasks[0]["reason"], "核对身份信息");
    assert!(!trail.text.contains(&id_number), "{}", trail.text);
}

#[test]
fn every_deficiency_is_listed_and_nothing_is_written() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let township = s.region_id(&officer.access, "530123101");
    let (good, birth) = resident_id(true);
    let mut bad_check = good.clone();
    let last = bad_check.pop().unwrap_or('0');
    bad_check.push(if last == '1' { '2' } else { '1' });

    let body = json!({
        "region_id": township, "address": "", "phone": "12345",
        "members": [
            {"name": "张秀英", "relation": "head", "id_number": good, "birth_date": "1930-01-01", "gender": "male"},
            {"name": "李四", "relation": "head", "id_number": bad_check, "birth_date": birth, "gender": "female"},
        ],
        "items": [{"category": "wages", "amount_fen": -1, "year": 2026}],
    });
    let r = s.call("POST", "/v1/households", Some(&officer.access), Some(body));
    r.assert_problem(422, "validation_failed");
    let got = field_codes(&r.body);
    for want in [
        ("address", "required"),
        ("phone", "invalid_format"),
        ("members", "one_head_required"),
        ("members[0].birth_date", "inconsistent_with_id_number"),
        ("members[0].gender", "inconsistent_with_id_number"),
        ("members[1].id_number", "invalid_check_digit"),
        ("items[0].amount_fen", "out_of_range"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1.to_owned())),
            "missing {want:?} in {got:?}"
        );
    }

    // A township is not a village; the first error the store finds is named.
    let (n, b) = resident_id(true);
    let r = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(household_body(&township, &n, &b)),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&r.body),
        vec![("region_id".into(), "not_a_village".into())]
    );

    let list = s.call("GET", "/v1/households", Some(&officer.access), None);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_person_is_registered_once_even_under_concurrent_attempts() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let (id_number, birth) = resident_id(true);

    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let body = household_body(&village, &id_number, &birth);
                let (s, token) = (&s, officer.access.clone());
                scope.spawn(move || {
                    s.call("POST", "/v1/households", Some(&token), Some(body))
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&c| c == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&c| c == 409).count(),
        7,
        "{statuses:?}"
    );

    // The refusal names the household that holds the person; lookup finds it by number.
    let again = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(household_body(&village, &id_number, &birth)),
    );
    again.assert_problem(409, "person_already_registered");
    let found = s.call(
        "GET",
        &format!("/v1/households?id_number={id_number}"),
        Some(&officer.access),
        None,
    );
    let items = found.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", found.text);
    let holder = items[0]["id"].as_str().unwrap_or_default();
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(holder)
    );

    // Another township's officer finds nothing and cannot read it.
    let hekou = s.login("hekou_officer");
    let r = s.call(
        "GET",
        &format!("/v1/households?id_number={id_number}"),
        Some(&hekou.access),
        None,
    );
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(0));
    s.call(
        "GET",
        &format!("/v1/households/{holder}"),
        Some(&hekou.access),
        None,
    )
    .assert_problem(404, "not_found");
}

fn visit(region: &str, household: &str, helper: &str, notes: &str) -> Value {
    json!({
        "mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "dev"),
        "fields": {"region_id": region, "household_id": household, "helper_id": helper, "kind": "routine",
                   "visited_at": "2026-11-20T09:30:00Z", "notes": notes}
    })
}

fn ids_of(changes: &[Value], entity: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c["entity"] == entity)
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect()
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

#[test]
fn an_assigned_helper_reaches_the_household_and_nothing_else_of_its_village() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.region_id(&county.access, "530123101001");
    let assigned = s.register_household(&county, &qingshan);
    let other = s.register_household(&county, &qingshan);
    let hekou_helper = user_id(&s, &county, "hekou_helper");

    // Before the assignment the helper from another township cannot even see it.
    let phone = s.device_session("hekou_helper");
    s.call(
        "GET",
        &format!("/v1/households/{assigned}"),
        Some(&phone.access),
        None,
    )
    .assert_problem(404, "not_found");
    let early = s.push(
        &phone,
        vec![visit(&qingshan, &assigned, &phone.user_id, "早")],
    );
    assert_eq!(
        early.body["results"][0]["status"], "rejected",
        "{}",
        early.text
    );
    assert_eq!(early.body["results"][0]["problem"]["code"], "out_of_scope");
    // A visit made before the assignment, and a phone already synced past it.
    let local = s.device_session("qingshan_helper");
    let before = visit(&qingshan, &assigned, &local.user_id, "上次走访");
    let r = s.push(&local, vec![before.clone()]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let (seen, cursor) = s.pull_all(&phone, None);
    assert!(ids_of(&seen, "visit").is_empty() && ids_of(&seen, "household").is_empty());

    let r = s.call(
        "PUT",
        &format!("/v1/households/{assigned}/helpers/{hekou_helper}"),
        Some(&county.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["helper_ids"], json!([hekou_helper]));

    // The next pull from the old cursor brings the household and its earlier visit.
    let (changes, _) = s.pull_all(&phone, Some(cursor));
    assert_eq!(ids_of(&changes, "household"), vec![assigned.clone()]);
    assert_eq!(
        ids_of(&changes, "visit"),
        vec![before["id"].as_str().unwrap_or_default().to_owned()]
    );

    // A village helper's visit to each household: the assigned one reaches the helper.
    let on_assigned = visit(&qingshan, &assigned, &local.user_id, "屋顶已修");
    let on_other = visit(&qingshan, &other, &local.user_id, "别家");
    let r = s.push(&local, vec![on_assigned.clone(), on_other.clone()]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);

    // The assigned helper now pushes visits to it and pulls it as reference data.
    let mine = visit(&qingshan, &assigned, &phone.user_id, "入户走访");
    let r = s.push(&phone, vec![mine.clone()]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    // (From scratch, today's work comes first and again with the history.)
    let (changes, _) = s.pull_all(&phone, None);
    let mut households = ids_of(&changes, "household");
    households.dedup();
    assert_eq!(households, vec![assigned.clone()]);
    let visits = ids_of(&changes, "visit");
    assert!(visits.contains(&on_assigned["id"].as_str().unwrap_or_default().to_owned()));
    assert!(visits.contains(&mine["id"].as_str().unwrap_or_default().to_owned()));
    assert!(
        !visits.contains(&on_other["id"].as_str().unwrap_or_default().to_owned()),
        "a visit to an unassigned household of the village must not reach the helper"
    );
    let household = changes
        .iter()
        .find(|c| c["entity"] == "household")
        .expect("household");
    assert!(
        household["fields"]["members"][0]["id_number"]
            .as_str()
            .is_some_and(|n| n.contains("****")),
        "devices get masked numbers: {household}"
    );

    // Released, the helper may no longer write to it.
    let r = s.call(
        "DELETE",
        &format!("/v1/households/{assigned}/helpers/{hekou_helper}"),
        Some(&county.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let phone = s.device_session("hekou_helper");
    let late = s.push(
        &phone,
        vec![visit(&qingshan, &assigned, &phone.user_id, "晚")],
    );
    assert_eq!(
        late.body["results"][0]["problem"]["code"], "out_of_scope",
        "{}",
        late.text
    );
}

#[test]
fn visits_name_a_registered_household_of_their_own_region() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.region_id(&county.access, "530123101001");
    let shiqiao = s.region_id(&county.access, "530123101002");
    let household = s.register_household(&county, &qingshan);
    let phone = s.device_session("qingshan_officer");

    let r = s.push(
        &phone,
        vec![
            visit(&qingshan, &new_id(), &phone.user_id, "无此户"),
            visit(&shiqiao, &household, &phone.user_id, "错村"),
            visit(&qingshan, &household, &phone.user_id, "正确"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let res = &r.body["results"];
    assert_eq!(res[0]["status"], "rejected");
    assert_eq!(res[0]["problem"]["errors"][0]["field"], "household_id");
    assert_eq!(res[0]["problem"]["errors"][0]["code"], "not_found");
    assert_eq!(res[1]["status"], "rejected");
    assert_eq!(res[1]["problem"]["errors"][0]["field"], "region_id");
    assert_eq!(
        res[1]["problem"]["errors"][0]["code"],
        "household_elsewhere"
    );
    assert_eq!(res[2]["status"], "applied", "{}", r.text);
}

#[test]
fn a_school_s_teacher_reaches_its_pupils_in_the_villages_it_serves() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    // 石桥村 lies in 青山镇, whose central school the pupil attends; 河口村 does not.
    let shiqiao = s.region_id(&county.access, "530123101002");
    let elsewhere = s.region_id(&county.access, "530123102001");
    let school = s.region_id(&county.access, "2153012301");
    let officer = s.device_session("qingshan_officer");
    let pupil = new_id();
    let stranger = new_id();
    let child_in = |region: &str, id: &str, school_id: Option<&str>| {
        let mut fields = json!({"region_id": region, "name": "小明", "birth_date": "2014-03-01",
                                "enrollment": "not_in_school"});
        if let Some(sc) = school_id {
            fields["school_id"] = json!(sc);
        }
        json!({"mutation_id": new_id(), "entity": "child", "id": id, "base_version": 0,
               "hlc": hlc(0, "o"), "fields": fields})
    };
    let child = |id: &str, school_id: Option<&str>| child_in(&shiqiao, id, school_id);
    let r = s.push(
        &officer,
        vec![
            child(&pupil, Some(&school)),
            child(&stranger, None),
            child(&new_id(), Some(&shiqiao)),
        ],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    assert_eq!(
        r.body["results"][2]["problem"]["errors"][0]["code"], "not_found",
        "a village is not a school: {}",
        r.text
    );
    // A child of another township cannot be put into this school's view.
    let other_officer = s.device_session("hekou_officer");
    let r = s.push(
        &other_officer,
        vec![child_in(&elsewhere, &new_id(), Some(&school))],
    );
    assert_eq!(
        r.body["results"][0]["problem"]["errors"][0]["code"], "school_elsewhere",
        "{}",
        r.text
    );

    // The teacher (whose region is the school) receives the pupil, not the other child, and
    // records a retrieval attempt on the pupil's case.
    let teacher = s.device_session("school_teacher");
    let (changes, _) = s.pull_all(&teacher, None);
    let children = ids_of(&changes, "child");
    assert_eq!(children, vec![pupil.clone()], "{changes:?}");
    let case = new_id();
    let r = s.push(
        &teacher,
        vec![
            json!({"mutation_id": new_id(), "entity": "dropout_case", "id": case, "base_version": 0, "hlc": hlc(0, "t"),
                   "fields": {"region_id": shiqiao, "child_id": pupil, "school_id": school,
                              "opened_at": "2026-09-08T08:00:00Z", "stage": "persuasion", "state": "open"}}),
            json!({"mutation_id": new_id(), "entity": "retrieval_attempt", "id": new_id(), "base_version": 0, "hlc": hlc(0, "t"),
                   "fields": {"region_id": shiqiao, "case_id": case, "school_id": school, "method": "home_visit",
                              "attempted_at": "2026-11-20T15:00:00Z", "by_user_id": teacher.user_id, "result": "promised"}}),
            json!({"mutation_id": new_id(), "entity": "dropout_case", "id": new_id(), "base_version": 0, "hlc": hlc(0, "t"),
                   "fields": {"region_id": shiqiao, "child_id": stranger,
                              "opened_at": "2026-09-08T08:00:00Z", "stage": "persuasion", "state": "open"}}),
        ],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(r.body["results"][1]["status"], "applied", "{}", r.text);
    assert_eq!(
        r.body["results"][2]["problem"]["code"], "out_of_scope",
        "without the school the case is the village's alone: {}",
        r.text
    );
    // The village side sees what the teacher recorded.
    let (changes, _) = s.pull_all(&officer, None);
    assert!(ids_of(&changes, "dropout_case").contains(&case));
}

#[test]
fn likely_duplicates_become_pairs_an_officer_settles() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let born = chrono::NaiveDate::from_ymd_opt(1952, 3, 8).expect("date");
    let register = |name: &str, id: (String, String), address: &str, phone: &str| {
        let r = s.call(
            "POST",
            "/v1/households",
            Some(&officer.access),
            Some(
                json!({"region_id": village, "address": address, "phone": phone,
                        "members": [{"name": name, "relation": "head", "id_number": id.0,
                                     "birth_date": id.1, "gender": "female"}]}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_owned()
    };
    let first = register(
        "王桂兰",
        bangfu_e2e::resident_id_born(born, true),
        "二组 3 号",
        "13900000001",
    );
    // Same name and birth date at the same address, another number: a typo or a second
    // registration. Another person sharing the first one's phone.
    let second = register(
        "王桂兰",
        bangfu_e2e::resident_id_born(born, true),
        "二组3号",
        "13900000002",
    );
    let third = register("李秀珍", resident_id(true), "五组 1 号", "13900000001");
    register("赵小红", resident_id(true), "六组 2 号", "13900000003");

    let list = |token: &str| s.call("GET", "/v1/duplicate-candidates", Some(token), None);
    let r = list(&officer.access);
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{}", r.text);
    let by_household = |h: &str| {
        items
            .iter()
            .find(|i| i["b"]["household_id"] == h)
            .cloned()
            .unwrap_or_else(|| panic!("no pair for {h}: {}", r.text))
    };
    let typo = by_household(&second);
    assert_eq!(typo["a"]["household_id"], first.as_str());
    assert_eq!(typo["reasons"], json!(["name_birth_date", "name_address"]));
    assert!(
        typo["a"]["id_number"]
            .as_str()
            .is_some_and(|n| n.contains("****"))
    );
    let phone = by_household(&third);
    assert_eq!(phone["reasons"], json!(["phone"]));

    // Helpers do not settle pairs; another township does not see them.
    s.call(
        "GET",
        "/v1/duplicate-candidates",
        Some(&s.login("qingshan_helper").access),
        None,
    )
    .assert_problem(403, "forbidden");
    let other = list(&s.login("hekou_officer").access);
    assert_eq!(other.body["items"].as_array().map(Vec::len), Some(0));

    let decide = |id: &Value, body: Value| {
        s.call(
            "POST",
            &format!(
                "/v1/duplicate-candidates/{}/decision",
                id.as_str().unwrap_or_default()
            ),
            Some(&officer.access),
            Some(body),
        )
    };
    let r = decide(&phone["id"], json!({"decision": "distinct"}));
    assert_eq!(r.body["status"], "distinct", "{}", r.text);
    decide(&typo["id"], json!({"decision": "merge"})).assert_problem(422, "validation_failed");
    let r = decide(&typo["id"], json!({"decision": "merge", "keep": "a"}));
    assert_eq!(r.body["status"], "merged", "{}", r.text);
    assert_eq!(r.body["removed_member_id"], typo["b"]["member_id"]);
    decide(&typo["id"], json!({"decision": "distinct"})).assert_problem(409, "already_decided");
    let gone = s.call(
        "GET",
        &format!("/v1/households/{second}"),
        Some(&officer.access),
        None,
    );
    assert_eq!(gone.body["status"], "merged", "{}", gone.text);
    assert_eq!(gone.body["members"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        list(&officer.access).body["items"].as_array().map(Vec::len),
        Some(0)
    );
    // The household merged away has no head: the unmasked ledger still lists it, whole.
    let ledger = s
        .client
        .get(s.url("/v1/ledgers/households?format=csv&unmask=true&reason=核对身份信息"))
        .bearer_auth(&officer.access)
        .send()
        .expect("ledger");
    assert_eq!(ledger.status(), 200);
    let text = ledger.text().expect("the whole export");
    let merged: Vec<&str> = text.lines().filter(|l| l.contains(&second)).collect();
    assert_eq!(merged.len(), 1, "{text}");
    assert!(merged[0].contains(",二组3号,,,"), "no head: {text}");
}

/// `EXPLAIN (FORMAT JSON)` of a query, run with the query's own binds.
struct Explain<Q>(Q);

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Explain<Q>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (FORMAT JSON) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> diesel::query_builder::QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = diesel::sql_types::Text;
}

impl<Q> diesel::RunQueryDsl<diesel::PgConnection> for Explain<Q> {}

/// The scans of the registry's tables in a plan that read more than an index condition
/// selects: sequential scans, and index scans without a condition (a whole index read in
/// order, which is what `enable_seqscan = off` leaves when no index answers).
fn whole_table_scans(plan: &Value, found: &mut Vec<String>) {
    let relation = plan["Relation Name"].as_str().unwrap_or_default();
    let node = plan["Node Type"].as_str().unwrap_or_default();
    if ["household_members", "households"].contains(&relation) {
        let bounded = match node {
            "Index Scan" | "Index Only Scan" => plan.get("Index Cond").is_some(),
            "Bitmap Heap Scan" => true,
            _ => false,
        };
        if !bounded {
            found.push(format!("{node} on {relation}"));
        }
    }
    if node == "Bitmap Index Scan" && plan.get("Index Cond").is_none() {
        found.push(format!(
            "{node} using {}",
            plan["Index Name"].as_str().unwrap_or_default()
        ));
    }
    for p in plan["Plans"].as_array().into_iter().flatten() {
        whole_table_scans(p, found);
    }
}

fn scans_of<Q>(conn: &mut diesel::PgConnection, q: Q) -> Vec<String>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    use diesel::RunQueryDsl;
    let json: String = Explain(q).get_result(conn).expect("explain");
    let plan: Value = serde_json::from_str(&json).expect("plan as JSON");
    let mut found = Vec::new();
    whole_table_scans(&plan[0]["Plan"], &mut found);
    found
}

#[test]
fn registration_duplicate_lookups_are_answered_by_index() {
    use bangfu::households::duplicates::lookups;
    use bangfu::households::queries::{HouseholdRow, MemberRow};
    use bangfu::infra::db::schema::{household_members, households};
    use bangfu_e2e::{Backend, TestDb, backend};
    use diesel::prelude::*;

    if backend() != Backend::Postgres {
        bangfu_e2e::skip("reads PostgreSQL's plans: runs in the PostgreSQL pass");
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let mut migrating = bangfu::infra::db::DbConn::establish(&db.url).expect("connect");
    bangfu::infra::db::migrate::run_pending(&mut migrating).expect("migrate");
    let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .expect("set");
    // A household of two, as registration passes them.
    let names = ["张伟", "王秀英"];
    let dates = ["1980-03-04", "1982-11-30"];
    let phones = ["13812345678", "13900001111"];
    let new = "0193a0d0-0000-7000-8000-000000000001";
    let region = "0193a0d0-0000-7000-8000-000000000002";
    let rows = (MemberRow::as_select(), HouseholdRow::as_select());
    let lookups = [
        (
            "name and birth date",
            scans_of(
                &mut conn,
                lookups::name_birth_date(&names, &dates, new).select(rows),
            ),
        ),
        (
            "name at the address",
            scans_of(
                &mut conn,
                lookups::name_address(&names, region, "二组3号", new).select(rows),
            ),
        ),
        (
            "member phone",
            scans_of(&mut conn, lookups::member_phone(&phones, new).select(rows)),
        ),
        (
            "household phone",
            scans_of(
                &mut conn,
                lookups::household_phone(&phones, new).select(rows),
            ),
        ),
    ];
    for (what, scans) in &lookups {
        assert!(scans.is_empty(), "{what} reads whole tables: {scans:?}");
    }
    // The check catches what the phone lookups replaced: one OR over both tables' phones.
    let either_phone = household_members::table
        .inner_join(households::table)
        .filter(
            household_members::phone
                .eq_any(&phones)
                .or(households::phone.eq_any(&phones)),
        )
        .filter(households::id.ne(new))
        .select(rows);
    assert!(
        !scans_of(&mut conn, either_phone).is_empty(),
        "an OR across both tables' phones is answered by reading them whole"
    );
}
