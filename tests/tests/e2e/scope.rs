//! Jurisdiction: nobody reads or writes outside their region, roles are enforced, and
//! temporary access outside one's region needs a reason, ends, and is audited.

use bangfu_e2e::TestServer;
use serde_json::json;

#[test]
fn township_officer_sees_only_their_township() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.login("qingshan_officer");
    let hekou_village = s.region_id(&county.access, "530123102001");

    // Listing shows only the own subtree: township, two villages and the school.
    let r = s.call("GET", "/v1/regions?limit=500", Some(&qingshan.access), None);
    let codes: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert_eq!(codes.len(), 4, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c.starts_with("530123101") || *c == "2153012301"),
        "{codes:?}"
    );

    // Reading another township's region or user is a 404, as if it did not exist.
    s.call(
        "GET",
        &format!("/v1/regions/{hekou_village}"),
        Some(&qingshan.access),
        None,
    )
    .assert_problem(404, "not_found");
    let users = s.call("GET", "/v1/users?limit=500", Some(&county.access), None);
    let hekou_helper = users.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["username"] == "hekou_helper"))
        .and_then(|u| u["id"].as_str())
        .expect("hekou_helper")
        .to_owned();
    s.call(
        "GET",
        &format!("/v1/users/{hekou_helper}"),
        Some(&qingshan.access),
        None,
    )
    .assert_problem(404, "not_found");
    let mine = s.call("GET", "/v1/users?limit=500", Some(&qingshan.access), None);
    assert!(
        mine.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|u| u["username"] != "hekou_helper")
    );

    // Writing there is refused too: updating their user, or creating a user in their village.
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{hekou_helper}"),
        Some(&qingshan.access),
        Some(json!({"active": false})),
        &[("If-Match", "\"1\"")],
    );
    r.assert_problem(404, "not_found");
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&qingshan.access),
        Some(json!({"username": "intruder", "display_name": "x", "password": "long enough pw", "role": "helper", "region_id": hekou_village})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "region_id");
    // The county officer, whose county holds both, may.
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{hekou_helper}"),
        Some(&county.access),
        Some(json!({"display_name": "王强（已调岗）"})),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // Nobody disables their own account, not even an admin, who may change admins.
    let admin = s.login("admin");
    let r = s.call_with(
        "PATCH",
        &format!("/v1/users/{}", admin.user_id),
        Some(&admin.access),
        Some(json!({"active": false})),
        &[("If-Match", "\"1\"")],
    );
    r.assert_problem(403, "forbidden");
    let me = s.call("GET", "/v1/me", Some(&admin.access), None);
    assert_eq!(me.status, 200, "still signed in and active: {}", me.text);
}

#[test]
fn roles_are_enforced_per_endpoint() {
    let s = TestServer::start();
    let helper = s.login("qingshan_helper");
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");

    s.call("GET", "/v1/users", Some(&helper.access), None)
        .assert_problem(403, "forbidden");
    s.call("GET", "/v1/audit", Some(&helper.access), None)
        .assert_problem(403, "forbidden");
    s.call("GET", "/v1/audit", Some(&officer.access), None)
        .assert_problem(403, "forbidden");
    let r = s.call(
        "POST",
        "/v1/regions",
        Some(&officer.access),
        Some(json!({"parent_id": village, "level": "village", "code": "530123101099", "name": "新村"})),
    );
    r.assert_problem(403, "forbidden");

    // A township officer creates helpers, but not officers of their own rank.
    let new_user = |role: &str, name: &str| json!({"username": name, "display_name": "新人", "password": "a long passphrase", "role": role, "region_id": village, "phone": "13912345678"});
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(new_user("helper", "new_helper")),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["phone"], "139****5678",
        "personal data is masked by default"
    );
    let new_id = r.body["id"].as_str().expect("id").to_owned();
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(new_user("township_officer", "new_officer")),
    );
    r.assert_problem(403, "role_not_assignable");
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&officer.access),
        Some(new_user("admin", "new_admin")),
    );
    r.assert_problem(403, "role_not_assignable");

    // An officer may ask to see it in full, and that read is audited.
    let path = format!("/v1/users/{new_id}?unmask=true&reason=核对身份信息");
    let r = s.call("GET", &path, Some(&officer.access), None);
    assert_eq!(r.body["phone"], "13912345678", "{}", r.text);
    let auditor = s.login("auditor");
    let log = s.call(
        "GET",
        &format!("/v1/audit?action=unmask&entity_id={new_id}"),
        Some(&auditor.access),
        None,
    );
    assert_eq!(
        log.body["items"][0]["actor_id"],
        officer.user_id.as_str(),
        "{}",
        log.text
    );
    assert_eq!(log.body["items"][0]["changes"]["unmasked"][0], "phone");

    // A village secretary may list staff but sees phone numbers masked, and may not unmask.
    let secretary = s.login("qingshan_secretary");
    s.call("GET", &path, Some(&secretary.access), None)
        .assert_problem(403, "forbidden");
    let r = s.call(
        "GET",
        "/v1/users?role=helper",
        Some(&secretary.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let phones: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["phone"].as_str())
        .collect();
    assert!(!phones.is_empty());
    assert!(phones.iter().all(|p| p.contains("****")), "{phones:?}");
}

#[test]
fn break_the_glass_needs_a_reason_ends_and_is_audited() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let qingshan = s.login("qingshan_officer");
    let hekou_officer = s.login("hekou_officer");
    let village = s.region_id(&county.access, "530123102001");
    let household = s.register_household(&hekou_officer, &village);
    let path = format!("/v1/households/{household}");
    s.call("GET", &path, Some(&qingshan.access), None)
        .assert_problem(404, "not_found");

    // No reason, or too long a window: refused, with both faults in one answer.
    let r = s.call(
        "POST",
        "/v1/access-grants",
        Some(&qingshan.access),
        Some(json!({"subject": "household", "subject_id": household, "reason": "", "duration_minutes": 600})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        r.body["errors"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.text
    );
    // Helpers cannot break the glass at all.
    let helper = s.login("qingshan_helper");
    let r = s.call(
        "POST",
        "/v1/access-grants",
        Some(&helper.access),
        Some(json!({"subject": "household", "subject_id": household, "reason": "核查跨乡镇重复申请"})),
    );
    r.assert_problem(403, "forbidden");
    // A record already in one's jurisdiction needs no grant.
    let r = s.call(
        "POST",
        "/v1/access-grants",
        Some(&hekou_officer.access),
        Some(json!({"subject": "household", "subject_id": household, "reason": "核查跨乡镇重复申请"})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "already_in_jurisdiction");

    let r = s.call(
        "POST",
        "/v1/access-grants",
        Some(&qingshan.access),
        Some(json!({"subject": "household", "subject_id": household, "reason": "核查跨乡镇重复申请", "duration_minutes": 60})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let grant = r.body["id"].as_str().expect("grant").to_owned();
    assert_eq!(
        s.call("GET", &path, Some(&qingshan.access), None).status,
        200
    );

    let auditor = s.login("auditor");
    let log = s.call(
        "GET",
        "/v1/audit?action=break_glass",
        Some(&auditor.access),
        None,
    );
    let entry = &log.body["items"][0];
    assert_eq!(entry["entity_id"], grant.as_str(), "{}", log.text);
    assert_eq!(entry["reason"], "核查跨乡镇重复申请");
    assert_eq!(entry["actor_id"], qingshan.user_id.as_str());

    let r = s.call(
        "POST",
        &format!("/v1/access-grants/{grant}/revoke"),
        Some(&qingshan.access),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    s.call("GET", &path, Some(&qingshan.access), None)
        .assert_problem(404, "not_found");
}
