//! Case files and the aid paid against them: `/v1/case-files/{id}/disbursements`.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::utc;
use crate::auth::{Require, perm};
use crate::domain::aid::{AidKind, Approval};
use crate::domain::classification::Line;
use crate::error::Result;
use crate::http::json::ApiJson;
use crate::state::AppState;
use crate::store::disbursements::{self, DisbursementRow, NewPayment};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "living", "amount_fen": 72000, "period": "2026-11", "note": "11 月生活救助"}))]
pub struct PaymentBody {
    pub kind: AidKind,
    /// Whole fen, never a fraction.
    pub amount_fen: i64,
    /// `YYYY-MM` (monthly living aid), `YYYY`, or `YYYY-S1`/`YYYY-S2` (a school term).
    pub period: String,
    /// Medical aid: what the household paid itself after insurance.
    #[serde(default)]
    pub out_of_pocket_fen: i64,
    /// Education aid: students in the household.
    #[serde(default)]
    pub students: u32,
    /// Accidental difficulty: the year's hardship costs.
    #[serde(default)]
    pub hardship_costs_fen: i64,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisbursementOut {
    pub id: String,
    pub file_id: String,
    pub kind: String,
    pub year: i32,
    pub period: String,
    pub amount_fen: i64,
    /// Who had to approve it: `county`, `provincial` or `national`.
    pub approval: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn out(r: DisbursementRow) -> DisbursementOut {
    DisbursementOut {
        id: r.id,
        file_id: r.file_id,
        kind: r.kind,
        year: r.year,
        period: r.period,
        amount_fen: r.amount_fen,
        approval: r.approval,
        note: r.note,
        created_at: utc(r.created_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub disbursement: DisbursementOut,
    pub approval: Approval,
    /// The most this payment could have been.
    pub max_fen: i64,
    /// Which rule, which figures.
    pub lines: Vec<Line>,
}

/// Pay aid against an active case file. The year's caps (R-FILE-4), the single-aid rule for
/// relative difficulty and one payment per kind and period (R-FILE-2) are checked with the
/// reasons given, and held by the database: of two officers paying at once, one succeeds
/// and the other gets 409 (`already_paid` or `over_cap`).
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = PaymentBody,
    responses((status = 201, body = PaymentOut),
              (status = 409, description = "Already paid for the period, or over the cap", body = crate::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/case-files/{id}/disbursements")]
pub async fn pay(
    state: web::Data<AppState>,
    caller: Require<perm::PayAid>,
    id: web::Path<Uuid>,
    body: ApiJson<PaymentBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_string());
    let (row, decision) = state
        .db
        .write(move |c| {
            disbursements::pay(
                c,
                &actor,
                &scope,
                &id,
                NewPayment {
                    kind: b.kind,
                    amount_fen: b.amount_fen,
                    period: &b.period,
                    out_of_pocket_fen: b.out_of_pocket_fen,
                    students: b.students,
                    hardship_costs_fen: b.hardship_costs_fen,
                    note: b.note.as_deref(),
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(PaymentOut {
        disbursement: out(row),
        approval: decision.approval,
        max_fen: decision.max_fen,
        lines: decision.lines,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisbursementList {
    pub items: Vec<DisbursementOut>,
}

/// Payments made on a case file, newest first.
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DisbursementList),
              (status = 404, body = crate::http::problem::Problem, content_type = "application/problem+json")))]
#[get("/v1/case-files/{id}/disbursements")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadApplications>,
    id: web::Path<Uuid>,
) -> Result<web::Json<DisbursementList>> {
    let (scope, id) = (caller.scope.clone(), id.to_string());
    let rows = state
        .db
        .read(move |c| disbursements::list(c, &scope, &id))
        .await?;
    Ok(web::Json(DisbursementList {
        items: rows.into_iter().map(out).collect(),
    }))
}
