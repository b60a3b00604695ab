//! Campaigns (R-VISIT-5, R-DROP-6): `/v1/campaigns`, their progress per helper, village or
//! school, and marking phases done.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::campaigns::queries::CampaignRow;
use crate::campaigns::rules::{CampaignKind, Phase, Progress};
use crate::campaigns::{rules as campaign, service};
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::infra::http::versioning::{etag, if_match};
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d01", "kind": "visit", "name": "2027 年春季大走访",
    "starts_on": "2027-04-01",
    "phases": [
        {"kind": "training", "name": "组织培训", "due_on": "2027-04-10"},
        {"kind": "visiting", "name": "入户走访", "due_on": "2027-04-30"},
        {"kind": "completing_data", "name": "完善内容", "due_on": "2027-06-15"},
        {"kind": "supervision", "name": "综合督导", "due_on": "2027-07-31"}
    ]
}))]
pub struct NewCampaignBody {
    pub region_id: Uuid,
    pub kind: CampaignKind,
    pub name: String,
    pub starts_on: NaiveDate,
    /// Dropout campaigns: the day term starts (the start-of-term check runs a week from it).
    pub term_starts_on: Option<NaiveDate>,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseOut {
    pub position: usize,
    pub kind: campaign::PhaseKind,
    pub name: String,
    pub due_on: NaiveDate,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: String,
    pub region_id: String,
    pub kind: String,
    pub name: String,
    pub starts_on: String,
    pub term_starts_on: Option<String>,
    pub phases: Vec<PhaseOut>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

fn out(c: &CampaignRow) -> Result<CampaignOut> {
    Ok(CampaignOut {
        phases: c
            .phases()?
            .into_iter()
            .enumerate()
            .map(|(position, p)| PhaseOut {
                position,
                kind: p.phase.kind,
                name: p.phase.name,
                due_on: p.phase.due_on,
                completed_at: p.completed_at.map(utc),
            })
            .collect(),
        id: c.id.clone(),
        region_id: c.region_id.clone(),
        kind: c.kind.clone(),
        name: c.name.clone(),
        starts_on: c.starts_on.clone(),
        term_starts_on: c.term_starts_on.clone(),
        version: c.version,
        created_at: utc(c.created_at),
    })
}

/// Start a campaign over a region in the caller's jurisdiction, with its phases.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), request_body = NewCampaignBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = CampaignOut)),
    extensions(("x-bangfu-permission" = json!("manage_campaigns")))
)]
#[post("/v1/campaigns")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::ManageCampaigns>,
    req: HttpRequest,
    body: ApiJson<NewCampaignBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |row: &CampaignRow| answer(StatusCode::CREATED, &out(row)?);
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    let plan = service::Plan {
        region_id: b.region_id.to_string(),
        kind: b.kind,
        name: b.name,
        starts_on: b.starts_on,
        term_starts_on: b.term_starts_on,
        phases: b.phases,
    };
    service::start(&state.db, &caller, plan, once)
        .await?
        .respond(render)
}

/// Campaigns in the caller's jurisdiction, newest first.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = inline(Page<CampaignOut>))),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<CampaignOut>>> {
    let limit = page.limit()?;
    let before = page.position()?;
    let rows = service::list(&state.db, &caller, before, limit + 1).await?;
    let rows: Vec<CampaignOut> = rows.iter().map(out).collect::<Result<_>>()?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |c| c.id.clone(),
        |c| c,
    )))
}

#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CampaignOut, headers(("ETag" = String)))),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/campaigns/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let row = service::find(&state.db, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(row.version))
        .json(out(&row)?))
}

/// One row of a campaign's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressRow {
    /// A helper's user id (visit campaigns) or a school's or village's region id (the
    /// start-of-term check).
    pub id: String,
    pub total: i64,
    pub done: i64,
    /// `done / total`, 0 when there is nothing to do.
    pub ratio: f64,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignProgress {
    pub campaign_id: String,
    /// Visit campaigns: per helper, households assigned and visited in the window.
    pub helpers: Vec<ProgressRow>,
    /// Visit campaigns: per village, active households and those visited by anyone.
    pub villages: Vec<ProgressRow>,
    /// Dropout campaigns: per school (or village, for children without a school), the
    /// compulsory-age pupils and those seen in the start-of-term week.
    pub offices: Vec<ProgressRow>,
    /// Dropout campaigns: the pupils not seen in the start-of-term week (child ids).
    pub unchecked_children: Vec<String>,
}

/// A row of progress for a region (named by the last id of its path).
pub fn progress_row(id: &str, p: &Progress) -> ProgressRow {
    ProgressRow {
        id: id
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(id)
            .to_owned(),
        total: p.total,
        done: p.done,
        ratio: if p.total == 0 {
            0.0
        } else {
            p.done as f64 / p.total as f64
        },
        completed_at: p.met_at().map(utc),
    }
}

/// Completion of a campaign: per helper and village (visits), per school (the start-of-term
/// check, with the pupils not yet seen).
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CampaignProgress)),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/campaigns/{id}/progress")]
pub async fn progress(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    id: web::Path<String>,
) -> Result<web::Json<CampaignProgress>> {
    let p = crate::supervision::service::campaign_progress(&state.db, &caller, &id).await?;
    let p = CampaignProgress {
        campaign_id: p.campaign_id,
        helpers: p.helpers.iter().map(|(h, pr)| row_of_user(h, pr)).collect(),
        villages: p
            .villages
            .iter()
            .map(|(v, pr)| progress_row(v, pr))
            .collect(),
        offices: p
            .offices
            .iter()
            .map(|(o, pr)| progress_row(o, pr))
            .collect(),
        unchecked_children: p.unchecked_children,
    };
    Ok(web::Json(p))
}

/// A row of progress for a helper (named by their user id).
pub fn row_of_user(id: &str, p: &Progress) -> ProgressRow {
    ProgressRow {
        id: id.to_owned(),
        ..progress_row(id, p)
    }
}

/// Mark a phase done (once). Needs `If-Match` with the campaign's ETag.
#[utoipa::path(tag = "field_work", security(("bearer" = [])),
    params(("id" = String, Path), ("position" = usize, Path, description = "The phase's position, from 0"),
           ("If-Match" = String, Header, description = "The ETag read")),
    responses((status = 200, body = CampaignOut, headers(("ETag" = String))),
              (status = 409, description = "Already marked done (`phase_already_completed`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_campaigns")))
)]
#[post("/v1/campaigns/{id}/phases/{position}/complete")]
pub async fn complete_phase(
    state: web::Data<AppState>,
    caller: Require<perm::ManageCampaigns>,
    path: web::Path<(String, usize)>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let version = if_match(&req)?;
    let (id, position) = path.into_inner();
    let row = service::complete_phase(&state.db, &caller, &id, position, version).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(row.version))
        .json(out(&row)?))
}
