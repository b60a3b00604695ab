//! Break the glass: `/v1/access-grants`. An officer who must look outside their region
//! (a household that moved, a duplicate check) states why and gets read and write access to
//! that region for at most three hours; every grant is in the audit log with its reason.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::utc;
use crate::auth::{Require, perm};
use crate::domain::access;
use crate::error::{Error, Result};
use crate::http::idempotency::{answer, create_once};
use crate::http::json::ApiJson;
use crate::http::page::{Page, PageParams};
use crate::state::AppState;
use crate::store::{self, grants};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "user_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0e", "reason": "核查跨乡镇重复申请",
    "created_at": "2026-11-22T09:30:00Z", "expires_at": "2026-11-22T12:30:00Z", "revoked_at": null
}))]
pub struct GrantOut {
    pub id: String,
    pub user_id: String,
    pub region_id: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<grants::GrantRow> for GrantOut {
    fn from(g: grants::GrantRow) -> Self {
        GrantOut {
            id: g.id,
            user_id: g.user_id,
            region_id: g.region_id,
            reason: g.reason,
            created_at: utc(g.created_at),
            expires_at: utc(g.expires_at),
            revoked_at: g.revoked_at.map(utc),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0e", "reason": "核查跨乡镇重复申请", "duration_minutes": 60}))]
pub struct NewGrantBody {
    pub region_id: Uuid,
    /// Why access is needed (at least 4 characters); shown in the audit log.
    pub reason: String,
    /// 1 to 180 minutes; default 180.
    pub duration_minutes: Option<i64>,
}

/// Obtain temporary access to a region outside one's own, with a reason.
#[utoipa::path(tag = "access", security(("bearer" = [])), request_body = NewGrantBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = GrantOut)),
    extensions(("x-bangfu-permission" = json!("break_glass")))
)]
#[post("/v1/access-grants")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::BreakGlass>,
    req: HttpRequest,
    body: ApiJson<NewGrantBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let expires = access::grant_expiry(store::now(), b.duration_minutes, &b.reason)
        .map_err(Error::Validation)?;
    let (actor, uid) = (caller.actor(), caller.user_id.clone());
    let body = serde_json::to_value(&b).map_err(Error::internal)?;
    create_once(&state, &caller, &req, &body, move |c| {
        let g = grants::create(
            c,
            &actor,
            &uid,
            &b.region_id.to_string(),
            &b.reason,
            expires,
        )?;
        answer(StatusCode::CREATED, &GrantOut::from(g))
    })
    .await
}

/// The caller's own grants, newest first.
#[utoipa::path(tag = "access", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<GrantOut>)),
    extensions(("x-bangfu-permission" = json!("break_glass")))
)]
#[get("/v1/access-grants")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::BreakGlass>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<GrantOut>>> {
    let limit = page.limit()?;
    let uid = caller.user_id.clone();
    let rows = state
        .db
        .read(move |c| grants::list_for_user(c, &uid, limit))
        .await?;
    Ok(web::Json(Page {
        items: rows.into_iter().map(GrantOut::from).collect(),
        next_cursor: None,
    }))
}

/// End one of the caller's grants early.
#[utoipa::path(tag = "access", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = GrantOut),
              (status = 404, body = crate::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("break_glass")))
)]
#[post("/v1/access-grants/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Require<perm::BreakGlass>,
    id: web::Path<Uuid>,
) -> Result<web::Json<GrantOut>> {
    let (actor, uid, id) = (caller.actor(), caller.user_id.clone(), id.to_string());
    let g = state
        .db
        .write(move |c| grants::revoke(c, &actor, &uid, &id))
        .await?;
    Ok(web::Json(g.into()))
}
