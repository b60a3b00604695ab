//! Applications, run at most once: the applicant signs in from the mini-program, drafts,
//! attaches materials, submits once; officers decide along the entry process.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::applications::queries as applications;
use crate::applications::queries::{ApplicationRow, FormInput, Material};
use crate::applications::rules::{Action, Deficiency, Status};
use crate::applications::service;
use crate::auth::applicant;
use crate::auth::applicant::{Applicant, Channel, Principal};
use crate::auth::caller::{Require, perm};
use crate::auth::http::RefreshBody;
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::infra::idempotency::{Once, answer};
use crate::photos::http::{PhotoQuery, Viewer, send};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "0a3Bc9ll2xYz1w0Qp41l2c5Fv83Bc9lU"}))]
pub struct WechatLoginBody {
    /// The code from `wx.login()` in the mini-program, or from the WeChat sign-in SDK in the
    /// app; usable once.
    pub code: String,
    /// `mini_program` (default) or `app`.
    #[serde(default = "mini_program")]
    pub channel: Channel,
}

fn mini_program() -> Channel {
    Channel::MiniProgram
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzIn0.c2lnbmF0dXJl", "token_type": "Bearer",
    "expires_in": 7200, "applicant_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d40",
    "refresh_token": "q3RkW9zT1mX5cW1eJqL8vYkz3TnR2mX5", "refresh_expires_in": 2592000
}))]
pub struct ApplicantTokenOut {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds the access token lasts.
    pub expires_in: i64,
    pub applicant_id: String,
    /// Use once with `POST /v1/auth/wechat/refresh`; a used token presented again ends the
    /// sign-in.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

impl From<service::ApplicantToken> for ApplicantTokenOut {
    fn from(t: service::ApplicantToken) -> Self {
        ApplicantTokenOut {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            applicant_id: t.applicant_id,
            refresh_token: t.refresh_token,
            refresh_expires_in: t.refresh_expires_in,
        }
    }
}

/// Sign in from the WeChat mini-program or the mobile app: the login code is exchanged for
/// the user's identity (`jscode2session`, or `sns/oauth2/access_token` for the app); the
/// first sign-in creates the applicant, and WeChat's unionid makes the same person one
/// applicant on both channels. The tokens are an applicant's, valid for the application
/// endpoints only; the refresh token renews them without a new login code.
#[utoipa::path(tag = "applications", request_body = WechatLoginBody,
    responses((status = 200, body = ApplicantTokenOut),
              (status = 401, description = "Invalid or used code (`wechat_code_invalid`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, description = "WeChat sign-in is not set up on this server (`wechat_not_configured`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 502, description = "WeChat failed or could not be reached (`upstream_unavailable`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/wechat")]
pub async fn wechat_login(
    state: web::Data<AppState>,
    body: ApiJson<WechatLoginBody>,
) -> Result<web::Json<ApplicantTokenOut>> {
    let channel = body.0.channel;
    let code = service::login_code(&body.0.code)?;
    let who = applicant::exchange_code(&state, channel, &code).await?;
    let t = service::sign_in(&state.db, &state.keys, &state.auth, channel, who).await?;
    Ok(web::Json(t.into()))
}

/// Exchange an applicant's refresh token for new tokens, as staff do with
/// `POST /v1/auth/refresh`. The old refresh token stops working; a used one presented
/// again ends the sign-in (its access tokens too).
#[utoipa::path(tag = "applications", request_body = RefreshBody,
    responses((status = 200, body = ApplicantTokenOut),
              (status = 401, description = "Invalid, expired or reused refresh token, or the sign-in ended", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/auth/wechat/refresh")]
pub async fn wechat_refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshBody>,
) -> Result<web::Json<ApplicantTokenOut>> {
    let t = service::refresh(&state.db, &state.keys, &state.auth, &body.0.refresh_token).await?;
    Ok(web::Json(t.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub name: String,
    pub relation: crate::households::rules::Relation,
    /// Always masked in answers.
    pub id_number: String,
    pub birth_date: String,
    pub gender: crate::households::rules::Gender,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    pub address: String,
    pub phone: Option<String>,
    pub members: Vec<MemberView>,
    pub items: Vec<crate::households::rules::ItemInput>,
    pub situations: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextStep {
    pub zh: &'static str,
    pub en: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f11", "program_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f01",
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "status": "returned", "revision": 1, "previous_id": null,
    "next_step": {"zh": "请按退回意见一次补正所有问题，并在期限内重新提交。", "en": "Correct every listed point in one go and resubmit before the deadline."},
    "form": {"address": "青山村三组 12 号", "phone": "13812345678",
             "members": [{"name": "张秀英", "relation": "head", "id_number": "110105********002X", "birth_date": "1949-12-31", "gender": "female"}],
             "items": [{"category": "farming", "amount_fen": 360000, "year": 2026}], "situations": ["illness"]},
    "materials": [{"code": "id_cards", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "file_name": "身份证.jpg"}],
    "deficiencies": [{"field": "materials.diagnosis", "code": "material_missing", "message": "缺少材料：医院诊断证明"}],
    "decision_reason": null, "step_due_on": null, "notice_ends_on": null, "correction_due_on": "2026-12-07",
    "case_file_id": null, "household_id": null,
    "submitted_at": "2026-11-22T09:30:00Z", "created_at": "2026-11-22T09:00:00Z", "updated_at": "2026-11-23T10:00:00Z", "version": 3
}))]
pub struct ApplicationOut {
    pub id: String,
    pub program_id: String,
    pub region_id: String,
    pub status: Status,
    pub revision: i32,
    /// The returned version this one corrects.
    pub previous_id: Option<String>,
    /// What happens next, for the applicant (R-APP-4).
    pub next_step: NextStep,
    pub form: FormView,
    pub materials: Vec<Material>,
    /// The deficiencies of the last return for correction, each naming its field.
    pub deficiencies: Vec<Deficiency>,
    pub decision_reason: Option<String>,
    /// Deadline of the current hand-over (5 working days a step).
    pub step_due_on: Option<String>,
    pub notice_ends_on: Option<String>,
    pub correction_due_on: Option<String>,
    /// Set once approved: the case file and the registry household.
    pub case_file_id: Option<String>,
    pub household_id: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

fn out(row: ApplicationRow, file: Option<(String, String)>) -> Result<ApplicationOut> {
    let status = row.status()?;
    let (zh, en) = status.next_step();
    let f = applications::stored_form(&row)?;
    Ok(ApplicationOut {
        form: FormView {
            address: f.address,
            phone: f.phone,
            members: f
                .members
                .into_iter()
                .map(|m| MemberView {
                    name: m.name,
                    relation: m.relation,
                    id_number: m.id_masked,
                    birth_date: m.birth_date.to_string(),
                    gender: m.gender,
                })
                .collect(),
            items: f.items,
            situations: f.situations,
        },
        materials: applications::materials(&row)?,
        deficiencies: applications::deficiencies(&row)?,
        next_step: NextStep { zh, en },
        status,
        case_file_id: file.as_ref().map(|f| f.0.clone()),
        household_id: file.map(|f| f.1),
        id: row.id,
        program_id: row.program_id,
        region_id: row.region_id,
        revision: row.revision,
        previous_id: row.previous_id,
        decision_reason: row.decision_reason,
        step_due_on: row.step_due_on,
        notice_ends_on: row.notice_ends_on,
        correction_due_on: row.correction_due_on,
        submitted_at: row.submitted_at.map(utc),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        version: row.version,
    })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "program_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f01", "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "form": {"address": "青山村三组 12 号", "phone": "13812345678",
             "members": [{"name": "张秀英", "relation": "head", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "female"}],
             "items": [{"category": "farming", "amount_fen": 360000, "year": 2026}], "situations": ["illness"]},
    "materials": [{"code": "id_cards", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "file_name": "身份证.jpg"}]
}))]
pub struct ApplicationBody {
    pub program_id: Uuid,
    /// The village the household lives in.
    pub region_id: Uuid,
    pub form: FormInput,
    #[serde(default)]
    pub materials: Vec<Material>,
}

impl ApplicationBody {
    fn draft(self) -> service::DraftInput {
        service::DraftInput {
            program_id: self.program_id.to_string(),
            region_id: self.region_id.to_string(),
            form: self.form,
            materials: self.materials,
        }
    }
}

/// Start an application (a draft). One applicant has one application in progress per
/// program: another is refused with 409 naming it (R-APP-2).
#[utoipa::path(tag = "applications", security(("applicant" = [])), request_body = ApplicationBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = ApplicationOut),
              (status = 409, description = "Already in progress (`application_already_open`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/applications")]
pub async fn create(
    state: web::Data<AppState>,
    who: Applicant,
    req: HttpRequest,
    body: ApiJson<ApplicationBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let owner = format!("applicant:{}", who.id);
    let render = |row: &ApplicationRow| answer(StatusCode::CREATED, &out(row.clone(), None)?);
    let once = Once::of_request(&req, &owner, &fingerprint, render)?;
    service::start(&state.db, &state.data_key, &who, b.draft(), once)
        .await?
        .respond(render)
}

/// Replace a draft's content.
#[utoipa::path(tag = "applications", security(("applicant" = [])), params(("id" = Uuid, Path)),
    request_body = ApplicationBody,
    responses((status = 200, body = ApplicationOut),
              (status = 409, description = "No longer a draft", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[put("/v1/applications/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    who: Applicant,
    id: web::Path<Uuid>,
    body: ApiJson<ApplicationBody>,
) -> Result<web::Json<ApplicationOut>> {
    let row = service::update(
        &state.db,
        &state.data_key,
        &who,
        &id.to_string(),
        body.0.draft(),
    )
    .await?;
    Ok(web::Json(out(row, None)?))
}

/// Submit, once. The application is checked completely at once: if anything is missing or
/// inconsistent, one 422 answer lists every deficiency (R-APP-3). Submitting again, however
/// often and however concurrently, changes nothing and answers with the application.
#[utoipa::path(tag = "applications", security(("applicant" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ApplicationOut),
              (status = 409, description = "Not a draft any more: returned, rejected or decided (`application_not_editable`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Every deficiency, one per field or material", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/applications/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    who: Applicant,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApplicationOut>> {
    let (row, file) = service::submit(&state.db, &state.data_key, &who, &id.to_string()).await?;
    Ok(web::Json(out(row, file)?))
}

/// Start the corrected version of a returned application: a new draft linked to it, with
/// the form and materials copied and the deficiencies to fix.
#[utoipa::path(tag = "applications", security(("applicant" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = ApplicationOut),
              (status = 409, description = "Not returned", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")))]
#[post("/v1/applications/{id}/revise")]
pub async fn revise(
    state: web::Data<AppState>,
    who: Applicant,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let row = service::revise(&state.db, &who, &id.to_string()).await?;
    Ok(HttpResponse::Created().json(out(row, None)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    pub status: Option<Status>,
}

/// Applications: an applicant sees their own; staff those in their jurisdiction.
#[utoipa::path(tag = "applications", security(("bearer" = []), ("applicant" = [])),
    params(ApplicationQuery, PageParams), responses((status = 200, body = Page<ApplicationOut>)),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/applications")]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: Query<ApplicationQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<ApplicationOut>>> {
    // Before the paging is read: a caller who may not read learns nothing else.
    service::may_read(&who)?;
    let limit = page.limit()?;
    let after = page.position()?;
    let rows = service::list(&state.db, &who, q.status, after, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone(), |r| out(r, None));
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// One application with its status and next step (R-APP-4).
#[utoipa::path(tag = "applications", security(("bearer" = []), ("applicant" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApplicationOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/applications/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApplicationOut>> {
    let (row, file) = service::get(&state.db, &who, &id.to_string()).await?;
    Ok(web::Json(out(row, file)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "action": "return",
    "deficiencies": [{"field": "materials.diagnosis", "code": "unreadable", "message": "诊断证明照片模糊，请重新拍摄上传"},
                     {"field": "form.items[0].amount_fen", "code": "inconsistent", "message": "务农收入与村委会证明不符"}],
    "correction_workdays": 10
}))]
pub struct ApplicationDecisionBody {
    /// `pass` (to the next level, or onto public notice), `return` for correction,
    /// `reject`, or `approve` once the notice is over.
    pub action: Action,
    /// Required to reject; kept with any decision.
    pub reason: Option<String>,
    /// Required to return: every deficiency, each naming its field or material.
    #[serde(default)]
    pub deficiencies: Vec<Deficiency>,
    /// Working days the applicant has to correct (1–30, default 10).
    pub correction_workdays: Option<u32>,
    /// On approval: the file's category when the program's is `any`.
    pub category: Option<String>,
}

/// Decide on an application at the caller's level: grassroots review (village secretary,
/// township officer), county review and approval (county officer). Illegal moves answer 409
/// `illegal_transition`; another level's step 403 `not_your_step`; approval before the
/// notice ends 409 `notice_not_over`. Approval opens the case file.
#[utoipa::path(tag = "applications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ApplicationDecisionBody,
    responses((status = 200, body = ApplicationOut),
              (status = 409, description = "Illegal move or notice not over", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("review_applications")))
)]
#[post("/v1/applications/{id}/decisions")]
pub async fn decide(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewApplications>,
    id: web::Path<Uuid>,
    body: ApiJson<ApplicationDecisionBody>,
) -> Result<web::Json<ApplicationOut>> {
    let b = body.0;
    let v = service::Verdict {
        action: b.action,
        reason: b.reason,
        deficiencies: b.deficiencies,
        correction_workdays: b.correction_workdays,
        category: b.category,
        seen_version: None,
    };
    let (row, file) =
        service::decide(&state.db, &state.data_key, &caller, &id.to_string(), v).await?;
    Ok(web::Json(out(row, file)?))
}

/// One material of an application: for the applicant and for the officers whose
/// jurisdiction holds the application. Only files the application names *and* its
/// applicant uploaded are served; `size` and byte ranges as for photos, without the
/// picture's location for roles that may not see it.
#[utoipa::path(tag = "applications", security(("bearer" = []), ("applicant" = [])),
    params(("id" = Uuid, Path), ("sha256" = String, Path), PhotoQuery,
           ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-65535`"),
           ("If-None-Match" = Option<String>, Header, description = "The ETag held; 304 if unchanged")),
    responses((status = 200, description = "The file (application/pdf or an image)",
                headers(("ETag" = String), ("Accept-Ranges" = String))),
              (status = 206, description = "The requested range", headers(("Content-Range" = String), ("ETag" = String))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The resized copy is still being made (`derivative_pending`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 416, description = "The range lies outside the file", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_applications")))
)]
#[get("/v1/applications/{id}/materials/{sha256}")]
pub async fn material(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    q: Query<PhotoQuery>,
) -> Result<HttpResponse> {
    let (id, sha) = (path.0.to_string(), path.1.to_ascii_lowercase());
    let viewer = match &who {
        Principal::Applicant(_) => Viewer::Applicant,
        Principal::Staff(st) => Viewer::Staff(st.actor()),
    };
    let (blob, region_path) = service::material(&state.db, &who, &id, &sha).await?;
    send(&state, &req, &viewer, blob, &region_path, q.size).await
}
