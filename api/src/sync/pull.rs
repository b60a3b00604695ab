//! Pulling: the records inside the caller's scope that changed after the cursor, in feed
//! order, with regions and households as reference data, and what the caller's devices must
//! add or drop because their scope changed or a record moved away.

use std::collections::{BTreeMap, HashMap, HashSet};

use bangfu_sync::Code;
use bangfu_sync::wire::Change;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::domain::access::Scope;
use crate::domain::validate::mask_phone;
use crate::households::queries as households;
use crate::households::queries::Household;
use crate::infra::db::{DbConn, feed};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::records::reach;
use crate::records::reach::ReachChange;
use crate::records::store as records;
use crate::records::store::RecordRow;
use crate::regions::queries as regions;
use crate::regions::queries::RegionView;

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
                    Code::InvalidCursor,
                    Msg::fixed("cursor 无效：请使用上次同步返回的 next_cursor，或不带 cursor 从头同步。", "Invalid cursor: pass next_cursor from the last pull, or none to start over."),
                )])
            })
    }
}

/// One page of changes.
#[derive(Debug)]
pub struct Page {
    pub changes: Vec<Change>,
    /// Per entity, the ids the device must drop: no longer in the caller's scope.
    pub drops: BTreeMap<String, Vec<String>>,
    pub next: Cursor,
    pub has_more: bool,
}

fn parse_object(s: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(s).map_err(Error::internal)
}

/// A feed position's content before scope changes are resolved.
enum Item {
    Change(Change),
    Reach(ReachChange),
}

/// The changes after `after` that `user_id`, seeing `scope`, receives: records, regions,
/// households, the deadlines the user owns (their work list, on the phone), and what to
/// drop after a change of scope.
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
    let moves = reach::since(conn, scope, user_id, after.0, limit + 1)?;

    let mut items: Vec<(i64, Item)> = Vec::with_capacity(recs.len() + regs.len());
    for r in recs {
        items.push((r.seq, Item::Change(record_change(r)?)));
    }
    for v in regs {
        items.push((v.row.seq, Item::Change(region_change(v))));
    }
    for h in homes {
        items.push((h.row.seq, Item::Change(household_change(h))));
    }
    for d in crate::deadlines::queries::owned_changed_since(conn, user_id, after.0, limit + 1)? {
        items.push((d.seq, Item::Change(deadline_change(d))));
    }
    for m in moves {
        items.push((m.seq, Item::Reach(m)));
    }
    // Each source gave its first `limit + 1` positions: the first `limit` of them all are
    // the page, and the cursor may move past every position listed, resolved or not.
    items.sort_by_key(|(seq, _)| *seq);
    let has_more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let last = items.last().map(|(s, _)| *s);
    let next = match (has_more, last) {
        (true, Some(s)) => Cursor(s),
        (_, last) => Cursor(last.unwrap_or(after.0).max(head).max(after.0)),
    };
    let (changes, drops) = resolve(conn, scope, items.into_iter().map(|(_, i)| i).collect())?;
    Ok(Page {
        changes,
        drops,
        next,
        has_more,
    })
}

pub(crate) fn record_change(r: RecordRow) -> Result<Change> {
    Ok(Change {
        fields: if r.deleted {
            Map::new()
        } else {
            parse_object(&r.data)?
        },
        entity: r.entity,
        id: r.id,
        version: r.version,
        deleted: r.deleted,
    })
}

pub(crate) fn region_change(v: RegionView) -> Change {
    let fields = json!({
        "parent_id": v.row.parent_id, "level": v.row.level, "code": v.row.code, "name": v.row.name,
        "dibao_fen": v.row.dibao_fen, "effective_dibao_fen": v.effective_dibao_fen,
    });
    Change {
        entity: "region".into(),
        id: v.row.id,
        version: v.row.version,
        deleted: false,
        fields: fields.as_object().cloned().unwrap_or_default(),
    }
}

/// Turns scope changes into what the device does: a row that arrived and is still in the
/// scope comes as a change (once per page); a row to drop that the scope does not reach
/// now is listed in `drops` (one that came back into the scope since is not).
fn resolve(
    conn: &mut DbConn,
    scope: &Scope,
    items: Vec<Item>,
) -> Result<(Vec<Change>, bangfu_sync::wire::Drops)> {
    let mut wanted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for item in &items {
        if let Item::Reach(r) = item {
            wanted
                .entry(r.entity.as_str())
                .or_default()
                .push(r.id.clone());
        }
    }
    // The current state and visibility of every row named, a query per entity.
    let mut now: HashMap<(String, String), (bool, Option<Change>)> = HashMap::new();
    for (entity, ids) in &wanted {
        match *entity {
            "household" => {
                for h in households::with_ids(conn, ids)? {
                    let key = (entity.to_string(), h.row.id.clone());
                    now.insert(
                        key,
                        (scope.contains(&h.row.path), Some(household_change(h))),
                    );
                }
            }
            "region" => {
                let rows = regions::with_ids(conn, ids)?;
                for v in regions::with_dibao(conn, rows)? {
                    let key = (entity.to_string(), v.row.id.clone());
                    now.insert(key, (scope.contains(&v.row.path), Some(region_change(v))));
                }
            }
            _ => {
                for r in records::load(conn, entity, ids)? {
                    let visible = scope.contains(&r.region_path)
                        || (!r.reach_path.is_empty() && scope.contains(&r.reach_path));
                    let key = (r.entity.clone(), r.id.clone());
                    now.insert(key, (visible, Some(record_change(r)?)));
                }
            }
        }
    }
    let mut seen: HashSet<(String, String)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Change(c) => Some((c.entity.clone(), c.id.clone())),
            Item::Reach(_) => None,
        })
        .collect();
    let mut changes = Vec::with_capacity(items.len());
    let mut drops: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        match item {
            Item::Change(c) => changes.push(c),
            Item::Reach(r) => {
                let key = (r.entity, r.id);
                let visible = now.get(&key).is_some_and(|(v, _)| *v);
                if r.arrived && visible && seen.insert(key.clone()) {
                    if let Some(c) = now.get_mut(&key).and_then(|(_, c)| c.take()) {
                        changes.push(c);
                    }
                } else if !r.arrived && !visible {
                    let ids = drops.entry(key.0).or_default();
                    if !ids.contains(&key.1) {
                        ids.push(key.1);
                    }
                }
            }
        }
    }
    Ok((changes, drops))
}

/// A household as reference data: what a helper needs on the doorstep, with ID and phone
/// numbers masked (devices never hold them in full).
pub(crate) fn household_change(h: Household) -> Change {
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
fn deadline_change(d: crate::deadlines::queries::DeadlineRow) -> Change {
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
