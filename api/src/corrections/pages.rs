//! 户情更正: the corrections of the caller's jurisdiction and where each waits (their review
//! clocks, read by the same use case as `GET /v1/deadlines`), and one household correction a
//! helper proposed on a visit, for the level whose turn it is (village, then township, then
//! county, R-VISIT-4) to accept or reject with a reason. The same use cases as
//! `/v1/corrections/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::state_tag;
use crate::console::format::{countdown, date_time, standing_tag};
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::corrections::service::{self, Verdict, turn_of};
use crate::deadlines::queries::Filter;
use crate::deadlines::service as deadlines;
use crate::deadlines::view::{after, cursor, deadline_out};
use crate::domain::role::Permission;
use crate::infra::error::{Error, Lang};
use crate::regions::names;
use crate::state::AppState;

/// Review clocks per page of the list.
const PER_PAGE: i64 = 50;

/// One correction's review at one level, as the list shows it.
struct Review {
    id: String,
    place: String,
    office: String,
    due: String,
    countdown: String,
    /// Where the review stands, in the words every clock is shown in.
    tag: (&'static str, &'static str),
    /// Met: when; else not yet.
    met: Option<String>,
    escalated_to: Option<String>,
}

#[derive(Template)]
#[template(path = "corrections.html")]
struct ListPage {
    layout: Layout,
    open: bool,
    reviews: Vec<Review>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    after: Option<String>,
}

/// The corrections of the jurisdiction by their review clocks, earliest due first: those
/// waiting on some level (default), or every level's review, met or not.
async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let open = q.state.as_deref() != Some("all");
    let filter = Filter {
        kind: Some("correction_review".to_owned()),
        open_only: open,
        ..Filter::default()
    };
    let from = after(q.after.clone())?;
    let (mut rows, cal, now) =
        deadlines::list(&state.db, &page.caller, filter, from, PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let next = more.then(|| rows.last().map(cursor)).flatten().map(|c| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.append_pair("state", if open { "open" } else { "all" })
            .append_pair("after", &c);
        format!("/corrections?{}", qs.finish())
    });
    let shown: Vec<_> = rows
        .into_iter()
        .map(|r| deadline_out(r, now, &cal, Lang::Zh))
        .collect();
    let mut ids: Vec<String> = shown
        .iter()
        .flat_map(|d| {
            [Some(d.region_id.clone()), Some(d.owner_region_id.clone())]
                .into_iter()
                .chain([d.escalated_to_region_id.clone()])
        })
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    let place = names::names(&state.db, &page.caller, ids).await?;
    let name = |id: &str| {
        place
            .get(id)
            .cloned()
            .unwrap_or_else(|| "辖区外".to_owned())
    };
    let reviews = shown
        .into_iter()
        .map(|d| Review {
            place: name(&d.region_id),
            office: name(&d.owner_region_id),
            due: date_time(d.due_at),
            countdown: d.countdown_seconds.map(countdown).unwrap_or_default(),
            tag: standing_tag(d.standing),
            met: d.met_at.map(date_time),
            escalated_to: d.escalated_to_region_id.as_deref().map(name),
            id: d.subject_id,
        })
        .collect();
    let body = ListPage {
        layout: Layout::new(&state, &page, "户情更正", "/corrections").await,
        open,
        reviews,
        next,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// Where a correction stands, in words.
fn standing(status: &str) -> &'static str {
    match status {
        "pending" => "待村级审核",
        "village_accepted" => "村级已同意，待乡镇审核",
        "township_accepted" => "乡镇已同意，待县级审核",
        "county_accepted" => "县级已同意，已更正",
        "rejected" => "已退回",
        _ => "状态未知",
    }
}

#[derive(Template)]
#[template(path = "correction.html")]
struct CorrectionPage {
    layout: Layout,
    id: String,
    household_id: Option<String>,
    field: String,
    current: String,
    proposed: String,
    reason: String,
    standing: &'static str,
    tag: (&'static str, &'static str),
    decision_reason: Option<String>,
    /// Whether it is the caller's level's turn.
    may_decide: bool,
    problem: Option<(String, String)>,
    reason_error: Option<String>,
    typed: String,
}

async fn correction_page(
    state: &AppState,
    s: &Signed,
    id: &str,
    status: StatusCode,
    problem: Option<(String, String)>,
    reason_error: Option<String>,
    typed: String,
) -> Result<HttpResponse, PageError> {
    let (_, c) = service::get(&state.db, &state.data_key, &s.caller, id, None).await?;
    let review = c.review_status.clone().unwrap_or_else(|| "pending".into());
    let none = || "（未填）".to_owned();
    let body = CorrectionPage {
        layout: Layout::new(state, s, "户情更正", "/").await,
        id: id.to_owned(),
        household_id: c.household_id,
        field: c.field.unwrap_or_else(none),
        current: c.current_value.unwrap_or_else(none),
        proposed: c.proposed_value.unwrap_or_else(none),
        reason: c.reason.unwrap_or_else(none),
        standing: standing(&review),
        tag: state_tag(&review),
        decision_reason: c.decision_reason,
        may_decide: s.caller.role.has(Permission::DecideCorrections)
            && turn_of(s.caller.role) == Some(review.as_str()),
        problem,
        reason_error,
        typed,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

async fn show(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    correction_page(
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
    posted: Posted<perm::DecideCorrections, DecisionForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let f = &posted.form;
    let verdict = f.decision;
    let reason = Some(f.reason.as_str()).filter(|r| !r.trim().is_empty());
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
        Ok(_) => Ok(see_other(&format!("/corrections/{id}"))),
        Err(e) => {
            let shown = errors::in_page(e, "reason")?;
            correction_page(
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
    r.get("/corrections", list)
        .get("/corrections/{id}", show)
        .post("/corrections/{id}/decision", decide);
}

#[cfg(test)]
mod tests {
    use crate::corrections::service::turn_of;
    use crate::domain::role::Role;

    #[test]
    fn each_level_decides_on_what_the_level_below_accepted() {
        assert_eq!(turn_of(Role::VillageSecretary), Some("pending"));
        assert_eq!(turn_of(Role::TownshipOfficer), Some("village_accepted"));
        assert_eq!(turn_of(Role::CountyOfficer), Some("township_accepted"));
        assert_eq!(turn_of(Role::Helper), None);
        assert_eq!(turn_of(Role::Auditor), None);
    }
}
