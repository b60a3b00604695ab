//! 申请审核: township and county officers' applications by stage, the longest waiting
//! first, and the page that decides on one: its materials in place, what the rules find
//! missing, its versions and what each changed, its public notice's working days and its
//! trail; pass on, approve after the notice, return with every point, or reject with a
//! reason. The same use cases as `/v1/applications`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use bangfu_sync::Code;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::applications::queries::{self as stored, ApplicationRow};
use crate::applications::rules::{Action, Deficiency, Status};
use crate::applications::service::{self, Dossier, Verdict};
use crate::auth::applicant::Principal;
use crate::auth::caller::perm;
use crate::console::format::{countdown, date, date_time, relation_words, span, state_tag, yuan};
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::deadlines::queries::Filter as DeadlineFilter;
use crate::deadlines::view::deadline_out;
use crate::domain::role::{Permission, Role};
use crate::households::rules::{Gender, ItemCategory, ItemKind, Relation};
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::photos::http::{PhotoQuery, Viewer, send};
use crate::regions::names;
use crate::regions::queries::ListFilter;
use crate::state::AppState;

/// Applications per page of a list.
const PER_PAGE: i64 = 30;

/// The stages a list shows, in the order of the entry process, with their tab's words.
const STAGES: &[(Status, &str)] = &[
    (Status::GrassrootsReview, "待村级/乡镇审核"),
    (Status::CountyReview, "县级审核"),
    (Status::InNotice, "公示中"),
    (Status::Approved, "已批准"),
    (Status::Returned, "已退回"),
    (Status::Rejected, "已驳回"),
];

/// What a return for correction may say is wrong with a point (the API's codes).
const POINT_CODES: &[Code] = &[
    Code::Incomplete,
    Code::Unreadable,
    Code::Inconsistent,
    Code::Expired,
    Code::MaterialMissing,
];

/// Blank point rows the return form offers beyond those typed.
const POINT_ROWS: usize = 4;

/// An application's state tag: the console's shared words, and those only applications have.
fn tag(status: &str) -> (&'static str, &'static str) {
    match status {
        "draft" => ("草稿", "tag-wait"),
        "superseded" => ("已补正重交", "tag-wait"),
        "withdrawn" => ("已撤回", "tag-wait"),
        "grassroots_review" => ("待村级/乡镇审核", "tag-wait"),
        "county_review" => ("县级审核", "tag-wait"),
        s => state_tag(s),
    }
}

fn category_words(c: ItemCategory) -> &'static str {
    use ItemCategory as C;
    match c {
        C::Wages => "工资性收入",
        C::Farming => "经营性收入（务农）",
        C::Business => "经营性收入",
        C::Property => "财产性收入",
        C::Transfer => "转移性收入",
        C::OtherIncome => "其他收入",
        C::Illness => "医疗支出",
        C::Disability => "残疾支出",
        C::Schooling => "教育支出",
        C::Employment => "必要就业成本",
        C::OtherExpense => "其他支出",
    }
}

/// The household's declared yearly income and rigid expenses, in fen.
fn declared(form: &stored::StoredForm) -> (i64, i64) {
    form.items
        .iter()
        .fold((0, 0), |(inc, exp), i| match i.category.kind() {
            ItemKind::Income => (inc + i.amount_fen, exp),
            _ => (inc, exp + i.amount_fen),
        })
}

/// The applicant as the API shows them to staff: the head's name and masked ID number.
fn applicant_of(form: &stored::StoredForm) -> (String, String) {
    form.members
        .iter()
        .find(|m| m.relation == Relation::Head)
        .or(form.members.first())
        .map(|m| (m.name.clone(), m.id_masked.clone()))
        .unwrap_or_else(|| ("（未填）".to_owned(), String::new()))
}

/// A step of the entry process as its deadline names it.
fn step_words(step: &str) -> &'static str {
    match step {
        "grassroots_review" => "村级/乡镇审核",
        "county_review" => "县级审核",
        "public_notice" => "公示",
        "approval" => "公示期满后审批",
        _ => "审核",
    }
}

/// The open deadline of each application in the caller's scope: what it is for, and its
/// countdown.
async fn clocks(state: &AppState, s: &Signed) -> Result<HashMap<String, Clock>, PageError> {
    let filter = DeadlineFilter {
        subject_entity: Some("application".to_owned()),
        open_only: true,
        ..DeadlineFilter::default()
    };
    let (rows, cal, now) =
        crate::deadlines::service::list(&state.db, &s.caller, filter, None, 1000).await?;
    let mut out = HashMap::new();
    for r in rows {
        let d = deadline_out(r, now, &cal, Lang::Zh);
        let step = d.params["step"].as_str().unwrap_or_default().to_owned();
        // In due order: the first open one is the one that runs out first.
        out.entry(d.subject_id.clone()).or_insert_with(|| Clock {
            step: step_words(&step),
            due: date_time(d.due_at),
            countdown: d.countdown_seconds.map(countdown).unwrap_or_default(),
            overdue: d.countdown_seconds.is_some_and(|s| s < 0),
        });
    }
    Ok(out)
}

/// An application's running deadline.
struct Clock {
    step: &'static str,
    due: String,
    countdown: String,
    overdue: bool,
}

/// One line of a list.
struct Line {
    id: String,
    name: String,
    id_masked: String,
    members: usize,
    place: String,
    program: String,
    income: String,
    expense: String,
    tag: (&'static str, &'static str),
    revision: i32,
    waited: String,
    clock: Option<Clock>,
}

/// A choice of a filter's list.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A stage's tab.
struct Tab {
    href: String,
    label: &'static str,
    count: i64,
    current: bool,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPage {
    layout: Layout,
    stage: &'static str,
    stage_words: &'static str,
    closed: bool,
    tabs: Vec<Tab>,
    regions: Vec<Choice>,
    programs: Vec<Choice>,
    narrowed: bool,
    lines: Vec<Line>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    stage: Option<String>,
    region: Option<String>,
    program: Option<String>,
    after: Option<String>,
}

fn cursor_of(r: &ApplicationRow) -> String {
    format!("{}~{}", r.updated_at.format("%Y-%m-%dT%H:%M:%S%.6f"), r.id)
}

fn parse_cursor(s: &str) -> Option<(NaiveDateTime, String)> {
    let (t, id) = s.split_once('~')?;
    let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some((t, id.to_owned()))
}

/// The stage a list opens on: the one the caller's level decides.
fn first_stage(role: Role) -> Status {
    if role == Role::CountyOfficer {
        Status::CountyReview
    } else {
        Status::GrassrootsReview
    }
}

fn list_href(stage: Status, region: &str, program: &str, after: Option<&str>) -> String {
    let mut qs = form_urlencoded::Serializer::new(String::new());
    qs.append_pair("stage", stage.as_str());
    if !region.is_empty() {
        qs.append_pair("region", region);
    }
    if !program.is_empty() {
        qs.append_pair("program", program);
    }
    if let Some(a) = after {
        qs.append_pair("after", a);
    }
    format!("/applications?{}", qs.finish())
}

async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadApplications>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let caller = &page.caller;
    let (stage, stage_words) = STAGES
        .iter()
        .find(|(s, _)| Some(s.as_str()) == q.stage.as_deref())
        .or_else(|| STAGES.iter().find(|(s, _)| *s == first_stage(caller.role)))
        .copied()
        .unwrap_or(STAGES[0]);
    let region = q.region.clone().filter(|r| !r.is_empty());
    let program = q.program.clone().filter(|p| !p.is_empty());
    let after = q.after.as_deref().and_then(parse_cursor);
    let stages: Vec<Status> = STAGES.iter().map(|(s, _)| *s).collect();
    let mut queue = service::waiting(
        &state.db,
        caller,
        stage,
        region.clone(),
        program.clone(),
        &stages,
        after,
        PER_PAGE + 1,
    )
    .await?;
    let more = queue.rows.len() as i64 > PER_PAGE;
    queue.rows.truncate(PER_PAGE as usize);
    let programs = service::programs(&state.db).await?;
    let program_name: HashMap<String, String> = programs
        .iter()
        .map(|p| (p.row.id.clone(), p.row.name.clone()))
        .collect();
    let regions = crate::regions::service::list(
        &state.db,
        caller,
        ListFilter {
            parent_id: None,
            level: None,
            after_path: None,
        },
        500,
    )
    .await?;
    let mut ids: Vec<String> = queue.rows.iter().map(|r| r.region_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let places = names::names(&state.db, caller, ids).await?;
    let mut running = if stage.is_open() {
        clocks(&state, &page).await?
    } else {
        HashMap::new()
    };
    let now = crate::infra::clock::now();
    let (r, p) = (
        region.clone().unwrap_or_default(),
        program.clone().unwrap_or_default(),
    );
    let next = more
        .then(|| queue.rows.last().map(cursor_of))
        .flatten()
        .map(|c| list_href(stage, &r, &p, Some(&c)));
    let mut lines = Vec::with_capacity(queue.rows.len());
    for row in queue.rows {
        let form = stored::stored_form(&row)?;
        let (name, id_masked) = applicant_of(&form);
        let (income, expense) = declared(&form);
        lines.push(Line {
            name,
            id_masked,
            members: form.members.len(),
            place: places.get(&row.region_id).cloned().unwrap_or_default(),
            program: program_name
                .get(&row.program_id)
                .cloned()
                .unwrap_or_default(),
            income: yuan(income),
            expense: yuan(expense),
            tag: tag(&row.status),
            revision: row.revision,
            waited: if stage.is_open() {
                span((now - row.updated_at).num_seconds())
            } else {
                date(utc(row.updated_at))
            },
            clock: running.remove(&row.id),
            id: row.id,
        });
    }
    let own_region = caller.region_path.rsplit('/').find(|s| !s.is_empty());
    let name_of: HashMap<&str, &str> = regions
        .iter()
        .map(|v| (v.row.id.as_str(), v.row.name.as_str()))
        .collect();
    let body = ListPage {
        layout: Layout::new(&state, &page, "申请审核", "/applications").await,
        stage: stage.as_str(),
        stage_words,
        closed: !stage.is_open(),
        tabs: queue
            .counts
            .iter()
            .filter_map(|(s, n)| {
                let label = STAGES.iter().find(|(x, _)| x == s)?.1;
                Some(Tab {
                    href: list_href(*s, &r, &p, None),
                    label,
                    count: *n,
                    current: *s == stage,
                })
            })
            .collect(),
        regions: regions
            .iter()
            .filter(|v| matches!(v.row.level.as_str(), "township" | "village"))
            .filter(|v| Some(v.row.id.as_str()) != own_region)
            .map(|v| Choice {
                label: match v.row.parent_id.as_deref().and_then(|p| name_of.get(p)) {
                    Some(parent) if v.row.level == "village" => {
                        format!("{parent} · {}", v.row.name)
                    }
                    _ => v.row.name.clone(),
                },
                selected: region.as_deref() == Some(v.row.id.as_str()),
                value: v.row.id.clone(),
            })
            .collect(),
        programs: programs
            .iter()
            .map(|x| Choice {
                value: x.row.id.clone(),
                label: x.row.name.clone(),
                selected: program.as_deref() == Some(x.row.id.as_str()),
            })
            .collect(),
        narrowed: region.is_some() || program.is_some(),
        lines,
        next,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// A member as the page lists them (ID numbers masked, as the API shows them).
struct MemberShown {
    name: String,
    relation: &'static str,
    id_masked: String,
    birth: String,
    gender: &'static str,
}

struct ItemShown {
    category: &'static str,
    income: bool,
    amount: String,
    year: i32,
    note: String,
}

struct FileShown {
    name: String,
    file_name: String,
    /// Shown in place.
    image: Option<String>,
    /// Opened as it is.
    link: Option<String>,
    kind: &'static str,
}

struct VersionShown {
    id: String,
    revision: i32,
    tag: (&'static str, &'static str),
    submitted: String,
    current: bool,
    changes: Vec<String>,
    first: bool,
}

struct StepShown {
    at: String,
    who: String,
    what: String,
    revision: i32,
    reason: Option<String>,
}

struct NoticeShown {
    posted: String,
    starts: String,
    ends: String,
    workdays: i32,
    over: bool,
}

/// A deficiency as listed: where, and what is wrong.
struct PointShown {
    field: String,
    what: String,
}

/// A point of a return as typed: the field or material, the code, the words.
#[derive(Debug, Clone, Default)]
struct Point {
    field: String,
    code: String,
    message: String,
    error: Option<String>,
}

/// What the decision forms held when the service refused, and where it said so.
#[derive(Debug, Default)]
struct Typed {
    reason: String,
    reason_error: Option<String>,
    category: String,
    category_error: Option<String>,
    workdays: String,
    points: Vec<Point>,
    points_error: Option<String>,
}

#[derive(Template)]
#[template(path = "application.html")]
struct ReviewPage {
    layout: Layout,
    id: String,
    version: i64,
    title: String,
    tag: (&'static str, &'static str),
    revision: i32,
    program: String,
    fast_track: bool,
    place: String,
    address: String,
    phone: String,
    submitted: String,
    step_due: Option<String>,
    correction_due: Option<String>,
    decision_reason: Option<String>,
    case_file: Option<String>,
    next_step: &'static str,
    members: Vec<MemberShown>,
    items: Vec<ItemShown>,
    income: String,
    expense: String,
    files: Vec<FileShown>,
    findings: Vec<PointShown>,
    returned: Vec<PointShown>,
    notice: Option<NoticeShown>,
    versions: Vec<VersionShown>,
    trail: Vec<StepShown>,
    may_pass: Option<&'static str>,
    may_approve: bool,
    may_return: bool,
    may_reject: bool,
    ask_category: bool,
    fields: Vec<Choice>,
    codes: Vec<(&'static str, &'static str)>,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
    typed: Typed,
    reader_only: bool,
}

/// Where a point of an application lies, in the office's words.
fn field_words(field: &str, names: &HashMap<String, String>, form: &stored::StoredForm) -> String {
    if let Some(code) = field.strip_prefix("materials.") {
        return format!(
            "材料：{}",
            names.get(code).cloned().unwrap_or_else(|| code.to_owned())
        );
    }
    let f = field.strip_prefix("form.").unwrap_or(field);
    if let Some(rest) = f.strip_prefix("members[") {
        let i: Option<usize> = rest.split(']').next().and_then(|n| n.parse().ok());
        if let Some(m) = i.and_then(|i| form.members.get(i)) {
            return format!("家庭成员：{}", m.name);
        }
        return "家庭成员".to_owned();
    }
    match f.split(['[', '.']).next().unwrap_or(f) {
        "address" => "地址".to_owned(),
        "phone" => "联系电话".to_owned(),
        "items" => "收入与支出".to_owned(),
        "situations" => "申请情形".to_owned(),
        "members" => "家庭成员".to_owned(),
        _ => field.to_owned(),
    }
}

fn point_shown(
    d: &Deficiency,
    names: &HashMap<String, String>,
    form: &stored::StoredForm,
) -> PointShown {
    PointShown {
        field: field_words(&d.field, names, form),
        what: d.message.clone(),
    }
}

/// What a trail entry did, in words.
fn step_of(changes: &serde_json::Value, action: &str) -> String {
    let after = changes["status"]["after"].as_str();
    let before = changes["status"]["before"].as_str();
    match (before, after) {
        (Some("draft"), Some("grassroots_review")) => "提交申请".to_owned(),
        (Some("grassroots_review"), Some("county_review")) => {
            "村级/乡镇审核通过，报县级审核".to_owned()
        }
        (Some(_), Some("in_notice")) => "审核通过，进入公示".to_owned(),
        (Some("in_notice"), Some("approved")) => "公示期满，批准并建档".to_owned(),
        (Some(_), Some("returned")) => "退回补正".to_owned(),
        (Some(_), Some("rejected")) => "不予批准".to_owned(),
        (None, Some("draft")) if changes.get("previous_id").is_some() => {
            "开始补正（新版本）".to_owned()
        }
        (None, Some("draft")) => "填写申请".to_owned(),
        (_, Some(to)) => format!("状态改为{}", tag(to).0),
        _ if action == "update" => "修改申请内容".to_owned(),
        _ => action.to_owned(),
    }
}

fn who_of(e: &stored::TrailEntry) -> String {
    match (&e.actor_id, &e.actor_name, &e.actor_role) {
        (Some(a), _, _) if a.starts_with("applicant:") => "申请人".to_owned(),
        (_, Some(name), Some(role)) => match Role::parse(role) {
            Some(r) => format!("{name}（{}）", crate::console::layout::role_name(r)),
            None => name.clone(),
        },
        (_, Some(name), None) => name.clone(),
        _ => "系统".to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn review_page(
    state: &AppState,
    s: &Signed,
    id: &str,
    status_code: StatusCode,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
    typed: Typed,
) -> Result<HttpResponse, PageError> {
    let who = Principal::Staff(s.caller.clone());
    let (row, file) = service::get(&state.db, &who, id).await?;
    let Dossier {
        program,
        versions,
        trail,
        notice,
        findings,
        files,
        offered,
    } = service::dossier(&state.db, &state.data_key, &s.caller, id).await?;
    let form = stored::stored_form(&row)?;
    let places = names::names(&state.db, &s.caller, vec![row.region_id.clone()]).await?;
    let material_names: HashMap<String, String> = program
        .checklist
        .iter()
        .map(|i| (i.code.clone(), i.name.clone()))
        .collect();
    let status = row.status()?;
    let (name, _) = applicant_of(&form);
    let (income, expense) = declared(&form);
    let revision_of: HashMap<String, i32> = versions
        .iter()
        .map(|v| (v.row.id.clone(), v.row.revision))
        .collect();
    let mut fields: Vec<Choice> = program
        .checklist
        .iter()
        .map(|i| Choice {
            value: format!("materials.{}", i.code),
            label: format!("材料：{}", i.name),
            selected: false,
        })
        .collect();
    fields.extend(
        [
            ("form.address", "地址".to_owned()),
            ("form.phone", "联系电话".to_owned()),
            ("form.items", "收入与支出".to_owned()),
            ("form.situations", "申请情形".to_owned()),
        ]
        .into_iter()
        .map(|(v, l)| Choice {
            value: v.to_owned(),
            label: l,
            selected: false,
        }),
    );
    for (i, m) in form.members.iter().enumerate() {
        fields.push(Choice {
            value: format!("form.members[{i}]"),
            label: format!("家庭成员：{}", m.name),
            selected: false,
        });
    }
    let mut typed = typed;
    let rows = POINT_ROWS.max(typed.points.len() + 2);
    typed.points.resize(rows, Point::default());
    let base = format!("/applications/{}/materials", row.id);
    let body = ReviewPage {
        layout: Layout::new(state, s, "申请审核", "/applications").await,
        title: format!("{name}户 · {}", program.row.name),
        tag: tag(&row.status),
        revision: row.revision,
        program: program.row.name.clone(),
        fast_track: program.row.fast_track,
        place: places.get(&row.region_id).cloned().unwrap_or_default(),
        address: form.address.clone(),
        phone: form.phone.clone().unwrap_or_else(|| "未填".to_owned()),
        submitted: row
            .submitted_at
            .map(|t| date_time(utc(t)))
            .unwrap_or_else(|| "未提交".to_owned()),
        step_due: row
            .step_due_on
            .clone()
            .filter(|_| matches!(status, Status::GrassrootsReview | Status::CountyReview)),
        correction_due: row
            .correction_due_on
            .clone()
            .filter(|_| status == Status::Returned),
        decision_reason: row.decision_reason.clone(),
        case_file: file.map(|(f, _)| f),
        next_step: status.next_step().0,
        members: form
            .members
            .iter()
            .map(|m| MemberShown {
                name: m.name.clone(),
                relation: relation_words(m.relation),
                id_masked: m.id_masked.clone(),
                birth: m.birth_date.to_string(),
                gender: match m.gender {
                    Gender::Female => "女",
                    Gender::Male => "男",
                },
            })
            .collect(),
        items: form
            .items
            .iter()
            .map(|i| ItemShown {
                category: category_words(i.category),
                income: i.category.kind() == ItemKind::Income,
                amount: yuan(i.amount_fen),
                year: i.year,
                note: i.note.clone().unwrap_or_default(),
            })
            .collect(),
        income: yuan(income),
        expense: yuan(expense),
        files: files
            .into_iter()
            .map(|f| {
                let url = format!("{base}/{}", f.material.sha256.to_ascii_lowercase());
                let image = f
                    .media_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("image/"));
                FileShown {
                    file_name: f.material.file_name.clone().unwrap_or_default(),
                    image: image.then(|| {
                        if f.medium {
                            format!("{url}?size=medium")
                        } else {
                            url.clone()
                        }
                    }),
                    link: f.media_type.is_some().then_some(url),
                    kind: match f.media_type.as_deref() {
                        Some("application/pdf") => "PDF 文件",
                        Some(t) if t.starts_with("image/") => "图片",
                        Some(_) => "文件",
                        None => "文件未上传",
                    },
                    name: f.name,
                }
            })
            .collect(),
        findings: findings
            .iter()
            .map(|d| point_shown(d, &material_names, &form))
            .collect(),
        returned: stored::deficiencies(&row)?
            .iter()
            .map(|d| point_shown(d, &material_names, &form))
            .collect(),
        notice: notice.map(|n| NoticeShown {
            posted: n.posted_on.to_string(),
            starts: n.starts_on.to_string(),
            ends: n.ends_on.to_string(),
            workdays: n.workdays,
            over: n.over,
        }),
        versions: versions
            .iter()
            .map(|v| VersionShown {
                id: v.row.id.clone(),
                revision: v.row.revision,
                tag: tag(&v.row.status),
                submitted: v
                    .row
                    .submitted_at
                    .map(|t| date_time(utc(t)))
                    .unwrap_or_else(|| "未提交".to_owned()),
                current: v.row.id == row.id,
                changes: v.changes.clone(),
                first: v.row.previous_id.is_none(),
            })
            .collect(),
        trail: trail
            .iter()
            .map(|e| StepShown {
                at: date_time(utc(e.at)),
                who: who_of(e),
                what: step_of(&e.changes, &e.action),
                revision: revision_of.get(&e.application_id).copied().unwrap_or(1),
                reason: e.reason.clone(),
            })
            .collect(),
        may_pass: offered.contains(&Action::Pass).then(|| {
            if status == Status::GrassrootsReview && !program.row.fast_track {
                "审核通过，报县级审核"
            } else {
                "审核通过，进入公示"
            }
        }),
        may_approve: offered.contains(&Action::Approve),
        may_return: offered.contains(&Action::Return),
        may_reject: offered.contains(&Action::Reject),
        ask_category: program.row.category == "any",
        fields,
        codes: POINT_CODES
            .iter()
            .map(|c| (c.as_str(), c.text().zh))
            .collect(),
        done,
        problem,
        typed,
        reader_only: !s.caller.role.has(Permission::ReviewApplications),
        version: row.version,
        id: row.id,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status_code, body))
}

#[derive(Debug, Deserialize)]
struct ReviewQuery {
    done: Option<String>,
}

async fn review(
    state: web::Data<AppState>,
    page: Page<perm::ReadApplications>,
    id: web::Path<String>,
    q: web::Query<ReviewQuery>,
) -> Result<HttpResponse, PageError> {
    let done = match q.done.as_deref() {
        Some("pass") => Some("已审核通过，申请转入下一环节。"),
        Some("approve") => Some("已批准，档案已建立。"),
        Some("return") => Some("已退回补正，问题清单已发给申请人。"),
        Some("reject") => Some("已作出不予批准的决定，理由已告知申请人。"),
        _ => None,
    };
    review_page(
        &state,
        &page,
        &id,
        StatusCode::OK,
        done,
        None,
        Typed::default(),
    )
    .await
}

/// A decision form as posted: repeated point fields, in order.
fn read_form(pairs: &[(String, String)]) -> (HashMap<&str, &str>, Vec<Point>) {
    let mut one = HashMap::new();
    let (mut fields, mut codes, mut messages) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in pairs {
        match k.as_str() {
            "point_field" => fields.push(v.trim().to_owned()),
            "point_code" => codes.push(v.trim().to_owned()),
            "point_message" => messages.push(v.trim().to_owned()),
            _ => {
                one.insert(k.as_str(), v.as_str());
            }
        }
    }
    let points = fields
        .into_iter()
        .zip(codes)
        .zip(messages)
        // A row left blank is no point.
        .filter(|((f, _), m)| !f.is_empty() || !m.is_empty())
        .map(|((field, code), message)| Point {
            field,
            code,
            message,
            error: None,
        })
        .collect();
    (one, points)
}

async fn decide(
    state: web::Data<AppState>,
    posted: Posted<perm::ReviewApplications, Vec<(String, String)>>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (one, points) = read_form(&posted.form);
    let action = match one.get("action").copied() {
        Some("pass") => Action::Pass,
        Some("approve") => Action::Approve,
        Some("return") => Action::Return,
        Some("reject") => Action::Reject,
        _ => {
            return Err(PageError::Refused(Error::validation(
                "action",
                Code::InvalidValue,
                crate::infra::error::Msg::fixed("请选择一项决定。", "Choose a decision."),
            )));
        }
    };
    let text = |k: &str| one.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut typed = Typed {
        reason: text("reason"),
        category: text("category"),
        workdays: text("correction_workdays"),
        points: Vec::new(),
        ..Typed::default()
    };
    let verdict = Verdict {
        action,
        reason: Some(typed.reason.clone()).filter(|r| !r.is_empty()),
        deficiencies: if action == Action::Return {
            points
                .iter()
                .map(|p| Deficiency {
                    field: p.field.clone(),
                    code: Code::parse(&p.code).unwrap_or(Code::Unknown),
                    message: p.message.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        correction_workdays: typed.workdays.parse().ok(),
        category: Some(typed.category.clone()).filter(|c| !c.is_empty()),
        seen_version: one.get("version").and_then(|v| v.parse().ok()),
    };
    typed.points = if action == Action::Return {
        points
    } else {
        Vec::new()
    };
    let decided = service::decide(&state.db, &state.data_key, &posted.caller, &id, verdict).await;
    let problem = match decided {
        Ok(_) => {
            let done = match action {
                Action::Pass => "pass",
                Action::Approve => "approve",
                Action::Return => "return",
                Action::Reject => "reject",
            };
            return Ok(see_other(&format!("/applications/{id}?done={done}")));
        }
        Err(Error::Validation(errs)) => {
            let mut rest = Vec::new();
            for e in errs {
                let msg = e.message.get(Lang::Zh).to_owned();
                let point = e
                    .field
                    .strip_prefix("deficiencies[")
                    .and_then(|r| r.split(']').next())
                    .and_then(|n| n.parse::<usize>().ok());
                match (e.field.as_str(), point) {
                    ("reason", _) => typed.reason_error = Some(msg),
                    ("category", _) => typed.category_error = Some(msg),
                    ("deficiencies", _) => typed.points_error = Some(msg),
                    (_, Some(i)) if i < typed.points.len() => {
                        let p = &mut typed.points[i];
                        p.error = Some(match p.error.take() {
                            Some(before) => format!("{before} {msg}"),
                            None => msg,
                        });
                    }
                    _ => rest.push(e),
                }
            }
            (!rest.is_empty()).then(|| errors::message(&Error::Validation(rest)))
        }
        Err(
            e @ (Error::Conflict { .. }
            | Error::Forbidden { .. }
            | Error::Unprocessable { .. }
            | Error::PreconditionFailed),
        ) => {
            let status = e.status_code();
            let problem = Some(errors::message(&e));
            return review_page(&state, &posted, &id, status, None, problem, typed).await;
        }
        Err(e) => return Err(e.into()),
    };
    review_page(
        &state,
        &posted,
        &id,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        problem,
        typed,
    )
    .await
}

/// A material of an application, to a signed-in browser: the same reach check and the
/// same sending as `GET /v1/applications/{id}/materials/{sha256}`.
async fn material(
    state: web::Data<AppState>,
    page: Page<perm::ReadApplications>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<PhotoQuery>,
) -> Result<HttpResponse, PageError> {
    let (id, sha) = (path.0.clone(), path.1.to_ascii_lowercase());
    let who = Principal::Staff(page.caller.clone());
    let (blob, region_path) = service::material(&state.db, &who, &id, &sha).await?;
    let viewer = Viewer::Staff(page.caller.actor());
    Ok(send(&state, &req, &viewer, blob, &region_path, q.size).await?)
}

pub fn configure(r: &mut impl Register) {
    r.get("/applications", list)
        .get("/applications/{id}", review)
        .post("/applications/{id}/decision", decide)
        .get("/applications/{id}/materials/{sha256}", material);
}
