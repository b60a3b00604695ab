//! 审计日志: the audit trail of the caller's jurisdiction, newest first, filtered by time,
//! actor, action, kind of record and record id, paged; and one record's history in the
//! order it happened (who did what, when, from which device, what changed and why).
//! Read-only: nothing here changes anything. The same use case as `GET /v1/audit`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::queries::ListFilter as UserFilter;
use crate::audit::log::{EntryRow, Filter};
use crate::audit::service;
use crate::auth::caller::perm;
use crate::console::format::{date_time, state_tag};
use crate::console::layout::role_name;
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Signed};
use crate::domain::deadline::start_of_china_day;
use crate::domain::role::Role;
use crate::infra::error::Error;
use crate::infra::http::utc;
use crate::state::AppState;

/// Entries per page of the log.
const PER_PAGE: i64 = 50;
/// The most of one record's history a page shows.
const HISTORY: i64 = 500;
/// Staff offered in the actor filter (a county has a few hundred).
const STAFF: i64 = 1000;
/// A changed value longer than this is cut short in the list (the history shows it all).
const SHORT: usize = 60;
/// At most this many changed fields on a line of the list.
const LINE_CHANGES: usize = 4;

/// What an entry's action is called in the office.
fn action_words(action: &str) -> &str {
    match action {
        "create" => "新建",
        "update" => "修改",
        "delete" => "删除",
        "login" => "登录",
        "logout" => "退出登录",
        "break_glass" => "临时越权访问",
        "unmask" => "查看完整号码",
        "revoke" => "撤销",
        "export" => "导出",
        other => other,
    }
}

const ACTIONS: &[&str] = &[
    "create",
    "update",
    "delete",
    "login",
    "logout",
    "break_glass",
    "unmask",
    "revoke",
    "export",
];

/// The kinds of record the log names, in the office's words.
const ENTITIES: &[(&str, &str)] = &[
    ("application", "申请"),
    ("photo", "走访照片"),
    ("visit", "入户走访"),
    ("household", "户"),
    ("case_file", "档案"),
    ("disbursement", "救助发放"),
    ("income_record", "收入记录"),
    ("dropout_case", "控辍保学案件"),
    ("child", "适龄儿童"),
    ("pair", "结对帮扶"),
    ("employment_plan", "就业帮扶计划"),
    ("correction", "信息更正"),
    ("campaign", "走访活动"),
    ("deadline", "时限"),
    ("ledger", "台账"),
    ("user", "账号"),
    ("session", "登录会话"),
    ("access_grant", "临时访问授权"),
    ("device", "设备"),
    ("region", "区域"),
    ("program", "救助项目"),
    ("calendar_year", "节假日安排"),
    ("sync_conflict", "同步冲突"),
    ("sync_quarantine", "被拒的同步修改"),
    ("upload", "上传"),
    ("photo_file", "照片文件"),
    ("blob", "文件"),
    ("duplicate_candidate", "疑似重复户"),
    ("registration_referral", "登记转介"),
    ("case_number_block", "档案编号段"),
];

fn entity_words(entity: &str) -> &str {
    ENTITIES
        .iter()
        .find(|(e, _)| *e == entity)
        .map_or(entity, |(_, w)| w)
}

/// The fields changes name most often, in the office's words.
fn field_words(field: &str) -> &str {
    match field {
        "review_status" => "审核状态",
        "review_reason" => "审核理由",
        "reviewed_by" => "审核人",
        "reviewed_at" => "审核时间",
        "status" | "state" => "状态",
        "decision" => "决定",
        "reason" => "理由",
        "amount_fen" => "金额（分）",
        "dibao_fen" => "低保标准（分）",
        "name" => "名称",
        "display_name" => "姓名",
        "role" => "角色",
        "phone" => "电话",
        "active" => "启用",
        "ledgers" => "台账",
        "format" => "格式",
        "region_id" => "区域",
        "from" => "开始日期",
        "to" => "结束日期",
        "unmasked" => "完整显示",
        "helper_id" => "帮扶责任人",
        "category" => "困难类别",
        _ => field,
    }
}

/// A value as a line of text: strings as they are (a state in its words everywhere the
/// console shows it), nothing as `（空）`.
fn value_text(field: &str, v: &Value) -> String {
    match v {
        Value::Null => "（空）".to_owned(),
        Value::String(s) if matches!(field, "review_status" | "status" | "state") => {
            match state_tag(s).0 {
                "其他" => s.clone(),
                words => format!("{words}（{s}）"),
            }
        }
        Value::String(s) => s.clone(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        other => other.to_string(),
    }
}

fn short(s: String) -> String {
    if s.chars().count() > SHORT {
        let cut: String = s.chars().take(SHORT).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// One changed field.
struct Change {
    field: String,
    before: Option<String>,
    after: String,
}

/// The changes of an entry: `{field: {before, after}}` field by field; anything else (an
/// export's parameters) as its fields' values.
fn changes(raw: &str, cut: bool) -> Vec<Change> {
    let shown = |field: &str, v: &Value| {
        let t = value_text(field, v);
        if cut { short(t) } else { t }
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let diff = v
                .as_object()
                .filter(|o| o.len() == 2 && o.contains_key("before") && o.contains_key("after"));
            let field = field_words(k).to_owned();
            match diff {
                Some(o) => Change {
                    field,
                    before: Some(shown(k, &o["before"])),
                    after: shown(k, &o["after"]),
                },
                None => Change {
                    field,
                    before: None,
                    after: shown(k, v),
                },
            }
        })
        .collect()
}

/// An entry as the pages show it.
struct Shown {
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    history: String,
    device: Option<String>,
    request_id: Option<String>,
    changes: Vec<Change>,
    /// Changes left out of the list's line (the history shows them all).
    more_changes: usize,
    reason: Option<String>,
}

fn actor_of(e: &EntryRow, staff: &HashMap<String, String>) -> String {
    let role = e
        .actor_role
        .as_deref()
        .map(|r| Role::parse(r).map_or(r.to_owned(), |r| role_name(r).to_owned()));
    match (&e.actor_id, role) {
        (None, _) => "服务器命令行".to_owned(),
        (Some(id), role) => {
            let who = staff.get(id).cloned().unwrap_or_else(|| {
                let head: String = id.chars().take(8).collect();
                format!("用户 {head}…")
            });
            match role {
                Some(r) => format!("{who}（{r}）"),
                None => who,
            }
        }
    }
}

fn history_href(entity: &str, id: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("/audit/history/{}/{}", enc(entity), enc(id))
}

fn shown(e: EntryRow, staff: &HashMap<String, String>, cut: bool) -> Shown {
    let mut all = changes(&e.changes, cut);
    let more_changes = if cut {
        all.len().saturating_sub(LINE_CHANGES)
    } else {
        0
    };
    if cut {
        all.truncate(LINE_CHANGES);
    }
    Shown {
        at: date_time(utc(e.at)),
        actor: actor_of(&e, staff),
        action: action_words(&e.action).to_owned(),
        entity: entity_words(&e.entity).to_owned(),
        history: history_href(&e.entity, &e.entity_id),
        changes: all,
        more_changes,
        entity_id: e.entity_id,
        device: e.device_id,
        request_id: e.request_id,
        reason: e.reason,
    }
}

/// The staff of the caller's jurisdiction, by id: display name, and the list the actor
/// filter offers.
async fn staff(
    state: &AppState,
    s: &Signed,
) -> Result<(HashMap<String, String>, Vec<(String, String)>), PageError> {
    let rows =
        crate::accounts::service::list(&state.db, &s.caller, UserFilter::default(), STAFF).await?;
    let mut choices: Vec<(String, String)> = rows
        .iter()
        .map(|u| {
            let role = Role::parse(&u.user.role).map_or("", role_name);
            (
                u.user.id.clone(),
                format!("{}（{}，{}）", u.user.display_name, role, u.region.name),
            )
        })
        .collect();
    choices.sort_by(|a, b| a.1.cmp(&b.1));
    let names = rows
        .into_iter()
        .map(|u| (u.user.id, u.user.display_name))
        .collect();
    Ok((names, choices))
}

#[derive(Debug, Default, Deserialize)]
struct LogQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    record: String,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct LogPage {
    layout: Layout,
    q: LogQuery,
    actors: Vec<(String, String)>,
    actions: Vec<(&'static str, &'static str)>,
    entities: &'static [(&'static str, &'static str)],
    entries: Vec<Shown>,
    filtered: bool,
    next: Option<String>,
    first: Option<String>,
    date_error: Option<&'static str>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn day(s: &str) -> Result<Option<NaiveDate>, ()> {
    match some(s) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

async fn log(
    state: web::Data<AppState>,
    page: Page<perm::ReadAudit>,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let (from, to) = (day(&q.from), day(&q.to));
    let date_error = match (&from, &to) {
        (Err(()), _) | (_, Err(())) => Some("日期须为 年-月-日，例如 2026-12-01。"),
        (Ok(Some(f)), Ok(Some(t))) if f > t => Some("结束日期不能早于开始日期。"),
        _ => None,
    };
    let (from, to) = (from.ok().flatten(), to.ok().flatten());
    let filter = Filter {
        entity: some(&q.entity),
        entity_id: some(&q.record),
        actor_id: some(&q.actor),
        action: some(&q.action),
        since: from.map(start_of_china_day),
        // Up to the end of the last day (the log reads `before`).
        until: to.map(|t| start_of_china_day(t + Duration::days(1))),
        before_id: q.before.clone().filter(|b| !b.is_empty()),
    };
    let filtered = [&q.from, &q.to, &q.actor, &q.action, &q.entity, &q.record]
        .iter()
        .any(|v| !v.trim().is_empty());
    let mut rows = if date_error.is_some() {
        Vec::new()
    } else {
        service::entries(&state.db, &page.caller, filter, PER_PAGE + 1).await?
    };
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let (names, actors) = staff(&state, &page).await?;
    let link = |before: Option<&str>| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", &q.from),
            ("to", &q.to),
            ("actor", &q.actor),
            ("action", &q.action),
            ("entity", &q.entity),
            ("record", &q.record),
        ] {
            if !v.trim().is_empty() {
                qs.append_pair(k, v.trim());
            }
        }
        if let Some(b) = before {
            qs.append_pair("before", b);
        }
        format!("/audit?{}", qs.finish())
    };
    let next = more
        .then(|| rows.last().map(|r| link(Some(&r.id))))
        .flatten();
    let first = q.before.is_some().then(|| link(None));
    let body = LogPage {
        layout: Layout::new(&state, &page, "审计日志", "/audit").await,
        actors,
        actions: ACTIONS.iter().map(|a| (*a, action_words(a))).collect(),
        entities: ENTITIES,
        entries: rows.into_iter().map(|r| shown(r, &names, true)).collect(),
        filtered,
        next,
        first,
        date_error,
        q,
    }
    .render()
    .map_err(Error::internal)?;
    let status = if date_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(html(status, body))
}

#[derive(Template)]
#[template(path = "audit_history.html")]
struct HistoryPage {
    layout: Layout,
    entity: String,
    entity_id: String,
    entity_words: String,
    /// The record's own page, where it has one.
    record_page: Option<String>,
    entries: Vec<Shown>,
}

/// The page where a record is read, for the kinds of record that have one.
fn record_page(entity: &str, id: &str) -> Option<String> {
    match entity {
        "photo" => Some(format!("/photo-reviews/{id}")),
        _ => None,
    }
}

async fn history(
    state: web::Data<AppState>,
    page: Page<perm::ReadAudit>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (entity, id) = path.into_inner();
    let filter = Filter {
        entity: Some(entity.clone()),
        entity_id: Some(id.clone()),
        ..Filter::default()
    };
    let mut rows = service::entries(&state.db, &page.caller, filter, HISTORY).await?;
    // In the order it happened.
    rows.reverse();
    let (names, _) = staff(&state, &page).await?;
    let body = HistoryPage {
        layout: Layout::new(&state, &page, "记录的审计历史", "/audit").await,
        entity_words: entity_words(&entity).to_owned(),
        record_page: record_page(&entity, &id).filter(|_| !rows.is_empty()),
        entries: rows.into_iter().map(|r| shown(r, &names, false)).collect(),
        entity,
        entity_id: id,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

pub fn configure(r: &mut impl Register) {
    r.get("/audit", log)
        .get("/audit/history/{entity}/{id}", history);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_field_by_field() {
        let c = changes(
            r#"{"review_status": {"before": "pending", "after": "approved"}, "note": {"before": null, "after": "x"}}"#,
            true,
        );
        let got: Vec<_> = c
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_deref(), c.after.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("note", Some("（空）"), "x"),
                ("审核状态", Some("待审核（pending）"), "已批准（approved）")
            ]
        );
        // An export's parameters are values, not diffs.
        let c = changes(r#"{"ledgers": ["visits"], "unmasked": false}"#, true);
        assert_eq!(c[0].after, r#"["visits"]"#);
        assert_eq!(c[1].after, "否");
        assert!(c[0].before.is_none());
        assert!(changes("not json", true).is_empty());
        let long = format!(r#"{{"x": "{}"}}"#, "长".repeat(100));
        assert_eq!(changes(&long, true)[0].after.chars().count(), SHORT + 1);
        assert_eq!(changes(&long, false)[0].after.chars().count(), 100);
    }

    #[test]
    fn histories_link_by_kind_and_id() {
        assert_eq!(history_href("photo", "a/b"), "/audit/history/photo/a%2Fb");
        assert_eq!(entity_words("photo"), "走访照片");
        assert_eq!(entity_words("gadget"), "gadget");
        assert_eq!(action_words("export"), "导出");
    }
}
