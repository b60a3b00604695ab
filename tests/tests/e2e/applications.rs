//! Run at most once, end to end: a mini-program applicant signs in through a stand-in
//! WeChat, files once through a retry storm, gets every deficiency in one answer, completes,
//! is reviewed at each level, waits out a public notice over a holiday week, is approved and
//! filed; a returned application comes back as a linked new version.

use bangfu::domain::calendar::{Calendar, YearSchedule};
use bangfu_e2e::{FakeWechat, Reply, TestDb, TestServer, backend, resident_id};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};
use sha2::Digest;

pub(crate) fn start() -> TestServer {
    let wechat = FakeWechat::start();
    TestServer::start_configured(TestDb::new(backend()), |c| wechat.configure(c))
}

fn sign_in(s: &TestServer, code: &str) -> Reply {
    s.call("POST", "/v1/auth/wechat", None, Some(json!({"code": code})))
}

pub(crate) fn applicant(s: &TestServer, name: &str) -> String {
    let r = sign_in(s, &format!("ok-{name}"));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().expect("token").to_owned()
}

pub(crate) fn program(s: &TestServer, code: &str) -> Value {
    let r = s.call("GET", "/v1/programs", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["code"] == code))
        .cloned()
        .unwrap_or_else(|| panic!("program {code}: {}", r.text))
}

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Uploads a small PDF for the checklist item as the applicant and names it as a material.
pub(crate) fn material(s: &TestServer, token: &str, code: &str) -> Value {
    let bytes = format!("%PDF-1.4\n% {code} {}\n%%EOF\n", bangfu_e2e::new_id()).into_bytes();
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    let r = s.call(
        "POST",
        "/v1/uploads",
        Some(token),
        Some(json!({"sha256": digest, "size": bytes.len(), "kind": "document", "file_name": format!("{code}.pdf")})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("upload id");
    let done = s
        .client
        .patch(s.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(bytes)
        .send()
        .expect("patch");
    assert!(
        done.status().is_success(),
        "upload {code}: {}",
        done.status()
    );
    json!({"code": code, "sha256": digest, "file_name": format!("{code}.pdf")})
}

pub(crate) fn body(
    program: &Value,
    village: &str,
    id: &(String, String),
    materials: Vec<Value>,
) -> Value {
    json!({
        "program_id": program["id"], "region_id": village,
        "form": {"address": "青山村三组 12 号", "phone": "13812345678",
                 "members": [{"name": "张秀英", "relation": "head", "id_number": id.0,
                              "birth_date": id.1, "gender": "female"}],
                 "items": [{"category": "farming", "amount_fen": 360000, "year": 2026},
                           {"category": "illness", "amount_fen": 1200000, "year": 2026}],
                 "situations": ["illness"]},
        "materials": materials,
    })
}

fn codes(r: &Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["field"].as_str().unwrap_or(""),
                        e["code"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Marks the seven days after `today` as public holidays, as a published schedule would.
fn holiday_week(s: &TestServer, officer: &str, today: NaiveDate) -> Calendar {
    let mut by_year: std::collections::BTreeMap<i32, Vec<NaiveDate>> = Default::default();
    for i in 1..=7 {
        let d = today + Duration::days(i);
        by_year.entry(d.year()).or_default().push(d);
    }
    let mut cal = Calendar::default();
    for (year, holidays) in by_year {
        let schedule = YearSchedule {
            year,
            holidays,
            makeup_workdays: vec![],
        };
        let r = s.call(
            "PUT",
            &format!("/v1/calendar/{year}"),
            Some(officer),
            Some(serde_json::to_value(&schedule).expect("json")),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        cal.load(&schedule).expect("schedule");
    }
    cal
}

#[test]
fn programs_are_public_and_applicants_sign_in_through_wechat() {
    let s = start();
    let p = program(&s, "worker_hardship");
    let codes_listed: Vec<&str> = p["checklist"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(codes_listed.contains(&"id_cards") && codes_listed.contains(&"diagnosis"));

    sign_in(&s, "used-or-forged").assert_problem(401, "wechat_code_invalid");
    let first = sign_in(&s, "ok-zhang");
    let again = sign_in(&s, "ok-zhang");
    assert_eq!(first.body["applicant_id"], again.body["applicant_id"]);
    assert_ne!(
        first.body["applicant_id"],
        sign_in(&s, "ok-li").body["applicant_id"]
    );
    // The same person in the mobile app is the same applicant (WeChat's unionid).
    let app = s.call(
        "POST",
        "/v1/auth/wechat",
        None,
        Some(json!({"code": "ok-zhang", "channel": "app"})),
    );
    assert_eq!(app.status, 200, "{}", app.text);
    assert_eq!(app.body["applicant_id"], first.body["applicant_id"]);
    s.call(
        "POST",
        "/v1/auth/wechat",
        None,
        Some(json!({"code": "bad", "channel": "app"})),
    )
    .assert_problem(401, "wechat_code_invalid");

    // An applicant's token is not a staff token, and the other way round.
    let token = first.body["access_token"].as_str().unwrap_or_default();
    s.call("GET", "/v1/me", Some(token), None)
        .assert_problem(401, "token_invalid");
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    s.call(
        "POST",
        "/v1/applications",
        Some(&officer.access),
        Some(body(&p, &village, &resident_id(true), vec![])),
    )
    .assert_problem(401, "token_invalid");
}

#[test]
fn an_applicant_files_once_is_reviewed_waits_out_the_notice_and_is_filed() {
    let s = start();
    let p = program(&s, "worker_hardship");
    let county = s.login("county_officer");
    let village = s.region_id(&county.access, "530123101001");
    let me = applicant(&s, "zhang");
    let person = resident_id(true);

    // A retry storm: twenty identical creations at once make one application.
    let incomplete = body(
        &p,
        &village,
        &(person.0.clone(), "1930-01-01".into()),
        // A material named but never uploaded.
        vec![
            material(&s, &me, "id_cards"),
            json!({"code": "income_proof", "sha256": SHA, "file_name": "income.pdf"}),
        ],
    );
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (s, me, b) = (&s, me.clone(), incomplete.clone());
                scope.spawn(move || s.call("POST", "/v1/applications", Some(&me), Some(b)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_problem(409, "application_already_open");
    }
    let id = created[0].body["id"].as_str().expect("id").to_owned();
    assert_eq!(created[0].body["status"], "draft");
    assert!(
        !created[0].text.contains(&person.0),
        "numbers are masked in answers"
    );

    // Submitting the incomplete draft lists every deficiency at once.
    let r = s.call(
        "POST",
        &format!("/v1/applications/{id}/submit"),
        Some(&me),
        None,
    );
    r.assert_problem(422, "validation_failed");
    let got = codes(&r);
    for want in [
        "form.members[0].birth_date:inconsistent_with_id_number",
        "materials.household_register:material_missing",
        "materials[1].sha256:material_not_uploaded",
        "materials.diagnosis:material_missing",
    ] {
        assert!(got.iter().any(|g| g == want), "missing {want} in {got:?}");
    }
    assert!(
        !got.iter().any(|g| g.starts_with("materials.enrolment")),
        "{got:?}"
    );

    // Completed, then submitted twenty times at once: one submission.
    let complete = body(
        &p,
        &village,
        &person,
        [
            "id_cards",
            "household_register",
            "income_proof",
            "diagnosis",
        ]
        .iter()
        .map(|c| material(&s, &me, c))
        .collect(),
    );
    let r = s.call(
        "PUT",
        &format!("/v1/applications/{id}"),
        Some(&me),
        Some(complete.clone()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let submits: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (s, me, id) = (&s, me.clone(), id.clone());
                scope.spawn(move || {
                    s.call(
                        "POST",
                        &format!("/v1/applications/{id}/submit"),
                        Some(&me),
                        None,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for r in &submits {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], "grassroots_review");
    }
    let versions: std::collections::BTreeSet<i64> = submits
        .iter()
        .filter_map(|r| r.body["version"].as_i64())
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "one submission, seen by every retry: {versions:?}"
    );
    assert!(submits[0].body["next_step"]["zh"].as_str().is_some());
    assert!(submits[0].body["step_due_on"].as_str().is_some());
    // Reviewers read the materials in their jurisdiction; nobody else does.
    let doc = complete["materials"][0]["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!("/v1/applications/{id}/materials/{doc}");
    let officer_view = s
        .client
        .get(s.url(&path))
        .bearer_auth(&county.access)
        .send()
        .expect("get");
    assert_eq!(officer_view.status().as_u16(), 200);
    assert_eq!(
        officer_view
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    assert!(officer_view.bytes().expect("bytes").starts_with(b"%PDF-"));
    s.call("GET", &path, Some(&s.login("hekou_officer").access), None)
        .assert_problem(404, "not_found");
    s.call(
        "GET",
        &format!("/v1/applications/{id}/materials/{SHA}"),
        Some(&me),
        None,
    )
    .assert_problem(404, "not_found");
    let mine = s.call("GET", "/v1/applications", Some(&me), None);
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1));

    // Grassroots review, then county review; another township cannot touch it.
    let decide = |token: &str, action: Value| {
        s.call(
            "POST",
            &format!("/v1/applications/{id}/decisions"),
            Some(token),
            Some(action),
        )
    };
    let hekou = s.login("hekou_officer");
    decide(&hekou.access, json!({"action": "pass"})).assert_problem(404, "not_found");
    decide(&county.access, json!({"action": "pass"})).assert_problem(403, "not_your_step");
    let secretary = s.login("qingshan_secretary");
    // The hand-over clock is on the village's work list.
    let list = s.call("GET", "/v1/work-list", Some(&secretary.access), None);
    let steps: Vec<&Value> = list.body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|d| d["subject_id"] == id.as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(steps.len(), 1, "{}", list.text);
    assert_eq!(steps[0]["params"]["step"], "grassroots_review");
    assert_eq!(steps[0]["term"], "working_days:5");
    let r = decide(&secretary.access, json!({"action": "pass"}));
    assert_eq!(r.body["status"], "county_review", "{}", r.text);
    decide(&secretary.access, json!({"action": "pass"})).assert_problem(403, "not_your_step");

    // On notice for five working days, over a holiday week.
    let today = s.clock().today();
    let cal = holiday_week(&s, &county.access, today);
    let r = decide(&county.access, json!({"action": "pass"}));
    assert_eq!(r.body["status"], "in_notice", "{}", r.text);
    let ends = bangfu::applications::rules::notice_ends_on(&cal, today, 5);
    let plain = bangfu::applications::rules::notice_ends_on(&Calendar::default(), today, 5);
    assert_eq!(r.body["notice_ends_on"], ends.to_string());
    // Each step of the entry process is a clock: the reviews met, the notice counting down
    // to its last day.
    let clocks = s.call(
        "GET",
        &format!("/v1/deadlines?subject_entity=application&subject_id={id}"),
        Some(&county.access),
        None,
    );
    let steps: Vec<(String, bool)> = clocks.body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["params"]["step"].as_str().unwrap_or_default().to_owned(),
                        d["met_at"].is_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        steps,
        [
            ("grassroots_review".to_owned(), true),
            ("county_review".to_owned(), true),
            ("public_notice".to_owned(), false)
        ],
        "{}",
        clocks.text
    );
    assert!(
        clocks.body["items"][2]["due_at"]
            .as_str()
            .is_some_and(|d| d.starts_with(&(ends).to_string())),
        "{}",
        clocks.text
    );
    assert!(
        ends > plain + Duration::days(4),
        "the holidays lengthen the notice"
    );
    decide(
        &county.access,
        json!({"action": "approve", "category": "relative"}),
    )
    .assert_problem(409, "notice_not_over");
    let r = decide(&county.access, json!({"action": "submit"}));
    r.assert_problem(422, "validation_failed");
    assert_eq!(codes(&r), vec!["action:invalid_value".to_owned()]);

    // The notice runs out (time passes), and the county approves: a file is opened.
    s.advance(Duration::days((ends - today).num_days() + 1));
    let r = decide(
        &county.access,
        json!({"action": "approve", "category": "relative"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "approved");
    let household = r.body["household_id"]
        .as_str()
        .expect("household")
        .to_owned();
    assert!(r.body["case_file_id"].as_str().is_some());
    decide(&county.access, json!({"action": "approve"})).assert_problem(409, "illegal_transition");
    let h = s.call(
        "GET",
        &format!("/v1/households/{household}"),
        Some(&county.access),
        None,
    );
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body["members"][0]["name"], "张秀英");

    // Paid once, however many officers press the button at the same moment.
    let file = r.body["case_file_id"].as_str().expect("file").to_owned();
    let pay = |period: &str| {
        s.call(
            "POST",
            &format!("/v1/case-files/{file}/disbursements"),
            Some(&county.access),
            Some(json!({"kind": "living", "amount_fen": 72000, "period": period})),
        )
    };
    let same: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| pay("2026-01").status))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(same.iter().filter(|&&c| c == 201).count(), 1, "{same:?}");
    assert!(same.iter().all(|&c| c == 201 || c == 409), "{same:?}");
    pay("2026-01").assert_problem(409, "already_paid");
    // Relative difficulty: living aid up to 80 % of 12 months' dibao (72,000 fen a month
    // here), 691,200 fen a year: of eleven more months paid at once, eight fit.
    let months: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (2..=12)
            .map(|m| {
                let pay = &pay;
                scope.spawn(move || pay(&format!("2026-{m:02}")).status)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        months.iter().filter(|&&c| c == 201).count(),
        8,
        "{months:?}"
    );
    let listed = s.call(
        "GET",
        &format!("/v1/case-files/{file}/disbursements"),
        Some(&county.access),
        None,
    );
    let total: i64 = listed.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["amount_fen"].as_i64()).sum())
        .unwrap_or(0);
    assert_eq!(total, 9 * 72000, "{}", listed.text);
    // The database itself holds both lines, whatever code writes to it.
    s.db.execute("UPDATE aid_totals SET total_fen = cap_fen + 1")
        .expect_err("a total over its cap");
    s.db.execute(
        "INSERT INTO disbursements (id, file_id, kind, year, period, amount_fen, approval, region_path, created_at) \
         SELECT 'again', file_id, kind, year, period, amount_fen, approval, region_path, created_at FROM disbursements",
    )
    .expect_err("a second payment for a paid period");
    let medical = s.call(
        "POST",
        &format!("/v1/case-files/{file}/disbursements"),
        Some(&county.access),
        Some(json!({"kind": "medical", "amount_fen": 100000, "period": "2026", "out_of_pocket_fen": 500000})),
    );
    medical.assert_problem(422, "validation_failed");
    assert!(
        codes(&medical).contains(&"amount_fen:single_aid_only".to_owned()),
        "{}",
        medical.text
    );

    // The applicant sees where it stands; a second file in the program is refused.
    let seen = s.call("GET", &format!("/v1/applications/{id}"), Some(&me), None);
    assert_eq!(seen.body["status"], "approved");
    assert_eq!(seen.body["household_id"], household.as_str());
    let again = s.call(
        "POST",
        "/v1/applications",
        Some(&me),
        Some(body(
            &p,
            &village,
            &person,
            [
                "id_cards",
                "household_register",
                "income_proof",
                "diagnosis",
            ]
            .iter()
            .map(|c| material(&s, &me, c))
            .collect(),
        )),
    );
    assert_eq!(again.status, 201, "{}", again.text);
    let second = again.body["id"].as_str().unwrap_or_default();
    let r = s.call(
        "POST",
        &format!("/v1/applications/{second}/submit"),
        Some(&me),
        None,
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        codes(&r),
        vec!["form.members[0].id_number:already_filed".to_owned()]
    );
}

#[test]
fn a_returned_application_comes_back_as_a_linked_version_and_accidents_take_the_fast_track() {
    let s = start();
    let p = program(&s, "accidental_aid");
    let county = s.login("county_officer");
    let village = s.region_id(&county.access, "530123101001");
    let me = applicant(&s, "wang");
    let person = resident_id(true);
    let materials: Vec<Value> = ["id_cards", "accident_proof", "expense_receipts"]
        .iter()
        .map(|c| material(&s, &me, c))
        .collect();
    let r = s.call(
        "POST",
        "/v1/applications",
        Some(&me),
        Some(body(&p, &village, &person, materials)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let r = s.call(
        "POST",
        &format!("/v1/applications/{id}/submit"),
        Some(&me),
        None,
    );
    assert_eq!(r.body["status"], "grassroots_review", "{}", r.text);

    let secretary = s.login("qingshan_secretary");
    let decide = |id: &str, action: Value| {
        s.call(
            "POST",
            &format!("/v1/applications/{id}/decisions"),
            Some(&secretary.access),
            Some(action),
        )
    };
    decide(&id, json!({"action": "return"})).assert_problem(422, "validation_failed");
    let r = decide(
        &id,
        json!({"action": "return", "correction_workdays": 5, "deficiencies": [
            {"field": "materials.accident_proof", "code": "unreadable", "message": "事故证明照片模糊"},
            {"field": "form.items[0].amount_fen", "code": "inconsistent", "message": "收入与证明不符"}]}),
    );
    assert_eq!(r.body["status"], "returned", "{}", r.text);
    assert!(r.body["correction_due_on"].as_str().is_some());

    let seen = s.call("GET", &format!("/v1/applications/{id}"), Some(&me), None);
    assert_eq!(seen.body["deficiencies"].as_array().map(Vec::len), Some(2));
    assert!(
        seen.body["next_step"]["en"]
            .as_str()
            .unwrap_or("")
            .contains("Correct every")
    );
    s.call(
        "POST",
        &format!("/v1/applications/{id}/submit"),
        Some(&me),
        None,
    )
    .assert_problem(409, "application_not_editable");

    let r = s.call(
        "POST",
        &format!("/v1/applications/{id}/revise"),
        Some(&me),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.body["previous_id"], id.as_str());
    let v2 = r.body["id"].as_str().expect("id").to_owned();
    let old = s.call("GET", &format!("/v1/applications/{id}"), Some(&me), None);
    assert_eq!(old.body["status"], "superseded");
    let r = s.call(
        "POST",
        &format!("/v1/applications/{v2}/submit"),
        Some(&me),
        None,
    );
    assert_eq!(r.body["status"], "grassroots_review", "{}", r.text);

    // Accidental difficulty: the grassroots pass puts it on notice at once.
    let r = decide(&v2, json!({"action": "pass"}));
    assert_eq!(r.body["status"], "in_notice", "{}", r.text);

    // Rejection needs its reason and closes the application.
    let r = s.call(
        "POST",
        &format!("/v1/applications/{v2}/decisions"),
        Some(&county.access),
        Some(json!({"action": "reject"})),
    );
    r.assert_problem(422, "validation_failed");
    let r = s.call(
        "POST",
        &format!("/v1/applications/{v2}/decisions"),
        Some(&county.access),
        Some(json!({"action": "reject", "reason": "公示期间收到实名异议，经核实收入超标"})),
    );
    assert_eq!(r.body["status"], "rejected", "{}", r.text);
    assert_eq!(
        r.body["decision_reason"],
        "公示期间收到实名异议，经核实收入超标"
    );
}

/// A deep-difficulty file approved for a new applicant in 青山村: (file id, county officer).
pub(crate) fn approved_file(s: &TestServer, name: &str) -> (String, bangfu_e2e::Session) {
    let p = program(s, "worker_hardship");
    let county = s.login("county_officer");
    let village = s.region_id(&county.access, "530123101001");
    let me = applicant(s, name);
    let materials = [
        "id_cards",
        "household_register",
        "income_proof",
        "diagnosis",
    ]
    .iter()
    .map(|c| material(s, &me, c))
    .collect();
    let r = s.call(
        "POST",
        "/v1/applications",
        Some(&me),
        Some(body(&p, &village, &resident_id(true), materials)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let r = s.call(
        "POST",
        &format!("/v1/applications/{id}/submit"),
        Some(&me),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let secretary = s.login("qingshan_secretary");
    for token in [&secretary.access, &county.access] {
        let r = s.call(
            "POST",
            &format!("/v1/applications/{id}/decisions"),
            Some(token),
            Some(json!({"action": "pass"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // The notice runs out.
    s.advance(Duration::days(30));
    let r = s.call(
        "POST",
        &format!("/v1/applications/{id}/decisions"),
        Some(&county.access),
        Some(json!({"action": "approve", "category": "deep"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    (
        r.body["case_file_id"].as_str().expect("file").to_owned(),
        county,
    )
}

#[test]
fn six_months_above_the_dibao_make_an_exit_candidate_and_exit_goes_through_notice() {
    let s = start();
    let (file, county) = approved_file(&s, "zhao");
    let secretary = s.login("qingshan_secretary");
    let today = s.clock().today();
    let last = today - Duration::days(i64::from(today.day()));
    let month = |back: u32| {
        (last - chrono::Months::new(back))
            .format("%Y-%m")
            .to_string()
    };
    let through = month(0);
    let record = |m: &str, fen: i64| {
        let r = s.call(
            "POST",
            &format!("/v1/case-files/{file}/income"),
            Some(&secretary.access),
            Some(json!({"month": m, "per_capita_fen": fen})),
        );
        assert_eq!(r.status, 204, "{}", r.text);
    };
    let candidates = || {
        let r = s.call(
            "GET",
            &format!("/v1/case-files/exit-candidates?through={through}"),
            Some(&county.access),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["file"]["id"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    // Five months above the dibao (72,000 fen here) and one at it: not yet.
    for back in 1..=5 {
        record(&month(back), 80_000);
    }
    record(&month(0), 72_000);
    assert!(candidates().is_empty());
    record(&month(0), 81_000);
    assert_eq!(candidates(), vec![file.clone()]);

    let step = |token: &str, step: &str| {
        s.call(
            "POST",
            &format!("/v1/case-files/{file}/exit"),
            Some(token),
            Some(json!({"step": step, "reason": "连续 6 个月人均收入高于低保标准，经入户核实"})),
        )
    };
    step(&secretary.access, "confirm").assert_problem(409, "illegal_transition");
    let r = step(&secretary.access, "propose");
    assert_eq!(r.body["status"], "exit_review", "{}", r.text);
    step(&secretary.access, "notice").assert_problem(403, "not_your_step");
    let r = step(&county.access, "notice");
    assert_eq!(r.body["status"], "exit_notice", "{}", r.text);
    assert!(r.body["exit_notice_ends_on"].as_str().is_some());
    step(&county.access, "confirm").assert_problem(409, "notice_not_over");
    // The exit notice runs out.
    s.advance(Duration::days(30));
    let r = step(&county.access, "confirm");
    assert_eq!(r.body["status"], "exited", "{}", r.text);
    assert!(
        candidates().is_empty(),
        "exited files are no longer candidates"
    );
    s.call(
        "POST",
        &format!("/v1/case-files/{file}/disbursements"),
        Some(&county.access),
        Some(json!({"kind": "living", "amount_fen": 72000, "period": "2026-11"})),
    )
    .assert_problem(409, "file_not_active");

    // The household falls back into difficulty: the same file is active again, its history
    // kept.
    let r = step(&secretary.access, "reopen");
    assert_eq!(r.body["status"], "active", "{}", r.text);
    assert!(r.body["exited_on"].as_str().is_some() && r.body["reopened_on"].as_str().is_some());
    let r = s.call(
        "POST",
        &format!("/v1/case-files/{file}/disbursements"),
        Some(&county.access),
        Some(json!({"kind": "living", "amount_fen": 72000, "period": "2026-11"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}
