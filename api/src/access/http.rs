//! Break the glass: `/v1/access-grants`. An officer who must look at one record outside
//! their jurisdiction (a household that moved, a duplicate check) names it, states why, and
//! may read it, masked, for at most three hours; never change it, never unmask it, never
//! use it for administration. A few grants at a time; every grant is in the audit log
//! and is reviewed afterwards by the grantee's supervisor (`/v1/access-grants/review`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bangfu_sync::Code;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::queries as grants;
use crate::access::service;
use crate::auth::caller::{Require, perm};
use crate::domain::access::Subject;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

/// What a grant may name: one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantSubject {
    Household,
    /// A child of the dropout-control registry, with its cases.
    Child,
    /// One dropout case, with its child.
    DropoutCase,
}

impl GrantSubject {
    fn domain(self) -> Subject {
        match self {
            GrantSubject::Household => Subject::Household,
            GrantSubject::Child => Subject::Child,
            GrantSubject::DropoutCase => Subject::DropoutCase,
        }
    }
}

/// How the grantee's supervisor judged a grant afterwards.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantReviewOut {
    /// `justified` or `unjustified`.
    pub verdict: String,
    pub note: Option<String>,
    pub reviewed_by: String,
    pub reviewed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "user_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "subject": "household", "subject_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "reason": "核查跨乡镇重复申请",
    "created_at": "2026-11-22T09:30:00Z", "expires_at": "2026-11-22T12:30:00Z", "revoked_at": null, "review": null
}))]
pub struct GrantOut {
    pub id: String,
    /// The grantee.
    pub user_id: String,
    pub subject: String,
    pub subject_id: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `null` until the grantee's supervisor has looked at it.
    pub review: Option<GrantReviewOut>,
}

impl From<grants::GrantRow> for GrantOut {
    fn from(g: grants::GrantRow) -> Self {
        let looked_over = match (g.review_verdict, g.reviewed_by, g.reviewed_at) {
            (Some(verdict), Some(by), Some(at)) => Some(GrantReviewOut {
                verdict,
                note: g.review_note,
                reviewed_by: by,
                reviewed_at: utc(at),
            }),
            _ => None,
        };
        GrantOut {
            id: g.id,
            user_id: g.user_id,
            subject: g.subject,
            subject_id: g.subject_id,
            reason: g.reason,
            created_at: utc(g.created_at),
            expires_at: utc(g.expires_at),
            revoked_at: g.revoked_at.map(utc),
            review: looked_over,
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"subject": "household", "subject_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "reason": "核查跨乡镇重复申请", "duration_minutes": 60}))]
pub struct NewGrantBody {
    pub subject: GrantSubject,
    pub subject_id: Uuid,
    /// Why access is needed: at least 4 letters or digits; shown in the audit log and to
    /// the reviewer.
    pub reason: String,
    /// 1 to 180 minutes; default 180.
    pub duration_minutes: Option<i64>,
}

/// Obtain read access, for a while, to one record outside one's jurisdiction, with a
/// reason. At most three at a time (`too_many_grants`).
#[utoipa::path(tag = "access", security(("bearer" = [])), request_body = NewGrantBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = GrantOut),
              (status = 409, description = "Too many live grants (`too_many_grants`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
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
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |g: &grants::GrantRow| answer(StatusCode::CREATED, &GrantOut::from(g.clone()));
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    let new = service::Request {
        subject: b.subject.domain(),
        subject_id: b.subject_id.to_string(),
        reason: b.reason,
        duration_minutes: b.duration_minutes,
    };
    service::grant(&state.db, &caller, new, once)
        .await?
        .respond(render)
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
    page: Query<PageParams>,
) -> Result<web::Json<Page<GrantOut>>> {
    let limit = page.limit()?;
    let rows = service::mine(&state.db, &caller, limit).await?;
    Ok(web::Json(Page {
        items: rows.into_iter().map(GrantOut::from).collect(),
        next_cursor: None,
    }))
}

/// End one of the caller's grants early.
#[utoipa::path(tag = "access", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = GrantOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("break_glass")))
)]
#[post("/v1/access-grants/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Require<perm::BreakGlass>,
    id: web::Path<Uuid>,
) -> Result<web::Json<GrantOut>> {
    let g = service::revoke(&state.db, &caller, &id.to_string()).await?;
    Ok(web::Json(g.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `pending` (default): not yet reviewed; `all`: reviewed ones too.
    pub state: Option<String>,
}

/// The grants of staff in the caller's jurisdiction, for review afterwards: who looked at
/// what, why and for how long. Oldest first.
#[utoipa::path(tag = "access", security(("bearer" = [])), params(ReviewQuery, PageParams),
    responses((status = 200, body = Page<GrantOut>)),
    extensions(("x-bangfu-permission" = json!("review_grants")))
)]
#[get("/v1/access-grants/review")]
pub async fn for_review(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewGrants>,
    q: Query<ReviewQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<GrantOut>>> {
    let limit = page.limit()?;
    let after = page.position()?;
    let pending_only = match q.state.as_deref() {
        None | Some("pending") => true,
        Some("all") => false,
        Some(_) => {
            return Err(Error::validation(
                "state",
                Code::InvalidValue,
                Msg::fixed("state 为 pending 或 all。", "state is pending or all."),
            ));
        }
    };
    let rows = service::for_review(&state.db, &caller, pending_only, after, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |g| g.id.clone(),
        GrantOut::from,
    )))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantVerdict {
    Justified,
    Unjustified,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"verdict": "justified", "note": "跨乡镇重复申请核查，属实"}))]
pub struct GrantReviewBody {
    pub verdict: GrantVerdict,
    /// Required when the grant was not justified.
    pub note: Option<String>,
}

/// Review a grant of someone in the caller's jurisdiction (never one's own), once.
#[utoipa::path(tag = "access", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = GrantReviewBody,
    responses((status = 200, body = GrantOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already reviewed (`already_reviewed`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("review_grants")))
)]
#[post("/v1/access-grants/{id}/review")]
pub async fn review(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewGrants>,
    id: web::Path<Uuid>,
    body: ApiJson<GrantReviewBody>,
) -> Result<web::Json<GrantOut>> {
    let b = body.0;
    let justified = matches!(b.verdict, GrantVerdict::Justified);
    let g = service::review(
        &state.db,
        &caller,
        &id.to_string(),
        justified,
        b.note.as_deref(),
    )
    .await?;
    Ok(web::Json(g.into()))
}
