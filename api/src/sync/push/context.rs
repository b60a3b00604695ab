//! The first step of a push: everything the batch is judged against, loaded once.

use std::collections::{BTreeMap, HashMap};

use bangfu_sync::merge::{FieldStamp, Stored};
use bangfu_sync::schema::{REGION_FIELD, Reach};
use bangfu_sync::wire::Mutation;
use bangfu_sync::{Clock, Code, merge, schema};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::audit::log::Action;
use crate::case_numbers::blocks::Admission;
use crate::households::queries as households;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{device_scope_seen, devices, regions, users};
use crate::infra::error::{Error, Msg, Result};
use crate::records::reach;
use crate::records::reach::{Period, ReachChange};
use crate::records::store as records;
use crate::records::store::{ConflictRow, RecordRow};
use crate::sync::push::Pusher;
use crate::sync::push::refusal::{Answer, Refusal, field_problem};
use crate::sync::rules::{DeviceFacts, Origin};

/// Answers already given, by mutation id: (digest of the request, answer).
pub(super) type Answered = HashMap<String, (String, Answer)>;

/// A record being changed by this batch.
pub(super) struct Staged {
    pub(super) row: Option<RecordRow>,
    pub(super) state: Option<Stored>,
    /// Order of its latest change in the batch; 0 when unchanged. Feed positions follow it.
    pub(super) last_change: usize,
}

/// Every region, school, household and author a batch names, loaded at once for checks.
pub(super) struct Places {
    /// id -> (path, level)
    pub(super) regions: HashMap<String, (String, String)>,
    /// id -> (region id, path)
    pub(super) households: HashMap<String, (String, String)>,
    /// user id -> their region's path, for the people records are by
    pub(super) users: HashMap<String, String>,
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
    pub(super) fn reach(
        &self,
        reach: Reach,
        data: &Map<String, Value>,
    ) -> std::result::Result<String, Refusal> {
        let named = |f: &str| data.get(f).and_then(Value::as_str);
        match reach {
            Reach::Region => Ok(String::new()),
            Reach::Household(f) => match named(f) {
                None => Ok(String::new()),
                Some(id) => match self.households.get(id) {
                    None => Err(field_problem(
                        f,
                        Code::NotFound,
                        Msg::fixed("户籍库中没有该户。", "no such household in the registry"),
                    )),
                    Some((region, _)) if named(REGION_FIELD) != Some(region.as_str()) => {
                        Err(field_problem(
                            REGION_FIELD,
                            Code::HouseholdElsewhere,
                            Msg::fixed(
                                "该户登记在另一个地区。",
                                "the household is registered in another region",
                            ),
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
                                Msg::fixed(
                                    "该学校不服务于记录所在地区。",
                                    "the school does not serve the record's region",
                                ),
                            )),
                            None => Ok(path.clone()),
                        }
                    }
                    _ => Err(field_problem(
                        f,
                        Code::NotFound,
                        Msg::fixed("没有该学校。", "no such school"),
                    )),
                },
            },
        }
    }
}

/// What a batch is judged against, loaded once.
pub(super) struct Context<'a> {
    pub(super) who: &'a Pusher,
    pub(super) clock: &'a std::sync::Mutex<Clock>,
    pub(super) places: Places,
    pub(super) device: DeviceFacts,
    pub(super) history: Vec<Period>,
    pub(super) now: NaiveDateTime,
}

/// What judging the batch stages for writing.
pub(super) struct Staging {
    pub(super) staged: HashMap<(String, String), Staged>,
    pub(super) numbers: Admission,
    pub(super) notes: Vec<Note>,
    pub(super) conflicts: Vec<ConflictRow>,
    pub(super) audit_changes: Vec<(Action, String, String, String, Value)>,
    /// (entity, record id, field, original text) of text that held ID numbers.
    pub(super) sealed: Vec<(String, String, String, String)>,
    pub(super) changes_made: usize,
}

/// What the server knows of the pushing device (nothing for changes made online).
pub(super) fn device_facts(conn: &mut DbConn, who: &Pusher) -> Result<DeviceFacts> {
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

pub(super) fn stored(row: &RecordRow) -> Result<Stored> {
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

/// Loads what a batch is judged against, once: the records it touches (one query per
/// entity), the places and people it names, the device, the user's past scope, the case
/// numbers the device reserved, and the answers already given to its mutation ids.
pub(super) fn load<'a>(
    conn: &mut DbConn,
    who: &'a Pusher,
    clock: &'a std::sync::Mutex<Clock>,
    batch: &[Mutation],
) -> Result<(Context<'a>, Staging, Answered)> {
    let ids: Vec<String> = batch.iter().map(|m| m.mutation_id.clone()).collect();
    let mut answered: Answered = HashMap::new();
    for row in records::answered(conn, &who.device_id, &ids)? {
        let result: Answer = serde_json::from_str(&row.result).map_err(Error::internal)?;
        answered.insert(row.mutation_id, (row.request_hash, result));
    }
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
    let staging = Staging {
        staged,
        numbers: Admission::load(conn, &who.device_id, batch)?,
        notes: Vec::new(),
        conflicts: Vec::new(),
        audit_changes: Vec::new(),
        sealed: Vec::new(),
        changes_made: 0,
    };
    Ok((ctx, staging, answered))
}

/// A feed entry a push makes besides the records.
pub(super) enum Note {
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
    pub(super) fn at(self, seq: i64, user_id: &str, now: NaiveDateTime) -> ReachChange {
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
