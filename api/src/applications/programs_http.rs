//! Assistance programs and their checklists (`/v1/programs`), and the working-day calendar
//! (`/v1/calendar/{year}`). Programs are public: the mini-program shows what to prepare
//! before anyone signs in (R-APP-1).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use bangfu_sync::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::applications::programs;
use crate::applications::programs::{NewProgram, Program};
use crate::applications::rules::ChecklistItem;
use crate::auth::caller::{Require, perm};
use crate::calendar::queries as calendar;
use crate::domain::calendar::{Calendar, YearSchedule};
use crate::domain::validate::Checks;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::json::ApiJson;
use crate::infra::idempotency::{answer, create_once};
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
    let items = state.db.read(programs::list).await?;
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
    let id = id.to_string();
    let p = state.db.read(move |c| programs::find(c, &id)).await?;
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

const CATEGORIES: &[&str] = &["deep", "relative", "accidental", "any"];
const AID_KINDS: &[&str] = &[
    "living",
    "medical",
    "education",
    "housing",
    "employment",
    "temporary",
];
const ACCEPTS: &[&str] = &["image", "pdf"];

fn check(b: &NewProgramBody) -> Result<()> {
    let mut c = Checks::default();
    let msg = |zh: &'static str, en: &'static str| Msg::fixed(zh, en);
    c.rule(
        (2..=40).contains(&b.code.len())
            && b.code.bytes().all(|x| x.is_ascii_lowercase() || x == b'_'),
        "code",
        Code::InvalidFormat,
        msg(
            "编码为 2 到 40 个小写字母或下划线。",
            "code is 2 to 40 lowercase letters or '_'.",
        ),
    );
    c.text("name", &b.name, 2, 60);
    c.text("description", &b.description, 0, 1000);
    c.rule(
        CATEGORIES.contains(&b.category.as_str()),
        "category",
        Code::InvalidValue,
        msg(
            "类别须为 deep、relative、accidental 或 any。",
            "category is deep, relative, accidental or any.",
        ),
    );
    c.rule(
        !b.aid_kinds.is_empty() && b.aid_kinds.iter().all(|k| AID_KINDS.contains(&k.as_str())),
        "aid_kinds",
        Code::InvalidValue,
        msg("救助类型无效。", "Unknown aid kind."),
    );
    c.rule(
        (1..=30).contains(&b.notice_workdays),
        "notice_workdays",
        Code::OutOfRange,
        msg(
            "公示期为 1 到 30 个工作日。",
            "The notice lasts 1 to 30 working days.",
        ),
    );
    c.rule(
        !b.checklist.is_empty(),
        "checklist",
        Code::Required,
        msg("须列出材料清单。", "List the materials."),
    );
    for (i, item) in b.checklist.iter().enumerate() {
        c.text(&format!("checklist[{i}].name"), &item.name, 1, 100);
        c.rule(
            b.checklist.iter().filter(|x| x.code == item.code).count() == 1,
            &format!("checklist[{i}].code"),
            Code::Duplicate,
            msg("材料编码重复。", "Duplicate material code."),
        );
        c.rule(
            item.required_when
                .as_ref()
                .is_none_or(|s| b.situations.contains(s)),
            &format!("checklist[{i}].required_when"),
            Code::UnknownSituation,
            msg(
                "该情形未在 situations 中列出。",
                "The situation is not listed in situations.",
            ),
        );
        c.rule(
            !item.accepts.is_empty() && item.accepts.iter().all(|a| ACCEPTS.contains(&a.as_str())),
            &format!("checklist[{i}].accepts"),
            Code::InvalidValue,
            msg(
                "accepts 只能是 image 或 pdf。",
                "accepts is image and/or pdf.",
            ),
        );
    }
    c.finish()
}

/// Create a program with its checklist (county officers and admins).
#[utoipa::path(tag = "programs", security(("bearer" = [])), request_body = NewProgramBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = ProgramOut),
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
    check(&b)?;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let (actor, path) = (caller.actor(), caller.region_path.clone());
    create_once(
        &state.db,
        &caller.user_id,
        &req,
        &fingerprint,
        move |conn| {
            let p = programs::create(
                conn,
                &actor,
                &path,
                NewProgram {
                    code: &b.code,
                    name: b.name.trim(),
                    description: b.description.trim(),
                    category: &b.category,
                    aid_kinds: &b.aid_kinds,
                    checklist: &b.checklist,
                    situations: &b.situations,
                    notice_workdays: b.notice_workdays,
                    fast_track: b.fast_track,
                },
            )?;
            answer(StatusCode::CREATED, &out(p))
        },
    )
    .await
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
    let y = year.into_inner();
    Ok(web::Json(
        state.db.read(move |c| calendar::year(c, y)).await?,
    ))
}

/// Load (or replace) a year's holiday schedule as the State Council publishes it: public
/// holidays and make-up working days. Notice periods and deadlines count working days.
#[utoipa::path(tag = "programs", security(("bearer" = [])), params(("year" = i32, Path)),
    request_body = YearSchedule,
    responses((status = 200, body = YearSchedule)),
    extensions(("x-bangfu-permission" = json!("manage_programs")))
)]
#[put("/v1/calendar/{year}")]
pub async fn put_year(
    state: web::Data<AppState>,
    caller: Require<perm::ManagePrograms>,
    year: web::Path<i32>,
    body: ApiJson<YearSchedule>,
) -> Result<web::Json<YearSchedule>> {
    let s = body.0;
    if s.year != *year {
        return Err(Error::validation(
            "year",
            Code::Mismatch,
            Msg::fixed("年份与路径不一致。", "The year differs from the path's."),
        ));
    }
    Calendar::default().load(&s).map_err(|e| {
        Error::validation(
            "holidays",
            Code::Inconsistent,
            Msg::new(
                format!("日程有误：{e:?}"),
                format!("The schedule is inconsistent: {e:?}"),
            ),
        )
    })?;
    let (actor, path, saved) = (caller.actor(), caller.region_path.clone(), s.clone());
    state
        .db
        .write(move |c| calendar::save(c, &actor, &path, &saved))
        .await?;
    Ok(web::Json(s))
}
