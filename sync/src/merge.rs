//! Field-level merge of one incoming change into the stored record. Pure: the server runs
//! it inside its write transaction; property tests run it against simulated devices.
//!
//! A device sends the fields it changed, the record version it last saw (`base_version`)
//! and the hybrid-clock time of its edit. For each field:
//! - changed on the server since `base_version`? If not, the device's value is taken;
//! - if both sides changed it to different values, the field's [`MergeRule`] decides, and
//!   the losing value is returned as a [`Conflict`] for a person to see and settle.

use std::collections::BTreeMap;

use crate::codes::Code;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hlc::Hlc;
use crate::schema::{EntityDef, MergeRule, check_value};

/// When a field last changed, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStamp {
    /// The record version that change produced.
    pub v: i64,
    pub hlc: Hlc,
    /// The device that made it. A device's own later edits follow it in order, so they
    /// never conflict with it even when the device has not pulled in between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
}

/// Field stamps as stored: the stamp most fields share is written once (`"*"`, with the
/// fields it stamps in `"*of"`), the others field by field. A record made in one change
/// stores one stamp instead of one per field. The plain map (every field its own stamp) is
/// read as well.
pub fn stamps_to_json(stamps: &BTreeMap<String, FieldStamp>) -> String {
    let mut counts: Vec<(&FieldStamp, usize)> = Vec::new();
    for st in stamps.values() {
        match counts.iter_mut().find(|(s, _)| *s == st) {
            Some((_, n)) => *n += 1,
            None => counts.push((st, 1)),
        }
    }
    let shared = counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n >= 2)
        .map(|(s, _)| *s);
    let mut out = Map::new();
    if let Some(common) = shared {
        let of: Vec<&String> = stamps
            .iter()
            .filter(|(_, s)| *s == common)
            .map(|(k, _)| k)
            .collect();
        out.insert(
            "*".into(),
            serde_json::to_value(common).unwrap_or(Value::Null),
        );
        out.insert(
            "*of".into(),
            serde_json::to_value(of).unwrap_or(Value::Null),
        );
    }
    for (k, st) in stamps {
        if Some(st) != shared {
            out.insert(k.clone(), serde_json::to_value(st).unwrap_or(Value::Null));
        }
    }
    Value::Object(out).to_string()
}

/// Reads stamps written by [`stamps_to_json`] (or as a plain map of field to stamp).
pub fn stamps_from_json(s: &str) -> Result<BTreeMap<String, FieldStamp>, serde_json::Error> {
    let mut raw: Map<String, Value> = serde_json::from_str(s)?;
    let mut out = BTreeMap::new();
    if let Some(common) = raw.remove("*") {
        let common: FieldStamp = serde_json::from_value(common)?;
        let of: Vec<String> = serde_json::from_value(raw.remove("*of").unwrap_or_default())?;
        for f in of {
            out.insert(f, common.clone());
        }
    }
    for (k, v) in raw {
        out.insert(k, serde_json::from_value(v)?);
    }
    Ok(out)
}

/// A record as the server holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub version: i64,
    pub deleted: bool,
    pub data: Map<String, Value>,
    pub stamps: BTreeMap<String, FieldStamp>,
}

/// What a device sends for one record.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    /// The device sending it.
    pub device: &'a str,
    pub base_version: i64,
    pub hlc: &'a Hlc,
    pub delete: bool,
    pub fields: &'a Map<String, Value>,
}

/// A field both sides changed: the value that lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub field: String,
    pub kept: Value,
    pub kept_hlc: Option<Hlc>,
    pub lost: Value,
    pub lost_hlc: Hlc,
    /// `true`: the stored value lost to the incoming one; `false`: the incoming one lost.
    pub incoming_won: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Taken as sent; the device was up to date.
    Applied,
    /// Taken, merged with changes the device had not seen; no field was in dispute.
    Merged,
    /// At least one field was changed on both sides; see the conflicts.
    Conflict,
    /// Nothing to do: the record already holds these values.
    Unchanged,
}

/// The outcome of merging one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub record: Stored,
    pub changed: Vec<String>,
    pub conflicts: Vec<Conflict>,
    pub status: Status,
}

/// Why a change cannot be taken at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: String,
    pub code: Code,
    /// In English.
    pub message: String,
    /// The same in Chinese.
    pub message_zh: String,
}

fn reject(field: &str, code: Code, zh: impl Into<String>, en: impl Into<String>) -> Rejection {
    Rejection {
        field: field.to_owned(),
        code,
        message: en.into(),
        message_zh: zh.into(),
    }
}

/// Checks the sent fields against the entity's declaration.
pub fn validate(def: &EntityDef, current: Option<&Stored>, inc: &Incoming<'_>) -> Vec<Rejection> {
    let mut out = Vec::new();
    if inc.delete {
        if def.append_only {
            out.push(reject(
                "",
                Code::AppendOnly,
                format!("{} 记录只增不删。", def.name),
                format!("{} records are never deleted", def.name),
            ));
        }
        return out;
    }
    let exists = current.is_some_and(|c| !c.deleted);
    for (name, value) in inc.fields {
        let Some(field) = def.field(name) else {
            out.push(reject(
                name,
                Code::UnknownField,
                format!("{} 没有字段 {name}。", def.name),
                format!("{} has no field {name}", def.name),
            ));
            continue;
        };
        if let Err(expected) = check_value(field.ty, value) {
            out.push(reject(
                name,
                Code::InvalidValue,
                format!("取值应为 {expected}。"),
                format!("expected {expected}"),
            ));
            continue;
        }
        if field.required && value.is_null() {
            out.push(reject(
                name,
                Code::Required,
                "不能为空。",
                "may not be null",
            ));
        }
        if field.rule == MergeRule::Immutable
            && let Some(c) = current
            && let Some(old) = c.data.get(name)
            && !old.is_null()
            && old != value
        {
            out.push(reject(
                name,
                Code::Immutable,
                "在记录建立时设定，之后不能修改。",
                "is set when the record is made and never changes",
            ));
        }
        // A device that has seen the current state may not move it back. (One that had
        // not is merged: the state further along is kept and its value becomes a conflict.)
        if let MergeRule::ForwardOnly(ranks) = field.rule
            && let Some(c) = current
            && let Some(old) = c.data.get(name)
            && let (Some(was), Some(now)) = (rank(ranks, old), rank(ranks, value))
            && now < was
            && !c
                .stamps
                .get(name)
                .is_some_and(|st| st.v > inc.base_version && st.dev.as_deref() != Some(inc.device))
        {
            out.push(reject(
                name,
                Code::ForwardOnly,
                format!("只能向前推进：当前为 {old}。"),
                format!("only moves forward: it is {old} now"),
            ));
        }
    }
    if !exists {
        for field in def.fields.iter().filter(|f| f.required) {
            let present = inc.fields.get(field.name).is_some_and(|v| !v.is_null())
                || current
                    .and_then(|c| c.data.get(field.name))
                    .is_some_and(|v| !v.is_null());
            if !present {
                out.push(reject(
                    field.name,
                    Code::Required,
                    "建立记录时必填。",
                    "is required to create the record",
                ));
            }
        }
    }
    if def.append_only
        && exists
        && current.is_some_and(|c| inc.fields.iter().any(|(k, v)| c.data.get(k) != Some(v)))
    {
        out.push(reject(
            "",
            Code::AppendOnly,
            format!("{} 记录建立后不能修改。", def.name),
            format!("{} records never change once made", def.name),
        ));
    }
    out
}

fn rank(ranks: &[(&str, u8)], v: &Value) -> Option<u8> {
    v.as_str()
        .and_then(|s| ranks.iter().find(|(n, _)| *n == s).map(|(_, r)| *r))
}

fn union(a: &Value, b: &Value) -> Value {
    let mut items: Vec<Value> = a.as_array().cloned().unwrap_or_default();
    for x in b.as_array().into_iter().flatten() {
        if !items.contains(x) {
            items.push(x.clone());
        }
    }
    items.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    Value::Array(items)
}

/// Merges `inc` into `current` (None: a new record). Call [`validate`] first.
pub fn merge(def: &EntityDef, current: Option<&Stored>, inc: &Incoming<'_>) -> Merged {
    let base = current.cloned().unwrap_or(Stored {
        version: 0,
        deleted: false,
        data: Map::new(),
        stamps: BTreeMap::new(),
    });
    let next_version = base.version + 1;
    // Behind: the record changed since the device's base, by someone else.
    let behind = inc.base_version < base.version
        && base
            .stamps
            .values()
            .any(|s| s.v > inc.base_version && s.dev.as_deref() != Some(inc.device));
    let mut rec = base.clone();
    let mut changed = Vec::new();
    let mut conflicts = Vec::new();

    if inc.delete {
        if base.deleted {
            return Merged {
                record: base,
                changed,
                conflicts,
                status: Status::Unchanged,
            };
        }
        rec.deleted = true;
        rec.version = next_version;
        // The delete is stamped under the empty field name, like a field change.
        rec.stamps.insert(
            String::new(),
            FieldStamp {
                v: next_version,
                hlc: inc.hlc.clone(),
                dev: Some(inc.device.to_owned()),
            },
        );
        // A delete of a record that changed since the device saw it: the changes it had
        // not seen are kept in a conflict, so that a person may restore the record.
        if behind && current.is_some() {
            conflicts.push(Conflict {
                field: String::new(),
                kept: Value::Null,
                kept_hlc: Some(inc.hlc.clone()),
                lost: Value::Object(base.data.clone()),
                lost_hlc: base
                    .stamps
                    .values()
                    .map(|s| s.hlc.clone())
                    .max()
                    .unwrap_or_else(|| inc.hlc.clone()),
                incoming_won: true,
            });
        }
        let status = if conflicts.is_empty() {
            Status::Applied
        } else {
            Status::Conflict
        };
        return Merged {
            record: rec,
            changed: vec![String::new()],
            conflicts,
            status,
        };
    }

    // An edit of a record deleted after the device last saw it stays deleted; the edit is
    // kept as a conflict. A device that saw the delete and writes again brings it back.
    if base.deleted {
        if behind {
            for (name, value) in inc.fields {
                conflicts.push(Conflict {
                    field: name.clone(),
                    kept: Value::Null,
                    kept_hlc: None,
                    lost: value.clone(),
                    lost_hlc: inc.hlc.clone(),
                    incoming_won: false,
                });
            }
            return Merged {
                record: base,
                changed,
                conflicts,
                status: Status::Conflict,
            };
        }
        rec.deleted = false;
        rec.stamps.insert(
            String::new(),
            FieldStamp {
                v: next_version,
                hlc: inc.hlc.clone(),
                dev: Some(inc.device.to_owned()),
            },
        );
        changed.push(String::new());
    }

    for (name, value) in inc.fields {
        let Some(field) = def.field(name) else {
            continue;
        };
        let old = base.data.get(name).cloned().unwrap_or(Value::Null);
        if &old == value {
            continue;
        }
        let stamp = base.stamps.get(name);
        let server_changed =
            stamp.is_some_and(|s| s.v > inc.base_version && s.dev.as_deref() != Some(inc.device));
        let take_incoming = |rec: &mut Stored, v: Value| {
            rec.data.insert(name.clone(), v);
            rec.stamps.insert(
                name.clone(),
                FieldStamp {
                    v: next_version,
                    hlc: inc.hlc.clone(),
                    dev: Some(inc.device.to_owned()),
                },
            );
        };
        if !server_changed {
            // Only this side changed it: taken as sent (a set may lose items this way).
            take_incoming(&mut rec, value.clone());
            changed.push(name.clone());
            continue;
        }
        let server_hlc = stamp.map(|s| s.hlc.clone());
        let incoming_later = server_hlc.as_ref().is_none_or(|h| inc.hlc > h);
        let incoming_wins = match field.rule {
            MergeRule::Union => {
                let v = union(&old, value);
                if v != old {
                    take_incoming(&mut rec, v);
                    changed.push(name.clone());
                }
                continue;
            }
            MergeRule::LastWriterWins | MergeRule::Immutable => incoming_later,
            MergeRule::ForwardOnly(ranks) => match (rank(ranks, &old), rank(ranks, value)) {
                (Some(a), Some(b)) if a != b => b > a,
                _ => incoming_later,
            },
        };
        if incoming_wins {
            take_incoming(&mut rec, value.clone());
            changed.push(name.clone());
        }
        conflicts.push(Conflict {
            field: name.clone(),
            kept: if incoming_wins {
                value.clone()
            } else {
                old.clone()
            },
            kept_hlc: if incoming_wins {
                Some(inc.hlc.clone())
            } else {
                server_hlc.clone()
            },
            lost: if incoming_wins { old } else { value.clone() },
            lost_hlc: if incoming_wins {
                server_hlc.unwrap_or_else(|| inc.hlc.clone())
            } else {
                inc.hlc.clone()
            },
            incoming_won: incoming_wins,
        });
    }
    if changed.is_empty() {
        let status = if conflicts.is_empty() {
            Status::Unchanged
        } else {
            Status::Conflict
        };
        return Merged {
            record: base,
            changed,
            conflicts,
            status,
        };
    }
    rec.version = next_version;
    let status = if !conflicts.is_empty() {
        Status::Conflict
    } else if behind {
        Status::Merged
    } else {
        Status::Applied
    };
    Merged {
        record: rec,
        changed,
        conflicts,
        status,
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    fn stamp(v: i64, dev: &str) -> FieldStamp {
        FieldStamp {
            v,
            hlc: Hlc {
                millis: 1_795_373_004_123,
                counter: 0,
                node: dev.into(),
            },
            dev: Some(dev.into()),
        }
    }

    #[test]
    fn a_shared_stamp_is_stored_once_and_read_back_whole() {
        let mut stamps = BTreeMap::new();
        for f in ["region_id", "kind", "notes", "visited_at"] {
            stamps.insert(f.to_owned(), stamp(1, "a"));
        }
        stamps.insert("notes".into(), stamp(2, "b"));
        let text = stamps_to_json(&stamps);
        assert_eq!(text.matches("\"dev\"").count(), 2, "{text}");
        assert_eq!(stamps_from_json(&text).ok(), Some(stamps.clone()));
        // Every field its own stamp: the plain map, read as before.
        let mut distinct = BTreeMap::new();
        distinct.insert("a".to_owned(), stamp(1, "a"));
        distinct.insert("b".to_owned(), stamp(2, "b"));
        let plain = serde_json::to_string(&distinct).unwrap_or_default();
        let as_value = |t: &str| serde_json::from_str::<Value>(t).ok();
        assert_eq!(as_value(&stamps_to_json(&distinct)), as_value(&plain));
        assert_eq!(stamps_from_json(&plain).ok(), Some(distinct));
        assert_eq!(stamps_from_json("{}").ok(), Some(BTreeMap::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CHILD, DROPOUT_CASE, RETRIEVAL_ATTEMPT, VISIT};
    use serde_json::json;

    fn hlc(ms: u64, node: &str) -> Hlc {
        Hlc {
            millis: ms,
            counter: 0,
            node: node.into(),
        }
    }

    fn dev_of(h: &Hlc) -> &str {
        &h.node
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    const R: &str = "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10";
    const H: &str = "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d11";

    fn new_visit() -> Stored {
        let fields = obj(
            json!({"region_id": R, "household_id": H, "helper_id": H, "kind": "routine", "visited_at": "2026-11-22T09:30:00Z", "notes": "first"}),
        );
        let t = hlc(1000, "a");
        merge(
            &VISIT,
            None,
            &Incoming {
                device: dev_of(&t),
                base_version: 0,
                hlc: &t,
                delete: false,
                fields: &fields,
            },
        )
        .record
    }

    #[test]
    fn different_fields_merge_silently() {
        let v1 = new_visit();
        let (ta, tb) = (hlc(2000, "a"), hlc(2001, "b"));
        let a = obj(json!({"notes": "from a"}));
        let b = obj(json!({"kind": "look_back"}));
        let after_a = merge(
            &VISIT,
            Some(&v1),
            &Incoming {
                device: dev_of(&ta),
                base_version: 1,
                hlc: &ta,
                delete: false,
                fields: &a,
            },
        );
        assert_eq!(after_a.status, Status::Applied);
        let after_b = merge(
            &VISIT,
            Some(&after_a.record),
            &Incoming {
                device: dev_of(&tb),
                base_version: 1,
                hlc: &tb,
                delete: false,
                fields: &b,
            },
        );
        assert_eq!(after_b.status, Status::Merged);
        assert_eq!(after_b.record.data["notes"], "from a");
        assert_eq!(after_b.record.data["kind"], "look_back");
        assert_eq!(after_b.record.version, 3);
    }

    #[test]
    fn same_field_later_change_wins_and_the_loser_is_kept() {
        let v1 = new_visit();
        let (early, late) = (hlc(2000, "a"), hlc(3000, "b"));
        let a = obj(json!({"notes": "late"}));
        let b = obj(json!({"notes": "early"}));
        let s = merge(
            &VISIT,
            Some(&v1),
            &Incoming {
                device: dev_of(&late),
                base_version: 1,
                hlc: &late,
                delete: false,
                fields: &a,
            },
        )
        .record;
        // The earlier edit arrives second: it loses, and is kept.
        let m = merge(
            &VISIT,
            Some(&s),
            &Incoming {
                device: dev_of(&early),
                base_version: 1,
                hlc: &early,
                delete: false,
                fields: &b,
            },
        );
        assert_eq!(m.status, Status::Conflict);
        assert_eq!(m.record.data["notes"], "late");
        assert_eq!(m.conflicts[0].lost, json!("early"));
        assert!(!m.conflicts[0].incoming_won);
    }

    #[test]
    fn a_devices_own_later_edits_never_conflict_with_its_earlier_ones() {
        let v1 = new_visit();
        let (t1, t2) = (hlc(2000, "a"), hlc(2001, "a"));
        let one = obj(json!({"notes": "one"}));
        let two = obj(json!({"notes": "two"}));
        // Both based on version 1: the device has not pulled between its edits.
        let s = merge(
            &VISIT,
            Some(&v1),
            &Incoming {
                device: "a",
                base_version: 1,
                hlc: &t1,
                delete: false,
                fields: &one,
            },
        )
        .record;
        let m = merge(
            &VISIT,
            Some(&s),
            &Incoming {
                device: "a",
                base_version: 1,
                hlc: &t2,
                delete: false,
                fields: &two,
            },
        );
        assert_eq!(m.status, Status::Applied);
        assert_eq!(m.record.data["notes"], "two");
        assert!(m.conflicts.is_empty());
    }

    #[test]
    fn forward_only_states_never_move_back() {
        let fields = obj(
            json!({"region_id": R, "child_id": H, "opened_at": "2026-09-08T00:00:00Z", "stage": "persuasion", "state": "open"}),
        );
        let t0 = hlc(1000, "a");
        let c = merge(
            &DROPOUT_CASE,
            None,
            &Incoming {
                device: dev_of(&t0),
                base_version: 0,
                hlc: &t0,
                delete: false,
                fields: &fields,
            },
        )
        .record;
        let (t1, t2) = (hlc(2000, "a"), hlc(3000, "b"));
        let adv = obj(json!({"stage": "return_urged"}));
        let back = obj(json!({"stage": "registration"}));
        let s = merge(
            &DROPOUT_CASE,
            Some(&c),
            &Incoming {
                device: dev_of(&t1),
                base_version: 1,
                hlc: &t1,
                delete: false,
                fields: &adv,
            },
        )
        .record;
        // A later clock does not move the stage backwards.
        let m = merge(
            &DROPOUT_CASE,
            Some(&s),
            &Incoming {
                device: dev_of(&t2),
                base_version: 1,
                hlc: &t2,
                delete: false,
                fields: &back,
            },
        );
        assert_eq!(m.record.data["stage"], "return_urged");
        assert_eq!(m.status, Status::Conflict);
        // A device that saw the stage (based on its version) may not move it back at all.
        let seen = Incoming {
            device: dev_of(&t2),
            base_version: s.version,
            hlc: &t2,
            delete: false,
            fields: &back,
        };
        let refused = validate(&DROPOUT_CASE, Some(&s), &seen);
        assert_eq!(
            refused.iter().map(|r| r.code).collect::<Vec<_>>(),
            [Code::ForwardOnly]
        );
        // The device that made the change is up to date with it too.
        let own = Incoming {
            device: dev_of(&t1),
            base_version: 1,
            ..seen
        };
        assert_eq!(validate(&DROPOUT_CASE, Some(&s), &own).len(), 1);
        // Moving on is fine.
        let on = obj(json!({"stage": "penalty"}));
        assert!(
            validate(
                &DROPOUT_CASE,
                Some(&s),
                &Incoming {
                    fields: &on,
                    ..seen
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn sets_merge_by_union() {
        let fields = obj(
            json!({"region_id": R, "name": "小明", "birth_date": "2014-03-01", "at_risk": ["poor"]}),
        );
        let t0 = hlc(1000, "a");
        let c = merge(
            &CHILD,
            None,
            &Incoming {
                device: dev_of(&t0),
                base_version: 0,
                hlc: &t0,
                delete: false,
                fields: &fields,
            },
        )
        .record;
        let (t1, t2) = (hlc(2000, "a"), hlc(2000, "b"));
        let a = obj(json!({"at_risk": ["poor", "left_behind"]}));
        let b = obj(json!({"at_risk": ["disabled"]}));
        let s = merge(
            &CHILD,
            Some(&c),
            &Incoming {
                device: dev_of(&t1),
                base_version: 1,
                hlc: &t1,
                delete: false,
                fields: &a,
            },
        )
        .record;
        let m = merge(
            &CHILD,
            Some(&s),
            &Incoming {
                device: dev_of(&t2),
                base_version: 1,
                hlc: &t2,
                delete: false,
                fields: &b,
            },
        );
        assert_eq!(
            m.record.data["at_risk"],
            json!(["disabled", "left_behind", "poor"])
        );
        assert!(m.conflicts.is_empty());
    }

    #[test]
    fn append_only_and_immutable_fields_refuse_changes() {
        let fields = obj(
            json!({"region_id": R, "case_id": H, "method": "home_visit", "attempted_at": "2026-11-22T09:30:00Z", "by_user_id": H, "result": "refused"}),
        );
        let t0 = hlc(1000, "a");
        let inc = Incoming {
            device: dev_of(&t0),
            base_version: 0,
            hlc: &t0,
            delete: false,
            fields: &fields,
        };
        assert!(validate(&RETRIEVAL_ATTEMPT, None, &inc).is_empty());
        let r = merge(&RETRIEVAL_ATTEMPT, None, &inc).record;
        // Sending the same attempt again is harmless; changing it is refused.
        assert!(validate(&RETRIEVAL_ATTEMPT, Some(&r), &inc).is_empty());
        let changed = obj(json!({"result": "returned"}));
        let bad = Incoming {
            device: dev_of(&t0),
            base_version: 1,
            hlc: &t0,
            delete: false,
            fields: &changed,
        };
        let codes: Vec<_> = validate(&RETRIEVAL_ATTEMPT, Some(&r), &bad)
            .iter()
            .map(|e| e.code)
            .collect();
        assert!(
            codes.contains(&Code::Immutable) && codes.contains(&Code::AppendOnly),
            "{codes:?}"
        );
        let del = Incoming {
            device: dev_of(&t0),
            base_version: 1,
            hlc: &t0,
            delete: true,
            fields: &Map::new(),
        };
        assert_eq!(
            validate(&RETRIEVAL_ATTEMPT, Some(&r), &del)[0].code,
            Code::AppendOnly
        );
    }

    #[test]
    fn creation_needs_required_fields_and_known_ones() {
        let fields = obj(json!({"region_id": R, "kind": "sideways", "colour": "red"}));
        let t = hlc(1, "a");
        let errs = validate(
            &VISIT,
            None,
            &Incoming {
                device: dev_of(&t),
                base_version: 0,
                hlc: &t,
                delete: false,
                fields: &fields,
            },
        );
        let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(got.contains(&("kind", Code::InvalidValue)));
        assert!(got.contains(&("colour", Code::UnknownField)));
        assert!(got.contains(&("household_id", Code::Required)));
    }

    #[test]
    fn an_edit_of_a_record_deleted_meanwhile_is_kept_as_a_conflict() {
        let v1 = new_visit();
        let t = hlc(2000, "a");
        let del = merge(
            &VISIT,
            Some(&v1),
            &Incoming {
                device: dev_of(&t),
                base_version: 1,
                hlc: &t,
                delete: true,
                fields: &Map::new(),
            },
        )
        .record;
        assert!(del.deleted);
        let edit = obj(json!({"notes": "too late"}));
        let t2 = hlc(2500, "b");
        let m = merge(
            &VISIT,
            Some(&del),
            &Incoming {
                device: dev_of(&t2),
                base_version: 1,
                hlc: &t2,
                delete: false,
                fields: &edit,
            },
        );
        assert!(m.record.deleted);
        assert_eq!(m.status, Status::Conflict);
        assert_eq!(m.conflicts[0].lost, json!("too late"));
    }
}
