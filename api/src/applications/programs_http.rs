//! Assistance programs and their checklists (`/v1/programs`), and the working-day calendar
//! (`/v1/calendar/{year}`). Programs are public: the mini-program shows what to prepare
//! before anyone signs in (R-APP-1).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::applications::programs::Program;
use crate::applications::rules::ChecklistItem;
use crate::applications::service;
use crate::auth::caller::{Require, perm};
use crate::domain::calendar::YearSchedule;
use crate::infra::error::{Error, Result};
use crate::infra::http::json::ApiJson;
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f01", "code": "worker_hardship", "name": "困难职工帮扶",
    "description": "深度、相对困难职工家庭的生活、医疗、子女教育救助",
    "category": "any", "aid_kinds": ["living", "medical", "education"],
    "situations": ["illness", "disability", "student", "unemployed"],
    "checklist": [
        {"code": "id_cards", "name": "家庭成员身份证", "required_when": null, "optional": false, "accepts": ["image", "pdf"]},
        {"code": "diagnosis", "name": "医院诊断证明及医疗费票据", "required_when": "illness", "optional": false, "accepts": ["image", "pdf"]}
    ],
    "notice_workdays": 5, "fast_track": false, "version": 1
}))]
pub struct ProgramOut {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    /// `deep`, `relative`, `accidental`, or `any` (decided per case on approval).
    pub category: String,
    pub aid_kinds: Vec<String>,
    /// Situations an applicant may state; some materials are required only in one.
    pub situations: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    /// Public notice period in working days (R-FILE-5).
    pub notice_workdays: i32,
    /// Accidental difficulty: one grassroots pass puts it on notice (R-APP-4).
    pub fast_track: bool,
    pub version: i64,
}

pub fn out(p: Program) -> ProgramOut {
    ProgramOut {
        id: p.row.id,
        code: p.row.code,
        name: p.row.name,
        description: p.row.description,
        category: p.row.category,
        aid_kinds: p.aid_kinds,
        situations: p.situations,
        checklist: p.checklist,
        notice_workdays: p.row.notice_workdays,
        fast_track: p.row.fast_track,
        version: p.row.version,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramList {
    pub items: Vec<ProgramOut>,
}

/// Every active program with its checklist. No sign-in needed.
#[utoipa::path(tag = "programs", responses((status = 200, body = ProgramList)))]
#[get("/v1/programs")]
pub async fn list(state: web::Data<AppState>) -> Result<web::Json<ProgramList>> {
    let items = service::programs(&state.db).await?;
    Ok(web::Json(ProgramList {
        items: items.into_iter().map(out).collect(),
    }))
}

/// One program with its checklist. No sign-in needed.
#[utoipa::path(tag = "programs", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProgramOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[get("/v1/programs/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<Uuid>) -> Result<web::Json<ProgramOut>> {
    let p = service::program(&state.db, &id.to_string()).await?;
    Ok(web::Json(out(p)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "education_aid", "name": "困难家庭子女教育救助", "description": "在校学生学杂费、生活费救助",
    "category": "any", "aid_kinds": ["education"], "situations": ["student"],
    "checklist": [{"code": "id_cards", "name": "家庭成员身份证", "required_when": null, "accepts": ["image", "pdf"]},
                  {"code": "enrolment", "name": "学校在读证明", "required_when": "student", "accepts": ["image", "pdf"]}],
    "notice_workdays": 5, "fast_track": false
}))]
pub struct NewProgramBody {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    pub aid_kinds: Vec<String>,
    #[serde(default)]
    pub situations: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub notice_workdays: i32,
    #[serde(default)]
    pub fast_track: bool,
}

impl NewProgramBody {
    fn input(&self) -> service::ProgramInput {
        service::ProgramInput {
            code: self.code.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            aid_kinds: self.aid_kinds.clone(),
            situations: self.situations.clone(),
            checklist: self.checklist.clone(),
            notice_workdays: self.notice_workdays,
            fast_track: self.fast_track,
        }
    }
}

/// Create a program with its checklist (county officers and admins whose jurisdiction
/// covers the whole install: programs are offered in every county of it).
#[utoipa::path(tag = "programs", security(("bearer" = [])), request_body = NewProgramBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = ProgramOut),
              (status = 403, description = "The caller's jurisdiction does not cover the whole install (`install_wide_data`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Code taken", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_programs")))
)]
#[post("/v1/programs")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::ManagePrograms>,
    req: HttpRequest,
    body: ApiJson<NewProgramBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let p = b.input();
    // Checked before the Idempotency-Key is read, as the answer's order has always been.
    service::check_program(&p)?;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |p: &Program| answer(StatusCode::CREATED, &out(p.clone()));
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    service::create_program(&state.db, &caller, p, once)
        .await?
        .respond(render)
}

/// One year's working-day schedule as loaded.
#[utoipa::path(tag = "programs", security(("bearer" = [])), params(("year" = i32, Path)),
    responses((status = 200, body = YearSchedule),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_regions")))
)]
#[get("/v1/calendar/{year}")]
pub async fn get_year(
    state: web::Data<AppState>,
    _caller: Require<perm::ReadRegions>,
    year: web::Path<i32>,
) -> Result<web::Json<YearSchedule>> {
    Ok(web::Json(
        service::calendar_year(&state.db, year.into_inner()).await?,
    ))
}

/// Load (or replace) a year's holiday schedule as the State Council publishes it: public
/// holidays and make-up working days. Notice periods and deadlines count working days in
/// every county of the install, so only a caller whose jurisdiction covers it all may.
#[utoipa::path(tag = "programs", security(("bearer" = [])), params(("year" = i32, Path)),
    request_body = YearSchedule,
    responses((status = 200, body = YearSchedule),
              (status = 403, description = "The caller's jurisdiction does not cover the whole install (`install_wide_data`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_programs")))
)]
#[put("/v1/calendar/{year}")]
pub async fn put_year(
    state: web::Data<AppState>,
    caller: Require<perm::ManagePrograms>,
    year: web::Path<i32>,
    body: ApiJson<YearSchedule>,
) -> Result<web::Json<YearSchedule>> {
    Ok(web::Json(
        service::save_calendar(&state.db, &caller, *year, body.0).await?,
    ))
}
