//! Dropout control online: a case judged from its evidence (`GET
//! /v1/dropout-cases/{id}/evaluation`), documents recorded by the office that issues them
//! (`POST /v1/dropout-cases/{id}/documents`, checked against the eight steps), and the
//! monthly home-teaching compliance list (`GET /v1/home-teaching/compliance`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bangfu_sync::Code;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Caller, Require, perm};
use crate::calendar::queries as calendar;
use crate::deadlines::view::DeadlineOut;
use crate::deadlines::view::deadline_out;
use crate::deadlines::{derive, queries as deadlines};
use crate::domain::access;
use crate::domain::access::{Subject, Via};
use crate::domain::role::Role;
use crate::dropout::home_teaching::Month;
use crate::dropout::rules::{CloseOut, Evaluation, Finding, Step, StepCheck};
use crate::dropout::{home_teaching, rules as dropout};
use crate::infra::db::DbConn;
use crate::infra::db::schema::field_facts;
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::http::envelope::lang_of;
use crate::infra::http::json::ApiJson;
use crate::records::store as records;
use crate::state::AppState;
use crate::sync::push;
use crate::sync::push::Pusher;

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

/// The case if the caller reaches it (by region, or through the school), and how.
fn reachable_case(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(dropout::Case, Via)> {
    let row = records::load(conn, "dropout_case", &[id.to_owned()])?
        .pop()
        .ok_or(Error::NotFound)?;
    if row.deleted {
        return Err(Error::NotFound);
    }
    let through_school = !row.reach_path.is_empty() && caller.scope.contains(&row.reach_path);
    let (mut cases, _) = derive::load_cases(conn, &[row.id])?;
    let case = cases.pop().ok_or(Error::NotFound)?;
    let via = if through_school {
        Some(Via::Standing)
    } else {
        access::reach(
            &caller.scope,
            &caller.grants,
            &row.region_path,
            &[(Subject::DropoutCase, id), (Subject::Child, &case.child_id)],
        )
    };
    via.map(|v| (case, v)).ok_or(Error::NotFound)
}

/// The judgement and clocks of a case the caller was found to reach.
fn evaluation(
    conn: &mut DbConn,
    case: &dropout::Case,
    lang: crate::infra::error::Lang,
) -> Result<CaseEvaluation> {
    let ev: Evaluation = dropout::evaluate(case);
    let f = deadlines::Filter {
        subject_entity: Some("dropout_case".into()),
        subject_id: Some(case.id.clone()),
        ..Default::default()
    };
    let rows = deadlines::list(
        conn,
        &crate::domain::access::Scope::new(vec![case.region_path.clone()]),
        &f,
        None,
        50,
    )?;
    let cal = calendar::load(conn)?;
    let now = crate::infra::clock::now();
    Ok(CaseEvaluation {
        case_id: case.id.clone(),
        child_id: case.child_id.clone(),
        declared_stage: case.declared_stage.clone(),
        verified_stage: ev.verified_stage,
        next_step: ev.next_step,
        steps: ev.steps,
        close_out: ev.close_out,
        findings: ev.findings,
        deadlines: rows
            .into_iter()
            .map(|r| deadline_out(r, now, &cal, lang))
            .collect(),
    })
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
    crate::deadlines::projector::catch_up(&state.db).await?;
    let caller: Caller = (*caller).clone();
    let out = state
        .db
        .read(move |c| {
            let (case, _) = reachable_case(c, &caller, &id)?;
            evaluation(c, &case, lang)
        })
        .await?;
    Ok(web::Json(out))
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

/// The legal step a document is the paper of.
fn step_of(kind: &str) -> Option<Step> {
    Some(match kind {
        "enrollment_notice" => Step::EnrollmentNotice,
        "registration" => Step::Registration,
        "dropout_confirmation" => Step::DropoutConfirmed,
        "upward_report" => Step::Reported,
        "return_deadline_notice" => Step::ReturnUrged,
        "penalty_decision" => Step::Penalty,
        "court_application" => Step::CourtEnforcement,
        _ => return None,
    })
}

/// Who may issue what: the township decides penalties, the county approves deferrals and
/// exemptions; a school's staff confirm a return.
fn may_issue(role: Role, issued_by: &str) -> bool {
    match issued_by {
        "township" => role == Role::TownshipOfficer,
        "county" => role == Role::CountyOfficer,
        "court" => matches!(role, Role::TownshipOfficer | Role::CountyOfficer),
        _ => role != Role::Auditor,
    }
}

fn problems(missing: &[dropout::Missing], field: &str) -> Error {
    Error::Validation(
        missing
            .iter()
            .map(|m| {
                FieldError::new(
                    field,
                    m.code,
                    Msg::new(m.message.clone(), m.message.clone()),
                )
            })
            .collect(),
    )
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
    if !bangfu_sync::schema::DROPOUT_DOCUMENT_KINDS.contains(&b.kind.as_str()) {
        return Err(Error::validation(
            "kind",
            Code::InvalidValue,
            Msg::fixed("未知的文书种类。", "Unknown kind of document."),
        ));
    }
    if !may_issue(caller.role, &b.issued_by) {
        return Err(Error::Forbidden {
            code: Code::NotTheIssuer,
            detail: Msg::fixed(
                "该文书须由签发机关（乡镇或县）的工作人员登记。",
                "This document is recorded by staff of the body that issues it (township, county).",
            ),
        });
    }
    crate::deadlines::projector::catch_up(&state.db).await?;
    let caller: Caller = (*caller).clone();
    let (clock, key) = (state.hlc.clone(), state.data_key.clone());
    let out = state
        .db
        .write(move |c| {
            // Recording a paper is a change: a grant reads, it never writes.
            let case = match reachable_case(c, &caller, &id)? {
                (case, Via::Standing) => case,
                (_, Via::Grant) => return Err(Error::NotFound),
            };
            let doc_id = crate::infra::db::new_id();
            let mut candidate = case.clone();
            candidate.documents.push(dropout::Document {
                id: doc_id.clone(),
                kind: b.kind.clone(),
                issued_on: b.issued_on,
                deadline_on: b.deadline_on,
                issued_by: b.issued_by.clone(),
                photos: 0,
            });
            if let Some(step) = step_of(&b.kind) {
                let now_ev = dropout::evaluate(&case);
                let before: Vec<&StepCheck> =
                    now_ev.steps.iter().filter(|s| s.step < step).collect();
                if let Some(undone) = before.iter().find(|s| !s.done) {
                    return Err(Error::Unprocessable {
                        code: Code::StepOutOfOrder,
                        detail: Msg::new(
                            format!("须先完成“{}”这一步。", undone.step.as_str()),
                            format!("The step {} must be done first.", undone.step.as_str()),
                        ),
                    });
                }
                let after = dropout::evaluate(&candidate);
                if let Some(check) = after.steps.iter().find(|s| s.step == step)
                    && !check.missing.is_empty()
                {
                    return Err(problems(&check.missing, "issued_on"));
                }
            }
            let mut fields = Map::new();
            let school = records::load(c, "dropout_case", std::slice::from_ref(&case.id))?
                .pop()
                .and_then(|r| serde_json::from_str::<Value>(&r.data).ok())
                .and_then(|d| d.get("school_id").cloned());
            let region_id = case
                .region_path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            for (k, v) in [
                ("region_id", json!(region_id)),
                ("child_id", json!(case.child_id)),
                ("case_id", json!(case.id)),
                ("kind", json!(b.kind)),
                ("issued_on", json!(b.issued_on)),
                ("issued_by", json!(b.issued_by)),
                ("by_user_id", json!(caller.user_id)),
            ] {
                fields.insert(k.into(), v);
            }
            if let Some(s) = school.filter(|s| !s.is_null()) {
                fields.insert("school_id".into(), s);
            }
            for (k, v) in [
                ("deadline_on", b.deadline_on.map(|d| json!(d))),
                ("document_no", b.document_no.map(|s| json!(s))),
                ("notes", b.notes.map(|s| json!(s))),
            ] {
                if let Some(v) = v {
                    fields.insert(k.into(), v);
                }
            }
            let who = Pusher::online(&caller);
            let m = push::server_mutation(&clock, "dropout_document", &doc_id, 0, fields)?;
            push::apply_one(c, &who, &clock, &key, m)?;
            Ok(candidate)
        })
        .await?;
    crate::deadlines::projector::catch_up(&state.db).await?;
    let ev = state.db.read(move |c| evaluation(c, &out, lang)).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(ev))
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
    q: web::Query<ComplianceParams>,
) -> Result<web::Json<HomeTeachingCompliance>> {
    let first = match q.month.as_deref() {
        None => crate::infra::clock::today().with_day(1).unwrap_or_default(),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
            Error::validation(
                "month",
                Code::InvalidFormat,
                Msg::fixed("month 格式为 YYYY-MM。", "month is YYYY-MM."),
            )
        })?,
    };
    let short_only = q.short_only.unwrap_or(true);
    crate::deadlines::projector::catch_up(&state.db).await?;
    let scope = caller.scope.clone();
    let out = state
        .db
        .read(move |c| {
            let ids: Vec<String> = field_facts::table
                .filter(field_facts::entity.eq("child"))
                .filter(field_facts::state.eq("home_teaching"))
                .filter(field_facts::deleted.eq(false))
                .filter(
                    crate::infra::db::scoped::path_in_scope(field_facts::region_path, &scope).or(
                        crate::infra::db::scoped::path_in_scope(field_facts::reach_path, &scope),
                    ),
                )
                .select(field_facts::id)
                .load(c)?;
            let children = derive::load_home_teaching(c, &ids)?;
            let mut items: Vec<ChildMonth> = children
                .iter()
                .map(|ch| ChildMonth {
                    child_id: ch.id.clone(),
                    name: ch.name.clone(),
                    month: home_teaching::month(ch, first),
                })
                .collect();
            items.sort_by(|a, b| a.child_id.cmp(&b.child_id));
            let compliant = items.iter().filter(|i| i.month.compliant).count();
            let total = items.len();
            if short_only {
                items.retain(|i| !i.month.compliant);
            }
            Ok(HomeTeachingCompliance {
                month: format!("{:04}-{:02}", first.year(), first.month()),
                children: total,
                compliant,
                items,
            })
        })
        .await?;
    Ok(web::Json(out))
}
