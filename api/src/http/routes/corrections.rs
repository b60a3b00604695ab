//! Household corrections proposed on visits climb village → township → county (R-VISIT-4):
//! `POST /v1/corrections/{id}/decision`, each level accepting or rejecting in turn.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::auth::{Caller, Require, perm};
use crate::domain::role::Role;
use crate::error::{Error, Msg, Result};
use crate::http::json::ApiJson;
use crate::state::AppState;
use crate::sync::push::{self, Pusher};
use crate::sync::records;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "reject", "reason": "户籍信息与公安系统一致，无需修改"}))]
pub struct DecisionBody {
    pub decision: Decision,
    /// Required to reject.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    pub correction_id: String,
    /// The review status now: `village_accepted`, `township_accepted`, `county_accepted`
    /// or `rejected`.
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

/// Accept or reject a correction at the caller's level: the village secretary decides on
/// new proposals, the township on those the village accepted, the county on those the
/// township accepted. The decision syncs back to the phones; each level's review clock is
/// met by it and the next level's starts.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)), request_body = DecisionBody,
    responses((status = 200, body = DecisionOut),
              (status = 409, description = "Not at the caller's level (`not_at_your_level`)", body = crate::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("decide_corrections")))
)]
#[post("/v1/corrections/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    caller: Require<perm::DecideCorrections>,
    id: web::Path<String>,
    body: ApiJson<DecisionBody>,
) -> Result<web::Json<DecisionOut>> {
    let b = body.0;
    let reason = b
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if b.decision == Decision::Reject && reason.is_none() {
        return Err(Error::validation(
            "reason",
            "required",
            Msg::fixed("退回须说明理由。", "A rejection needs a reason."),
        ));
    }
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(Error::validation(
            "reason",
            "too_long",
            Msg::fixed(
                "理由最多 1000 字。",
                "A reason has at most 1000 characters.",
            ),
        ));
    }
    let (expected, accepted, stamp) = level_of(caller.role).ok_or_else(Error::forbidden)?;
    let caller: Caller = (*caller).clone();
    let clock = state.clock.clone();
    let out = state
        .db
        .write(move |c| {
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
                    code: "not_at_your_level",
                    detail: Msg::new(
                        format!("该修改当前状态为 {status}，不在本级审核。"),
                        format!("The correction is {status}: not for your level to decide."),
                    ),
                });
            }
            let next = if b.decision == Decision::Accept {
                accepted
            } else {
                "rejected"
            };
            let mut fields = Map::new();
            fields.insert("review_status".into(), json!(next));
            fields.insert(
                stamp.into(),
                json!(
                    crate::store::now()
                        .and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            );
            if let Some(r) = &reason {
                fields.insert("decision_reason".into(), json!(r));
            }
            let who = Pusher::on_behalf_of(&caller);
            let m = push::server_mutation(&clock, "correction", &row.id, row.version, fields)?;
            let r = push::apply_one(c, &who, &clock, m)?;
            Ok(DecisionOut {
                correction_id: row.id,
                review_status: next.to_owned(),
                version: r.version.unwrap_or(row.version),
            })
        })
        .await?;
    Ok(web::Json(out))
}
