//! The field workload the benchmark binaries drive a server with: staff signed in on
//! devices, households registered, visits of about 300 bytes of JSON.

use std::io::Cursor;

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

/// Pushes `batch` with `token` as a phone does; every mutation must be applied.
pub fn push_applied(http: &Client, base: &str, token: &str, batch: &[Value]) {
    let r = http
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(token)
        .header(
            bangfu_sync::wire::PROTOCOL_HEADER,
            bangfu_sync::PROTOCOL_VERSION.to_string(),
        )
        .json(&json!({"mutations": batch}))
        .send()
        .expect("push");
    assert!(r.status().is_success(), "push failed: {}", r.status());
    let body: Value = r.json().expect("push answer");
    let applied = body["results"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|x| x["status"] == "applied").count());
    assert_eq!(applied, batch.len(), "every mutation applied: {body}");
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

/// A real JPEG of noise (so it does not compress away), `side` pixels square, from the
/// xorshift state `x` (not 0).
pub fn noise_jpeg(side: u32, mut x: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = x.to_le_bytes();
        image::Rgb([b[0], b[1], b[2]])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("encode jpeg");
    out
}

/// A noise JPEG of `side` pixels, padded after its end marker to `size` bytes with bytes
/// that make it unique.
pub fn padded_jpegs(side: u32, sizes: &[usize]) -> Vec<Vec<u8>> {
    let base = noise_jpeg(side, 0x9E37_79B9);
    sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            assert!(size > base.len() + 16, "base JPEG {} > {size}", base.len());
            let mut f = base.clone();
            let mut n = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            while f.len() < size {
                n ^= n << 7;
                n ^= n >> 9;
                f.extend_from_slice(&n.to_le_bytes());
            }
            f.truncate(size);
            f
        })
        .collect()
}

/// Uploads a whole file in one request (tus creation-with-upload: the declaration and the
/// bytes at once); returns the answer.
pub fn upload_whole(
    http: &Client,
    base: &str,
    token: &str,
    file: &[u8],
) -> reqwest::blocking::Response {
    use base64::Engine;
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(file));
    let r = http
        .post(format!("{base}/v1/uploads"))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-length", file.len().to_string())
        .header(
            "upload-metadata",
            format!(
                "sha256 {}",
                base64::engine::general_purpose::STANDARD.encode(&digest)
            ),
        )
        .body(file.to_vec())
        .send()
        .expect("upload");
    assert!(r.status().is_success(), "upload: {}", r.status());
    r
}
