//! Pulling: the records inside the caller's scope that changed after the cursor, in feed
//! order, with regions and households as reference data.

use bangfu_sync::wire::Change;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::records;
use crate::domain::access::Scope;
use crate::domain::validate::mask_phone;
use crate::error::{Error, FieldError, Msg, Result};
use crate::store::households::Household;
use crate::store::{DbConn, feed, households, regions};

/// A position in the feed; opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    /// Before everything.
    pub const START: Cursor = Cursor(-1);

    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("f1:{}", self.0))
    }

    pub fn decode(s: &str) -> Result<Cursor> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.strip_prefix("f1:").and_then(|n| n.parse().ok()))
            .map(Cursor)
            .ok_or_else(|| {
                Error::Validation(vec![FieldError::new(
                    "cursor",
                    "invalid_cursor",
                    Msg::fixed("cursor 无效：请使用上次同步返回的 next_cursor，或不带 cursor 从头同步。", "Invalid cursor: pass next_cursor from the last pull, or none to start over."),
                )])
            })
    }
}

/// One page of changes.
#[derive(Debug)]
pub struct Page {
    pub changes: Vec<Change>,
    pub next: Cursor,
    pub has_more: bool,
}

fn parse_object(s: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(s).map_err(Error::internal)
}

/// The changes after `after` that `user_id`, seeing `scope`, receives: records, regions,
/// households, and the deadlines the user owns (their work list, on the phone).
pub fn pull(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
    after: Cursor,
    limit: i64,
) -> Result<Page> {
    // Everything at or below the head is committed (writers hold the counter until they
    // commit), so a page that comes up short may move the cursor to the head.
    let head = feed::head(conn)?;
    // Deletions below the purge mark are gone: such a cursor could miss them.
    if after != Cursor::START && after.0 < feed::purged_through(conn)? {
        return Err(Error::ResetRequired {
            detail: Msg::fixed(
                "上次同步距今已超过删除记录的保留期限，请不带 cursor 从头同步；手机上未上传的修改会保留并照常上传。",
                "Your last sync is older than deleted records are kept: pull again without a cursor. Unsent changes on the phone are kept and pushed as usual.",
            ),
        });
    }
    let recs = records::changed_since(conn, scope, after.0, limit + 1)?;
    let changed_regions = regions::changed_since(conn, scope, after.0, limit + 1)?;
    let regs = regions::with_dibao(conn, changed_regions)?;
    let homes = households::changed_since(conn, scope, after.0, limit + 1)?;

    let mut items: Vec<(i64, Change)> = Vec::with_capacity(recs.len() + regs.len());
    for r in recs {
        let fields = if r.deleted {
            Map::new()
        } else {
            parse_object(&r.data)?
        };
        items.push((
            r.seq,
            Change {
                entity: r.entity,
                id: r.id,
                version: r.version,
                deleted: r.deleted,
                fields,
            },
        ));
    }
    for v in regs {
        let fields = json!({
            "parent_id": v.row.parent_id, "level": v.row.level, "code": v.row.code, "name": v.row.name,
            "dibao_fen": v.row.dibao_fen, "effective_dibao_fen": v.effective_dibao_fen,
        });
        items.push((
            v.row.seq,
            Change {
                entity: "region".into(),
                id: v.row.id,
                version: v.row.version,
                deleted: false,
                fields: fields.as_object().cloned().unwrap_or_default(),
            },
        ));
    }
    for h in homes {
        items.push((h.row.seq, household_change(h)));
    }
    for d in crate::store::deadlines::owned_changed_since(conn, user_id, after.0, limit + 1)? {
        items.push((d.seq, deadline_change(d)));
    }
    items.sort_by_key(|(seq, _)| *seq);
    let has_more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let last = items.last().map(|(s, _)| *s);
    let next = match (has_more, last) {
        (true, Some(s)) => Cursor(s),
        (_, last) => Cursor(last.unwrap_or(after.0).max(head).max(after.0)),
    };
    Ok(Page {
        changes: items.into_iter().map(|(_, c)| c).collect(),
        next,
        has_more,
    })
}

/// A household as reference data: what a helper needs on the doorstep, with ID and phone
/// numbers masked (devices never hold them in full).
fn household_change(h: Household) -> Change {
    let members: Vec<Value> = h
        .members
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "name": m.name, "relation": m.relation, "id_number": m.id_masked,
                "birth_date": m.birth_date, "gender": m.gender,
            })
        })
        .collect();
    let fields = json!({
        "region_id": h.row.region_id, "region_name": h.region_name, "address": h.row.address,
        "phone": h.row.phone.as_deref().map(mask_phone), "status": h.row.status,
        "members": members, "helper_ids": h.helper_ids,
        "location": h.row.location().map(|p| json!({"lat": p.lat, "lng": p.lng})),
    });
    Change {
        entity: "household".into(),
        id: h.row.id,
        version: h.row.version,
        deleted: false,
        fields: fields.as_object().cloned().unwrap_or_default(),
    }
}

/// A deadline the user owns, as the phone shows it on the work list; a cancelled one
/// travels as a deletion.
fn deadline_change(d: crate::store::deadlines::DeadlineRow) -> Change {
    let utc = |t: chrono::NaiveDateTime| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let fields = json!({
        "kind": d.kind, "subject_entity": d.subject_entity, "subject_id": d.subject_id,
        "starts_at": utc(d.starts_at), "due_at": utc(d.due_at), "term": d.term,
        "met_at": d.met_at.map(utc), "params": serde_json::from_str::<Value>(&d.params).unwrap_or(Value::Null),
    });
    Change {
        entity: "deadline".into(),
        id: d.id,
        version: d.version,
        deleted: d.cancelled,
        fields: if d.cancelled {
            Map::new()
        } else {
            fields.as_object().cloned().unwrap_or_default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(Cursor::decode(&Cursor(42).encode()).ok(), Some(Cursor(42)));
        assert_eq!(
            Cursor::decode(&Cursor::START.encode()).ok(),
            Some(Cursor::START)
        );
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("f1:x")).is_err());
    }
}
