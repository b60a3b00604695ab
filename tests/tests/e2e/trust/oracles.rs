//! No answer tells a caller about a record outside their scope: not its id, not that it
//! exists with details of it.

use bangfu_e2e::{Session, TestServer, resident_id_born};
use chrono::NaiveDate;
use serde_json::{Value, json};

fn register(s: &TestServer, who: &Session, village: &str, member: Value) -> bangfu_e2e::Reply {
    s.call(
        "POST",
        "/v1/households",
        Some(&who.access),
        Some(json!({"region_id": village, "address": "三组 12 号", "members": [member]})),
    )
}

fn person(name: &str, id: &(String, String), phone: Option<&str>) -> Value {
    json!({"name": name, "relation": "head", "id_number": id.0, "birth_date": id.1,
           "gender": "female", "phone": phone})
}

#[test]
fn a_person_registered_elsewhere_is_refused_without_saying_where() {
    let s = TestServer::start();
    let qingshan = s.login("qingshan_officer");
    let hekou = s.login("hekou_officer");
    let qv = s.region_id(&qingshan.access, "530123101001");
    let hv = s.region_id(&hekou.access, "530123102001");
    let born = NaiveDate::from_ymd_opt(1951, 3, 9).expect("date");
    let id = resident_id_born(born, true);
    let r = register(&s, &qingshan, &qv, person("王桂兰", &id, None));
    assert_eq!(r.status, 201, "{}", r.text);
    let home = r.body["id"].as_str().expect("id").to_owned();

    let r = register(&s, &hekou, &hv, person("王桂兰", &id, None));
    r.assert_problem(409, "person_not_registrable");
    assert!(
        !r.text.contains(&home),
        "names the other township's household: {}",
        r.text
    );

    // Inside one's own jurisdiction the household is named, as before.
    let shiqiao = s.region_id(&qingshan.access, "530123101002");
    let r = register(&s, &qingshan, &shiqiao, person("王桂兰", &id, None));
    r.assert_problem(409, "person_already_registered");
    assert!(r.text.contains(&home), "{}", r.text);

    // The match goes to the lowest office holding both: the county, not either township.
    let county = s.login("county_officer");
    let listed = s.call(
        "GET",
        "/v1/registration-referrals",
        Some(&county.access),
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.text);
    let item = &listed.body["items"][0];
    assert_eq!(item["household_id"], home.as_str(), "{}", listed.text);
    assert_eq!(item["attempted_region_id"], hv.as_str());
    assert!(item["id_number"].as_str().is_some_and(|n| n.contains('*')));
    for township in [&qingshan, &hekou] {
        let r = s.call(
            "GET",
            "/v1/registration-referrals",
            Some(&township.access),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["items"], json!([]), "{}", r.text);
    }
    let settled = s.call(
        "POST",
        &format!(
            "/v1/registration-referrals/{}/decision",
            item["id"].as_str().expect("id")
        ),
        Some(&county.access),
        Some(json!({"note": "同一人，已电话核实，维持青山镇登记"})),
    );
    assert_eq!(settled.status, 200, "{}", settled.text);
    assert_eq!(settled.body["status"], "settled");
}

#[test]
fn duplicate_candidates_list_only_people_both_sides_of_which_one_reaches() {
    let s = TestServer::start();
    let qingshan = s.login("qingshan_officer");
    let hekou = s.login("hekou_officer");
    let qv = s.region_id(&qingshan.access, "530123101001");
    let hv = s.region_id(&hekou.access, "530123102001");
    let born = NaiveDate::from_ymd_opt(2015, 6, 1).expect("date");
    let child = resident_id_born(born, true);
    let r = register(
        &s,
        &qingshan,
        &qv,
        person("李小红", &child, Some("13912345678")),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let home = r.body["id"].as_str().expect("id").to_owned();
    // 河口 registers someone of the same name and birth date, and someone with that phone.
    let r = register(
        &s,
        &hekou,
        &hv,
        person("李小红", &resident_id_born(born, true), None),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other = bangfu_e2e::resident_id(true);
    let r = register(&s, &hekou, &hv, person("赵某", &other, Some("13912345678")));
    assert_eq!(r.status, 201, "{}", r.text);

    for who in [&hekou, &qingshan] {
        let r = s.call("GET", "/v1/duplicate-candidates", Some(&who.access), None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            !r.text.contains(&home),
            "a pair across townships shows: {}",
            r.text
        );
    }
    let county = s.login("county_officer");
    let r = s.call(
        "GET",
        "/v1/duplicate-candidates",
        Some(&county.access),
        None,
    );
    let pairs = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(pairs.len(), 2, "{}", r.text);
    assert!(r.text.contains(&home));
}
