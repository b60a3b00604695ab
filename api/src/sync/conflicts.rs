//! Settling a conflict: a person chooses the kept value, the lost one, or a new one; the
//! choice is applied like any other change, so it reaches every device on its next pull.

use bangfu_sync::wire::MutationResult;
use bangfu_sync::{Clock, Code};
use serde_json::{Map, Value, json};

use crate::audit::log as audit;
use crate::audit::log::{Action, Event};
use crate::infra::db::DbConn;
use crate::infra::error::{Error, Msg, Result};
use crate::records::store as records;
use crate::records::store::{ConflictRow, RecordRow};
use crate::sync::push;
use crate::sync::push::Pusher;

/// What the person chose.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Leave the record as it is.
    Kept,
    /// Put the value that lost back (for an edit against a delete: restore the record).
    Lost,
    /// Set this value instead.
    Value(Value),
}

fn current(conn: &mut DbConn, c: &ConflictRow) -> Result<RecordRow> {
    records::load(conn, &c.entity, std::slice::from_ref(&c.record_id))?
        .pop()
        .ok_or(Error::NotFound)
}

/// Resolves conflict `id` inside the caller's write transaction.
pub fn resolve(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &std::sync::Mutex<Clock>,
    key: &crate::infra::sealing::DataKey,
    id: &str,
    choice: Choice,
) -> Result<(ConflictRow, Option<MutationResult>)> {
    let conflict = records::conflict(conn, &who.scope, id)?;
    if conflict.state != "open" {
        return Err(Error::Conflict {
            code: Code::ConflictAlreadyResolved,
            detail: Msg::fixed("该冲突已处理。", "This conflict was already resolved."),
        });
    }
    let parse = |s: &str| serde_json::from_str::<Value>(s).map_err(Error::internal);
    let value = match &choice {
        Choice::Kept => None,
        Choice::Lost => Some(parse(&conflict.lost)?),
        Choice::Value(v) => Some(v.clone()),
    };
    let applied = match value {
        None => None,
        Some(v) => {
            let record = current(conn, &conflict)?;
            let fields: Map<String, Value> = if conflict.field.is_empty() {
                v.as_object().cloned().unwrap_or_default()
            } else {
                let mut m = Map::new();
                m.insert(conflict.field.clone(), v);
                m
            };
            let m = push::server_mutation(
                clock,
                &conflict.entity,
                &conflict.record_id,
                record.version,
                fields,
            )?;
            // Judged like any change: the same fields, scope, authors and server-only rules.
            let result = push::apply_one(conn, who, clock, key, m).map_err(|e| {
                let why = match &e {
                    Error::Validation(errors) => errors
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message.en))
                        .collect::<Vec<_>>()
                        .join("; "),
                    Error::Unprocessable { detail, .. } => detail.en.to_string(),
                    _ => return e,
                };
                Error::Unprocessable {
                    code: Code::ResolutionRejected,
                    detail: Msg::new(
                        format!("所选取值无法写入该记录：{why}"),
                        format!("The chosen value cannot be applied to the record: {why}"),
                    ),
                }
            })?;
            Some(result)
        }
    };
    let resolution = json!({
        "choice": match &choice { Choice::Kept => "kept", Choice::Lost => "lost", Choice::Value(_) => "value" },
        "value": match &choice { Choice::Value(v) => v.clone(), _ => Value::Null },
        "version": applied.as_ref().and_then(|r| r.version),
    })
    .to_string();
    records::mark_resolved(conn, id, &resolution, &who.user_id)?;
    audit::record(
        conn,
        &who.actor,
        Event {
            action: Action::Update,
            entity: "sync_conflict",
            entity_id: id,
            region_path: &conflict.region_path,
            changes: audit::diff(
                &json!({"state": "open"}),
                &json!({"state": "resolved", "resolution": resolution}),
            ),
            reason: None,
        },
    )?;
    let resolved = records::conflict(conn, &who.scope, id)?;
    Ok((resolved, applied))
}
