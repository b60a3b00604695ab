//! Household corrections proposed on visits climb village → township → county (R-VISIT-4):
//! `POST /v1/corrections/{id}/decision`, each level accepting or rejecting in turn.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::corrections::service;
use crate::infra::error::Result;
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::unmask::UnmaskQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "reject", "reason": "户籍信息与公安系统一致，无需修改"}))]
pub struct CorrectionDecisionBody {
    pub decision: service::Verdict,
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

/// Accept or reject a correction at the caller's level: the village secretary decides on
/// new proposals, the township on those the village accepted, the county on those the
/// township accepted. The decision syncs back to the phones; each level's review clock is
/// met by it and the next level's starts.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)), request_body = CorrectionDecisionBody,
    responses((status = 200, body = DecisionOut),
              (status = 409, description = "Not at the caller's level (`not_at_your_level`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("decide_corrections")))
)]
#[post("/v1/corrections/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    caller: Require<perm::DecideCorrections>,
    id: web::Path<String>,
    body: ApiJson<CorrectionDecisionBody>,
) -> Result<web::Json<DecisionOut>> {
    let b = body.0;
    let verdict = b.decision;
    let d = service::decide(
        &state.db,
        &state.hlc,
        &state.data_key,
        &caller,
        &id,
        verdict,
        b.reason.as_deref(),
    )
    .await?;
    Ok(web::Json(DecisionOut {
        correction_id: d.correction_id,
        review_status: d.review_status,
        version: d.version,
    }))
}

/// A household correction as its reviewers read it. Resident ID numbers in its text are
/// masked unless an officer asks with `unmask=true` (audited).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f51", "household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01",
    "field": "members.0.id_number", "current_value": "530123********0021", "proposed_value": "530123********0047",
    "reason": "新换身份证", "review_status": "village_accepted", "decision_reason": null, "version": 2
}))]
pub struct CorrectionOut {
    pub id: String,
    pub household_id: Option<String>,
    /// The household field the proposal concerns, e.g. `address` or `members.0.id_number`.
    pub field: Option<String>,
    pub current_value: Option<String>,
    pub proposed_value: Option<String>,
    pub reason: Option<String>,
    /// `pending`, `village_accepted`, `township_accepted`, `county_accepted` or `rejected`.
    pub review_status: String,
    pub decision_reason: Option<String>,
    pub version: i64,
}

/// One household correction, for deciding on it: what the helper proposed, why, and how
/// far up it has come. ID numbers in it show in full only to officers who ask with
/// `unmask=true`, and that read is in the audit log.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = Uuid, Path), UnmaskQuery),
    responses((status = 200, body = CorrectionOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/corrections/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    id: web::Path<Uuid>,
    q: Query<UnmaskQuery>,
) -> Result<web::Json<CorrectionOut>> {
    let (row, c) = service::get(
        &state.db,
        &state.data_key,
        &caller,
        &id.to_string(),
        q.stated(),
    )
    .await?;
    Ok(web::Json(CorrectionOut {
        id: row.id,
        household_id: c.household_id,
        field: c.field,
        current_value: c.current_value,
        proposed_value: c.proposed_value,
        reason: c.reason,
        review_status: c.review_status.unwrap_or_else(|| "pending".into()),
        decision_reason: c.decision_reason,
        version: row.version,
    }))
}
