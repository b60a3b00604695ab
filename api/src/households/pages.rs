//! 户档: the household registry as an office reads it. A search (name, full ID number,
//! village, status, classification) over the households of the caller's jurisdiction,
//! masked exactly as `GET /v1/households` masks them; a household's page (members, the
//! case file with the reasons of its classification, payments against the year's caps,
//! visits with their photos, look-backs); and showing one household's numbers in full for
//! a stated reason, audited, to that one answer only. The same use cases as
//! `/v1/households`, the case files' payments and the follow-up of visits.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::{countdown, date, date_time, relation_words, standing_tag, yuan};
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::deadlines::view::deadline_out;
use crate::domain::deadline::Standing;
use crate::domain::region::RegionLevel;
use crate::domain::role::Permission;
use crate::followup::service as followup;
use crate::households::http::{HouseholdOut, out};
use crate::households::queries::Household;
use crate::households::rules::{Gender, Relation};
use crate::households::service::{self, Search};
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::payments::aid::AidKind;
use crate::payments::service as payments;
use crate::photo_reviews::service as photo_reviews;
use crate::regions::queries::ListFilter as RegionFilter;
use crate::regions::{names, service as regions};
use crate::state::AppState;

/// Households per page of the search.
const PER_PAGE: i64 = 30;
/// Photos shown on a household's page.
const PHOTOS_SHOWN: i64 = 60;

fn gender_words(g: Gender) -> &'static str {
    match g {
        Gender::Female => "女",
        Gender::Male => "男",
    }
}

/// A classification (R-FILE-3) in the office's words.
fn category_words(c: &str) -> &'static str {
    match c {
        "deep" => "深度困难",
        "relative" => "相对困难",
        "accidental" => "意外致困",
        _ => "其他",
    }
}

/// A household's or a file's status, with its tag colour.
fn status_tag(s: &str) -> (&'static str, &'static str) {
    match s {
        "active" => ("在档", "tag-ok"),
        "exited" => ("已脱困", "tag-notice"),
        "exit_review" | "exit_notice" => ("脱困审核中", "tag-wait"),
        _ => ("其他", "tag-wait"),
    }
}

fn item_words(c: &str) -> &'static str {
    match c {
        "wages" => "工资性收入",
        "farming" => "种养殖收入",
        "business" => "经营性收入",
        "property" => "财产性收入",
        "transfer" => "转移性收入",
        "other_income" => "其他收入",
        "illness" => "因病支出",
        "disability" => "因残支出",
        "schooling" => "子女上学支出",
        "employment" => "必要就业成本",
        _ => "其他支出",
    }
}

fn aid_words(k: &str) -> &'static str {
    match k {
        "living" => "生活救助",
        "medical" => "医疗救助",
        "education" => "助学救助",
        _ => "其他救助",
    }
}

fn visit_words(k: &str) -> &'static str {
    match k {
        "routine" => "日常走访",
        "look_back" => "回头看",
        "verification" => "信息核实",
        _ => "走访",
    }
}

/// The basic needs (两不愁三保障) in the order offices say them.
const NEEDS: [&str; 5] = [
    "food",
    "clothing",
    "compulsory_education",
    "basic_medical",
    "safe_housing",
];

fn need_words(k: &str) -> &'static str {
    match k {
        "food" => "不愁吃",
        "clothing" => "不愁穿",
        "compulsory_education" => "义务教育",
        "basic_medical" => "基本医疗",
        "safe_housing" => "住房安全",
        _ => "其他",
    }
}

/// The head of the household (the first member when none is marked so).
fn head(h: &HouseholdOut) -> (String, String) {
    h.members
        .iter()
        .find(|m| m.relation == Relation::Head)
        .or(h.members.first())
        .map(|m| (m.name.clone(), m.id_number.clone()))
        .unwrap_or_default()
}

/// One line of the search.
struct Row {
    id: String,
    head: String,
    id_number: String,
    village: String,
    address: String,
    members: usize,
    status: (&'static str, &'static str),
    categories: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "households.html")]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    villages: Vec<(String, String)>,
    rows: Vec<Row>,
    next: Option<String>,
    searched: bool,
    id_error: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct ListQuery {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    village: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    after: Option<String>,
}

impl ListQuery {
    /// The query string of this search, for the next page.
    fn with_after(&self, after: &str) -> String {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("name", &self.name),
            ("id_number", &self.id_number),
            ("village", &self.village),
            ("status", &self.status),
            ("category", &self.category),
        ] {
            if !v.is_empty() {
                qs.append_pair(k, v);
            }
        }
        qs.append_pair("after", after);
        format!("/households?{}", qs.finish())
    }
}

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadHouseholds>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let caller = &page.caller;
    let villages: Vec<(String, String)> = regions::list(
        &state.db,
        caller,
        RegionFilter {
            level: Some(RegionLevel::Village),
            ..Default::default()
        },
        500,
    )
    .await?
    .into_iter()
    .map(|v| (v.row.id, v.row.name))
    .collect();
    let search = Search {
        region_id: given(&q.village),
        id_number: given(&q.id_number),
        name: given(&q.name),
        status: given(&q.status).filter(|s| matches!(s.as_str(), "active" | "exited")),
        category: given(&q.category)
            .filter(|c| matches!(c.as_str(), "deep" | "relative" | "accidental")),
        after_id: q.after.clone(),
    };
    let searched = search.region_id.is_some()
        || search.id_number.is_some()
        || search.name.is_some()
        || search.status.is_some()
        || search.category.is_some();
    let (found, id_error) =
        match service::search(&state.db, &state.data_key, caller, search, PER_PAGE + 1).await {
            Ok(rows) => (rows, None),
            Err(Error::Validation(errs)) if errs.iter().all(|e| e.field == "id_number") => {
                let words = errs
                    .iter()
                    .map(|e| e.message.get(Lang::Zh).to_owned())
                    .collect::<Vec<_>>()
                    .join(" ");
                (Vec::new(), Some(words))
            }
            Err(e) => return Err(e.into()),
        };
    let more = found.len() as i64 > PER_PAGE;
    let shown: Vec<Household> = found.into_iter().take(PER_PAGE as usize).collect();
    let ids: Vec<String> = shown.iter().map(|h| h.row.id.clone()).collect();
    let cats = service::categories(&state.db, caller, ids).await?;
    let mut rows = Vec::new();
    for h in shown {
        let categories: Vec<&'static str> = cats
            .get(&h.row.id)
            .map(|c| c.iter().map(|c| category_words(c)).collect())
            .unwrap_or_default();
        let o = out(h, &state.data_key, false)?;
        let (head, id_number) = head(&o);
        rows.push(Row {
            head,
            id_number,
            village: o.region_name.clone(),
            address: o.address.clone(),
            members: o.members.len(),
            status: status_tag(&o.status),
            categories,
            id: o.id,
        });
    }
    let next = more
        .then(|| rows.last().map(|r| q.with_after(&r.id)))
        .flatten();
    let status = if id_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = ListPage {
        layout: Layout::new(&state, &page, "户档", "/households").await,
        q,
        villages,
        rows,
        next,
        searched,
        id_error,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

/// A cap of the year with what was paid toward it.
struct CapLine {
    kind: &'static str,
    paid: String,
    cap: String,
    left: Option<String>,
    over: bool,
    text: String,
}

struct PaymentLine {
    period: String,
    kind: &'static str,
    amount: String,
    approval: &'static str,
    paid_on: String,
    on_time: bool,
}

struct FileView {
    category: &'static str,
    status: (&'static str, &'static str),
    opened_on: String,
    exited_on: Option<String>,
    caps: Vec<CapLine>,
    payments: Vec<PaymentLine>,
}

struct PhotoView {
    thumb: Option<String>,
    taken: String,
    review: (&'static str, &'static str),
    /// The photo's page, for roles that read photo reviews.
    link: Option<String>,
}

struct VisitView {
    when: String,
    kind: &'static str,
    look_back: bool,
    by_me: bool,
    needs: Vec<(&'static str, &'static str, &'static str)>,
    failing: Vec<&'static str>,
    photos: Vec<PhotoView>,
}

struct ClockView {
    title: String,
    due: String,
    countdown: String,
    standing: (&'static str, &'static str),
    overdue: bool,
    escalated_to: Option<String>,
    failing: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    layout: Layout,
    h: HouseholdOut,
    head: String,
    status: (&'static str, &'static str),
    created_on: String,
    members: Vec<MemberView>,
    items: Vec<(i32, &'static str, &'static str, String)>,
    year: i32,
    dibao: String,
    assessment: Vec<String>,
    assessed_as: Vec<&'static str>,
    files: Vec<FileView>,
    visits: Vec<VisitView>,
    visits_total: usize,
    look_backs: usize,
    clocks: Vec<ClockView>,
    other_photos: Vec<PhotoView>,
    may_unmask: bool,
    /// The reason the numbers are shown in full, on the one answer that shows them.
    unmasked: Option<String>,
    reason: String,
    reason_error: Option<String>,
    problem: Option<(String, String)>,
}

struct MemberView {
    name: String,
    relation: &'static str,
    id_number: String,
    birth_date: String,
    gender: &'static str,
    phone: Option<String>,
}

fn need_state(v: &str) -> (&'static str, &'static str) {
    match v {
        "met" => ("达标", "tag-ok"),
        "not_met" => ("未达标", "tag-no"),
        _ => ("未核实", "tag-wait"),
    }
}

fn review_tag(s: &str) -> (&'static str, &'static str) {
    match s {
        "approved" => ("已批准", "tag-ok"),
        "rejected" => ("已驳回", "tag-no"),
        _ => ("待审核", "tag-wait"),
    }
}

/// What the page shows beside the registry's own record.
struct Around {
    files: payments::HouseholdFiles,
    visits: followup::HouseholdVisits,
    photos: Vec<crate::photo_reviews::queries::Queued>,
}

async fn around(state: &AppState, s: &Signed, id: &str) -> Result<Around, PageError> {
    let files = payments::household_files(&state.db, &s.caller, id).await?;
    let visits = followup::household_visits(&state.db, &s.caller, id).await?;
    // Photos are read by those who read the reviews; a helper's own are on the phone.
    let photos = if s.caller.role.has(Permission::ReadPhotoReviews) {
        photo_reviews::of_household(&state.db, &s.caller, id, PHOTOS_SHOWN).await?
    } else {
        Vec::new()
    };
    Ok(Around {
        files,
        visits,
        photos,
    })
}

/// What a page answer says besides the household.
struct Shown {
    status: StatusCode,
    unmasked: Option<String>,
    reason: String,
    reason_error: Option<String>,
    problem: Option<(String, String)>,
}

impl Shown {
    fn plain() -> Shown {
        Shown {
            status: StatusCode::OK,
            unmasked: None,
            reason: String::new(),
            reason_error: None,
            problem: None,
        }
    }
}

async fn household_page(
    state: &AppState,
    s: &Signed,
    h: HouseholdOut,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let caller = &s.caller;
    let a = around(state, s, &h.id).await?;
    let mut photos_by_subject: HashMap<String, Vec<PhotoView>> = HashMap::new();
    let may_open = caller.role.has(Permission::ReadPhotoReviews);
    for q in a.photos {
        let p = q.photo;
        let view = PhotoView {
            thumb: q
                .file
                .as_ref()
                .map(|f| format!("/files/{}?size=thumb", f.sha256)),
            taken: p
                .taken_at
                .map(|t| date_time(utc(t)))
                .unwrap_or_else(|| "未记录".to_owned()),
            review: review_tag(&p.review_status),
            link: may_open.then(|| format!("/photo-reviews/{}", p.id)),
        };
        photos_by_subject
            .entry(p.subject_id)
            .or_default()
            .push(view);
    }
    let v = a.visits;
    let (now, cal) = (v.now, v.calendar);
    let mut ids: Vec<String> = Vec::new();
    let outs: Vec<_> = v
        .deadlines
        .into_iter()
        .map(|r| deadline_out(r, now, &cal, Lang::Zh))
        .collect();
    ids.extend(outs.iter().filter_map(|d| d.escalated_to_region_id.clone()));
    let place = names::names(&state.db, caller, ids).await?;
    let clocks = outs
        .into_iter()
        .map(|d| ClockView {
            failing: d
                .params
                .get("failing")
                .and_then(|f| f.as_array())
                .map(|f| {
                    f.iter()
                        .filter_map(|x| x.as_str())
                        .map(need_words)
                        .collect()
                })
                .unwrap_or_default(),
            title: d.title.clone(),
            due: date_time(d.due_at),
            countdown: d.countdown_seconds.map(countdown).unwrap_or_default(),
            standing: standing_tag(d.standing),
            overdue: d.standing == Standing::Overdue,
            escalated_to: d
                .escalated_to_region_id
                .as_deref()
                .map(|r| place.get(r).cloned().unwrap_or_else(|| "上级".to_owned())),
        })
        .collect();
    let look_backs = v.visits.iter().filter(|x| x.kind == "look_back").count();
    let visits = v
        .visits
        .into_iter()
        .map(|x| VisitView {
            when: date_time(utc(x.visited_at)),
            kind: visit_words(&x.kind),
            look_back: x.kind == "look_back",
            by_me: x.helper_id == caller.user_id,
            failing: x.failing().into_iter().map(need_words).collect(),
            needs: {
                let mut needs: Vec<&(String, String)> = x.basic_needs.iter().collect();
                needs.sort_by_key(|(k, _)| NEEDS.iter().position(|n| *n == k.as_str()));
                needs
                    .into_iter()
                    .map(|(k, v)| {
                        let (w, c) = need_state(v);
                        (need_words(k), w, c)
                    })
                    .collect()
            },
            photos: photos_by_subject.remove(&x.id).unwrap_or_default(),
        })
        .collect();
    let other_photos: Vec<PhotoView> = photos_by_subject.into_values().flatten().collect();
    let f = a.files;
    let files = f
        .files
        .into_iter()
        .map(|s| FileView {
            category: category_words(&s.file.category),
            status: status_tag(&s.file.status),
            opened_on: s.file.opened_on.clone(),
            exited_on: s.file.exited_on.clone(),
            caps: s
                .caps
                .into_iter()
                .map(|(cap, paid)| CapLine {
                    kind: match cap.kind {
                        Some(AidKind::Living) => "生活救助",
                        Some(AidKind::Medical) => "医疗救助",
                        Some(AidKind::Education) => "助学救助",
                        None => "各类救助合计",
                    },
                    paid: yuan(paid),
                    cap: match cap.cap_fen {
                        Some(c) if cap.per_student => format!("{} / 每生", yuan(c)),
                        Some(c) => yuan(c),
                        None => "按个人承担部分".to_owned(),
                    },
                    left: cap
                        .cap_fen
                        .filter(|_| !cap.per_student)
                        .map(|c| yuan((c - paid).max(0))),
                    over: cap.cap_fen.is_some_and(|c| !cap.per_student && paid > c),
                    text: cap.text,
                })
                .collect(),
            payments: s
                .payments
                .into_iter()
                .map(|p| PaymentLine {
                    kind: aid_words(&p.kind),
                    amount: yuan(p.amount_fen),
                    approval: match p.approval.as_str() {
                        "provincial" => "省级审批",
                        "national" => "全国审批",
                        _ => "县级审批",
                    },
                    paid_on: date(utc(p.created_at)),
                    on_time: p.on_time,
                    period: p.period,
                })
                .collect(),
        })
        .collect();
    let (assessment, assessed_as) = match f.assessment {
        Some(a) => (
            a.lines.into_iter().map(|l| l.text).collect(),
            a.categories
                .iter()
                .map(|c| match c {
                    crate::payments::classification::Category::Deep => "深度困难",
                    crate::payments::classification::Category::Relative => "相对困难",
                    crate::payments::classification::Category::Accidental => "意外致困",
                })
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut items: Vec<(i32, &'static str, &'static str, String)> = h
        .items
        .iter()
        .map(|i| {
            let cat = serde_json::to_value(i.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let kind = if matches!(
                cat.as_str(),
                "wages" | "farming" | "business" | "property" | "transfer" | "other_income"
            ) {
                "收入"
            } else {
                "支出"
            };
            (i.year, kind, item_words(&cat), yuan(i.amount_fen))
        })
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let (head, _) = head(&h);
    let title = format!("户档：{head}");
    let body = HouseholdPage {
        layout: Layout::new(state, s, &title, "/households").await,
        status: status_tag(&h.status),
        created_on: date(h.created_at),
        members: h
            .members
            .iter()
            .map(|m| MemberView {
                name: m.name.clone(),
                relation: relation_words(m.relation),
                id_number: m.id_number.clone(),
                birth_date: m.birth_date.clone(),
                gender: gender_words(m.gender),
                phone: m.phone.clone(),
            })
            .collect(),
        head,
        items,
        year: f.year,
        dibao: if f.dibao_fen > 0 {
            yuan(f.dibao_fen)
        } else {
            "未设定".to_owned()
        },
        assessment,
        assessed_as,
        files,
        visits,
        visits_total: v.total,
        look_backs,
        clocks,
        other_photos,
        may_unmask: caller.role.has(Permission::UnmaskPersonalData),
        unmasked: shown.unmasked,
        reason: shown.reason,
        reason_error: shown.reason_error,
        problem: shown.problem,
        h,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(shown.status, body))
}

async fn household(
    state: web::Data<AppState>,
    page: Page<perm::ReadHouseholds>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let h = service::get(&state.db, &page.caller, &id, None).await?;
    let h = out(h, &state.data_key, false)?;
    household_page(&state, &page, h, Shown::plain()).await
}

#[derive(Debug, Deserialize)]
struct UnmaskForm {
    #[serde(default)]
    reason: String,
}

/// Shows the numbers in full to this answer only (never stored in the page's address, and
/// never cached): a reload shows them masked again.
async fn unmask(
    state: web::Data<AppState>,
    posted: Posted<perm::UnmaskPersonalData, UnmaskForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let reason = posted.form.reason.clone();
    match service::get(&state.db, &posted.caller, &id, Some(reason.clone())).await {
        Ok(h) => {
            let h = out(h, &state.data_key, true)?;
            let shown = Shown {
                unmasked: Some(reason.trim().to_owned()),
                ..Shown::plain()
            };
            household_page(&state, &posted, h, shown).await
        }
        Err(e) => {
            let refused = errors::in_page(e, "reason")?;
            let h = service::get(&state.db, &posted.caller, &id, None).await?;
            let h = out(h, &state.data_key, false)?;
            let shown = Shown {
                status: refused.status,
                unmasked: None,
                reason,
                problem: refused.problem,
                reason_error: refused.at_field,
            };
            household_page(&state, &posted, h, shown).await
        }
    }
}

pub fn configure(r: &mut impl Register) {
    r.get("/households", list)
        .get("/households/{id}", household)
        .post("/households/{id}/unmask", unmask);
}
