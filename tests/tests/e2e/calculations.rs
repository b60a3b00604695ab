//! Classification and aid-standard calculations over HTTP, with the region's own dibao.

use bangfu_e2e::TestServer;
use serde_json::json;

#[test]
fn households_are_classified_with_their_regions_dibao() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let qingshan = s.region_id(&officer.access, "530123101001");
    let hekou = s.region_id(&officer.access, "530123102001");
    // 3 people, 25,000 yuan after expenses: 694.44 a month.
    let body = |region: &str| json!({"region_id": region, "members": 3, "annual_income_fen": 2_600_000, "illness_fen": 100_000});
    // 青山村 inherits the county's 720 yuan: deep difficulty.
    let r = s.call(
        "POST",
        "/v1/assessments",
        Some(&officer.access),
        Some(body(&qingshan)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["categories"].clone(), r.body["dibao_fen"].clone()),
        (json!(["deep"]), json!(72000))
    );
    assert!(
        r.body["lines"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("694.44")),
        "{}",
        r.text
    );
    // 河口村 inherits its township's own 680 yuan: relative difficulty only.
    let r = s.call(
        "POST",
        "/v1/assessments",
        Some(&officer.access),
        Some(body(&hekou)),
    );
    assert_eq!(
        (r.body["categories"].clone(), r.body["dibao_fen"].clone()),
        (json!(["relative"]), json!(68000))
    );

    // Outside one's jurisdiction the region does not exist; bad figures name the field.
    let township = s.login("qingshan_officer");
    s.call(
        "POST",
        "/v1/assessments",
        Some(&township.access),
        Some(body(&hekou)),
    )
    .assert_problem(404, "not_found");
    let r = s.call(
        "POST",
        "/v1/assessments",
        Some(&officer.access),
        Some(json!({"region_id": qingshan, "members": 0, "annual_income_fen": 1})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "members");
}

#[test]
fn aid_checks_apply_caps_and_approval_levels() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = json!({"region_id": village, "members": 3, "annual_income_fen": 2_400_000});

    let r = s.call(
        "POST",
        "/v1/aid-checks",
        Some(&officer.access),
        Some(json!({"household": household, "category": "deep", "kind": "medical", "amount_fen": 2_500_000, "out_of_pocket_fen": 4_000_000})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["allowed"].clone(), r.body["approval"].clone()),
        (json!(true), json!("provincial"))
    );

    let r = s.call(
        "POST",
        "/v1/aid-checks",
        Some(&officer.access),
        Some(json!({"household": household, "category": "relative", "kind": "medical", "amount_fen": 1_700_000,
                    "out_of_pocket_fen": 4_000_000, "paid_this_year": [{"kind": "living", "amount_fen": 100_000}]})),
    );
    assert_eq!(r.body["allowed"], false, "{}", r.text);
    let codes: Vec<&str> = r.body["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["code"].as_str())
        .collect();
    assert_eq!(codes, ["over_cap", "single_aid_only"]);
}
