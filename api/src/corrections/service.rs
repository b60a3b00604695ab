//! Household corrections' use cases (R-VISIT-4): one function each, owning its
//! transaction, taking the caller and typed input, and answering typed rows or the error.

use std::sync::{Arc, Mutex};

use bangfu_sync::{Clock, Code};
use serde_json::{Map, Value, json};

use crate::audit::unmask::{self, Found};
use crate::domain::caller::Caller;
use crate::domain::role::Role;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::records::store::{self as records, RecordRow};
use crate::records::typed;
use crate::sync::push;
use crate::sync::push::Pusher;

/// What a level decides on a correction (`accept` or `reject`, as the API and the
/// console's form send it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = CorrectionDecision)]
pub enum Verdict {
    Accept,
    Reject,
}

/// A correction as a decision left it.
#[derive(Debug, Clone)]
pub struct Decided {
    pub correction_id: String,
    /// `village_accepted`, `township_accepted`, `county_accepted` or `rejected`.
    pub review_status: String,
    pub version: i64,
}

/// The status a level decides on, the status it moves to on acceptance, and the field
/// recording when it decided.
fn level_of(role: Role) -> Option<(&'static str, &'static str, &'static str)> {
    match role {
        Role::VillageSecretary => Some(("pending", "village_accepted", "village_decided_at")),
        Role::TownshipOfficer => Some((
            "village_accepted",
            "township_accepted",
            "township_decided_at",
        )),
        Role::CountyOfficer => Some(("township_accepted", "county_accepted", "county_decided_at")),
        _ => None,
    }
}

/// The review status a role decides on, if it decides at all: a correction waits on one
/// level at a time.
pub fn turn_of(role: Role) -> Option<&'static str> {
    level_of(role).map(|(expected, _, _)| expected)
}

/// One correction in the caller's scope (by region, or through the household). With
/// `unmask` (the reason stated), the values sealed in it (ID numbers) are opened: officers
/// only, audited with the reason.
pub async fn get(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    id: &str,
    unmask: Option<String>,
) -> Result<(RecordRow, typed::Correction)> {
    let (scope, id, key) = (caller.scope.clone(), id.to_owned(), key.clone());
    let open = unmask.is_some();
    let fields = &["current_value", "proposed_value", "reason"];
    unmask::read(db, caller, unmask, "correction", fields, move |c| {
        let row = records::load(c, "correction", std::slice::from_ref(&id))?
            .pop()
            .ok_or(Error::NotFound)?;
        let through = !row.reach_path.is_empty() && scope.contains(&row.reach_path);
        if row.deleted || !(scope.contains(&row.region_path) || through) {
            return Err(Error::NotFound);
        }
        let mut data: Map<String, Value> =
            serde_json::from_str(&row.data).map_err(Error::internal)?;
        if open {
            for (field, text) in records::opened_fields(c, &key, "correction", &row.id)? {
                data.insert(field, Value::String(text));
            }
        }
        let correction: typed::Correction =
            serde_json::from_value(Value::Object(data)).map_err(Error::internal)?;
        Ok(Found {
            via: crate::domain::access::Via::Standing,
            id: row.id.clone(),
            region_path: row.region_path.clone(),
            value: (row, correction),
        })
    })
    .await
}

/// Accepts or rejects a correction at the caller's level (R-VISIT-4): village on new
/// proposals, township on those the village accepted, county on those the township
/// accepted (else 409 `not_at_your_level`; other roles are refused). A rejection needs a
/// reason (at most 1000 characters). The decision is a server change of the record, so it
/// syncs back to the phones.
pub async fn decide(
    db: &Db,
    clock: &Arc<Mutex<Clock>>,
    key: &DataKey,
    caller: &Caller,
    id: &str,
    verdict: Verdict,
    reason: Option<&str>,
) -> Result<Decided> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if verdict == Verdict::Reject && reason.is_none() {
        return Err(Error::validation(
            "reason",
            Code::Required,
            Msg::fixed("退回须说明理由。", "A rejection needs a reason."),
        ));
    }
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(Error::validation(
            "reason",
            Code::TooLong,
            Msg::fixed(
                "理由最多 1000 字。",
                "A reason has at most 1000 characters.",
            ),
        ));
    }
    let (expected, accepted, stamp) = level_of(caller.role).ok_or_else(Error::forbidden)?;
    let caller = caller.clone();
    let (clock, key, id) = (clock.clone(), key.clone(), id.to_owned());
    db.write(move |c| {
        let row = records::load(c, "correction", std::slice::from_ref(&id))?
            .pop()
            .ok_or(Error::NotFound)?;
        let reach = !row.reach_path.is_empty() && caller.scope.contains(&row.reach_path);
        if row.deleted || !(caller.scope.contains(&row.region_path) || reach) {
            return Err(Error::NotFound);
        }
        let data: Value = serde_json::from_str(&row.data).map_err(Error::internal)?;
        let status = data
            .get("review_status")
            .and_then(Value::as_str)
            .unwrap_or("pending");
        if status != expected {
            return Err(Error::Conflict {
                code: Code::NotAtYourLevel,
                detail: Msg::new(
                    format!("该修改当前状态为 {status}，不在本级审核。"),
                    format!("The correction is {status}: not for your level to decide."),
                ),
            });
        }
        let next = if verdict == Verdict::Accept {
            accepted
        } else {
            "rejected"
        };
        let mut fields = Map::new();
        fields.insert("review_status".into(), json!(next));
        fields.insert(
            stamp.into(),
            json!(
                crate::infra::clock::now()
                    .and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        );
        if let Some(r) = &reason {
            fields.insert("decision_reason".into(), json!(r));
        }
        let who = Pusher::deciding(&caller);
        let m = push::server_mutation(&clock, "correction", &row.id, row.version, fields)?;
        let r = push::apply_one(c, &who, &clock, &key, m)?;
        Ok(Decided {
            correction_id: row.id,
            review_status: next.to_owned(),
            version: r.version.unwrap_or(row.version),
        })
    })
    .await
}
