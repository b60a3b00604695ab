//! The region tree: `/v1/regions`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::applicant::Principal;
use crate::auth::caller::{Require, perm};
use crate::domain::region::RegionLevel;
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::infra::http::versioning::{etag, if_match};
use crate::infra::idempotency::{Once, answer};
use crate::regions::queries::{ListFilter, RegionChange, RegionView};
use crate::regions::service;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "parent_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "level": "village", "code": "530123101001", "name": "青山村", "dibao_fen": null,
    "effective_dibao_fen": 72000, "version": 1,
    "created_at": "2026-11-22T09:30:00Z", "updated_at": "2026-11-22T09:30:00Z"
}))]
pub struct RegionOut {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: RegionLevel,
    /// Administrative division code (or school code).
    pub code: String,
    pub name: String,
    /// This region's own dibao standard, fen per person per month; `null` inherits.
    pub dibao_fen: Option<i64>,
    /// The standard in force here: own or nearest ancestor's (R-FILE-3).
    pub effective_dibao_fen: Option<i64>,
    /// Row version; send it back in `If-Match` to update.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn out(v: RegionView) -> Result<RegionOut> {
    Ok(RegionOut {
        level: v.row.level()?,
        id: v.row.id,
        parent_id: v.row.parent_id,
        code: v.row.code,
        name: v.row.name,
        dibao_fen: v.row.dibao_fen,
        effective_dibao_fen: v.effective_dibao_fen,
        version: v.row.version,
        created_at: utc(v.row.created_at),
        updated_at: utc(v.row.updated_at),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// Only the direct children of this region.
    pub parent_id: Option<Uuid>,
    pub level: Option<RegionLevel>,
}

impl RegionQuery {
    /// The filter and the page size asked for.
    fn filter(&self, page: &PageParams) -> Result<(ListFilter, i64)> {
        let filter = ListFilter {
            parent_id: self.parent_id.map(|u| u.to_string()),
            level: self.level,
            after_path: page.position()?,
        };
        Ok((filter, page.limit()?))
    }
}

/// Regions inside the caller's jurisdiction, in tree order.
#[utoipa::path(tag = "regions", security(("bearer" = [])), params(RegionQuery, PageParams),
    responses((status = 200, body = Page<RegionOut>)),
    extensions(("x-bangfu-permission" = json!("read_regions")))
)]
#[get("/v1/regions")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadRegions>,
    q: Query<RegionQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<RegionOut>>> {
    let (filter, limit) = q.filter(&page)?;
    let rows = service::list(&state.db, &caller, filter, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |v| v.row.path.clone(), out);
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// An administrative division as anyone signed in sees it: where it sits, what it is
/// called. No standards, no counts, no people.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "parent_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "level": "village", "code": "530123101001", "name": "青山村"
}))]
pub struct DivisionOut {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: RegionLevel,
    /// Administrative division code.
    pub code: String,
    pub name: String,
}

/// The directory of administrative divisions (the county, its townships and villages; no
/// schools) in tree order, for anyone signed in, applicants included: an applicant filing
/// from WeChat picks their township (`level=township`), then its villages
/// (`parent_id=<township id>`), and files with the village's `id` as `region_id`.
#[utoipa::path(tag = "regions", security(("applicant" = []), ("bearer" = [])),
    params(RegionQuery, PageParams),
    responses((status = 200, body = Page<DivisionOut>)),
    extensions(("x-bangfu-permission" = json!("signed_in")))
)]
#[get("/v1/divisions")]
pub async fn divisions(
    state: web::Data<AppState>,
    _who: Principal,
    q: Query<RegionQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<DivisionOut>>> {
    let (filter, limit) = q.filter(&page)?;
    let rows = service::divisions(&state.db, filter, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| r.path.clone(),
        |r| {
            Ok(DivisionOut {
                level: r.level()?,
                id: r.id,
                parent_id: r.parent_id,
                code: r.code,
                name: r.name,
            })
        },
    );
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// One region, with `ETag`.
#[utoipa::path(tag = "regions", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = RegionOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_regions")))
)]
#[get("/v1/regions/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadRegions>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let view = service::find(&state.db, &caller, &id.to_string()).await?;
    let body = out(view)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parent_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "level": "village", "code": "530123101009", "name": "柳树村"}))]
pub struct NewRegionBody {
    pub parent_id: Uuid,
    pub level: RegionLevel,
    pub code: String,
    pub name: String,
    /// Own dibao standard in fen per person per month; omit to inherit.
    pub dibao_fen: Option<i64>,
}

/// Add a region under one inside the caller's jurisdiction (admin).
#[utoipa::path(tag = "regions", security(("bearer" = [])), request_body = NewRegionBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = RegionOut),
              (status = 409, description = "Code already used", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_regions")))
)]
#[post("/v1/regions")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::ManageRegions>,
    req: HttpRequest,
    body: ApiJson<NewRegionBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |v: &RegionView| answer(StatusCode::CREATED, &out(v.clone())?);
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    let new = service::Addition {
        parent_id: b.parent_id.to_string(),
        level: b.level,
        code: b.code,
        name: b.name,
        dibao_fen: b.dibao_fen,
    };
    service::add(&state.db, &caller, new, once)
        .await?
        .respond(render)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"dibao_fen": 75000}))]
pub struct RegionPatch {
    pub name: Option<String>,
    /// A number sets this region's own standard; `null` returns to the inherited one.
    #[serde(default, with = "crate::infra::http::json::double_option")]
    #[schema(value_type = Option<i64>)]
    pub dibao_fen: Option<Option<i64>>,
}

/// Rename a region (admin) or set its dibao standard (county officer, admin). Needs
/// `If-Match` with the version read.
#[utoipa::path(tag = "regions", security(("bearer" = [])), params(("id" = Uuid, Path), ("If-Match" = String, Header)),
    request_body = RegionPatch,
    responses((status = 200, body = RegionOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 412, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 428, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("set_dibao")))
)]
#[patch("/v1/regions/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Require<perm::SetDibao>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<RegionPatch>,
) -> Result<HttpResponse> {
    let b = body.0;
    let version = if_match(&req)?;
    let change = RegionChange {
        name: b.name,
        dibao_fen: b.dibao_fen,
    };
    let view = service::update(&state.db, &caller, &id.to_string(), version, change).await?;
    let body = out(view)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}
