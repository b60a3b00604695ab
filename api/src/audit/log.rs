//! The append-only audit log: who did what to which record, from which device, and what
//! changed. It keeps no resident ID number in full, wherever in a change one stood: the
//! registry keeps each number sealed, the log keeps it masked. Entries are written in the same transaction as the change they describe, and
//! the database itself refuses UPDATE and DELETE on the table (see the migration).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::domain::access::Scope;
use crate::domain::role::Role;
use crate::infra::db::DbConn;
use crate::infra::db::schema::audit_log;
use crate::infra::error::Result;

pub use crate::domain::caller::Actor;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Login,
    Logout,
    /// Temporary access outside one's region, with a reason.
    BreakGlass,
    /// Personal data shown in full, or exported.
    Unmask,
    Revoke,
    /// A ledger exported as a spreadsheet.
    Export,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Login => "login",
            Action::Logout => "logout",
            Action::BreakGlass => "break_glass",
            Action::Unmask => "unmask",
            Action::Revoke => "revoke",
            Action::Export => "export",
        }
    }
}

/// One thing that happened to one record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: Action,
    pub entity: &'static str,
    pub entity_id: &'a str,
    /// Path of the region the record belongs to.
    pub region_path: &'a str,
    /// `{field: {"before": …, "after": …}}`, see [`diff`].
    pub changes: Value,
    pub reason: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    id: String,
    at: NaiveDateTime,
    actor_id: Option<&'a str>,
    actor_role: Option<&'a str>,
    device_id: Option<&'a str>,
    request_id: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: &'a str,
    region_path: &'a str,
    changes: String,
    reason: Option<&'a str>,
}

fn entry<'a>(actor: &'a Actor, event: &'a Event<'a>, at: NaiveDateTime) -> NewEntry<'a> {
    NewEntry {
        id: crate::infra::db::new_id(),
        at,
        actor_id: actor.user_id.as_deref(),
        actor_role: actor.role.map(Role::as_str),
        device_id: actor.device_id.as_deref(),
        request_id: actor.request_id.as_deref(),
        action: event.action.as_str(),
        entity: event.entity,
        entity_id: event.entity_id,
        region_path: event.region_path,
        changes: match crate::domain::resident_id::mask_in_json(&event.changes) {
            Some(masked) => masked.to_string(),
            None => event.changes.to_string(),
        },
        reason: event.reason,
    }
}

/// Appends an entry. Call it inside the transaction that makes the change.
pub fn record(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<()> {
    diesel::insert_into(audit_log::table)
        .values(entry(actor, &event, crate::infra::clock::now()))
        .execute(conn)?;
    Ok(())
}

/// Appends many entries in one statement (a sync batch).
pub fn record_many(conn: &mut DbConn, actor: &Actor, events: &[Event<'_>]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let at = crate::infra::clock::now();
    let rows: Vec<NewEntry<'_>> = events.iter().map(|e| entry(actor, e, at)).collect();
    match conn {
        DbConn::Pg(c) => diesel::insert_into(audit_log::table)
            .values(&rows)
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(audit_log::table)
            .values(&rows)
            .execute(c)?,
    };
    Ok(())
}

/// The fields whose values differ between two JSON objects, as
/// `{field: {"before": old, "after": new}}`. A created record is a diff from `null`.
pub fn diff(before: &Value, after: &Value) -> Value {
    diff_objects(before.as_object(), after.as_object())
}

/// [`diff`] of two objects held as maps (`None`: nothing, as for a created record).
pub fn diff_objects(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Value {
    let empty = Map::new();
    let b = before.unwrap_or(&empty);
    let a = after.unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let old = b.get(key).unwrap_or(&Value::Null);
        let new = a.get(key).unwrap_or(&Value::Null);
        if old != new {
            out.insert(key.clone(), json!({"before": old, "after": new}));
        }
    }
    Value::Object(out)
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = audit_log)]
pub struct EntryRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub device_id: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub region_path: String,
    pub changes: String,
    pub reason: Option<String>,
}

/// Filters for reading the log; all optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Entries older than this id (newest first paging).
    pub before_id: Option<String>,
}

/// Newest first, inside the scope, at most `limit` entries.
pub fn list(conn: &mut DbConn, scope: &Scope, f: &Filter, limit: i64) -> Result<Vec<EntryRow>> {
    let mut q = audit_log::table.select(EntryRow::as_select()).into_boxed();
    q = q.filter(crate::infra::db::scoped::path_in_scope(
        audit_log::region_path,
        scope,
    ));
    if let Some(v) = &f.entity {
        q = q.filter(audit_log::entity.eq(v.clone()));
    }
    if let Some(v) = &f.entity_id {
        q = q.filter(audit_log::entity_id.eq(v.clone()));
    }
    if let Some(v) = &f.actor_id {
        q = q.filter(audit_log::actor_id.eq(v.clone()));
    }
    if let Some(v) = &f.action {
        q = q.filter(audit_log::action.eq(v.clone()));
    }
    if let Some(v) = f.since {
        q = q.filter(audit_log::at.ge(v));
    }
    if let Some(v) = f.until {
        q = q.filter(audit_log::at.lt(v));
    }
    if let Some(v) = &f.before_id {
        q = q.filter(audit_log::id.lt(v.clone()));
    }
    Ok(q.order(audit_log::id.desc()).limit(limit).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sync batch's entries go in as one statement, never row by row in a savepoint: on
    /// SQLite each row's statement (the table has triggers) would walk the savepoint's
    /// journal, which grows with every row before it.
    #[test]
    fn a_batch_of_entries_is_one_statement() -> anyhow::Result<()> {
        use std::sync::{Arc, Mutex};

        use diesel::connection::{Instrumentation, InstrumentationEvent};

        use crate::infra::db::{sqlite_for_tests, write_tx};

        let dir = std::env::temp_dir().join(format!("bangfu-audit-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let db = sqlite_for_tests(&dir)?;
        let mut conn = db.conn()?;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let actor = Actor {
            user_id: None,
            role: None,
            device_id: None,
            request_id: None,
        };
        let events: Vec<Event<'_>> = (0..3)
            .map(|_| Event {
                action: Action::Create,
                entity: "visit",
                entity_id: "v1",
                region_path: "/530123/",
                changes: json!({}),
                reason: None,
            })
            .collect();
        write_tx(&mut conn, |c| {
            let log = seen.clone();
            let watch = move |e: InstrumentationEvent<'_>| {
                let what = match e {
                    InstrumentationEvent::StartQuery { query, .. } => query.to_string(),
                    InstrumentationEvent::BeginTransaction { .. } => "BEGIN".to_owned(),
                    _ => return,
                };
                if let Ok(mut l) = log.lock() {
                    l.push(what);
                }
            };
            if let DbConn::Sqlite(s) = c {
                s.set_instrumentation(Box::new(watch) as Box<dyn Instrumentation>);
            }
            record_many(c, &actor, &events)
        })?;
        // Everything between the batch's start and the transaction's commit.
        let statements: Vec<String> = seen
            .lock()
            .map(|l| l.iter().filter(|s| *s != "COMMIT").cloned().collect())
            .unwrap_or_default();
        assert_eq!(statements.len(), 1, "{statements:#?}");
        assert!(statements[0].starts_with("INSERT INTO"), "{statements:#?}");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn diff_lists_only_changed_fields() {
        let before = json!({"name": "青山村", "dibao_fen": 60000, "code": "1"});
        let after = json!({"name": "青山村", "dibao_fen": 72000, "code": "1", "note": "x"});
        assert_eq!(
            diff(&before, &after),
            json!({
                "dibao_fen": {"before": 60000, "after": 72000},
                "note": {"before": null, "after": "x"}
            })
        );
        assert_eq!(diff(&after, &after), json!({}));
    }

    #[test]
    fn creation_is_a_diff_from_nothing() {
        let d = diff(&Value::Null, &json!({"name": "a"}));
        assert_eq!(d, json!({"name": {"before": null, "after": "a"}}));
    }
}
