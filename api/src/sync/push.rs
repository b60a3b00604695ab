//! Applying a push: every mutation of a batch is judged on its own, all of them are
//! written in one transaction, and each answer is stored so that a repeat gets it again.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use bangfu_sync::merge::{FieldStamp, Incoming, Rejection, Status, Stored};
use bangfu_sync::schema::{REGION_FIELD, Reach};
use bangfu_sync::wire::{
    Mutation, MutationFieldError, MutationProblem, MutationResult, MutationStatus, Op,
};
use bangfu_sync::{Clock, ClockError, Code, Hlc, merge, schema};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::domain::role::{Permission, Role};
use crate::households::queries as households;
use crate::infra::db::schema::{device_scope_seen, devices, regions, users};
use crate::infra::db::{DbConn, feed};
use crate::infra::error::{Error, Result};
use crate::infra::sealing::DataKey;
use crate::records::reach;
use crate::records::reach::{Period, ReachChange};
use crate::records::store as records;
use crate::records::store::{ConflictRow, MutationRow, RecordRow};
use crate::sync::rules;
use crate::sync::rules::{DeviceFacts, Origin};

/// Who pushes: the caller, on a registered device or through the server.
#[derive(Debug, Clone)]
pub struct Pusher {
    pub actor: Actor,
    pub user_id: String,
    pub role: Option<Role>,
    pub origin: Origin,
    /// The name its changes are stamped and answered under (see [`Origin::device_name`]).
    pub device_id: String,
    pub scope: Scope,
}

impl Pusher {
    fn new(caller: &crate::domain::caller::Caller, origin: Origin) -> Pusher {
        Pusher {
            actor: caller.actor(),
            user_id: caller.user_id.clone(),
            role: Some(caller.role),
            device_id: origin.device_name(&caller.user_id),
            origin,
            scope: caller.scope.clone(),
        }
    }

    /// The caller's phone, pushing what it captured.
    pub fn device(caller: &crate::domain::caller::Caller, device_id: String) -> Pusher {
        Pusher::new(caller, Origin::Device(device_id))
    }

    /// A change a person makes online (a resolution, a paper recorded on the web): theirs
    /// in the audit log, judged like a phone's.
    pub fn online(caller: &crate::domain::caller::Caller) -> Pusher {
        Pusher::new(caller, Origin::Online)
    }

    /// One of the server's decisions, made by the caller through a decision endpoint.
    pub fn deciding(caller: &crate::domain::caller::Caller) -> Pusher {
        Pusher::new(caller, Origin::Decision)
    }

    /// Whether the pusher may name `user` (whose region lies at `path`) as the person a
    /// record is by: staff above the field record for those of their jurisdiction.
    fn records_for(&self, path: Option<&String>) -> bool {
        !matches!(self.role, Some(Role::Helper) | None)
            && path.is_some_and(|p| self.scope.contains(p))
    }
}

/// What the server knows of the pushing device (nothing for changes made online).
fn device_facts(conn: &mut DbConn, who: &Pusher) -> Result<DeviceFacts> {
    let Origin::Device(id) = &who.origin else {
        return Ok(DeviceFacts::default());
    };
    let registered_at = devices::table
        .find(id)
        .filter(devices::user_id.eq(&who.user_id))
        .select(devices::created_at)
        .first(conn)
        .optional()?;
    let seen = device_scope_seen::table
        .filter(device_scope_seen::device_id.eq(id))
        .select((device_scope_seen::ended_at, device_scope_seen::seen_at))
        .load(conn)?;
    Ok(DeviceFacts {
        registered_at,
        seen,
    })
}

/// The wall clock in milliseconds.
pub fn wall_ms() -> u64 {
    crate::infra::clock::current().wall_ms()
}

fn problem(
    code: Code,
    detail: impl Into<String>,
    errors: Vec<MutationFieldError>,
) -> MutationProblem {
    MutationProblem {
        code,
        detail: detail.into(),
        errors,
    }
}

fn rejected(m: &Mutation, p: MutationProblem) -> MutationResult {
    MutationResult {
        mutation_id: m.mutation_id.clone(),
        entity: m.entity.clone(),
        id: m.id.clone(),
        status: MutationStatus::Rejected,
        version: None,
        conflict_ids: Vec::new(),
        problem: Some(p),
    }
}

fn field_errors(rs: Vec<Rejection>) -> Vec<MutationFieldError> {
    rs.into_iter()
        .map(|r| MutationFieldError {
            field: r.field,
            code: r.code.to_owned(),
            message: r.message,
        })
        .collect()
}

/// The digest of a mutation as sent, to tell a repeat from a reused id.
fn hash(m: &Mutation) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hashing(Sha256::new());
    let _ = serde_json::to_writer(&mut h, m);
    hex::encode(h.0.finalize())
}

fn stored(row: &RecordRow) -> Result<Stored> {
    let data: Map<String, Value> = serde_json::from_str(&row.data).map_err(Error::internal)?;
    let stamps: BTreeMap<String, FieldStamp> =
        merge::stamps_from_json(&row.stamps).map_err(Error::internal)?;
    Ok(Stored {
        version: row.version,
        deleted: row.deleted,
        data,
        stamps,
    })
}

fn status_name(s: MutationStatus) -> &'static str {
    match s {
        MutationStatus::Applied => "applied",
        MutationStatus::Merged => "merged",
        MutationStatus::Conflict => "conflict",
        MutationStatus::Unchanged => "unchanged",
        MutationStatus::Rejected => "rejected",
    }
}

/// A record being changed by this batch.
struct Staged {
    row: Option<RecordRow>,
    state: Option<Stored>,
    /// Order of its latest change in the batch; 0 when unchanged. Feed positions follow it.
    last_change: usize,
}

fn field_problem(field: &str, code: Code, message: &str) -> MutationProblem {
    problem(
        Code::ValidationFailed,
        format!("{field}: {message}"),
        vec![MutationFieldError {
            field: field.into(),
            code,
            message: message.into(),
        }],
    )
}

/// Every region, school, household and author a batch names, loaded at once for checks.
struct Places {
    /// id -> (path, level)
    regions: HashMap<String, (String, String)>,
    /// id -> (region id, path)
    households: HashMap<String, (String, String)>,
    /// user id -> their region's path, for the people records are by
    users: HashMap<String, String>,
}

impl Places {
    /// Named by the incoming fields or by the stored records they change (a change that
    /// leaves the household alone is still checked against it).
    fn load(
        conn: &mut DbConn,
        batch: &[Mutation],
        staged: &HashMap<(String, String), Staged>,
    ) -> Result<Places> {
        let mut region_ids: Vec<String> = Vec::new();
        let mut household_ids: Vec<String> = Vec::new();
        let mut user_ids: Vec<String> = batch
            .iter()
            .filter_map(|m| {
                let def = schema::entity(&m.entity)?;
                Some(
                    def.fields
                        .iter()
                        .filter(|f| f.writer == schema::Writer::Author)
                        .filter_map(|f| {
                            m.fields
                                .get(f.name)
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        }),
                )
            })
            .flatten()
            .collect();
        user_ids.sort();
        user_ids.dedup();
        let stored = staged
            .iter()
            .filter_map(|((entity, _), s)| Some((entity.as_str(), &s.state.as_ref()?.data)));
        let incoming = batch.iter().map(|m| (m.entity.as_str(), &m.fields));
        for (entity, fields) in incoming.chain(stored) {
            let named = |f: &str| fields.get(f).and_then(Value::as_str).map(str::to_owned);
            region_ids.extend(named(REGION_FIELD));
            match schema::entity(entity).map(|d| d.reach) {
                Some(Reach::School(f)) => region_ids.extend(named(f)),
                Some(Reach::Household(f)) => household_ids.extend(named(f)),
                _ => {}
            }
        }
        region_ids.sort();
        region_ids.dedup();
        household_ids.sort();
        household_ids.dedup();
        let regions = regions::table
            .filter(regions::id.eq_any(&region_ids))
            .select((regions::id, regions::path, regions::level))
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, path, level)| (id, (path, level)))
            .collect();
        let users = users::table
            .inner_join(regions::table)
            .filter(users::id.eq_any(&user_ids))
            .select((users::id, regions::path))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(Places {
            regions,
            households: households::paths(conn, &household_ids)?,
            users,
        })
    }

    /// The path a record is also reached through, from its (merged) fields: checks that the
    /// household exists in the record's region, or that the school is a school.
    fn reach(
        &self,
        reach: Reach,
        data: &Map<String, Value>,
    ) -> std::result::Result<String, MutationProblem> {
        let named = |f: &str| data.get(f).and_then(Value::as_str);
        match reach {
            Reach::Region => Ok(String::new()),
            Reach::Household(f) => match named(f) {
                None => Ok(String::new()),
                Some(id) => match self.households.get(id) {
                    None => Err(field_problem(
                        f,
                        Code::NotFound,
                        "no such household in the registry",
                    )),
                    Some((region, _)) if named(REGION_FIELD) != Some(region.as_str()) => {
                        Err(field_problem(
                            REGION_FIELD,
                            Code::HouseholdElsewhere,
                            "the household is registered in another region",
                        ))
                    }
                    Some((_, path)) => Ok(path.clone()),
                },
            },
            Reach::School(f) => match named(f) {
                None => Ok(String::new()),
                Some(id) => match self.regions.get(id) {
                    Some((path, level)) if level == "school" => {
                        // A school serves the township (or county) it hangs under: the
                        // record's region must lie there too.
                        let served = crate::domain::region::parent_path(path);
                        let region = named(REGION_FIELD)
                            .and_then(|r| self.regions.get(r))
                            .map(|(p, _)| p.as_str());
                        match region {
                            Some(r) if r.starts_with(served) => Ok(path.clone()),
                            Some(_) => Err(field_problem(
                                f,
                                Code::SchoolElsewhere,
                                "the school does not serve the record's region",
                            )),
                            None => Ok(path.clone()),
                        }
                    }
                    _ => Err(field_problem(f, Code::NotFound, "no such school")),
                },
            },
        }
    }
}

/// Whether a pusher may change something at `region` (reached through `reach`) with an
/// edit made at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// In their scope now.
    Now,
    /// In a part of their scope they held when the edit was made and have lost since.
    Before,
    No,
}

fn access(
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
fn hlc_instant(h: &Hlc) -> NaiveDateTime {
    i64::try_from(h.millis)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

/// A feed entry a push makes besides the records.
enum Note {
    Moved {
        entity: String,
        id: String,
        region_path: String,
        reach_path: String,
    },
    Departed {
        entity: String,
        id: String,
    },
}

impl Note {
    fn at(self, seq: i64, user_id: &str, now: NaiveDateTime) -> ReachChange {
        match self {
            Note::Moved {
                entity,
                id,
                region_path,
                reach_path,
            } => ReachChange {
                seq,
                user_id: None,
                entity,
                id,
                arrived: false,
                region_path,
                reach_path,
                at: now,
            },
            Note::Departed { entity, id } => ReachChange {
                seq,
                user_id: Some(user_id.to_owned()),
                entity,
                id,
                arrived: false,
                region_path: String::new(),
                reach_path: String::new(),
                at: now,
            },
        }
    }
}

/// What a batch is judged against, loaded once.
struct Context<'a> {
    who: &'a Pusher,
    clock: &'a std::sync::Mutex<Clock>,
    places: Places,
    device: DeviceFacts,
    history: Vec<Period>,
    now: NaiveDateTime,
}

/// What judging the batch stages for writing.
struct Staging {
    staged: HashMap<(String, String), Staged>,
    numbers: crate::case_numbers::blocks::Admission,
    notes: Vec<Note>,
    conflicts: Vec<ConflictRow>,
    audit_changes: Vec<(Action, String, String, String, Value)>,
    /// (entity, record id, field, original text) of text that held ID numbers.
    sealed: Vec<(String, String, String, String)>,
    changes_made: usize,
}

/// Applies a batch inside the caller's write transaction and returns one answer per
/// mutation, in order.
pub fn apply(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &std::sync::Mutex<Clock>,
    key: &DataKey,
    batch: &[Mutation],
) -> Result<Vec<MutationResult>> {
    // Take the feed lock first: concurrent pushes then apply one after the other, so no
    // merge works from a stale read and feed positions commit in order.
    feed::take(conn, 0)?;

    let ids: Vec<String> = batch.iter().map(|m| m.mutation_id.clone()).collect();
    let mut answered: HashMap<String, (String, MutationResult)> = HashMap::new();
    for row in records::answered(conn, &who.device_id, &ids)? {
        let result: MutationResult = serde_json::from_str(&row.result).map_err(Error::internal)?;
        answered.insert(row.mutation_id, (row.request_hash, result));
    }

    // Load every record the batch touches, one query per entity.
    let mut by_entity: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for m in batch {
        by_entity
            .entry(m.entity.as_str())
            .or_default()
            .push(m.id.clone());
    }
    let mut staged: HashMap<(String, String), Staged> = HashMap::new();
    for (entity, ids) in &by_entity {
        if schema::entity(entity).is_none() {
            continue;
        }
        for row in records::load(conn, entity, ids)? {
            let state = stored(&row)?;
            staged.insert(
                (row.entity.clone(), row.id.clone()),
                Staged {
                    row: Some(row),
                    state: Some(state),
                    last_change: 0,
                },
            );
        }
    }

    let ctx = Context {
        who,
        clock,
        places: Places::load(conn, batch, &staged)?,
        device: device_facts(conn, who)?,
        history: reach::periods(conn, &who.user_id)?,
        now: crate::infra::clock::now(),
    };
    let mut out = Staging {
        staged,
        numbers: crate::case_numbers::blocks::Admission::load(conn, &who.device_id, batch)?,
        notes: Vec::new(),
        conflicts: Vec::new(),
        audit_changes: Vec::new(),
        sealed: Vec::new(),
        changes_made: 0,
    };
    let now = ctx.now;
    let mut results = Vec::with_capacity(batch.len());
    let mut answers: Vec<MutationRow> = Vec::new();

    for m in batch {
        let h = hash(m);
        if let Some((prev_hash, prev)) = answered.get(&m.mutation_id) {
            results.push(if *prev_hash == h {
                prev.clone()
            } else {
                rejected(
                    m,
                    problem(
                        Code::MutationIdReused,
                        "this mutation id was already used for a different change; give every change its own id",
                        Vec::new(),
                    ),
                )
            });
            continue;
        }
        let result = judge(m, &ctx, &mut out)?;
        answers.push(MutationRow {
            device_id: who.device_id.clone(),
            mutation_id: m.mutation_id.clone(),
            user_id: who.user_id.clone(),
            entity: m.entity.clone(),
            record_id: m.id.clone(),
            request_hash: h.clone(),
            status: status_name(result.status).to_owned(),
            result: serde_json::to_string(&result).map_err(Error::internal)?,
            received_at: now,
        });
        answered.insert(m.mutation_id.clone(), (h, result.clone()));
        results.push(result);
    }

    let Staging {
        staged,
        numbers,
        notes,
        conflicts,
        mut audit_changes,
        sealed,
        ..
    } = out;
    // Feed positions in the order the records were last changed.
    let mut dirty: Vec<&Staged> = staged.values().filter(|s| s.last_change > 0).collect();
    dirty.sort_by_key(|s| s.last_change);
    let first = feed::take(conn, (dirty.len() + notes.len()) as i64)?;
    let reach_rows: Vec<ReachChange> = notes
        .into_iter()
        .enumerate()
        .map(|(i, n)| n.at(first + (dirty.len() + i) as i64, &who.user_id, now))
        .collect();
    let rows: Vec<RecordRow> = dirty
        .iter()
        .filter_map(|s| s.row.clone())
        .enumerate()
        .map(|(i, mut row)| {
            row.seq = first + i as i64;
            row
        })
        .collect();
    records::write(conn, &rows)?;
    records::seal_fields(conn, key, &sealed)?;
    // The photo evidence index follows the records it indexes, in the same transaction.
    crate::photos::evidence::records_written(conn, &rows)?;
    numbers.save(conn)?;
    reach::write(conn, &reach_rows)?;
    records::save_answers(conn, &answers)?;
    records::save_conflicts(conn, &conflicts)?;
    let events: Vec<Event<'_>> = audit_changes
        .iter_mut()
        .map(|(action, entity, id, path, changes)| Event {
            action: *action,
            entity: schema::entity(entity).map_or("sync_record", |d| d.name),
            entity_id: id,
            region_path: path,
            changes: std::mem::take(changes),
            reason: None,
        })
        .collect();
    audit::record_many(conn, &who.actor, &events)?;
    Ok(results)
}

/// Applies one change made on the server (a decision, a resolution, a document recorded
/// online) like any pushed change, so it reaches every device; a change the rules refuse
/// is an error naming why.
pub fn apply_one(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &std::sync::Mutex<Clock>,
    key: &DataKey,
    m: Mutation,
) -> Result<MutationResult> {
    let result = apply(conn, who, clock, key, std::slice::from_ref(&m))?
        .pop()
        .ok_or_else(|| Error::Internal("no result".into()))?;
    if result.status == MutationStatus::Rejected {
        let p = result.problem.unwrap_or(MutationProblem {
            code: Code::ChangeRejected,
            detail: String::new(),
            errors: Vec::new(),
        });
        let errors: Vec<crate::infra::error::FieldError> = p
            .errors
            .iter()
            .map(|e| {
                crate::infra::error::FieldError::new(
                    e.field.clone(),
                    e.code,
                    crate::infra::error::Msg::new(e.message.clone(), e.message.clone()),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        return Err(Error::Unprocessable {
            code: Code::ChangeRejected,
            detail: crate::infra::error::Msg::new(
                format!("该修改无法写入：{}", p.detail),
                format!("The change cannot be applied: {}", p.detail),
            ),
        });
    }
    Ok(result)
}

/// A server-made change of `entity` record `id`: fields set now, by the server's clock.
pub fn server_mutation(
    clock: &std::sync::Mutex<Clock>,
    entity: &str,
    id: &str,
    base_version: i64,
    fields: Map<String, Value>,
) -> Result<Mutation> {
    let hlc = clock
        .lock()
        .map_err(|_| Error::Internal("clock poisoned".into()))?
        .tick(wall_ms())
        .map_err(Error::internal)?;
    Ok(Mutation {
        mutation_id: crate::infra::db::new_id(),
        entity: entity.to_owned(),
        id: id.to_owned(),
        op: Op::Upsert,
        base_version,
        hlc: hlc.to_string(),
        fields,
    })
}

/// Judges and stages one mutation.
fn judge(m: &Mutation, ctx: &Context<'_>, out: &mut Staging) -> Result<MutationResult> {
    let (who, places, now) = (ctx.who, &ctx.places, ctx.now);
    let Some(def) = schema::entity(&m.entity) else {
        return Ok(rejected(
            m,
            problem(
                Code::UnknownEntity,
                format!("no synced entity is called {:?}", m.entity),
                Vec::new(),
            ),
        ));
    };
    if !schema::is_uuid(&m.id) || !schema::is_uuid(&m.mutation_id) {
        return Ok(rejected(
            m,
            problem(
                Code::InvalidId,
                "record and mutation ids are lowercase UUIDs",
                Vec::new(),
            ),
        ));
    }
    let hlc: Hlc = match m.hlc.parse() {
        Ok(h) => h,
        Err(e) => {
            return Ok(rejected(
                m,
                problem(Code::InvalidHlc, e.to_string(), Vec::new()),
            ));
        }
    };
    if m.base_version < 0 {
        return Ok(rejected(
            m,
            problem(
                Code::InvalidBaseVersion,
                "base_version is 0 or a version the device received",
                Vec::new(),
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
            Err(e @ ClockError::TooFarAhead { .. }) => {
                return Ok(rejected(
                    m,
                    problem(
                        Code::ClockAhead,
                        format!("{e}; correct the device's clock and push again"),
                        Vec::new(),
                    ),
                ));
            }
            Err(e) => {
                return Ok(rejected(
                    m,
                    problem(Code::InvalidHlc, e.to_string(), Vec::new()),
                ));
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
                "the record or its region is outside your jurisdiction and assignments",
                Vec::new(),
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
                    field_problem(REGION_FIELD, Code::NotFound, "no such region"),
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
    match rules::review_on_device(
        def,
        deciding,
        current_data,
        author.as_deref(),
        &m.fields,
        now,
    ) {
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
            problem(
                Code::ValidationFailed,
                "the change does not fit the record's fields",
                field_errors(errors),
            ),
        ));
    }
    if m.op == Op::Delete && current.is_none() {
        return Ok(rejected(
            m,
            problem(
                Code::NotFound,
                "there is no such record to delete",
                Vec::new(),
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
    let number = merged.record.data.get("case_no").and_then(Value::as_str);
    let had = current_data
        .and_then(|d| d.get("case_no"))
        .and_then(Value::as_str);
    if let Some(no) = number.filter(|n| Some(*n) != had)
        && let Err((code, detail)) = out.numbers.admit(&m.entity, &m.id, no)
    {
        return Ok(rejected(m, field_problem("case_no", code, &detail)));
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
    Ok(MutationResult {
        mutation_id: m.mutation_id.clone(),
        entity: m.entity.clone(),
        id: m.id.clone(),
        status,
        version: Some(version),
        conflict_ids,
        problem: None,
    })
}
