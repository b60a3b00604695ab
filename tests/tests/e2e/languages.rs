//! Refusals by a rule speak both languages, as every problem does: Chinese unless
//! `Accept-Language` prefers English, naming the field and the rule.

use bangfu_e2e::{SYNC_HEADER, TestServer, hlc, new_id};
use serde_json::{Value, json};

const EN: (&str, &str) = ("Accept-Language", "en-US,en;q=0.9");

#[test]
fn a_refused_mutation_is_explained_in_the_callers_language_even_on_a_repeat() {
    let s = TestServer::start();
    let phone = s.device_session("qingshan_helper");
    let village = s.region_id(&phone.access, "530123101001");
    let visit = json!({
        "mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0,
        "hlc": hlc(0, "dev-a"),
        "fields": {"region_id": village, "helper_id": phone.user_id, "kind": "routine",
                   "visited_at": "2026-11-20T09:30:00Z", "colour": "red"}
    });
    let spaceship = json!({"mutation_id": new_id(), "entity": "spaceship", "id": new_id(),
                           "base_version": 0, "hlc": hlc(0, "dev-a"), "fields": {}});
    let push = |headers: &[(&str, &str)]| {
        let mut all = vec![SYNC_HEADER];
        all.extend_from_slice(headers);
        let r = s.call_with(
            "POST",
            "/v1/sync/push",
            Some(&phone.access),
            Some(json!({"mutations": [visit, spaceship]})),
            &all,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["results"].as_array().cloned().unwrap_or_default()
    };
    let problem = |r: &Value| r["problem"].clone();

    let zh = push(&[]);
    let colour = zh[0]["problem"]["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == "colour"))
        .cloned()
        .unwrap_or_else(|| panic!("the field is named: {}", zh[0]));
    assert_eq!(colour["code"], "unknown_field");
    assert_eq!(colour["message"], "visit 没有字段 colour。");
    assert_eq!(problem(&zh[0])["detail"], "该修改与记录的字段不符。");
    assert_eq!(problem(&zh[1])["code"], "unknown_entity");
    assert!(
        problem(&zh[1])["detail"]
            .as_str()
            .is_some_and(|d| d.contains("没有名为"))
    );

    // The same mutations again, asking for English: the kept answers, in English.
    let en = push(&[EN]);
    let colour = en[0]["problem"]["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == "colour"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(colour["message"], "visit has no field colour");
    assert_eq!(
        problem(&en[0])["detail"],
        "the change does not fit the record's fields"
    );
    assert_eq!(
        problem(&en[1])["detail"],
        "no synced entity is called \"spaceship\""
    );
    // Apart from the language, the answer is the first one.
    assert_eq!(en[0]["mutation_id"], zh[0]["mutation_id"]);
    assert_eq!(problem(&en[0])["code"], problem(&zh[0])["code"]);
}

#[test]
fn an_aid_refusal_names_the_rule_and_its_figures_in_either_language() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let check = |headers: &[(&str, &str)]| {
        let r = s.call_with(
            "POST",
            "/v1/aid-checks",
            Some(&officer.access),
            Some(json!({
                "household": {"region_id": village, "members": 3, "annual_income_fen": 2_000_000},
                "category": "deep", "kind": "living", "amount_fen": 900_000
            })),
            headers,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["allowed"], false, "{}", r.text);
        r.body["violations"][0].clone()
    };
    let zh = check(&[]);
    let en = check(&[EN]);
    for (v, months) in [(&zh, "12 个月"), (&en, "12 months")] {
        assert_eq!(
            (v["rule"].as_str(), v["code"].as_str()),
            (Some("R-FILE-4"), Some("over_cap"))
        );
        let text = v["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("R-FILE-4"), "{text}");
        assert!(
            text.contains(months) && text.contains("8640.00") && text.contains("9000.00"),
            "{text}"
        );
    }
}
