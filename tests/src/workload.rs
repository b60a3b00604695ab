//! The field workload the benchmark binaries drive a server with: staff signed in on
//! devices, households registered, visits of about 300 bytes of JSON.

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::{DEMO_PASSWORD, hlc, new_id};

/// A response body as JSON.
pub fn json(r: reqwest::blocking::Response) -> Value {
    r.json().expect("json")
}

/// Signs in on a fresh device; returns the token and user id.
pub fn device_login(http: &Client, base: &str, user: &str) -> (String, String) {
    let t = json(
        http.post(format!("{base}/v1/auth/login"))
            .json(&json!({"username": user, "password": DEMO_PASSWORD}))
            .send()
            .expect("login"),
    );
    let access = t["access_token"].as_str().unwrap_or_default();
    let d = json(
        http.post(format!("{base}/v1/devices"))
            .bearer_auth(access)
            .json(&json!({"name": "bench", "platform": "bench"}))
            .send()
            .expect("device"),
    );
    let t = json(
        http.post(format!("{base}/v1/auth/login"))
            .json(&json!({"username": user, "password": DEMO_PASSWORD, "device_id": d["id"]}))
            .send()
            .expect("login"),
    );
    (
        t["access_token"].as_str().unwrap_or_default().to_owned(),
        t["user_id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The id of 青山村, the demo village.
pub fn village(http: &Client, base: &str, token: &str) -> String {
    let r = json(
        http.get(format!("{base}/v1/regions?limit=500"))
            .bearer_auth(token)
            .send()
            .expect("regions"),
    );
    r["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["code"] == "530123101001"))
        .and_then(|i| i["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A visit of about 300 bytes of JSON.
pub fn visit(region: &str, household: &str, helper: &str, i: usize) -> Value {
    json!({"mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "bench"),
        "fields": {"region_id": region, "household_id": household, "helper_id": helper, "kind": "routine",
                   "visited_at": "2026-11-20T09:30:00Z", "basic_needs": {"food": "met", "safe_housing": "not_met"},
                   "notes": format!("走访记录 {i}：房屋需维修")}})
}

/// Registers `n` one-person households in the village; returns their ids.
pub fn register_households(http: &Client, base: &str, region: &str, n: usize) -> Vec<String> {
    let (token, _) = device_login(http, base, "county_officer");
    (0..n)
        .map(|_| {
            let (id_number, birth) = crate::resident_id(false);
            let r: Value = http
                .post(format!("{base}/v1/households"))
                .bearer_auth(&token)
                .json(&json!({"region_id": region, "address": "一组 1 号",
                    "members": [{"name": "王建国", "relation": "head", "id_number": id_number,
                                 "birth_date": birth, "gender": "male"}]}))
                .send()
                .and_then(|r| r.json())
                .expect("register household");
            r["id"].as_str().expect("household id").to_owned()
        })
        .collect()
}
