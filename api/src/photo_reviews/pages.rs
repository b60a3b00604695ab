//! 照片审核: the village (first) secretary's queue of evidence photos (thumbnail, the
//! integrity flags in words, what the photo proves) and the page that decides on one
//! (approve, or reject with a reason that goes back to the helper). The same use cases as
//! `/v1/photo-reviews`; officers above the village read the queue without deciding.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::{date_time, state_tag};
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::domain::role::Permission;
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::photo_reviews::queries::{PENDING, QueueFilter, Queued, Verdict};
use crate::photo_reviews::service;
use crate::regions::names;
use crate::state::AppState;

/// Photos per page of the queue.
const PER_PAGE: i64 = 30;

/// A photo as the pages show it.
struct Shown {
    id: String,
    thumb: Option<String>,
    large: Option<String>,
    subject: &'static str,
    subject_id: String,
    household_id: Option<String>,
    place: String,
    taken: String,
    device: String,
    accuracy: String,
    flags: Vec<String>,
    tag: (&'static str, &'static str),
    pending: bool,
    reason: Option<String>,
    reviewed: Option<String>,
}

/// What a photo proves, in the office's words.
fn subject_words(entity: &str) -> &'static str {
    match entity {
        "visit" => "入户走访",
        "retrieval_attempt" => "劝返",
        "teaching_session" => "送教上门",
        "household" => "户情",
        _ => "其他记录",
    }
}

fn shown(q: Queued, places: &HashMap<String, String>) -> Shown {
    let p = q.photo;
    let file = |size: &str| {
        q.file
            .as_ref()
            .map(|f| format!("/files/{}?size={size}", f.sha256))
    };
    Shown {
        thumb: file("thumb"),
        large: file("medium"),
        subject: subject_words(&p.subject_entity),
        place: places.get(&p.region_id).cloned().unwrap_or_default(),
        taken: p
            .taken_at
            .map(|t| date_time(utc(t)))
            .unwrap_or_else(|| "未记录".to_owned()),
        device: p
            .capture_device
            .clone()
            .unwrap_or_else(|| "未记录".to_owned()),
        accuracy: p
            .accuracy_m
            .map(|a| format!("{a:.0} 米"))
            .unwrap_or_else(|| "未记录".to_owned()),
        flags: p.flag_list().iter().map(|f| f.message(Lang::Zh)).collect(),
        tag: state_tag(&p.review_status),
        pending: p.review_status == PENDING,
        reason: p.review_reason.clone(),
        reviewed: p.reviewed_at.map(|t| date_time(utc(t))),
        subject_id: p.subject_id,
        household_id: p.household_id,
        id: p.id,
    }
}

async fn places(
    state: &AppState,
    s: &Signed,
    rows: &[Queued],
) -> Result<HashMap<String, String>, PageError> {
    let mut ids: Vec<String> = rows.iter().map(|q| q.photo.region_id.clone()).collect();
    ids.sort();
    ids.dedup();
    Ok(names::names(&state.db, &s.caller, ids).await?)
}

#[derive(Template)]
#[template(path = "photo_queue.html")]
struct QueuePage {
    layout: Layout,
    status: String,
    flagged: bool,
    photos: Vec<Shown>,
    next: Option<String>,
    done: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    status: Option<String>,
    flagged: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

async fn queue(
    state: web::Data<AppState>,
    page: Page<perm::ReadPhotoReviews>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, PageError> {
    let status = match q.status.as_deref() {
        Some(s @ ("approved" | "rejected")) => s,
        _ => PENDING,
    };
    let flagged = q.flagged.as_deref() == Some("1");
    let filter = QueueFilter {
        status: Some(status.to_owned()),
        region_id: None,
        flagged: flagged.then_some(true),
        after_id: q.after.clone(),
    };
    let mut rows = service::queue(&state.db, &page.caller, filter, PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let places = places(&state, &page, &rows).await?;
    let next = more.then(|| {
        let last = rows.last().map(|r| r.photo.id.clone()).unwrap_or_default();
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.append_pair("status", status).append_pair("after", &last);
        if flagged {
            qs.append_pair("flagged", "1");
        }
        format!("/photo-reviews?{}", qs.finish())
    });
    let body = QueuePage {
        layout: Layout::new(&state, &page, "照片审核", "/photo-reviews").await,
        status: status.to_owned(),
        flagged,
        photos: rows.into_iter().map(|r| shown(r, &places)).collect(),
        next,
        done: match q.done.as_deref() {
            Some("approved") => Some("已批准该照片。"),
            Some("rejected") => Some("已驳回该照片，理由已发回帮扶责任人。"),
            _ => None,
        },
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

#[derive(Template)]
#[template(path = "photo_review.html")]
struct ReviewPage {
    layout: Layout,
    photo: Shown,
    may_decide: bool,
    /// What the service refused, in its words.
    problem: Option<(String, String)>,
    reason_error: Option<String>,
    reason: String,
}

async fn review_page(
    state: &AppState,
    s: &Signed,
    id: &str,
    status: StatusCode,
    problem: Option<(String, String)>,
    reason_error: Option<String>,
    reason: String,
) -> Result<HttpResponse, PageError> {
    let q = service::find(&state.db, &s.caller, id).await?;
    let places = places(state, s, std::slice::from_ref(&q)).await?;
    let body = ReviewPage {
        layout: Layout::new(state, s, "照片审核", "/photo-reviews").await,
        photo: shown(q, &places),
        may_decide: s.caller.role.has(Permission::ReviewPhotos),
        problem,
        reason_error,
        reason,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

async fn review(
    state: web::Data<AppState>,
    page: Page<perm::ReadPhotoReviews>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    review_page(
        &state,
        &page,
        &id,
        StatusCode::OK,
        None,
        None,
        String::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    /// The same words the JSON route takes.
    decision: Verdict,
    #[serde(default)]
    reason: String,
}

async fn decide(
    state: web::Data<AppState>,
    posted: Posted<perm::ReviewPhotos, DecisionForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let f = &posted.form;
    let verdict = f.decision;
    let reason = Some(f.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let decided = service::decide(
        &state.db,
        &state.hlc,
        &state.data_key,
        &posted.caller,
        &id,
        verdict,
        reason,
    )
    .await;
    match decided {
        Ok(_) => Ok(see_other(&format!(
            "/photo-reviews?done={}",
            verdict.as_str()
        ))),
        Err(e) => {
            let shown = errors::in_page(e, "reason")?;
            review_page(
                &state,
                &posted,
                &id,
                shown.status,
                shown.problem,
                shown.at_field,
                f.reason.clone(),
            )
            .await
        }
    }
}

pub fn configure(r: &mut impl Register) {
    r.get("/photo-reviews", queue)
        .get("/photo-reviews/{id}", review)
        .post("/photo-reviews/{id}/decision", decide);
}
