//! 控辍保学: the dropout cases of the caller's jurisdiction (the step each has reached, the
//! next one and its deadline counting down, overdue in red, how far a missed one has
//! climbed), and one case's eight legal steps (R-DROP-3) as a timeline: each step's
//! evidence (papers, persuasion attempts, their photos), what it still lacks, the next
//! step and its deadline. Judged by the same use case as
//! `GET /v1/dropout-cases/{id}/evaluation`, the clocks from the same read model.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use bangfu_sync::Code;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::{countdown, date, date_time, standing_tag};
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Signed};
use crate::deadlines::view::{DeadlineOut, deadline_out, last_id};
use crate::domain::deadline::Standing;
use crate::dropout::rules::{CloseOut, Missing, Step};
use crate::dropout::service::{self, CaseFilter, Judged};
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::regions::names;
use crate::state::AppState;

/// Cases per page of the list.
const PER_PAGE: i64 = 30;

/// A legal step in the words of the eight procedures (依法控辍八种程序).
fn step_words(s: Step) -> &'static str {
    match s {
        Step::EnrollmentNotice => "入学通知",
        Step::Registration => "入学登记",
        Step::DropoutConfirmed => "辍学确认",
        Step::Persuasion => "双线劝返（三帮一）",
        Step::Reported => "及时报告",
        Step::ReturnUrged => "限期复学",
        Step::Penalty => "行政处罚",
        Step::CourtEnforcement => "申请法院强制执行",
    }
}

fn doc_words(kind: &str) -> &'static str {
    match kind {
        "enrollment_notice" => "入学通知书",
        "registration" => "入学登记",
        "dropout_confirmation" => "学校辍学确认",
        "upward_report" => "向上级报告",
        "return_deadline_notice" => "限期复学通知书",
        "penalty_decision" => "乡镇行政处罚决定书",
        "court_application" => "强制执行申请书",
        "return_confirmation" => "学校复学确认",
        "elsewhere_proof" => "异地就读证明",
        "guardian_application" => "监护人书面申请",
        "county_approval" => "县教育局审批备案",
        "home_teaching_agreement" => "送教上门协议",
        "investigation_report" => "调查报告",
        "letter_sent" => "寄送家庭的信函",
        _ => "其他文书",
    }
}

fn issuer_words(by: &str) -> &'static str {
    match by {
        "school" => "学校",
        "village" => "村（社区）",
        "township" => "乡镇政府",
        "county" => "县教育局",
        "court" => "法院",
        _ => "其他",
    }
}

fn outcome_words(o: &str) -> &'static str {
    match o {
        "returned" => "劝返复学",
        "studying_elsewhere" => "异地就读",
        "illness_deferral" => "因病缓学",
        "illness_exemption" => "因病免学",
        "home_teaching" => "送教上门",
        "whereabouts_unknown" => "下落不明",
        _ => "其他",
    }
}

fn method_words(m: &str) -> &'static str {
    match m {
        "phone_call" => "电话劝返",
        "letter" => "信函劝返",
        "home_visit" => "入户劝返",
        _ => "劝返",
    }
}

fn party_words(p: Option<&str>) -> &'static str {
    match p {
        Some("school") => "学校",
        Some("village") => "村（社区）",
        Some("township") => "乡镇",
        _ => "未注明",
    }
}

fn result_words(r: &str) -> &'static str {
    match r {
        "no_contact" => "未联系上",
        "refused" => "拒绝返校",
        "promised" => "答应返校",
        "returned" => "已返校",
        _ => "未注明",
    }
}

/// What a step or an outcome still lacks, in the office's words (the rules' codes, with
/// the paper a missing-document line names).
fn missing_words(m: &Missing, step: Option<Step>) -> String {
    match m.code {
        Code::DocumentMissing => {
            let kind = m
                .message
                .rsplit_once('(')
                .and_then(|(_, k)| k.strip_suffix(')'))
                .map(doc_words);
            match (kind, step) {
                (Some(k), _) => format!("缺少{k}"),
                (None, Some(Step::Penalty)) => "处罚前须先下达限期复学通知书".to_owned(),
                (None, _) => "缺少文书".to_owned(),
            }
        }
        Code::SchoolAttemptMissing => "缺少学校的劝返记录".to_owned(),
        Code::VillageAttemptMissing => "缺少村（社区）的劝返记录".to_owned(),
        Code::TeamIncomplete => "劝返小组不足 3 人（三帮一）".to_owned(),
        Code::AttemptPhotoMissing => "有入户劝返没有照片".to_owned(),
        Code::RepeatedPersuasionMissing => "下达通知书前须至少劝返 2 次".to_owned(),
        Code::PenaltyBeforeDeadline => "处罚决定须在复学期限届满之后".to_owned(),
        Code::CourtBeforePenalty => "申请强制执行须在处罚决定之后".to_owned(),
        Code::ReturnUnconfirmed => "缺少学校的复学确认".to_owned(),
        Code::ElsewhereDetailMissing => "缺少异地就读的省、市、县、学校或年级".to_owned(),
        Code::StudentStatusMissing => "学籍尚未登记".to_owned(),
        Code::PhotoMissing => "缺少调查照片".to_owned(),
        Code::OutcomeMissing => "已关闭但没有结果".to_owned(),
        _ => "缺少证据".to_owned(),
    }
}

/// The clock a step's deadline is kept by.
fn clock_of(step: Step) -> Option<&'static str> {
    match step {
        Step::ReturnUrged => Some("dropout_return_deadline"),
        Step::Penalty => Some("dropout_penalty_decision"),
        _ => None,
    }
}

/// A case's state: open, closed out (销号), or closed without the evidence to count.
fn case_tag(c: &CloseOut) -> (&'static str, &'static str) {
    match c {
        CloseOut::Open => ("进行中", "tag-wait"),
        CloseOut::Confirmed { .. } => ("已销号", "tag-ok"),
        CloseOut::Unconfirmed { .. } => ("已关闭，证据不全", "tag-back"),
    }
}

/// A clock as the pages show it.
struct ClockView {
    kind: String,
    title: String,
    due: String,
    countdown: String,
    standing: (&'static str, &'static str),
    overdue: bool,
    live: bool,
    escalated_to: Option<String>,
    due_at: chrono::DateTime<chrono::Utc>,
}

fn clock_view(d: DeadlineOut, place: &HashMap<String, String>) -> ClockView {
    ClockView {
        title: d.title.clone(),
        due: date_time(d.due_at),
        countdown: d.countdown_seconds.map(countdown).unwrap_or_default(),
        standing: standing_tag(d.standing),
        overdue: d.standing == Standing::Overdue,
        live: matches!(d.standing, Standing::Open | Standing::Overdue),
        escalated_to: d
            .escalated_to_region_id
            .as_deref()
            .map(|r| place.get(r).cloned().unwrap_or_else(|| "上级".to_owned())),
        due_at: d.due_at,
        kind: d.kind,
    }
}

/// The clocks of judged cases, rendered, and the names of every place they and the cases
/// name.
async fn clocks_and_places(
    state: &AppState,
    s: &Signed,
    judged: &mut [Judged],
) -> Result<(Vec<Vec<DeadlineOut>>, HashMap<String, String>), PageError> {
    let mut outs = Vec::new();
    let mut ids = Vec::new();
    for j in judged.iter_mut() {
        let rows = std::mem::take(&mut j.deadlines);
        let o: Vec<DeadlineOut> = rows
            .into_iter()
            .map(|r| deadline_out(r, j.now, &j.calendar, Lang::Zh))
            .collect();
        ids.extend(o.iter().filter_map(|d| d.escalated_to_region_id.clone()));
        ids.push(last_id(&j.case.region_path));
        if let Some(p) = &j.case.school_path {
            ids.push(last_id(p));
        }
        outs.push(o);
    }
    ids.sort();
    ids.dedup();
    let place = names::names(&state.db, &s.caller, ids).await?;
    Ok((outs, place))
}

/// One line of the list.
struct Line {
    id: String,
    child: String,
    village: String,
    verified: &'static str,
    next: Option<&'static str>,
    tag: (&'static str, &'static str),
    clock: Option<ClockView>,
    overdue: bool,
    open: bool,
}

#[derive(Template)]
#[template(path = "dropout_cases.html")]
struct ListPage {
    layout: Layout,
    show: String,
    lines: Vec<Line>,
    overdue: usize,
    escalated: usize,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    show: Option<String>,
    after: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let show = q
        .show
        .as_deref()
        .filter(|s| matches!(*s, "closed" | "all"))
        .unwrap_or("open");
    let filter = CaseFilter {
        open: match show {
            "closed" => Some(false),
            "all" => None,
            _ => Some(true),
        },
        after_id: q.after.clone(),
    };
    let mut judged = service::cases(&state.db, &page.caller, filter, PER_PAGE + 1).await?;
    let more = judged.len() as i64 > PER_PAGE;
    judged.truncate(PER_PAGE as usize);
    let last = judged.last().map(|j| j.case.id.clone());
    let (outs, place) = clocks_and_places(&state, &page, &mut judged).await?;
    let mut lines: Vec<Line> = judged
        .into_iter()
        .zip(outs)
        .map(|(j, o)| {
            let clock = o
                .into_iter()
                .map(|d| clock_view(d, &place))
                .filter(|c| c.live)
                .min_by_key(|c| c.due_at);
            let ev = j.evaluation;
            Line {
                village: place
                    .get(&last_id(&j.case.region_path))
                    .cloned()
                    .unwrap_or_default(),
                verified: ev.verified_stage.map_or("尚无", step_words),
                next: ev.next_step.map(step_words),
                tag: case_tag(&ev.close_out),
                open: ev.close_out == CloseOut::Open,
                overdue: clock.as_ref().is_some_and(|c| c.overdue),
                clock,
                child: j.child_name,
                id: j.case.id,
            }
        })
        .collect();
    // Overdue first, then by the nearest deadline; cases without a running clock after.
    lines.sort_by_key(|l| {
        (
            !l.clock.as_ref().is_some_and(|c| c.overdue),
            l.clock.is_none(),
            l.clock.as_ref().map(|c| c.due_at),
        )
    });
    let overdue = lines
        .iter()
        .filter(|l| l.clock.as_ref().is_some_and(|c| c.overdue))
        .count();
    let escalated = lines
        .iter()
        .filter(|l| l.clock.as_ref().is_some_and(|c| c.escalated_to.is_some()))
        .count();
    let next = more.then(|| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.append_pair("show", show)
            .append_pair("after", &last.unwrap_or_default());
        format!("/dropout?{}", qs.finish())
    });
    let body = ListPage {
        layout: Layout::new(&state, &page, "控辍保学", "/dropout").await,
        show: show.to_owned(),
        lines,
        overdue,
        escalated,
        next,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// A piece of evidence a step rests on.
struct EvidenceView {
    what: String,
    when: String,
    detail: String,
    photos: u32,
}

/// One of the eight steps, as the timeline shows it.
struct StepView {
    number: usize,
    name: &'static str,
    tag: (&'static str, &'static str),
    done: bool,
    is_next: bool,
    overdue: bool,
    evidence: Vec<EvidenceView>,
    missing: Vec<String>,
    clocks: Vec<ClockView>,
}

#[derive(Template)]
#[template(path = "dropout_case.html")]
struct CasePage {
    layout: Layout,
    child: String,
    village: String,
    school: String,
    opened: String,
    team: usize,
    declared: Option<&'static str>,
    tag: (&'static str, &'static str),
    outcome: Option<&'static str>,
    close_missing: Vec<String>,
    next: Option<&'static str>,
    next_clock: Option<ClockView>,
    next_overdue: bool,
    steps: Vec<StepView>,
    other_clocks: Vec<ClockView>,
    findings: Vec<&'static str>,
    late_records: usize,
}

async fn case(
    state: web::Data<AppState>,
    page: Page<perm::ReadFieldWork>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let j = service::evaluate(&state.db, &page.caller, &id).await?;
    let mut judged = [j];
    let (mut outs, place) = clocks_and_places(&state, &page, &mut judged).await?;
    let [j] = judged;
    let mut clocks: Vec<ClockView> = outs
        .pop()
        .unwrap_or_default()
        .into_iter()
        .map(|d| clock_view(d, &place))
        .collect();
    let c = &j.case;
    let docs: HashMap<&str, EvidenceView> = c
        .documents
        .iter()
        .map(|d| {
            let mut detail = format!("{}签发", issuer_words(&d.issued_by));
            if let Some(due) = d.deadline_on {
                detail.push_str(&format!("，限 {due} 前返校"));
            }
            (
                d.id.as_str(),
                EvidenceView {
                    what: doc_words(&d.kind).to_owned(),
                    when: d.issued_on.to_string(),
                    detail,
                    photos: d.photos,
                },
            )
        })
        .collect();
    let attempts: HashMap<&str, EvidenceView> = c
        .attempts
        .iter()
        .map(|a| {
            (
                a.id.as_str(),
                EvidenceView {
                    what: method_words(&a.method).to_owned(),
                    when: date_time(utc(a.at)),
                    detail: format!(
                        "{}，{}",
                        party_words(a.party.as_deref()),
                        result_words(&a.result)
                    ),
                    photos: a.photos,
                },
            )
        })
        .collect();
    let ev = &j.evaluation;
    let mut steps = Vec::new();
    for (n, s) in ev.steps.iter().enumerate() {
        let is_next = ev.next_step == Some(s.step);
        let tag = if s.done {
            ("已完成", "tag-ok")
        } else if s.evidenced {
            ("证据齐全，待前序完成", "tag-notice")
        } else if is_next {
            ("下一步", "tag-wait")
        } else {
            ("未开始", "tag-plain")
        };
        let mine: Vec<ClockView>;
        (mine, clocks) = clocks
            .into_iter()
            .partition(|k| clock_of(s.step) == Some(k.kind.as_str()));
        let mut evidence: Vec<EvidenceView> = Vec::new();
        for id in &s.evidence {
            if let Some(e) = docs.get(id.as_str()).or_else(|| attempts.get(id.as_str())) {
                evidence.push(EvidenceView {
                    what: e.what.clone(),
                    when: e.when.clone(),
                    detail: e.detail.clone(),
                    photos: e.photos,
                });
            }
        }
        steps.push(StepView {
            number: n + 1,
            name: step_words(s.step),
            tag,
            done: s.done,
            is_next,
            overdue: mine.iter().any(|k| k.overdue),
            evidence,
            missing: s
                .missing
                .iter()
                .map(|m| missing_words(m, Some(s.step)))
                .collect(),
            clocks: mine,
        });
    }
    let next_clock = steps
        .iter()
        .flat_map(|s| s.clocks.iter())
        .filter(|k| k.live)
        .min_by_key(|k| k.due_at)
        .map(|k| ClockView {
            kind: k.kind.clone(),
            title: k.title.clone(),
            due: k.due.clone(),
            countdown: k.countdown.clone(),
            standing: k.standing,
            overdue: k.overdue,
            live: k.live,
            escalated_to: k.escalated_to.clone(),
            due_at: k.due_at,
        });
    let (outcome, close_missing) = match &ev.close_out {
        CloseOut::Open => (None, Vec::new()),
        CloseOut::Confirmed { outcome } => (Some(outcome_words(outcome)), Vec::new()),
        CloseOut::Unconfirmed { outcome, missing } => (
            outcome.as_deref().map(outcome_words),
            missing.iter().map(|m| missing_words(m, None)).collect(),
        ),
    };
    let findings = ev
        .findings
        .iter()
        .map(|f| match f.code {
            Code::StageAheadOfEvidence => "手机上报的步骤超前于已有证据，请核实后补齐材料。",
            Code::RecordedAfterClose => "有记录的日期晚于结案日期：已保留，请核实。",
            Code::ClosedWithoutEvidence => "已结案但结果缺少证据，暂不计入销号。",
            _ => "有需要核实的记录。",
        })
        .collect();
    let late_records = ev
        .findings
        .iter()
        .filter(|f| f.code == Code::RecordedAfterClose)
        .map(|f| f.records.len())
        .sum();
    let body = CasePage {
        layout: Layout::new(
            &state,
            &page,
            &format!("控辍保学：{}", j.child_name),
            "/dropout",
        )
        .await,
        village: place
            .get(&last_id(&c.region_path))
            .cloned()
            .unwrap_or_default(),
        school: c
            .school_path
            .as_deref()
            .and_then(|p| place.get(&last_id(p)).cloned())
            .unwrap_or_else(|| "未注明".to_owned()),
        opened: date(utc(c.opened_at)),
        team: c.team.len(),
        declared: c
            .declared_stage
            .as_deref()
            .and_then(Step::parse)
            .map(step_words),
        tag: case_tag(&ev.close_out),
        outcome,
        close_missing,
        next: ev.next_step.map(step_words),
        next_overdue: next_clock.as_ref().is_some_and(|c| c.overdue),
        next_clock,
        steps,
        other_clocks: clocks,
        findings,
        late_records,
        child: j.child_name.clone(),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

pub fn configure(r: &mut impl Register) {
    r.get("/dropout", list).get("/dropout/{id}", case);
}
