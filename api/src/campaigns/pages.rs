//! 走访活动: the campaigns of the caller's jurisdiction (R-VISIT-5, R-DROP-6), newest first,
//! each with its current phase, that phase's deadline and countdown; one campaign's phases
//! as a timeline (done when, due when) with its progress per village and per helper (a
//! visit campaign) or per school with the pupils not yet seen (a term's dropout campaign);
//! marking a phase done; starting a campaign. The same use cases as `/v1/campaigns`,
//! `/v1/campaigns/{id}/progress` and `/v1/campaigns/{id}/phases/{position}/complete`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::campaigns::http::{ProgressRow, progress_row, row_of_user};
use crate::campaigns::queries::{CampaignRow, StoredPhase};
use crate::campaigns::rules::{CampaignKind, Phase, PhaseKind, Progress};
use crate::campaigns::service::{self, Plan};
use crate::console::choices::{self, RegionChoice};
use crate::console::format::{countdown, date_time, standing_tag};
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::domain::deadline::{Standing, countdown_secs};
use crate::domain::role::Permission;
use crate::infra::clock::{china_date, end_of_china_day};
use crate::infra::error::Error;
use crate::infra::http::utc;
use crate::infra::idempotency::{Made, Once, answer};
use crate::regions::names;
use crate::state::AppState;

/// Campaigns per page of the list.
const PER_PAGE: i64 = 20;

/// A campaign's kind in the office's words.
fn kind_words(kind: &str) -> &'static str {
    match CampaignKind::parse(kind) {
        Some(CampaignKind::Visit) => "大走访",
        Some(CampaignKind::Dropout) => "开学劝返核查",
        None => "其他活动",
    }
}

/// The standard phases of a visit campaign (the seed's 大走访: training, visits, completing
/// the ledger, supervision), with the days from the start each is due by.
const STANDARD_PHASES: [(PhaseKind, &str, i64); 4] = [
    (PhaseKind::Training, "组织培训", 9),
    (PhaseKind::Visiting, "入户走访", 29),
    (PhaseKind::CompletingData, "完善内容", 75),
    (PhaseKind::Supervision, "综合督导", 121),
];

/// What a phase is for, in the office's words.
fn phase_kind_words(k: PhaseKind) -> &'static str {
    match k {
        PhaseKind::Training => "培训阶段",
        PhaseKind::Visiting => "入户走访阶段（必须有）",
        PhaseKind::CompletingData => "完善资料阶段",
        PhaseKind::Supervision => "督导阶段",
    }
}

/// One phase as a page shows it.
struct PhaseView {
    position: usize,
    name: String,
    due: String,
    done_at: Option<String>,
    tag: (&'static str, &'static str),
    countdown: Option<String>,
    overdue: bool,
    done: bool,
    /// The first phase not yet done.
    current: bool,
}

/// The phases of a campaign as of `now`.
fn phase_views(phases: &[StoredPhase], now: NaiveDateTime) -> Vec<PhaseView> {
    let current = phases.iter().position(|p| p.completed_at.is_none());
    phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let due_at = end_of_china_day(p.phase.due_on);
            // The one rule every clock's standing and countdown follow.
            let standing = Standing::of(due_at, p.completed_at, false, now);
            let left = countdown_secs(standing, due_at, now);
            let later = standing == Standing::Open && current != Some(i);
            PhaseView {
                position: i,
                name: p.phase.name.clone(),
                due: p.phase.due_on.to_string(),
                done_at: p.completed_at.map(|at| date_time(utc(at))),
                tag: if later {
                    ("未开始", "tag-plain")
                } else {
                    standing_tag(standing)
                },
                countdown: left.map(countdown),
                overdue: standing == Standing::Overdue,
                done: p.completed_at.is_some(),
                current: current == Some(i),
            }
        })
        .collect()
}

/// One line of the list.
struct Line {
    id: String,
    name: String,
    kind: &'static str,
    region: String,
    /// The current phase, or none when every phase is done.
    current: Option<PhaseView>,
    done: usize,
    total: usize,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    layout: Layout,
    lines: Vec<Line>,
    next: Option<String>,
    paged: bool,
    may_start: bool,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<String>,
}

/// The names of the regions these campaigns cover.
async fn region_names(
    state: &AppState,
    s: &Signed,
    rows: &[CampaignRow],
) -> Result<HashMap<String, String>, PageError> {
    let ids = rows.iter().map(|r| r.region_id.clone()).collect();
    Ok(names::names(&state.db, &s.caller, ids).await?)
}

async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let mut rows = service::list(&state.db, &page.caller, q.before.clone(), PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let regions = region_names(&state, &page, &rows).await?;
    let now = crate::infra::clock::now();
    let mut lines = Vec::new();
    for r in &rows {
        let phases = phase_views(&r.phases()?, now);
        lines.push(Line {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: kind_words(&r.kind),
            region: regions.get(&r.region_id).cloned().unwrap_or_default(),
            done: phases.iter().filter(|p| p.done).count(),
            total: phases.len(),
            current: phases.into_iter().find(|p| p.current),
        });
    }
    let next = more
        .then(|| rows.last().map(|r| format!("/campaigns?before={}", r.id)))
        .flatten();
    let body = ListPage {
        layout: Layout::new(&state, &page, "走访活动", "/campaigns").await,
        lines,
        next,
        paged: q.before.is_some(),
        may_start: page.caller.role.has(Permission::ManageCampaigns),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// One row of a progress table.
struct ProgressLine {
    who: String,
    done: i64,
    total: i64,
    /// `42%`, whole percent.
    percent: String,
    /// The bar's length out of 100.
    width: String,
    complete: bool,
}

fn progress_line(who: String, r: &ProgressRow) -> ProgressLine {
    ProgressLine {
        who,
        done: r.done,
        total: r.total,
        percent: format!("{:.0}%", r.ratio * 100.0),
        width: format!("{:.1}", (r.ratio * 100.0).clamp(0.0, 100.0)),
        complete: r.total > 0 && r.done >= r.total,
    }
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    layout: Layout,
    id: String,
    name: String,
    kind: &'static str,
    dropout: bool,
    region: String,
    starts_on: String,
    term_starts_on: Option<String>,
    created: String,
    version: i64,
    phases: Vec<PhaseView>,
    villages: Vec<ProgressLine>,
    helpers: Vec<ProgressLine>,
    offices: Vec<ProgressLine>,
    unchecked: usize,
    may_manage: bool,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
}

async fn campaign_page(
    state: &AppState,
    s: &Signed,
    id: &str,
    status: StatusCode,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let row = service::find(&state.db, &s.caller, id).await?;
    let progress = crate::supervision::service::campaign_progress(&state.db, &s.caller, id).await?;
    let by_region = |rows: &[(String, Progress)]| -> Vec<ProgressRow> {
        rows.iter().map(|(path, p)| progress_row(path, p)).collect()
    };
    let (villages, offices) = (by_region(&progress.villages), by_region(&progress.offices));
    let region_ids: Vec<String> = std::iter::once(row.region_id.clone())
        .chain(villages.iter().chain(&offices).map(|r| r.id.clone()))
        .collect();
    let regions = names::names(&state.db, &s.caller, region_ids).await?;
    let helper_ids = progress.helpers.iter().map(|(h, _)| h.clone()).collect();
    let people = crate::accounts::service::names(&state.db, &s.caller, helper_ids).await?;
    let region_line = |r: &ProgressRow| {
        let name = regions
            .get(&r.id)
            .cloned()
            .unwrap_or_else(|| "（辖区外）".to_owned());
        progress_line(name, r)
    };
    let now = crate::infra::clock::now();
    let body = CampaignPage {
        layout: Layout::new(state, s, "走访活动", "/campaigns").await,
        name: row.name.clone(),
        kind: kind_words(&row.kind),
        dropout: CampaignKind::parse(&row.kind) == Some(CampaignKind::Dropout),
        region: regions.get(&row.region_id).cloned().unwrap_or_default(),
        starts_on: row.starts_on.clone(),
        term_starts_on: row.term_starts_on.clone(),
        created: date_time(utc(row.created_at)),
        version: row.version,
        phases: phase_views(&row.phases()?, now),
        villages: villages.iter().map(region_line).collect(),
        offices: offices.iter().map(region_line).collect(),
        helpers: progress
            .helpers
            .iter()
            .map(|(h, p)| {
                let r = row_of_user(h, p);
                let name = people
                    .get(h)
                    .cloned()
                    .unwrap_or_else(|| "（辖区外人员）".to_owned());
                progress_line(name, &r)
            })
            .collect(),
        unchecked: progress.unchecked_children.len(),
        may_manage: s.caller.role.has(Permission::ManageCampaigns),
        done,
        problem,
        id: row.id,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    id: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let done = match q.done.as_deref() {
        Some("phase") => Some("已标记该阶段完成。"),
        Some("started") => Some("活动已开始，各阶段的期限已列入今日工作。"),
        _ => None,
    };
    campaign_page(&state, &page, &id, StatusCode::OK, done, None).await
}

#[derive(Debug, Deserialize)]
struct CompleteForm {
    /// The campaign's version when the page was read (the JSON route's `If-Match`).
    version: i64,
}

async fn complete(
    state: web::Data<AppState>,
    posted: Posted<perm::ManageCampaigns, CompleteForm>,
    path: web::Path<(String, usize)>,
) -> Result<HttpResponse, PageError> {
    let (id, position) = path.into_inner();
    let marked = service::complete_phase(
        &state.db,
        &posted.caller,
        &id,
        position,
        posted.form.version,
    )
    .await;
    match marked {
        Ok(_) => Ok(see_other(&format!("/campaigns/{id}?done=phase"))),
        Err(e) => {
            let shown = errors::in_form(e, &[])?;
            campaign_page(&state, &posted, &id, shown.status, None, shown.problem).await
        }
    }
}

/// The start form as typed (or as first offered).
#[derive(Debug, Default, Deserialize)]
struct StartForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    term_starts_on: String,
    #[serde(default)]
    phase_name: Vec<String>,
    #[serde(default)]
    phase_due: Vec<String>,
}

/// One phase row of the start form.
struct PhaseRow {
    kind: &'static str,
    name: String,
    due: String,
    name_error: Option<String>,
    due_error: Option<String>,
}

#[derive(Template)]
#[template(path = "campaign_new.html")]
struct StartPage {
    layout: Layout,
    form: StartForm,
    regions: Vec<RegionChoice>,
    rows: Vec<PhaseRow>,
    errors: HashMap<String, String>,
    problem: Option<(String, String)>,
}

impl StartPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// The form's fields, as the service names them when it refuses one.
fn form_fields() -> Vec<String> {
    let mut f: Vec<String> = ["name", "kind", "region_id", "starts_on", "term_starts_on"]
        .into_iter()
        .map(str::to_owned)
        .chain(["phases".to_owned()])
        .collect();
    for i in 0..STANDARD_PHASES.len() {
        f.push(format!("phases[{i}].name"));
        f.push(format!("phases[{i}].due_on"));
    }
    f
}

async fn start_page(
    state: &AppState,
    s: &Signed,
    form: StartForm,
    status: StatusCode,
    errors: HashMap<String, String>,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let rows = STANDARD_PHASES
        .iter()
        .enumerate()
        .map(|(i, (kind, _, _))| PhaseRow {
            kind: phase_kind_words(*kind),
            name: form.phase_name.get(i).cloned().unwrap_or_default(),
            due: form.phase_due.get(i).cloned().unwrap_or_default(),
            name_error: errors.get(&format!("phases[{i}].name")).cloned(),
            due_error: errors.get(&format!("phases[{i}].due_on")).cloned(),
        })
        .collect();
    let body = StartPage {
        layout: Layout::new(state, s, "开始新活动", "/campaigns").await,
        regions: choices::regions(state, &s.caller).await?,
        form,
        rows,
        errors,
        problem,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

/// The form as first offered: a visit campaign over the caller's own region from today,
/// with the standard four phases and their usual deadlines, and a new key for it.
fn fresh_form(s: &Signed) -> StartForm {
    let today = china_date(crate::infra::clock::now());
    StartForm {
        key: uuid::Uuid::now_v7().to_string(),
        kind: CampaignKind::Visit.as_str().to_owned(),
        region_id: s.caller.region_id.clone(),
        starts_on: today.to_string(),
        phase_name: STANDARD_PHASES
            .iter()
            .map(|(_, n, _)| (*n).to_owned())
            .collect(),
        phase_due: STANDARD_PHASES
            .iter()
            .map(|(_, _, d)| (today + Duration::days(*d)).to_string())
            .collect(),
        ..StartForm::default()
    }
}

async fn new_form(
    state: web::Data<AppState>,
    page: Page<perm::ManageCampaigns>,
) -> Result<HttpResponse, PageError> {
    let form = fresh_form(&page);
    start_page(&state, &page, form, StatusCode::OK, HashMap::new(), None).await
}

/// Reads the form into a plan; what cannot be read is refused beside its field.
fn plan_of(f: &StartForm) -> (Option<Plan>, HashMap<String, String>) {
    let mut errors = HashMap::new();
    let mut date = |field: String, text: &str, required: bool| -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            if required {
                errors.insert(field, "请填写日期。".to_owned());
            }
            return None;
        }
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.insert(field, "日期须为 年-月-日，如 2027-04-01。".to_owned());
                None
            }
        }
    };
    let starts_on = date("starts_on".into(), &f.starts_on, true);
    let term_starts_on = date("term_starts_on".into(), &f.term_starts_on, false);
    let mut phases = Vec::new();
    for (i, (kind, _, _)) in STANDARD_PHASES.iter().enumerate() {
        let name = f.phase_name.get(i).map(|n| n.trim()).unwrap_or_default();
        let due = f.phase_due.get(i).map(|d| d.trim()).unwrap_or_default();
        // A row left blank is a phase the campaign does without.
        if name.is_empty() && due.is_empty() {
            continue;
        }
        if let Some(due_on) = date(format!("phases[{i}].due_on"), due, true) {
            phases.push(Phase {
                kind: *kind,
                name: name.to_owned(),
                due_on,
            });
        }
    }
    let kind = CampaignKind::parse(&f.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择活动类型。".to_owned());
    }
    if f.region_id.trim().is_empty() {
        errors.insert("region_id".into(), "请选择区域。".to_owned());
    }
    match (kind, starts_on) {
        (Some(kind), Some(starts_on)) if errors.is_empty() => (
            Some(Plan {
                region_id: f.region_id.trim().to_owned(),
                kind,
                name: f.name.clone(),
                starts_on,
                term_starts_on,
                phases,
            }),
            errors,
        ),
        _ => (None, errors),
    }
}

/// Where a phase's refusal is shown: the service counts the phases it was given, the form
/// its rows (a blank row is skipped).
fn row_fields(f: &StartForm, errors: HashMap<String, String>) -> HashMap<String, String> {
    let kept: Vec<usize> = (0..STANDARD_PHASES.len())
        .filter(|i| {
            let blank = |v: &Vec<String>| v.get(*i).is_none_or(|t| t.trim().is_empty());
            !(blank(&f.phase_name) && blank(&f.phase_due))
        })
        .collect();
    errors
        .into_iter()
        .map(|(field, msg)| {
            let moved = field
                .strip_prefix("phases[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(n, rest)| {
                    let row = kept.get(n.parse::<usize>().ok()?)?;
                    Some(format!("phases[{row}]{rest}"))
                });
            (moved.unwrap_or(field), msg)
        })
        .collect()
}

async fn start(
    state: web::Data<AppState>,
    posted: Posted<perm::ManageCampaigns, Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let form = read_start(&posted.form);
    let (plan, unread) = plan_of(&form);
    let Some(plan) = plan else {
        return start_page(
            &state,
            &posted,
            form,
            StatusCode::UNPROCESSABLE_ENTITY,
            unread,
            None,
        )
        .await;
    };
    let fingerprint = serde_json::json!({
        "region_id": plan.region_id, "kind": plan.kind, "name": plan.name,
        "starts_on": plan.starts_on, "term_starts_on": plan.term_starts_on,
        "phases": plan.phases,
    });
    let render =
        |row: &CampaignRow| answer(StatusCode::CREATED, &serde_json::json!({"id": row.id}));
    let once = Once::of_form(
        &form.key,
        &posted.caller.user_id,
        "POST /campaigns",
        &fingerprint,
        render,
    )?;
    let id = match service::start(&state.db, &posted.caller, plan, once).await {
        Ok(Made::New(row)) => row.id,
        Ok(Made::Replayed(r)) => r.body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Internal("a replayed answer without its id".into()))?,
        Err(e) => {
            let fields = form_fields();
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            let shown = errors::in_form(e, &names)?;
            let errors = row_fields(&form, shown.at);
            return start_page(&state, &posted, form, shown.status, errors, shown.problem).await;
        }
    };
    Ok(see_other(&format!("/campaigns/{id}?done=started")))
}

/// The start form from its posted pairs (the phase rows repeat their fields, in order).
fn read_start(pairs: &[(String, String)]) -> StartForm {
    let mut f = StartForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "key" => f.key = v.clone(),
            "name" => f.name = v.clone(),
            "kind" => f.kind = v.clone(),
            "region_id" => f.region_id = v.clone(),
            "starts_on" => f.starts_on = v.clone(),
            "term_starts_on" => f.term_starts_on = v.clone(),
            "phase_name" => f.phase_name.push(v.clone()),
            "phase_due" => f.phase_due.push(v.clone()),
            _ => {}
        }
    }
    f
}

pub fn configure(r: &mut impl Register) {
    r.get("/campaigns", list)
        .post("/campaigns", start)
        .get("/campaigns/new", new_form)
        .get("/campaigns/{id}", show)
        .post("/campaigns/{id}/phases/{position}/complete", complete);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn stored(kind: PhaseKind, due: &str, done: Option<NaiveDateTime>) -> StoredPhase {
        StoredPhase {
            phase: Phase {
                kind,
                name: kind.as_str().into(),
                due_on: d(due),
            },
            completed_at: done,
        }
    }

    #[test]
    fn the_current_phase_is_the_first_not_done_and_counts_down() {
        let now = end_of_china_day(d("2026-12-07")) - Duration::hours(12);
        let phases = [
            stored(
                PhaseKind::Training,
                "2026-11-20",
                Some(end_of_china_day(d("2026-11-22"))),
            ),
            stored(PhaseKind::Visiting, "2026-12-05", None),
            stored(PhaseKind::CompletingData, "2026-12-20", None),
        ];
        let v = phase_views(&phases, now);
        assert_eq!(v[0].tag.0, "逾期完成");
        assert!(v[1].current && v[1].overdue);
        assert_eq!(v[1].countdown.as_deref(), Some("逾期 1 天 12 小时"));
        assert_eq!(v[2].tag.0, "未开始");
        assert!(!v[2].current && !v[2].overdue);
    }

    #[test]
    fn a_blank_row_is_left_out_and_refusals_find_their_row() {
        let f = StartForm {
            kind: "visit".into(),
            region_id: "r".into(),
            starts_on: "2027-04-01".into(),
            phase_name: vec!["培训".into(), String::new(), "完善".into()],
            phase_due: vec!["2027-04-10".into(), String::new(), "2027-02-30".into()],
            ..StartForm::default()
        };
        let (plan, errors) = plan_of(&f);
        assert!(plan.is_none());
        assert!(errors.contains_key("phases[2].due_on"), "{errors:?}");
        // The third row is the service's second phase, but the page's third row.
        let refused: HashMap<String, String> =
            [("phases[1].due_on".to_owned(), "x".to_owned())].into();
        assert!(row_fields(&f, refused).contains_key("phases[2].due_on"));
    }
}
