//! A sample of the field records read back through the API as their phones read them:
//! each sampled household's helper and its school's teacher sign in on their phones and
//! pull their whole scope, and every record drawn for the household must arrive with the
//! fields and version the merge gave it; each of its dropout cases is also judged through
//! `/v1/dropout-cases/{id}/evaluation` and must name its child and declared stage.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::captured::{self, Phone};
use super::merged;
use crate::prefecture::Api;
use crate::prefecture::plan::Plan;

/// What one phone received: (entity, id) -> (version, deleted, fields).
type Received = HashMap<(String, String), (i64, bool, Value)>;

/// A phone signed in: its user's token.
fn sign_in(http: &Client, api: &Api, plan: &Plan, phone: Phone) -> anyhow::Result<String> {
    let username = match phone {
        Phone::Helper(i) => Plan::helper_username(i),
        Phone::Teacher(s) => Plan::teacher_username(s),
    };
    let body = json!({"username": username, "password": bangfu::demo::DEMO_PASSWORD,
        "device_id": phone.device(plan)});
    let r: Value = http
        .post(format!("{}/v1/auth/login", api.base))
        .json(&body)
        .send()?
        .error_for_status()
        .with_context(|| format!("{username} signs in on their phone"))?
        .json()?;
    r["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token: {r}"))
}

/// Everything in the phone's scope, pulled page by page from the start.
fn pull_all(http: &Client, api: &Api, token: &str) -> anyhow::Result<Received> {
    let mut received = Received::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/sync/pull?limit=1000", api.base);
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(token)
            .header(
                bangfu_sync::wire::PROTOCOL_HEADER,
                bangfu_sync::PROTOCOL_VERSION.to_string(),
            )
            .send()?
            .error_for_status()?
            .json()?;
        for c in page["changes"].as_array().context("changes")? {
            let key = (
                c["entity"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
            );
            let version = c["version"].as_i64().unwrap_or_default();
            received.insert(
                key,
                (
                    version,
                    c["deleted"].as_bool().unwrap_or_default(),
                    c["fields"].clone(),
                ),
            );
        }
        if page["has_more"].as_bool() != Some(true) {
            return Ok(received);
        }
        cursor = Some(
            page["next_cursor"]
                .as_str()
                .context("next_cursor")?
                .to_owned(),
        );
    }
}

/// Equal JSON, numbers within a rounding of the last digit: the server's and this client's
/// JSON parsers need not read a float's shortest form back to the same bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

pub fn read_back(plan: &Plan, api: &Api, sample: usize) -> anyhow::Result<()> {
    let http = Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let mut phones: HashMap<Phone, (String, Received)> = HashMap::new();
    let step = (plan.households / sample.max(1)).max(1);
    for h in (0..plan.households).step_by(step).take(sample) {
        let household = captured::household(plan, h);
        for rec in &household.records {
            if let std::collections::hash_map::Entry::Vacant(e) = phones.entry(rec.phone) {
                let token = sign_in(&http, api, plan, rec.phone)?;
                let received = pull_all(&http, api, &token)
                    .with_context(|| format!("{:?} pulls", rec.phone))?;
                e.insert((token, received));
            }
            let (_, received) = &phones[&rec.phone];
            let expected = merged(plan, rec, rec.changes.len() - 1);
            let Some((version, deleted, fields)) =
                received.get(&(rec.entity.to_owned(), rec.id.clone()))
            else {
                bail!(
                    "household {h}: {} {} did not reach {:?}'s phone",
                    rec.entity,
                    rec.id,
                    rec.phone
                );
            };
            ensure!(
                *version == expected.version && !deleted,
                "household {h}: {} {} arrived at version {version} (deleted: {deleted}), generated {}",
                rec.entity,
                rec.id,
                expected.version
            );
            let want = Value::Object(expected.data.clone());
            if !same(fields, &want) {
                bail!(
                    "household {h}: {} {} differs\n  read back: {fields}\n  generated: {want}",
                    rec.entity,
                    rec.id
                );
            }
        }
        for case in &household.cases {
            let school = plan.homes[h].village / 10;
            let (token, received) = &phones[&Phone::Teacher(school)];
            let judged = api.get(token, &format!("/v1/dropout-cases/{case}/evaluation"))?;
            let (_, _, fields) = &received[&("dropout_case".to_owned(), case.clone())];
            ensure!(
                judged["case_id"] == json!(case)
                    && judged["child_id"] == fields["child_id"]
                    && judged["declared_stage"] == fields["stage"],
                "household {h}: case {case} judged as {judged}, its record is {fields}"
            );
        }
    }
    Ok(())
}
