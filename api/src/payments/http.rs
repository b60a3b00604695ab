//! Case files: the aid paid against them, monthly income, exit candidates, and the exit
//! process and return to difficulty.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::infra::error::Result;
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::utc;
use crate::payments::aid::{AidKind, Approval};
use crate::payments::case_files::FileRow;
use crate::payments::classification::{Finances, Line};
use crate::payments::disbursements::DisbursementRow;
use crate::payments::exit::{ExitStep, FileStatus};
use crate::payments::service;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "living", "amount_fen": 72000, "period": "2026-11", "note": "11 月生活救助"}))]
pub struct DisbursementBody {
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
    /// Multiple aid to a deep-difficulty file (R-FILE-4): when another kind of aid was
    /// paid this year, the household's finances as reassessed now. The earlier aid is
    /// counted into the income; the payment goes ahead only if the household still
    /// qualifies. Recorded with the payment in the audit log.
    pub reassessment: Option<ReassessmentBody>,
}

/// A household's finances over the last twelve months, in fen, as reassessed for a payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"members": 3, "annual_income_fen": 2400000, "illness_fen": 300000}))]
pub struct ReassessmentBody {
    pub members: u32,
    /// Income before this year's aid (the aid is added by the server).
    pub annual_income_fen: i64,
    #[serde(default)]
    pub illness_fen: i64,
    #[serde(default)]
    pub disability_fen: i64,
    #[serde(default)]
    pub schooling_fen: i64,
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
    request_body = DisbursementBody,
    responses((status = 201, body = PaymentOut),
              (status = 409, description = "Already paid for the period, or over the cap", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("pay_aid")))
)]
#[post("/v1/case-files/{id}/disbursements")]
pub async fn pay(
    state: web::Data<AppState>,
    caller: Require<perm::PayAid>,
    id: web::Path<Uuid>,
    body: ApiJson<DisbursementBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let p = service::Payment {
        kind: b.kind,
        amount_fen: b.amount_fen,
        period: b.period,
        out_of_pocket_fen: b.out_of_pocket_fen,
        students: b.students,
        hardship_costs_fen: b.hardship_costs_fen,
        note: b.note,
        reassessment: b.reassessment.map(|r| Finances {
            members: r.members,
            annual_income_fen: r.annual_income_fen,
            illness_fen: r.illness_fen,
            disability_fen: r.disability_fen,
            schooling_fen: r.schooling_fen,
            ..Finances::default()
        }),
    };
    let (row, decision) = service::pay(&state.db, &caller, &id.to_string(), p).await?;
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

/// Payments made on a case file, newest first (also through a grant naming its household).
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DisbursementList),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/case-files/{id}/disbursements")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadApplications>,
    id: web::Path<Uuid>,
) -> Result<web::Json<DisbursementList>> {
    let rows = service::payments(&state.db, &caller, &id.to_string()).await?;
    Ok(web::Json(DisbursementList {
        items: rows.into_iter().map(out).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFileOut {
    pub id: String,
    pub application_id: String,
    pub program_id: String,
    pub household_id: String,
    /// `deep`, `relative` or `accidental`.
    pub category: String,
    pub status: FileStatus,
    pub opened_on: String,
    pub exit_notice_ends_on: Option<String>,
    pub exited_on: Option<String>,
    /// Set when an exited household fell back into difficulty and the file was re-opened.
    pub reopened_on: Option<String>,
    pub version: i64,
}

fn file_out(f: FileRow) -> Result<CaseFileOut> {
    Ok(CaseFileOut {
        status: f.status()?,
        id: f.id,
        application_id: f.application_id,
        program_id: f.program_id,
        household_id: f.household_id,
        category: f.category,
        opened_on: f.opened_on,
        exit_notice_ends_on: f.exit_notice_ends_on,
        exited_on: f.exited_on,
        reopened_on: f.reopened_on,
        version: f.version,
    })
}

/// One case file (also through a grant naming its household).
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseFileOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/case-files/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadApplications>,
    id: web::Path<Uuid>,
) -> Result<web::Json<CaseFileOut>> {
    let f = service::file(&state.db, &caller, &id.to_string()).await?;
    Ok(web::Json(file_out(f)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"month": "2026-10", "per_capita_fen": 81000}))]
pub struct IncomeBody {
    /// `YYYY-MM`
    pub month: String,
    /// The month's per-capita net income, in fen.
    pub per_capita_fen: i64,
}

/// Record (or correct) a month's per-capita income for the file (R-FILE-6).
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = IncomeBody,
    responses((status = 204, description = "Recorded"),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("review_applications")))
)]
#[post("/v1/case-files/{id}/income")]
pub async fn record_income(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewApplications>,
    id: web::Path<Uuid>,
    body: ApiJson<IncomeBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    service::record_income(
        &state.db,
        &caller,
        &id.to_string(),
        &b.month,
        b.per_capita_fen,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// The last month of the run, `YYYY-MM` (default: last month).
    pub through: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCandidate {
    pub file: CaseFileOut,
    /// The monthly dibao the income was compared with.
    pub dibao_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExitCandidates {
    pub through: String,
    pub items: Vec<ExitCandidate>,
}

/// Active files whose household has stayed above the dibao for 6 consecutive recorded
/// months up to `through`: candidates for exit (脱困, R-FILE-6).
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(CandidatesQuery),
    responses((status = 200, body = ExitCandidates)),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/case-files/exit-candidates")]
pub async fn exit_candidates(
    state: web::Data<AppState>,
    caller: Require<perm::ReadApplications>,
    q: Query<CandidatesQuery>,
) -> Result<web::Json<ExitCandidates>> {
    let (through, found) =
        service::exit_candidates(&state.db, &caller, q.through.as_deref()).await?;
    Ok(web::Json(ExitCandidates {
        through: through.format("%Y-%m").to_string(),
        items: found
            .into_iter()
            .map(|(f, dibao_fen)| {
                Ok(ExitCandidate {
                    file: file_out(f)?,
                    dibao_fen,
                })
            })
            .collect::<Result<_>>()?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"step": "propose", "reason": "连续 6 个月人均收入高于低保标准，经入户核实"}))]
pub struct ExitBody {
    /// `propose` (grassroots), `notice`, `confirm` after the notice, `withdraw` (county), or
    /// `reopen` for a household that fell back into difficulty.
    pub step: ExitStep,
    pub reason: String,
}

/// A step of the exit process or a return to difficulty (R-FILE-6), audited. Illegal steps
/// answer 409 `illegal_transition`; confirming before the notice ends 409 `notice_not_over`.
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ExitBody,
    responses((status = 200, body = CaseFileOut),
              (status = 409, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("review_applications")))
)]
#[post("/v1/case-files/{id}/exit")]
pub async fn exit_step(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewApplications>,
    id: web::Path<Uuid>,
    body: ApiJson<ExitBody>,
) -> Result<web::Json<CaseFileOut>> {
    let b = body.0;
    let f = service::exit_step(&state.db, &caller, &id.to_string(), b.step, &b.reason).await?;
    Ok(web::Json(file_out(f)?))
}
