//! Work lists and deadlines: `GET /v1/work-list` (what is due and overdue for the caller, or
//! for their team), `GET /v1/deadlines` (every clock in scope, filtered) and
//! `GET /v1/deadlines/compliance` (met on time, late, missed, per kind).

use actix_web::{HttpRequest, get, web};
use bangfu_sync::Code;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::deadlines::queries::{Compliance, Filter, View};
use crate::deadlines::service;
use crate::deadlines::view::{Bucket, DeadlineOut, after, bucket, cursor, deadline_out};
use crate::domain::deadline::{end_of_china_day, start_of_china_day};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::envelope::lang_of;
use crate::infra::http::json::Query;
use crate::infra::http::page::{Page, PageParams};
use crate::state::AppState;

fn position(p: &PageParams) -> Result<Option<(NaiveDateTime, String)>> {
    after(p.position()?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkListParams {
    /// `mine` (default): the caller's own clocks and their office's; `team`: everyone
    /// else's in the caller's jurisdiction (a supervisor's view).
    pub view: Option<String>,
    /// Also list what falls due within this many days (0 to 31, default 7).
    pub horizon_days: Option<i64>,
}

/// The work list.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkList {
    /// Due today or earlier, not met: overdue first, by due time.
    pub items: Vec<DeadlineOut>,
    pub next_cursor: Option<String>,
    /// Counts over the returned page: overdue, due today, later within the horizon.
    pub overdue: usize,
    pub due_today: usize,
    pub upcoming: usize,
    /// Evidence photos in the caller's jurisdiction waiting for review (R-VISIT-3): the
    /// village secretary's backlog; 0 for helpers, who do not review.
    pub photo_reviews_pending: i64,
}

/// What is due and overdue: for the caller (their own clocks and those of the office
/// they act for), or with `view=team` for everyone in their jurisdiction, each with its
/// countdown and how far it has escalated.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(WorkListParams, PageParams),
    responses((status = 200, body = WorkList)),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/work-list")]
pub async fn work_list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    q: Query<WorkListParams>,
    page: Query<PageParams>,
    req: HttpRequest,
) -> Result<web::Json<WorkList>> {
    let view = match q.view.as_deref() {
        None | Some("mine") => View::Mine,
        Some("team") => View::Team,
        Some(_) => {
            return Err(Error::validation(
                "view",
                Code::InvalidValue,
                Msg::fixed("view 须为 mine 或 team。", "view is mine or team."),
            ));
        }
    };
    let horizon = q.horizon_days.unwrap_or(7);
    if !(0..=31).contains(&horizon) {
        return Err(Error::validation(
            "horizon_days",
            Code::OutOfRange,
            Msg::fixed(
                "horizon_days 须在 0 到 31 之间。",
                "horizon_days is 0 to 31.",
            ),
        ));
    }
    let limit = page.limit()?;
    let after = position(&page)?;
    let lang = lang_of(
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    let due = service::work_list(&state.db, &caller, view, horizon, after, limit + 1).await?;
    let (now, today, cal) = (due.now, due.today, due.calendar);
    let p = Page::from_rows(due.rows, limit, cursor, |r| {
        deadline_out(r, now, &cal, lang)
    });
    let count = |b: Bucket| p.items.iter().filter(|d| bucket(d, today) == b).count();
    let (overdue, due_today) = (count(Bucket::Overdue), count(Bucket::DueToday));
    Ok(web::Json(WorkList {
        upcoming: p.items.len() - overdue - due_today,
        overdue,
        due_today,
        items: p.items,
        next_cursor: p.next_cursor,
        photo_reviews_pending: due.photo_reviews_pending,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineParams {
    pub kind: Option<String>,
    pub subject_entity: Option<String>,
    pub subject_id: Option<String>,
    pub owner_user_id: Option<String>,
    /// Only those not met yet.
    pub open: Option<bool>,
    /// Due on or after this local day.
    pub due_from: Option<NaiveDate>,
    /// Due on or before this local day.
    pub due_to: Option<NaiveDate>,
}

/// Every deadline in the caller's jurisdiction (cancelled ones left out), in due order.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(DeadlineParams, PageParams),
    responses((status = 200, body = inline(Page<DeadlineOut>))),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/deadlines")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    q: Query<DeadlineParams>,
    page: Query<PageParams>,
    req: HttpRequest,
) -> Result<web::Json<Page<DeadlineOut>>> {
    let limit = page.limit()?;
    let after = position(&page)?;
    let lang = lang_of(
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );
    let q = q.into_inner();
    let f = Filter {
        kind: q.kind,
        subject_entity: q.subject_entity,
        subject_id: q.subject_id,
        owner_user_id: q.owner_user_id,
        open_only: q.open.unwrap_or(false),
        due_from: q.due_from.map(start_of_china_day),
        due_to: q.due_to.map(end_of_china_day),
    };
    let (rows, cal, now) = service::list(&state.db, &caller, f, after, limit + 1).await?;
    Ok(web::Json(Page::from_rows(rows, limit, cursor, |r| {
        deadline_out(r, now, &cal, lang)
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceParams {
    /// A region inside the caller's jurisdiction (default: the caller's own).
    pub region_id: Option<uuid::Uuid>,
    /// First local day of the period (clocks due from then).
    pub from: NaiveDate,
    /// Last local day of the period.
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub region_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub kinds: Vec<Compliance>,
}

/// How the clocks due in a period fared in a region, per kind: met on time, met late,
/// missed, not yet due.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(ComplianceParams),
    responses((status = 200, body = ComplianceReport)),
    extensions(("x-bangfu-permission" = json!("read_field_work")))
)]
#[get("/v1/deadlines/compliance")]
pub async fn compliance(
    state: web::Data<AppState>,
    caller: Require<perm::ReadFieldWork>,
    q: Query<ComplianceParams>,
) -> Result<web::Json<ComplianceReport>> {
    let q = q.into_inner();
    let region_id = q.region_id.map(|id| id.to_string());
    let fared = service::compliance(&state.db, &caller, region_id, q.from, q.to).await?;
    Ok(web::Json(ComplianceReport {
        region_id: fared.region_id,
        from: q.from,
        to: q.to,
        kinds: fared.kinds,
    }))
}
