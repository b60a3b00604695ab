//! 今日工作, the console's home page: what is overdue (red, with how long), due today and
//! coming up, each line with its countdown, whose it is, and how far a missed one has
//! climbed; the caller's own work or their team's. Read by the same use case as
//! `GET /v1/work-list`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::{countdown, date_time};
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError};
use crate::deadlines::queries::View;
use crate::deadlines::service;
use crate::deadlines::view::{Bucket, DeadlineOut, bucket, deadline_out};
use crate::domain::role::Permission;
use crate::infra::error::{Error, Lang};
use crate::regions::names;
use crate::state::AppState;

/// How many lines one page shows; the rest wait for the next visit.
const SHOWN: i64 = 200;
/// How far ahead "upcoming" looks.
const HORIZON_DAYS: i64 = 7;

/// A group of lines under one heading.
struct Section {
    heading: &'static str,
    css: &'static str,
    lines: Vec<Line>,
}

/// One line of the work list, as read.
struct Line {
    title: String,
    due: String,
    countdown: String,
    place: String,
    owner: String,
    escalated_to: Option<String>,
    link: Option<String>,
}

#[derive(Template)]
#[template(path = "work.html")]
struct WorkPage {
    layout: Layout,
    team: bool,
    overdue: usize,
    today: usize,
    upcoming: usize,
    /// The non-empty groups, overdue first.
    sections: Vec<Section>,
    more: bool,
    photos_pending: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct WorkQuery {
    view: Option<String>,
}

/// Where the work of a line is done, for the subjects that have a page.
fn link_of(d: &DeadlineOut) -> Option<String> {
    match d.subject_entity.as_str() {
        "photo" => Some(format!("/photo-reviews/{}", d.subject_id)),
        "correction" => Some(format!("/corrections/{}", d.subject_id)),
        "application" => Some(format!("/applications/{}", d.subject_id)),
        _ => None,
    }
}

async fn work(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    q: web::Query<WorkQuery>,
) -> Result<HttpResponse, PageError> {
    let team = q.view.as_deref() == Some("team");
    let view = if team { View::Team } else { View::Mine };
    let caller = &page.caller;
    let due = service::work_list(&state.db, caller, view, HORIZON_DAYS, None, SHOWN + 1).await?;
    let (now, today, cal) = (due.now, due.today, due.calendar);
    let more = due.rows.len() as i64 > SHOWN;
    let items: Vec<DeadlineOut> = due
        .rows
        .into_iter()
        .take(SHOWN as usize)
        .map(|r| deadline_out(r, now, &cal, Lang::Zh))
        .collect();
    let mut ids: Vec<String> = items
        .iter()
        .flat_map(|d| {
            [
                Some(d.region_id.clone()),
                Some(d.owner_region_id.clone()),
                d.escalated_to_region_id.clone(),
            ]
        })
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    let place = names::names(&state.db, caller, ids).await?;
    let mut owners: Vec<String> = items
        .iter()
        .filter_map(|d| d.owner_user_id.clone())
        .collect();
    owners.sort();
    owners.dedup();
    let people = crate::accounts::service::names(&state.db, caller, owners).await?;
    let name = |id: &str| {
        place
            .get(id)
            .cloned()
            .unwrap_or_else(|| "辖区外".to_owned())
    };
    let (mut overdue, mut due_today, mut upcoming) = (Vec::new(), Vec::new(), Vec::new());
    for d in items {
        let line = Line {
            title: d.title.clone(),
            due: date_time(d.due_at),
            countdown: d.countdown_seconds.map(countdown).unwrap_or_default(),
            place: name(&d.region_id),
            owner: match &d.owner_user_id {
                Some(u) if *u == caller.user_id => "本人".to_owned(),
                Some(u) => people
                    .get(u)
                    .cloned()
                    .unwrap_or_else(|| "责任人".to_owned()),
                None => format!("{}（单位）", name(&d.owner_region_id)),
            },
            escalated_to: d.escalated_to_region_id.as_deref().map(name),
            link: link_of(&d),
        };
        match bucket(&d, today) {
            Bucket::Overdue => overdue.push(line),
            Bucket::DueToday => due_today.push(line),
            Bucket::Upcoming => upcoming.push(line),
        }
    }
    let title = if team {
        "今日工作（团队）"
    } else {
        "今日工作"
    };
    let body = WorkPage {
        layout: Layout::new(&state, &page, title, "/").await,
        team,
        overdue: overdue.len(),
        today: due_today.len(),
        upcoming: upcoming.len(),
        sections: [
            ("逾期", "bad", overdue),
            ("今日到期", "today", due_today),
            ("七日内到期", "soon", upcoming),
        ]
        .into_iter()
        .filter(|(_, _, lines)| !lines.is_empty())
        .map(|(heading, css, lines)| Section {
            heading,
            css,
            lines,
        })
        .collect(),
        more,
        photos_pending: caller
            .role
            .has(Permission::ReadPhotoReviews)
            .then_some(due.photo_reviews_pending),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

pub fn configure(r: &mut impl Register) {
    r.get("/", work);
}
