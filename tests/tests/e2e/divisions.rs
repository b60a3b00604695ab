//! The directory of administrative divisions: an applicant signed in from WeChat picks
//! their township and then their village; anyone signed in may read it, nobody else.

use bangfu_e2e::TestServer;
use serde_json::Value;

use crate::applications::{applicant, start};

fn names(r: &bangfu_e2e::Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect()
}

fn items(r: &bangfu_e2e::Reply) -> Vec<Value> {
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_applicant_picks_a_township_then_a_village() {
    let s: TestServer = start();
    let me = applicant(&s, "divisions");
    let townships = s.call("GET", "/v1/divisions?level=township", Some(&me), None);
    assert_eq!(townships.status, 200, "{}", townships.text);
    assert_eq!(names(&townships), ["青山镇", "河口乡"]);
    let qingshan = items(&townships)
        .into_iter()
        .find(|t| t["name"] == "青山镇")
        .expect("青山镇");
    // Names, codes and places in the tree only: no standards, counts or people.
    let mut keys: Vec<&str> = qingshan
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "id", "level", "name", "parent_id"]);
    let id = qingshan["id"].as_str().unwrap_or_default();
    let villages = s.call(
        "GET",
        &format!("/v1/divisions?parent_id={id}"),
        Some(&me),
        None,
    );
    assert_eq!(villages.status, 200, "{}", villages.text);
    assert!(!items(&villages).is_empty());
    assert!(
        items(&villages)
            .iter()
            .all(|v| v["level"] == "village" && v["parent_id"] == id),
        "{}",
        villages.text
    );
    assert!(names(&villages).contains(&"青山村".to_owned()));

    // Paged in tree order, schools left out.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/divisions?limit=2&cursor={c}"),
            None => "/v1/divisions?limit=2".to_owned(),
        };
        let r = s.call("GET", &path, Some(&me), None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(items(&r).len() <= 2);
        seen.extend(items(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(seen.iter().all(|d| d["level"] != "school"));
    assert_eq!(seen.iter().filter(|d| d["level"] == "village").count(), 4);
    assert_eq!(
        seen.first().map(|d| d["level"].clone()),
        Some("county".into())
    );
}

#[test]
fn staff_read_the_directory_and_strangers_do_not() {
    let s = TestServer::start();
    // A helper of one village sees every township, not only their own jurisdiction.
    let helper = s.login("hekou_helper").access;
    let r = s.call("GET", "/v1/divisions?level=township", Some(&helper), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(names(&r), ["青山镇", "河口乡"]);
    let r = s.call("GET", "/v1/divisions", None, None);
    r.assert_problem(401, "token_missing");
}
