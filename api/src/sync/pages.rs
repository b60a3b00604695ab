//! 同步管理: what the phones of the caller's jurisdiction sent that a person must settle,
//! and how each phone stands. Conflicting edits (keep the value that won, or put the
//! losing one back), changes the server refused and kept in quarantine (settle them with a
//! note of what was done), and every device with its last push and pull, its waiting
//! outbox and its refusals. The same use cases as `/v1/sync/conflicts`,
//! `/v1/sync/quarantine` and `/v1/sync/devices`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::{date_time, entity_words, span};
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed};
use crate::domain::role::Permission;
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::records::store::ConflictRow;
use crate::state::AppState;
use crate::sync::service::{self, ConflictSearch, QuarantineSearch};
use crate::sync::supervision::{DeviceView, QuarantineRow};

/// Lines per page of a list.
const PER_PAGE: i64 = 30;
/// Longest value shown in a line; the rest is cut with an ellipsis.
const VALUE_CHARS: usize = 120;

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// A field's value as a line shows it: text as it is, anything else as JSON, cut short.
fn value_words(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let text = match v {
        serde_json::Value::Null => "（空）".to_owned(),
        serde_json::Value::String(s) if s.is_empty() => "（空）".to_owned(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    if text.chars().count() > VALUE_CHARS {
        format!("{}…", text.chars().take(VALUE_CHARS).collect::<String>())
    } else {
        text
    }
}

/// How a conflict was settled, from its stored resolution (`{"choice": "kept", …}`).
fn outcome_words(resolution: Option<&str>) -> &'static str {
    let choice = resolution
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .and_then(|v| v["choice"].as_str().map(str::to_owned));
    match choice.as_deref() {
        Some("kept") => "保留了现值",
        Some("lost") => "改用了落选值",
        Some("value") => "改为另定的值",
        _ => "",
    }
}

fn short(id: &str) -> String {
    id.chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// The names of the staff these rows mention, for those the caller may see.
async fn people(
    state: &AppState,
    s: &Signed,
    ids: impl Iterator<Item = String>,
) -> Result<HashMap<String, String>, PageError> {
    let mut ids: Vec<String> = ids.collect();
    ids.sort();
    ids.dedup();
    Ok(crate::accounts::service::names(&state.db, &s.caller, ids).await?)
}

fn who(people: &HashMap<String, String>, id: Option<&str>) -> String {
    id.and_then(|i| people.get(i).cloned())
        .unwrap_or_else(|| "未记录".to_owned())
}

struct ConflictLine {
    id: String,
    what: &'static str,
    record: String,
    field: String,
    kept: String,
    lost: String,
    from: String,
    at: String,
    open: bool,
    outcome: String,
}

fn conflict_line(c: ConflictRow, people: &HashMap<String, String>) -> ConflictLine {
    ConflictLine {
        what: entity_words(&c.entity),
        record: short(&c.record_id),
        kept: value_words(&c.kept),
        lost: value_words(&c.lost),
        from: who(people, c.lost_user_id.as_deref()),
        at: date_time(utc(c.created_at)),
        open: c.state == "open",
        outcome: outcome_words(c.resolution.as_deref()).to_owned(),
        field: c.field,
        id: c.id,
    }
}

#[derive(Template)]
#[template(path = "sync_conflicts.html")]
struct ConflictsPage {
    layout: Layout,
    /// Which of the three lists the tabs mark as current.
    tab: &'static str,
    open: bool,
    lines: Vec<ConflictLine>,
    may_resolve: bool,
    next: Option<String>,
    done: bool,
}

async fn conflicts(
    state: web::Data<AppState>,
    page: Page<perm::SyncPull>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let open = q.state.as_deref() != Some("all");
    let search = ConflictSearch {
        state: Some(if open { "open" } else { "all" }.to_owned()),
        after_id: q.after.clone(),
        ..ConflictSearch::default()
    };
    let mut rows = service::conflicts(&state.db, &page.caller, search, PER_PAGE + 1).await?;
    let next = next_page(&mut rows, |r| r.id.clone(), "/sync/conflicts", open);
    let people = people(
        &state,
        &page,
        rows.iter().filter_map(|r| r.lost_user_id.clone()),
    )
    .await?;
    let body = ConflictsPage {
        layout: Layout::new(&state, &page, "同步管理", "/sync/conflicts").await,
        tab: "conflicts",
        open,
        lines: rows
            .into_iter()
            .map(|r| conflict_line(r, &people))
            .collect(),
        may_resolve: page.caller.role.has(Permission::ResolveConflicts),
        next,
        done: q.done.is_some(),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// Cuts a page to its size; answers the next page's address when there is more.
fn next_page<T>(
    rows: &mut Vec<T>,
    key: impl Fn(&T) -> String,
    path: &str,
    open: bool,
) -> Option<String> {
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let last = rows.last().map(key)?;
    more.then(|| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        if !open {
            qs.append_pair("state", "all");
        }
        qs.append_pair("after", &last);
        format!("{path}?{}", qs.finish())
    })
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    /// `kept` or `lost`, as the JSON route takes them.
    keep: String,
}

async fn resolve(
    state: web::Data<AppState>,
    posted: Posted<perm::ResolveConflicts, ResolveForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    service::resolve(
        &state.db,
        &state.hlc,
        &state.data_key,
        &posted.caller,
        &id,
        &posted.form.keep,
        None,
    )
    .await?;
    Ok(see_other("/sync/conflicts?done=1"))
}

struct QuarantineLine {
    device_id: String,
    mutation_id: String,
    what: &'static str,
    record: String,
    by: String,
    at: String,
    why: String,
    fields: Vec<String>,
    open: bool,
    note: Option<String>,
    settled: String,
    /// What the settle form refused, kept beside its line with what was typed.
    error: Option<String>,
    typed: String,
}

fn quarantine_line(r: QuarantineRow, people: &HashMap<String, String>) -> QuarantineLine {
    let problem: serde_json::Value =
        serde_json::from_str(&r.problem).unwrap_or(serde_json::Value::Null);
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    QuarantineLine {
        what: entity_words(&r.entity),
        record: short(&r.record_id),
        by: who(people, Some(&r.user_id)),
        at: date_time(utc(r.created_at)),
        why: text(&problem, "detail"),
        fields: problem["errors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| format!("{}：{}", text(e, "field"), text(e, "message")))
                    .collect()
            })
            .unwrap_or_default(),
        open: r.state == "open",
        settled: match (&r.settled_by, r.settled_at) {
            (Some(b), Some(at)) => format!("{} 于 {}", who(people, Some(b)), date_time(utc(at))),
            _ => String::new(),
        },
        note: r.note,
        error: None,
        typed: String::new(),
        device_id: r.device_id,
        mutation_id: r.mutation_id,
    }
}

#[derive(Template)]
#[template(path = "sync_quarantine.html")]
struct QuarantinePage {
    layout: Layout,
    /// Which of the three lists the tabs mark as current.
    tab: &'static str,
    open: bool,
    lines: Vec<QuarantineLine>,
    may_settle: bool,
    next: Option<String>,
    done: bool,
}

/// The quarantine list; `refused` is a settle form sent back with its problem.
async fn quarantine_page(
    state: &AppState,
    s: &Signed,
    q: &ListQuery,
    status: StatusCode,
    refused: Option<(String, String, String, String)>,
) -> Result<HttpResponse, PageError> {
    let open = q.state.as_deref() != Some("all");
    let search = QuarantineSearch {
        state: Some(if open { "open" } else { "all" }.to_owned()),
        cursor: q.after.clone(),
        ..QuarantineSearch::default()
    };
    let mut rows = service::quarantine(&state.db, &s.caller, search, PER_PAGE + 1).await?;
    let next = next_page(
        &mut rows,
        |r| format!("{}/{}", r.device_id, r.mutation_id),
        "/sync/quarantine",
        open,
    );
    let ids = rows
        .iter()
        .flat_map(|r| [Some(r.user_id.clone()), r.settled_by.clone()])
        .flatten();
    let people = people(state, s, ids).await?;
    let mut lines: Vec<QuarantineLine> = rows
        .into_iter()
        .map(|r| quarantine_line(r, &people))
        .collect();
    if let Some((device, mutation, error, typed)) = refused {
        for l in &mut lines {
            if l.device_id == device && l.mutation_id == mutation {
                l.error = Some(error.clone());
                l.typed = typed.clone();
            }
        }
    }
    let body = QuarantinePage {
        layout: Layout::new(state, s, "同步管理", "/sync/conflicts").await,
        tab: "quarantine",
        open,
        lines,
        may_settle: s.caller.role.has(Permission::ResolveConflicts),
        next,
        done: q.done.is_some(),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

async fn quarantine(
    state: web::Data<AppState>,
    page: Page<perm::SuperviseSync>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    quarantine_page(&state, &page, &q, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
struct SettleForm {
    #[serde(default)]
    note: String,
}

async fn settle(
    state: web::Data<AppState>,
    posted: Posted<perm::ResolveConflicts, SettleForm>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (device, mutation) = path.into_inner();
    let note = &posted.form.note;
    match service::settle(&state.db, &posted.caller, &device, &mutation, note).await {
        Ok(_) => Ok(see_other("/sync/quarantine?done=1")),
        Err(Error::Validation(errs)) => {
            let error = errs
                .iter()
                .map(|e| e.message.get(Lang::Zh).to_owned())
                .collect::<Vec<_>>()
                .join(" ");
            let q = ListQuery {
                state: None,
                after: None,
                done: None,
            };
            let refused = Some((device, mutation, error, note.clone()));
            quarantine_page(
                &state,
                &posted,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                refused,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

struct DeviceLine {
    name: String,
    user: String,
    app: String,
    last_push: String,
    last_pull: String,
    /// How long since the phone last reached the server, when it is more than a day.
    silent: Option<String>,
    pending: String,
    refused: i64,
    synced: bool,
    revoked: bool,
}

fn device_line(v: DeviceView, now: chrono::NaiveDateTime) -> DeviceLine {
    let synced = v.synced();
    let s = &v.status;
    let when = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| date_time(utc(t)))
            .unwrap_or_else(|| "从未".to_owned())
    };
    let last_seen = s.last_push_at.max(s.last_pull_at);
    DeviceLine {
        app: s.app_version.clone().unwrap_or_else(|| "未报告".to_owned()),
        last_push: when(s.last_push_at),
        last_pull: when(s.last_pull_at),
        silent: match last_seen {
            Some(t) if now - t > chrono::Duration::days(1) => {
                Some(format!("{}未联网", span((now - t).num_seconds())))
            }
            None => Some("从未同步".to_owned()),
            _ => None,
        },
        pending: s
            .pending_reported
            .map(|n| format!("{n} 条"))
            .unwrap_or_else(|| "未报告".to_owned()),
        refused: v.open_rejections,
        synced,
        revoked: v.revoked,
        name: v.device_name,
        user: v.username,
    }
}

#[derive(Template)]
#[template(path = "sync_devices.html")]
struct DevicesPage {
    layout: Layout,
    /// Which of the three lists the tabs mark as current.
    tab: &'static str,
    lines: Vec<DeviceLine>,
    unsynced: usize,
}

async fn devices(
    state: web::Data<AppState>,
    page: Page<perm::SuperviseSync>,
) -> Result<HttpResponse, PageError> {
    let now = crate::infra::clock::now();
    let rows = service::devices(&state.db, &page.caller).await?;
    let mut lines: Vec<DeviceLine> = rows.into_iter().map(|v| device_line(v, now)).collect();
    // The phones that need someone's attention first: not synced, longest silent first.
    lines.sort_by_key(|l| (l.revoked, l.synced));
    let unsynced = lines.iter().filter(|l| !l.synced && !l.revoked).count();
    let body = DevicesPage {
        layout: Layout::new(&state, &page, "同步管理", "/sync/conflicts").await,
        tab: "devices",
        lines,
        unsynced,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

pub fn configure(r: &mut impl Register) {
    r.get("/sync/conflicts", conflicts)
        .post("/sync/conflicts/{id}/resolve", resolve)
        .get("/sync/quarantine", quarantine)
        .post("/sync/quarantine/{device}/{mutation}/settle", settle)
        .get("/sync/devices", devices);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shown_as_text_and_cut_short() {
        assert_eq!(value_words(r#""屋顶漏雨""#), "屋顶漏雨");
        assert_eq!(value_words("null"), "（空）");
        assert_eq!(value_words(r#""""#), "（空）");
        assert_eq!(value_words("[1,2]"), "[1,2]");
        let long = format!("\"{}\"", "字".repeat(200));
        assert_eq!(value_words(&long).chars().count(), VALUE_CHARS + 1);
    }

    #[test]
    fn outcomes_are_read_from_the_stored_resolution() {
        assert_eq!(
            outcome_words(Some(r#"{"choice":"kept","value":null}"#)),
            "保留了现值"
        );
        assert_eq!(outcome_words(Some(r#"{"choice":"lost"}"#)), "改用了落选值");
        assert_eq!(
            outcome_words(Some(r#"{"choice":"value","value":"x"}"#)),
            "改为另定的值"
        );
        assert_eq!(outcome_words(None), "");
    }
}
