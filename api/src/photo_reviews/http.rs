//! Photo review (R-VISIT-3): `/v1/photo-reviews`. The village (first) secretary works
//! through the queue of pending photos in their village, each shown with the integrity
//! flags found for it, and approves or rejects it with a reason. The decision is a change
//! of the photo record, so it reaches the helper's phone on its next pull.

use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpRequest, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::caller::{Caller, Require, perm};
use crate::domain::role::Permission;
use crate::infra::error::{Lang, Result};
use crate::infra::http::envelope::lang_of;
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::photo_reviews::queries as photo_reviews;
use crate::photo_reviews::queries::{Backlog, QueueFilter, Queued, Verdict};
use crate::photo_reviews::service;
use crate::photos::evidence::EvidenceRow;
use crate::photos::evidence_rules::Flag;
use crate::photos::uploads::model::BlobOut;
use crate::state::AppState;

/// An integrity flag with what the reviewer reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagOut {
    #[serde(flatten)]
    pub flag: Flag,
    /// In Chinese unless `Accept-Language` prefers English.
    pub message: String,
}

/// Where the app placed the photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapturePlace {
    pub lat: f64,
    pub lng: f64,
}

/// A photo under review: what the app recorded when it was taken (kept apart from the
/// file's EXIF, in `file.exif`), what it proves, its review, and its flags.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f01", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "subject_entity": "visit",
    "subject_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f02", "household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01",
    "author_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "taken_at": "2026-11-20T02:10:00Z",
    "location": null, "accuracy_m": 8.0, "capture_device": "HUAWEI nova 12",
    "review_status": "pending", "review_reason": null, "reviewed_by": null, "reviewed_at": null,
    "flags": [{"code": "far_from_household", "distance_m": 5012, "limit_m": 500, "source": "app", "accuracy_m": 8,
               "message": "拍摄地点距该户 5012 米（据应用定位）。"}],
    "file": null, "created_at": "2026-11-20T02:11:00Z"
}))]
pub struct PhotoReviewOut {
    /// The photo record's id.
    pub id: String,
    pub sha256: String,
    pub region_id: String,
    /// `visit`, `retrieval_attempt`, `teaching_session` or `household`.
    pub subject_entity: String,
    pub subject_id: String,
    /// The household the photo concerns (its own, or its visit's).
    pub household_id: Option<String>,
    /// The helper who took it.
    pub author_id: Option<String>,
    /// When the app says it was taken.
    pub taken_at: Option<DateTime<Utc>>,
    /// Where the app placed it; only for roles that may see personal data (the flags give
    /// distances to everyone).
    pub location: Option<CapturePlace>,
    /// The fix's stated accuracy, in metres.
    pub accuracy_m: Option<f64>,
    /// The device (make and model) the app says took it.
    pub capture_device: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub review_status: String,
    pub review_reason: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// What the integrity checks found; empty when nothing.
    pub flags: Vec<FlagOut>,
    /// The file, once its author has uploaded it (fetch it from `/v1/photos/{sha256}`).
    pub file: Option<BlobOut>,
    pub created_at: DateTime<Utc>,
}

fn out(
    row: EvidenceRow,
    file: Option<crate::photos::uploads::queries::BlobRow>,
    caller: &Caller,
    lang: Lang,
) -> PhotoReviewOut {
    let sees_location = caller.role.has(Permission::UnmaskPersonalData);
    let flags = row
        .flag_list()
        .into_iter()
        .map(|flag| FlagOut {
            message: flag.message(lang),
            flag,
        })
        .collect();
    PhotoReviewOut {
        location: row
            .lat
            .zip(row.lng)
            .filter(|_| sees_location)
            .map(|(lat, lng)| CapturePlace { lat, lng }),
        flags,
        file: file.map(BlobOut::from),
        taken_at: row.taken_at.map(utc),
        reviewed_at: row.reviewed_at.map(utc),
        created_at: utc(row.created_at),
        id: row.id,
        sha256: row.sha256,
        region_id: row.region_id,
        subject_entity: row.subject_entity,
        subject_id: row.subject_id,
        household_id: row.household_id,
        author_id: row.created_by,
        accuracy_m: row.accuracy_m,
        capture_device: row.capture_device,
        review_status: row.review_status,
        review_reason: row.review_reason,
        reviewed_by: row.reviewed_by,
    }
}

fn lang(req: &HttpRequest) -> Lang {
    lang_of(
        req.headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Review states a queue can list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    #[default]
    Pending,
    Approved,
    Rejected,
}

impl ReviewStatus {
    fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => photo_reviews::PENDING,
            ReviewStatus::Approved => Verdict::Approved.as_str(),
            ReviewStatus::Rejected => Verdict::Rejected.as_str(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `pending` (default), `approved` or `rejected`.
    #[param(inline)]
    pub status: Option<ReviewStatus>,
    /// One village only.
    pub region_id: Option<Uuid>,
    /// `true`: only photos with flags; `false`: only photos without.
    pub flagged: Option<bool>,
}

/// The review queue: photos in the caller's scope, oldest first, each with its flags and
/// (once uploaded) its file.
#[utoipa::path(tag = "photo-reviews", security(("bearer" = [])), params(QueueQuery, PageParams),
    responses((status = 200, body = Page<PhotoReviewOut>)),
    extensions(("x-bangfu-permission" = json!("read_photo_reviews")))
)]
#[get("/v1/photo-reviews")]
pub async fn queue(
    state: web::Data<AppState>,
    caller: Require<perm::ReadPhotoReviews>,
    req: HttpRequest,
    q: Query<QueueQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<PhotoReviewOut>>> {
    let limit = page.limit()?;
    let filter = QueueFilter {
        status: Some(q.status.unwrap_or_default().as_str().to_owned()),
        region_id: q.region_id.map(|u| u.to_string()),
        flagged: q.flagged,
        after_id: page.position()?,
    };
    let rows = service::queue(&state.db, &caller, filter, limit + 1).await?;
    let lang = lang(&req);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r: &Queued| r.photo.id.clone(),
        |r| out(r.photo, r.file, &caller, lang),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "rejected", "reason": "照片与该户无关，请重新拍摄屋顶。"}))]
pub struct PhotoReviewDecisionBody {
    pub decision: Verdict,
    /// Why; required to reject (it goes back to the helper), up to 500 characters.
    pub reason: Option<String>,
}

/// Approve or reject a pending photo (the village (first) secretary, R-VISIT-3). The
/// decision is final (`409 photo_already_reviewed` for another one; repeating the same
/// decision answers as the first time), needs the photo's file to have arrived, and is
/// not for one's own photos. It is written to the photo record, audited, and syncs back to
/// the phone.
#[utoipa::path(tag = "photo-reviews", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The photo record's id")),
    request_body = PhotoReviewDecisionBody,
    responses((status = 200, body = PhotoReviewOut),
              (status = 403, description = "Not a village secretary, or one's own photo (`own_photo`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such photo in the caller's scope", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already reviewed (`photo_already_reviewed`), or its file has not arrived (`photo_file_missing`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("review_photos")))
)]
#[post("/v1/photo-reviews/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    caller: Require<perm::ReviewPhotos>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<PhotoReviewDecisionBody>,
) -> Result<web::Json<PhotoReviewOut>> {
    let b = body.0;
    let verdict = b.decision;
    let (decided, file) = service::decide(
        &state.db,
        &state.hlc,
        &state.data_key,
        &caller,
        &id.to_string(),
        verdict,
        b.reason,
    )
    .await?;
    Ok(web::Json(out(decided.photo, file, &caller, lang(&req))))
}

/// One village's review backlog.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "region_name": "青山村",
    "pending": 12, "flagged": 3, "oldest_pending_since": "2026-11-18T08:00:00Z",
    "secretary_ids": ["0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d11"]}))]
pub struct BacklogOut {
    pub region_id: String,
    pub region_name: String,
    /// Photos waiting for review.
    pub pending: i64,
    /// Of them, photos with flags.
    pub flagged: i64,
    /// When the longest-waiting photo arrived.
    pub oldest_pending_since: Option<DateTime<Utc>>,
    /// The village (first) secretaries who review them.
    pub secretary_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BacklogList {
    /// Villages with pending photos, the largest backlog first.
    pub items: Vec<BacklogOut>,
}

/// The photo review backlog per village in the caller's scope, with the secretaries who
/// review each (R-SUP-1: supervision of review).
#[utoipa::path(tag = "photo-reviews", security(("bearer" = [])),
    responses((status = 200, body = BacklogList)),
    extensions(("x-bangfu-permission" = json!("read_photo_reviews")))
)]
#[get("/v1/photo-reviews/backlog")]
pub async fn backlog(
    state: web::Data<AppState>,
    caller: Require<perm::ReadPhotoReviews>,
) -> Result<web::Json<BacklogList>> {
    let rows = service::backlog(&state.db, &caller).await?;
    Ok(web::Json(BacklogList {
        items: rows
            .into_iter()
            .map(|b: Backlog| BacklogOut {
                region_id: b.region_id,
                region_name: b.region_name,
                pending: b.pending,
                flagged: b.flagged,
                oldest_pending_since: b.oldest.map(utc),
                secretary_ids: b.secretary_ids,
            })
            .collect(),
    }))
}
