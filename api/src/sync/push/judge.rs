//! The second step of a push: each mutation judged against the loaded context, by a pure
//! function (no database), which stages what is to be written and answers the mutation.
//! What is particular to an entity comes from its [`hooks`](super::hooks).

use std::borrow::Cow;

use bangfu_sync::merge::{Incoming, Status};
use bangfu_sync::schema::REGION_FIELD;
use bangfu_sync::wire::{Mutation, MutationResult, MutationStatus, Op};
use bangfu_sync::{ClockError, Code, Hlc, merge, schema};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::audit::log as audit;
use crate::audit::log::Action;
use crate::domain::role::Permission;
use crate::infra::error::{Error, Msg, Result};
use crate::records::reach::Period;
use crate::records::store::{ConflictRow, RecordRow};
use crate::sync::push::context::{Context, Note, Staged, Staging};
use crate::sync::push::refusal::{Answer, Refusal, field_errors, field_problem, problem, rejected};
use crate::sync::push::{Pusher, hooks, wall_ms};
use crate::sync::rules;
use crate::sync::rules::DeviceFacts;

/// Whether a pusher may change something at `region` (reached through `reach`) with an
/// edit made at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// In their scope now.
    Now,
    /// In a part of their scope they held when the edit was made and have lost since.
    Before,
    No,
}

pub(super) fn access(
    who: &Pusher,
    device: &DeviceFacts,
    history: &[Period],
    region: &str,
    reach: &str,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> Access {
    let held = |p: &str| !p.is_empty() && who.scope.contains(p);
    if held(region) || held(reach) {
        Access::Now
    } else if history.iter().any(|h| {
        let held = rules::Held {
            path: &h.path,
            from: h.started_at,
            until: h.ended_at,
        };
        rules::capture_allowed(held, device, region, at, now)
            || rules::capture_allowed(held, device, reach, at, now)
    }) {
        Access::Before
    } else {
        Access::No
    }
}

/// When an edit was made, by the physical part of its hybrid-clock time.
pub(super) fn hlc_instant(h: &Hlc) -> NaiveDateTime {
    i64::try_from(h.millis)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

/// Judges and stages one mutation.
/// The detail of a `clock_ahead` refusal, shown to the phone's user, who must set the
/// clock right.
fn clock_ahead(ahead_ms: u64, limit_ms: u64) -> Msg {
    let (ahead, limit) = (ahead_ms.div_ceil(1000), limit_ms / 1000);
    Msg::new(
        format!("手机时间比服务器快 {ahead} 秒（最多允许 {limit} 秒）：请校正手机时间后重新同步。"),
        format!(
            "The device's clock is {ahead} s ahead of the server's (at most {limit} s allowed): \
             correct the device's clock and push again."
        ),
    )
}

/// A hybrid-clock stamp the server cannot read.
fn bad_hlc(e: impl std::fmt::Display) -> Msg {
    Msg::new(
        format!("hlc 混合时钟时间戳无效：{e}"),
        format!("hlc is not a valid hybrid-clock stamp: {e}"),
    )
}

pub(super) fn judge(m: &Mutation, ctx: &Context<'_>, out: &mut Staging) -> Result<Answer> {
    let (who, places, now) = (ctx.who, &ctx.places, ctx.now);
    let Some(def) = schema::entity(&m.entity) else {
        return Ok(rejected(
            m,
            problem(
                Code::UnknownEntity,
                Msg::new(
                    format!("没有名为 {:?} 的同步实体。", m.entity),
                    format!("no synced entity is called {:?}", m.entity),
                ),
            ),
        ));
    };
    if !schema::is_uuid(&m.id) || !schema::is_uuid(&m.mutation_id) {
        return Ok(rejected(
            m,
            problem(
                Code::InvalidId,
                Msg::fixed(
                    "记录和变更的 id 须为小写 UUID。",
                    "record and mutation ids are lowercase UUIDs",
                ),
            ),
        ));
    }
    let hlc: Hlc = match m.hlc.parse() {
        Ok(h) => h,
        Err(e) => {
            return Ok(rejected(m, problem(Code::InvalidHlc, bad_hlc(e))));
        }
    };
    if m.base_version < 0 {
        return Ok(rejected(
            m,
            problem(
                Code::InvalidBaseVersion,
                Msg::fixed(
                    "base_version 须为 0 或设备收到过的版本号。",
                    "base_version is 0 or a version the device received",
                ),
            ),
        ));
    }
    {
        let mut c = ctx
            .clock
            .lock()
            .map_err(|_| Error::Internal("clock poisoned".into()))?;
        match c.observe(&hlc, wall_ms()) {
            Ok(_) => {}
            Err(ClockError::TooFarAhead { ahead_ms, limit_ms }) => {
                return Ok(rejected(
                    m,
                    problem(Code::ClockAhead, clock_ahead(ahead_ms, limit_ms)),
                ));
            }
            Err(e) => {
                return Ok(rejected(m, problem(Code::InvalidHlc, bad_hlc(e))));
            }
        }
    }
    let key = (m.entity.clone(), m.id.clone());
    let current = out.staged.get(&key).and_then(|s| s.state.clone());
    let stored_row = out.staged.get(&key).and_then(|s| s.row.as_ref());
    let current_path = stored_row.map(|r| r.region_path.clone());
    let current_reach = stored_row.map(|r| r.reach_path.clone()).unwrap_or_default();
    let author = stored_row.and_then(|r| r.created_by.clone());
    let out_of_scope = || {
        rejected(
            m,
            problem(
                Code::OutOfScope,
                Msg::fixed(
                    "该记录或其地区不在您的管辖和分工范围内。",
                    "the record or its region is outside your jurisdiction and assignments",
                ),
            ),
        )
    };
    // A record is the caller's through its region, or through the household or school it
    // belongs to (an assignment, a school's pupils); or it was when the edit was captured,
    // in a part of their scope they have lost since (see `rules::capture_allowed`).
    let made_at = hlc_instant(&hlc);
    let may = |region: &str, reach: &str| {
        access(who, &ctx.device, &ctx.history, region, reach, made_at, now)
    };
    let mut through_history = false;
    if let Some(p) = &current_path {
        match may(p, &current_reach) {
            Access::No => return Ok(out_of_scope()),
            Access::Before => through_history = true,
            Access::Now => {}
        }
    }
    let new_region = m.fields.get(REGION_FIELD).and_then(Value::as_str);
    let new_path = match new_region {
        Some(r) => match places.regions.get(r) {
            Some((p, _)) => Some(p.clone()),
            None if schema::is_uuid(r) => {
                return Ok(rejected(
                    m,
                    field_problem(
                        REGION_FIELD,
                        Code::NotFound,
                        Msg::fixed("没有该地区。", "no such region"),
                    ),
                ));
            }
            None => None,
        },
        None => None,
    };

    // Who may write what: decisions only from the server (a reviewer's phone deciding a
    // photo is turned into the server's decision, stamped here), authors only themselves.
    let current_data = current.as_ref().map(|c| &c.data);
    let mut fields = Cow::Borrowed(&m.fields);
    let reviewer = who.role.is_some_and(|r| r.has(Permission::ReviewPhotos));
    let deciding = rules::Deciding {
        origin: &who.origin,
        reviewer,
        user_id: &who.user_id,
    };
    let hooks = hooks::of(&m.entity);
    let review = hooks.review_on_device.and_then(|stamped| {
        rules::review_on_device(
            def,
            stamped,
            deciding,
            current_data,
            author.as_deref(),
            &m.fields,
            now,
        )
    });
    match review {
        Some(Ok(stamps)) => fields
            .to_mut()
            .extend(stamps.into_iter().map(|(k, v)| (k.to_owned(), v))),
        Some(Err(p)) => return Ok(rejected(m, p)),
        None => {
            if let Err(p) = rules::server_only(def, &who.origin, current_data, &fields) {
                return Ok(rejected(m, p));
            }
        }
    }
    let records_for = |u: &str| who.records_for(places.users.get(u));
    if let Err(p) = rules::authors(def, &who.user_id, records_for, current_data, &fields) {
        return Ok(rejected(m, p));
    }
    // ID numbers typed into text are masked in the record; the text is kept sealed.
    let masked = rules::mask_id_numbers(def, &fields);
    let originals = masked.originals;
    let fields = match masked.fields {
        Cow::Owned(m) => Cow::Owned(m),
        Cow::Borrowed(_) => fields,
    };

    let inc = Incoming {
        device: &who.device_id,
        base_version: m.base_version,
        hlc: &hlc,
        delete: m.op == Op::Delete,
        fields: &fields,
    };
    let errors = merge::validate(def, current.as_ref(), &inc);
    if !errors.is_empty() {
        return Ok(rejected(
            m,
            Refusal {
                errors: field_errors(errors),
                ..problem(
                    Code::ValidationFailed,
                    Msg::fixed(
                        "该修改与记录的字段不符。",
                        "the change does not fit the record's fields",
                    ),
                )
            },
        ));
    }
    if m.op == Op::Delete && current.is_none() {
        return Ok(rejected(
            m,
            problem(
                Code::NotFound,
                Msg::fixed("要删除的记录不存在。", "there is no such record to delete"),
            ),
        ));
    }
    let mut merged = merge::merge(def, current.as_ref(), &inc);
    let path = new_path
        .clone()
        .or(current_path.clone())
        .unwrap_or_default();
    let reach = if merged.record.deleted {
        current_reach.clone()
    } else {
        match places.reach(def.reach, &merged.record.data) {
            Ok(r) => r,
            // Outside the caller's region, say no more than that.
            Err(_) if may(&path, "") == Access::No => return Ok(out_of_scope()),
            Err(p) => return Ok(rejected(m, p)),
        }
    };
    match may(&path, &reach) {
        Access::No => return Ok(out_of_scope()),
        Access::Before => through_history = true,
        Access::Now => {}
    }
    // A case number, whenever a change sets one, must come from a block this device
    // reserved and be no other record's (checked last, so a number is only taken by a
    // mutation that is accepted).
    if let Some(field) = hooks.case_number {
        let number = merged.record.data.get(field).and_then(Value::as_str);
        let had = current_data
            .and_then(|d| d.get(field))
            .and_then(Value::as_str);
        if let Some(no) = number.filter(|n| Some(*n) != had)
            && let Err((code, detail)) = out.numbers.admit(&m.entity, &m.id, no)
        {
            return Ok(rejected(m, field_problem(field, code, detail)));
        }
    }
    if !merged.changed.is_empty() {
        out.sealed.extend(
            originals
                .into_iter()
                .filter(|(f, _)| merged.changed.iter().any(|c| c == f))
                .map(|(f, text)| (m.entity.clone(), m.id.clone(), f, text)),
        );
    }
    let mut conflict_ids = Vec::new();
    for c in &merged.conflicts {
        let id = crate::infra::db::new_id();
        conflict_ids.push(id.clone());
        out.conflicts.push(ConflictRow {
            id,
            entity: m.entity.clone(),
            record_id: m.id.clone(),
            field: c.field.clone(),
            region_path: path.clone(),
            kept: c.kept.to_string(),
            lost: c.lost.to_string(),
            kept_hlc: c.kept_hlc.as_ref().map(Hlc::to_string),
            lost_hlc: c.lost_hlc.to_string(),
            lost_device_id: if c.incoming_won {
                None
            } else {
                Some(who.device_id.clone())
            },
            lost_user_id: if c.incoming_won {
                None
            } else {
                Some(who.user_id.clone())
            },
            mutation_id: Some(m.mutation_id.clone()),
            state: "open".into(),
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            created_at: now,
        });
    }
    let version = merged.record.version;
    if !merged.changed.is_empty() {
        let deleted_mark = json!({"deleted": true});
        let after_data = if merged.record.deleted {
            deleted_mark.as_object()
        } else {
            Some(&merged.record.data)
        };
        let action = match (&current, merged.record.deleted) {
            (None, _) => Action::Create,
            (Some(c), true) if !c.deleted => Action::Delete,
            _ => Action::Update,
        };
        out.audit_changes.push((
            action,
            m.entity.clone(),
            m.id.clone(),
            path.clone(),
            audit::diff_objects(current.as_ref().map(|s| &s.data), after_data),
        ));
        let region_id = merged
            .record
            .data
            .get(REGION_FIELD)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let prior = out.staged.get(&key).and_then(|s| s.row.clone());
        // Moved away: devices that held it where it was and do not reach it now drop it.
        if let Some(old) = &prior
            && !merged.record.deleted
            && (old.region_path != path || old.reach_path != reach)
        {
            out.notes.push(Note::Moved {
                entity: m.entity.clone(),
                id: m.id.clone(),
                region_path: old.region_path.clone(),
                reach_path: old.reach_path.clone(),
            });
        }
        let row = RecordRow {
            entity: m.entity.clone(),
            id: m.id.clone(),
            region_id,
            region_path: path,
            reach_path: reach,
            data: serde_json::to_string(&merged.record.data).map_err(Error::internal)?,
            stamps: merge::stamps_to_json(&merged.record.stamps),
            version: merged.record.version,
            deleted: merged.record.deleted,
            seq: prior.as_ref().map_or(0, |r| r.seq),
            created_by: prior
                .as_ref()
                .map_or(Some(who.user_id.clone()), |r| r.created_by.clone()),
            created_at: prior.as_ref().map_or(now, |r| r.created_at),
            updated_at: now,
        };
        out.changes_made += 1;
        out.staged.insert(
            key.clone(),
            Staged {
                row: Some(row),
                state: Some(std::mem::take(&mut merged.record)),
                last_change: out.changes_made,
            },
        );
    }
    // Taken for a scope the user has lost: their devices keep it until their next pull.
    if through_history {
        out.notes.push(Note::Departed {
            entity: m.entity.clone(),
            id: m.id.clone(),
        });
    }
    let status = match merged.status {
        Status::Applied => MutationStatus::Applied,
        Status::Merged => MutationStatus::Merged,
        Status::Conflict => MutationStatus::Conflict,
        Status::Unchanged => MutationStatus::Unchanged,
    };
    Ok(Answer::taken(MutationResult {
        mutation_id: m.mutation_id.clone(),
        entity: m.entity.clone(),
        id: m.id.clone(),
        status,
        version: Some(version),
        conflict_ids,
        problem: None,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use bangfu_sync::wire::{Mutation, MutationStatus, Op};
    use bangfu_sync::{Clock, Code, Hlc};
    use serde_json::{Value, json};

    use super::judge;
    use crate::audit::log::Actor;
    use crate::domain::access::Scope;
    use crate::domain::role::Role;
    use crate::sync::push::Pusher;
    use crate::sync::push::context::{Context, Places, Staging};
    use crate::sync::push::wall_ms;
    use crate::sync::rules::{DeviceFacts, Origin};

    const VILLAGE: &str = "0193b4a0-7c1e-7d2a-9c43-000000000001";
    const ELSEWHERE: &str = "0193b4a0-7c1e-7d2a-9c43-000000000002";
    const HOME: &str = "0193b4a0-7c1e-7d2a-9c43-000000000003";
    const AWAY: &str = "0193b4a0-7c1e-7d2a-9c43-000000000004";
    const HELPER: &str = "0193b4a0-7c1e-7d2a-9c43-000000000005";
    const SECRETARY: &str = "0193b4a0-7c1e-7d2a-9c43-000000000006";
    const STRANGER: &str = "0193b4a0-7c1e-7d2a-9c43-000000000007";

    fn pusher(role: Role, user: &str, origin: Origin) -> Pusher {
        Pusher {
            actor: Actor::default(),
            user_id: user.into(),
            role: Some(role),
            device_id: origin.device_name(user),
            origin,
            scope: Scope::new(vec!["/c/t/v1/".into()]),
        }
    }

    fn helper() -> Pusher {
        pusher(Role::Helper, HELPER, Origin::Device("phone-1".into()))
    }

    fn secretary() -> Pusher {
        pusher(
            Role::VillageSecretary,
            SECRETARY,
            Origin::Device("phone-2".into()),
        )
    }

    fn places() -> Places {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        Places {
            regions: HashMap::from([
                (VILLAGE.into(), s("/c/t/v1/", "village")),
                (ELSEWHERE.into(), s("/c/t/v2/", "village")),
            ]),
            households: HashMap::from([
                (HOME.into(), s(VILLAGE, "/c/t/v1/h1/")),
                (AWAY.into(), s(ELSEWHERE, "/c/t/v2/h2/")),
            ]),
            users: HashMap::from([
                (HELPER.into(), "/c/t/v1/".into()),
                (SECRETARY.into(), "/c/t/v1/".into()),
                (STRANGER.into(), "/c/t/v2/".into()),
            ]),
        }
    }

    /// Judges mutations one after the other against one context, as a batch is.
    struct Batch<'a> {
        ctx: Context<'a>,
        out: Staging,
    }

    impl<'a> Batch<'a> {
        fn new(who: &'a Pusher, clock: &'a Mutex<Clock>) -> Batch<'a> {
            Batch {
                ctx: Context {
                    who,
                    clock,
                    places: places(),
                    device: DeviceFacts::default(),
                    history: Vec::new(),
                    now: crate::infra::clock::now(),
                },
                out: Staging {
                    staged: HashMap::new(),
                    numbers: Default::default(),
                    notes: Vec::new(),
                    conflicts: Vec::new(),
                    audit_changes: Vec::new(),
                    sealed: Vec::new(),
                    changes_made: 0,
                },
            }
        }

        fn judge(&mut self, m: &Mutation) -> bangfu_sync::wire::MutationResult {
            judge(m, &self.ctx, &mut self.out).expect("judged").result
        }
    }

    fn server_clock() -> Mutex<Clock> {
        Mutex::new(Clock::new("server.test", 5 * 60 * 1000))
    }

    fn stamp(ahead_ms: u64) -> String {
        Hlc {
            millis: wall_ms() + ahead_ms,
            counter: 0,
            node: "phone".into(),
        }
        .to_string()
    }

    fn mutation(entity: &str, id: &str, base: i64, fields: Value) -> Mutation {
        let Value::Object(fields) = fields else {
            panic!("fields are an object")
        };
        Mutation {
            mutation_id: crate::infra::db::new_id(),
            entity: entity.into(),
            id: id.into(),
            op: Op::Upsert,
            base_version: base,
            hlc: stamp(0),
            fields,
        }
    }

    fn visit(household: &str, region: &str, helper: &str) -> Mutation {
        mutation(
            "visit",
            &crate::infra::db::new_id(),
            0,
            json!({"region_id": region, "household_id": household, "helper_id": helper,
                   "kind": "routine", "visited_at": "2026-11-20T09:00:00Z"}),
        )
    }

    fn refused(r: &bangfu_sync::wire::MutationResult) -> Code {
        assert_eq!(r.status, MutationStatus::Rejected, "{r:?}");
        r.problem.as_ref().expect("a problem").code
    }

    #[test]
    fn a_visit_in_scope_is_staged_with_its_audit() {
        let (who, clock) = (helper(), server_clock());
        let mut b = Batch::new(&who, &clock);
        let m = visit(HOME, VILLAGE, HELPER);
        let r = b.judge(&m);
        assert_eq!(r.status, MutationStatus::Applied, "{r:?}");
        assert_eq!(r.version, Some(1));
        let staged = &b.out.staged[&("visit".to_owned(), m.id.clone())];
        let row = staged.row.as_ref().expect("a row");
        assert_eq!(
            (row.region_path.as_str(), row.reach_path.as_str()),
            ("/c/t/v1/", "/c/t/v1/h1/")
        );
        assert_eq!(row.created_by.as_deref(), Some(HELPER));
        assert_eq!(staged.last_change, 1);
        assert_eq!(b.out.audit_changes.len(), 1);
        // The same change again changes nothing.
        let again = Mutation {
            mutation_id: crate::infra::db::new_id(),
            base_version: 1,
            ..m
        };
        assert_eq!(b.judge(&again).status, MutationStatus::Unchanged);
        assert_eq!(b.out.audit_changes.len(), 1);
    }

    #[test]
    fn malformed_mutations_are_refused_by_name() {
        let (who, clock) = (helper(), server_clock());
        let mut b = Batch::new(&who, &clock);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.entity = "spaceship".into();
        assert_eq!(refused(&b.judge(&m)), Code::UnknownEntity);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.id = "not-a-uuid".into();
        assert_eq!(refused(&b.judge(&m)), Code::InvalidId);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.hlc = "yesterday".into();
        assert_eq!(refused(&b.judge(&m)), Code::InvalidHlc);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.base_version = -1;
        assert_eq!(refused(&b.judge(&m)), Code::InvalidBaseVersion);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.hlc = stamp(24 * 3600 * 1000);
        assert_eq!(refused(&b.judge(&m)), Code::ClockAhead);
        let detail = super::clock_ahead(3_600_500, 300_000);
        assert!(
            detail.zh.contains("手机时间比服务器快 3601 秒"),
            "{detail:?}"
        );
        assert!(detail.en.contains("3601 s ahead"), "{detail:?}");
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.fields.remove("kind");
        assert_eq!(refused(&b.judge(&m)), Code::ValidationFailed);
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.op = Op::Delete;
        assert_eq!(refused(&b.judge(&m)), Code::NotFound);
        assert!(b.out.staged.is_empty() && b.out.audit_changes.is_empty());
    }

    #[test]
    fn places_outside_the_scope_are_refused_without_detail() {
        let (who, clock) = (helper(), server_clock());
        let mut b = Batch::new(&who, &clock);
        assert_eq!(
            refused(&b.judge(&visit(AWAY, ELSEWHERE, HELPER))),
            Code::OutOfScope
        );
        // A household of another village, filed under one's own village.
        assert_eq!(
            refused(&b.judge(&visit(AWAY, VILLAGE, HELPER))),
            Code::ValidationFailed
        );
        let unknown = "0193b4a0-7c1e-7d2a-9c43-0000000000ff";
        assert_eq!(
            refused(&b.judge(&visit(HOME, unknown, HELPER))),
            Code::ValidationFailed
        );
        assert!(b.out.staged.is_empty());
    }

    #[test]
    fn authors_and_decisions_are_not_forged() {
        let (who, clock) = (helper(), server_clock());
        let mut b = Batch::new(&who, &clock);
        // A helper records their own visits only.
        assert_eq!(
            refused(&b.judge(&visit(HOME, VILLAGE, SECRETARY))),
            Code::NotTheAuthor
        );
        // A new visit starts pending; a helper does not approve it.
        let mut m = visit(HOME, VILLAGE, HELPER);
        m.fields.insert("review_status".into(), json!("approved"));
        assert_eq!(refused(&b.judge(&m)), Code::ServerOnlyField);
        // Nor does anyone approve their own, even from a reviewer's phone.
        let (sec, clock2) = (secretary(), server_clock());
        let mut s = Batch::new(&sec, &clock2);
        let own = visit(HOME, VILLAGE, SECRETARY);
        assert_eq!(s.judge(&own).status, MutationStatus::Applied);
        let decide = mutation("visit", &own.id, 1, json!({"review_status": "approved"}));
        assert_eq!(refused(&s.judge(&decide)), Code::ReviewByReviewer);
    }

    #[test]
    fn a_reviewer_decides_a_pending_photo_once_and_the_server_stamps_it() {
        let (who, clock) = (helper(), server_clock());
        let mut b = Batch::new(&who, &clock);
        let id = crate::infra::db::new_id();
        let photo = mutation(
            "photo",
            &id,
            0,
            json!({"region_id": VILLAGE, "household_id": HOME, "sha256": "a".repeat(64),
                   "subject_entity": "household", "subject_id": HOME,
                   "taken_at": "2026-11-20T09:00:00Z"}),
        );
        assert_eq!(b.judge(&photo).status, MutationStatus::Applied);
        // The secretary's phone decides on the same staged record (hooks: photo, stamped).
        let (sec, clock2) = (secretary(), server_clock());
        let mut s = Batch::new(&sec, &clock2);
        s.out.staged = std::mem::take(&mut b.out.staged);
        let approve = mutation("photo", &id, 1, json!({"review_status": "approved"}));
        let r = s.judge(&approve);
        assert_eq!(r.status, MutationStatus::Applied, "{r:?}");
        let state = s.out.staged[&("photo".to_owned(), id.clone())]
            .state
            .clone()
            .expect("state");
        assert_eq!(state.data["reviewed_by"], json!(SECRETARY));
        assert!(state.data["reviewed_at"].is_string());
        // Naming a reviewer, or deciding again, is refused.
        let named = mutation(
            "photo",
            &id,
            2,
            json!({"review_status": "rejected", "review_reason": "模糊", "reviewed_by": SECRETARY}),
        );
        assert_eq!(refused(&s.judge(&named)), Code::ReviewByReviewer);
    }

    #[test]
    fn a_case_number_comes_from_a_reserved_block() {
        let who = pusher(
            Role::TownshipOfficer,
            SECRETARY,
            Origin::Device("phone-2".into()),
        );
        let clock = server_clock();
        let mut b = Batch::new(&who, &clock);
        let plan = mutation(
            "employment_plan",
            &crate::infra::db::new_id(),
            0,
            json!({"region_id": VILLAGE, "household_id": HOME, "person_name": "王强",
                   "category": "age_4050", "helper_id": SECRETARY,
                   "opened_at": "2026-11-20T09:00:00Z", "case_no": "JY-2026-0001"}),
        );
        // No block reserved by this device holds the number (the entity's hook).
        let r = b.judge(&plan);
        let problem = r.problem.clone().expect("refused");
        assert_eq!(r.status, MutationStatus::Rejected);
        assert_eq!(problem.errors.len(), 1, "{problem:?}");
        assert_eq!(problem.errors[0].field, "case_no");
        // Without a number it is taken, and the number can be given later from a block.
        let mut bare = plan.clone();
        bare.fields.remove("case_no");
        assert_eq!(b.judge(&bare).status, MutationStatus::Applied);
    }
}
