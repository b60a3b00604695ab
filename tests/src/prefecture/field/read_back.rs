//! A sample of the field records read back through the API as their phones read them:
//! each sampled household's helper and its school's teacher sign in on their phones and
//! pull their whole scope, and every record drawn for the household must arrive with the
//! fields and version the merge gave it; each of its dropout cases is also judged through
//! `/v1/dropout-cases/{id}/evaluation` and must name its child and declared stage.

use std::collections::HashMap;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use super::captured::{self, Phone};
use super::merged;
use crate::prefecture::Api;
use crate::prefecture::plan::Plan;

/// What one phone received: (entity, id) -> (version, deleted, fields).
type Received = HashMap<(String, String), (i64, bool, Value)>;

/// A phone signed in: its user's token.
fn sign_in(api: &Api, plan: &Plan, phone: Phone) -> anyhow::Result<String> {
    let username = match phone {
        Phone::Helper(i) => Plan::helper_username(i),
        Phone::Teacher(s) => Plan::teacher_username(s),
    };
    api.token(&username, Some(&phone.device(plan)))
        .with_context(|| format!("{username} signs in on their phone"))
}

/// Everything in the phone's scope, by (entity, id).
fn pull_all(api: &Api, token: &str) -> anyhow::Result<Received> {
    let (changes, _) = api.pull_all(token)?;
    Ok(changes
        .into_iter()
        .map(|c| {
            let key = (
                c["entity"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
            );
            let version = c["version"].as_i64().unwrap_or_default();
            let deleted = c["deleted"].as_bool().unwrap_or_default();
            (key, (version, deleted, c["fields"].clone()))
        })
        .collect())
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
    let mut phones: HashMap<Phone, (String, Received)> = HashMap::new();
    let step = (plan.households / sample.max(1)).max(1);
    for h in (0..plan.households).step_by(step).take(sample) {
        let household = captured::household(plan, h);
        for rec in &household.records {
            if let std::collections::hash_map::Entry::Vacant(e) = phones.entry(rec.phone) {
                let token = sign_in(api, plan, rec.phone)?;
                let received =
                    pull_all(api, &token).with_context(|| format!("{:?} pulls", rec.phone))?;
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
            let school = Plan::township_of(plan.homes[h].village);
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
