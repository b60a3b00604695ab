//! Break-the-glass names one record, reads it masked, writes nothing, and is reviewed
//! afterwards; administration stays inside one's own standing jurisdiction.

use bangfu_e2e::{DEMO_PASSWORD, Session, TestServer};
use serde_json::{Value, json};

fn grant(s: &TestServer, who: &Session, body: Value) -> bangfu_e2e::Reply {
    s.call("POST", "/v1/access-grants", Some(&who.access), Some(body))
}

fn user_id(s: &TestServer, who: &Session, username: &str) -> (String, String) {
    let r = s.call("GET", "/v1/users?limit=500", Some(&who.access), None);
    let u = r.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["username"] == username))
        .unwrap_or_else(|| panic!("{username} not visible: {}", r.text))
        .clone();
    (
        u["id"].as_str().expect("id").to_owned(),
        format!("\"{}\"", u["version"]),
    )
}

#[test]
fn a_grant_names_one_record_reads_it_masked_and_changes_nothing() {
    let s = TestServer::start();
    let qingshan = s.login("qingshan_officer");
    let village = s.region_id(&qingshan.access, "530123101001");
    let household = s.register_household(&qingshan, &village);
    let other = s.register_household(&qingshan, &village);
    let hekou = s.login("hekou_officer");
    let county = s.region_id(&s.login("county_officer").access, "530123");

    // A region is not a record, and a reason must be visible words.
    grant(
        &s,
        &hekou,
        json!({"region_id": county, "reason": "核查跨乡镇重复申请"}),
    )
    .assert_problem(422, "validation_failed");
    let r = grant(
        &s,
        &hekou,
        json!({"subject": "household", "subject_id": household, "reason": "\u{200b}\u{200b}\u{200b}\u{200b}"}),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "reason", "{}", r.text);

    let r = grant(
        &s,
        &hekou,
        json!({"subject": "household", "subject_id": household, "reason": "核查跨乡镇重复申请", "duration_minutes": 30}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["subject"], "household");
    let grant_id = r.body["id"].as_str().expect("id").to_owned();

    // The household reads, masked; it never unmasks, and nothing can be changed through it.
    let got = s.call(
        "GET",
        &format!("/v1/households/{household}"),
        Some(&hekou.access),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(
        got.body["members"][0]["id_number"]
            .as_str()
            .is_some_and(|n| n.contains('*'))
    );
    let etag = got.header("etag").expect("etag").to_owned();
    s.call(
        "GET",
        &format!("/v1/households/{household}?unmask=true&reason=核对身份信息"),
        Some(&hekou.access),
        None,
    )
    .assert_problem(403, "unmask_outside_jurisdiction");
    s.call_with(
        "PATCH",
        &format!("/v1/households/{household}"),
        Some(&hekou.access),
        Some(json!({"address": "改过的地址 1 号"})),
        &[("If-Match", &etag)],
    )
    .assert_problem(404, "not_found");
    s.call(
        "GET",
        &format!("/v1/households/{other}"),
        Some(&hekou.access),
        None,
    )
    .assert_problem(404, "not_found");
    let ledger = s.call(
        "GET",
        "/v1/ledgers/households?format=csv&unmask=true&reason=核对身份信息",
        Some(&hekou.access),
        None,
    );
    assert!(
        !ledger.text.contains(&household),
        "the grant reaches no ledger"
    );
    let helper = s.login("qingshan_helper");
    s.call(
        "PUT",
        &format!("/v1/households/{household}/helpers/{}", helper.user_id),
        Some(&hekou.access),
        None,
    )
    .assert_problem(404, "not_found");

    // A few live grants at a time.
    for _ in 0..2 {
        let r = grant(
            &s,
            &hekou,
            json!({"subject": "household", "subject_id": other, "reason": "核查重复登记情况"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    grant(
        &s,
        &hekou,
        json!({"subject": "household", "subject_id": other, "reason": "核查重复登记情况"}),
    )
    .assert_problem(409, "too_many_grants");

    // The grantee's supervisor sees it, with its reason, and settles the review.
    let county_officer = s.login("county_officer");
    let review = s.call(
        "GET",
        "/v1/access-grants/review",
        Some(&county_officer.access),
        None,
    );
    assert_eq!(review.status, 200, "{}", review.text);
    let listed = review.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|g| g["id"] == grant_id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("grant not up for review: {}", review.text));
    assert_eq!(listed["reason"], "核查跨乡镇重复申请");
    assert_eq!(listed["user_id"], hekou.user_id.as_str());
    let r = s.call(
        "POST",
        &format!("/v1/access-grants/{grant_id}/review"),
        Some(&county_officer.access),
        Some(json!({"verdict": "justified", "note": "跨乡镇重复申请核查"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // Nobody reviews their own.
    s.call(
        "POST",
        &format!("/v1/access-grants/{grant_id}/review"),
        Some(&hekou.access),
        Some(json!({"verdict": "justified"})),
    )
    .assert_problem(403, "forbidden");
}

#[test]
fn administration_stays_inside_ones_own_jurisdiction() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let county_id = s.region_id(&county.access, "530123");
    let qingshan_village = s.region_id(&county.access, "530123101001");

    // A role fits its region's level.
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&county.access),
        Some(json!({"username": "county_secretary", "display_name": "县级书记", "password": "a long passphrase",
                    "role": "village_secretary", "region_id": county_id})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        r.body["errors"][0]["code"], "role_region_mismatch",
        "{}",
        r.text
    );

    // An officer manages users of their own region only, below their own level.
    let hekou = s.login("hekou_officer");
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&hekou.access),
        Some(json!({"username": "planted_helper", "display_name": "外派", "password": "a long passphrase",
                    "role": "helper", "region_id": qingshan_village})),
    );
    r.assert_problem(422, "validation_failed");
    let (secretary, version) = user_id(&s, &county, "qingshan_secretary");
    s.call_with(
        "PATCH",
        &format!("/v1/users/{secretary}"),
        Some(&hekou.access),
        Some(json!({"display_name": "改名"})),
        &[("If-Match", &version)],
    )
    .assert_problem(404, "not_found");

    // Only an admin sets another's password, and that ends the owner's sessions.
    let qingshan = s.login("qingshan_officer");
    s.call_with(
        "PATCH",
        &format!("/v1/users/{secretary}"),
        Some(&qingshan.access),
        Some(json!({"password": "taken over by someone"})),
        &[("If-Match", &version)],
    )
    .assert_problem(403, "password_by_admin");
    let owner = s.login("qingshan_secretary");
    let admin = s.login("admin");
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{secretary}"),
        Some(&admin.access),
        Some(json!({"password": "a fresh passphrase for zhou"})),
        &[("If-Match", &version)],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    s.call("GET", "/v1/me", Some(&owner.access), None)
        .assert_problem(401, "session_ended");

    // A helper of another township is not an officer's to assign.
    let hekou_village = s.region_id(&hekou.access, "530123102001");
    let home = s.register_household(&hekou, &hekou_village);
    let helper = s.login("qingshan_helper");
    let r = s.call(
        "PUT",
        &format!("/v1/households/{home}/helpers/{}", helper.user_id),
        Some(&hekou.access),
        None,
    );
    r.assert_problem(422, "validation_failed");

    // Usernames are one account whatever their case.
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&admin.access),
        Some(
            json!({"username": "ADMIN", "display_name": "冒名", "password": "a long passphrase",
                    "role": "helper", "region_id": qingshan_village}),
        ),
    );
    r.assert_problem(409, "username_taken");
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "Admin", "password": DEMO_PASSWORD})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user_id"], admin.user_id.as_str());
}
