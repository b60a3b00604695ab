//! Dropout control online: a case judged from its evidence (`GET
//! /v1/dropout-cases/{id}/evaluation`), documents recorded by the office that issues them
//! (`POST /v1/dropout-cases/{id}/documents`, checked against the eight steps), and the
//! monthly home-teaching compliance list (`GET /v1/home-teaching/compliance`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::deadlines::view::DeadlineOut;
use crate::deadlines::view::deadline_out;
use crate::dropout::home_teaching::Month;
use crate::dropout::rules::{CloseOut, Finding, Step, StepCheck};
use crate::dropout::service;
use crate::infra::error::{Lang, Result};
use crate::infra::http::envelope::lang_of;
use crate::infra::http::json::{ApiJson, Query};
use crate::state::AppState;

/// The judgement of one case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEvaluation {
    pub case_id: String,
    pub child_id: String,
    /// The stage the phones last declared.
    pub declared_stage: Option<String>,
    pub verified_stage: Option<Step>,
    pub next_step: Option<Step>,
    pub steps: Vec<StepCheck>,
    pub close_out: CloseOut,
    pub findings: Vec<Finding>,
    /// The case's clocks (the return deadline, the penalty decision).
    pub deadlines: Vec<DeadlineOut>,
}

/// The judgement and clocks of a case, rendered in `lang`.
fn evaluation(j: service::Judged, lang: Lang) -> CaseEvaluation {
    let (ev, case) = (j.evaluation, j.case);
    CaseEvaluation {
        case_id: case.id,
        child_id: case.child_id,
        declared_stage: case.declared_stage,
        verified_stage: ev.verified_stage,
        next_step: ev.next_step,
        steps: ev.steps,
        close_out: ev.close_out,
        findings: ev.findings,
        deadlines: j
            .deadlines
            .into_iter()
            .map(|r| deadline_out(r, j.now, &j.calendar, lang))
            .collect(),
    }
}

/// A dropout case judged from its records: each of the eight legal steps with its
/// evidence and what it lacks, the next step, whether a closing counts as close-out, and
/// what a person should look at (a record after the close, a stage ahead of its evidence).
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CaseEvaluation)),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/dropout-cases/{id}/evaluation")]
pub async fn evaluate(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<web::Json<CaseEvaluation>> {
    let lang = lang_of(
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    let judged = service::evaluate(&state.db, &caller, &id).await?;
    Ok(web::Json(evaluation(judged, lang)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "penalty_decision", "issued_on": "2026-11-25", "issued_by": "township", "document_no": "青山镇教罚〔2026〕3号"}))]
pub struct NewDocument {
    /// One of the document kinds of `dropout_document` (see `GET /v1/sync/schema`).
    pub kind: String,
    pub issued_on: NaiveDate,
    /// A return deadline notice: the day the child must be back (default: a week on).
    pub deadline_on: Option<NaiveDate>,
    pub issued_by: String,
    pub document_no: Option<String>,
    pub notes: Option<String>,
}

/// Record a document of a case online, as the office that issued it. A legal step's paper
/// is accepted only when every step before it is done and its own evidence holds (a penalty
/// decision after the guardian's week, by the township); every lack is listed at once.
/// The document syncs to the phones of everyone working the case.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewDocument,
    responses((status = 201, body = CaseEvaluation),
              (status = 403, description = "The caller's office does not issue this document", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("record_dropout_documents")))
)]
#[post("/v1/dropout-cases/{id}/documents")]
pub async fn record_document(
    state: web::Data<AppState>,
    caller: Require<perm::RecordDropoutDocuments>,
    id: web::Path<String>,
    body: ApiJson<NewDocument>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let b = body.0;
    let lang = lang_of(
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    let paper = service::Paper {
        kind: b.kind,
        issued_on: b.issued_on,
        deadline_on: b.deadline_on,
        issued_by: b.issued_by,
        document_no: b.document_no,
        notes: b.notes,
    };
    let judged =
        service::record_document(&state.db, &state.hlc, &state.data_key, &caller, &id, paper)
            .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(evaluation(judged, lang)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceParams {
    /// `YYYY-MM` (default: this month).
    pub month: Option<String>,
    /// Only the children short of the rule (default true).
    pub short_only: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChildMonth {
    pub child_id: String,
    pub name: String,
    #[serde(flatten)]
    pub month: Month,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HomeTeachingCompliance {
    pub month: String,
    pub children: usize,
    pub compliant: usize,
    pub items: Vec<ChildMonth>,
}

/// Home teaching (R-DROP-7) for one month: every child taught at home in the caller's
/// jurisdiction, their sessions, those that count (2 class hours, a signed plan, photos)
/// and why the others do not; by default only the children short of 2.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(ComplianceParams),
    responses((status = 200, body = HomeTeachingCompliance)),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/home-teaching/compliance")]
pub async fn home_teaching_compliance(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    q: Query<ComplianceParams>,
) -> Result<web::Json<HomeTeachingCompliance>> {
    let short_only = q.short_only.unwrap_or(true);
    let c = service::home_teaching(&state.db, &caller, q.month.as_deref(), short_only).await?;
    Ok(web::Json(HomeTeachingCompliance {
        month: c.month,
        children: c.children,
        compliant: c.compliant,
        items: c
            .items
            .into_iter()
            .map(|i| ChildMonth {
                child_id: i.child_id,
                name: i.name,
                month: i.month,
            })
            .collect(),
    }))
}
