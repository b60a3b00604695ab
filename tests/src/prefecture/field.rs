//! The field workers' synced records, as their phones' pushes would have written them:
//! helpers' home visits with photos, and from each township school teacher's phone the
//! school-age children, dropout cases with their papers and retrieval attempts, and home
//! teaching with its sessions and photos ([`captured`] draws them, about 10 a household).
//!
//! Every change goes through bangfu's own merge (`bangfu_sync::merge`, which also checks
//! it against the entity's declaration), and the rows the push path writes are written
//! from its result, pushed the evening of the day it was captured, phone by phone, in the
//! order the server would have received them:
//! - `sync_records`: data, stamps and version from the merge, a feed position (`seq`) per
//!   changed record and batch from one counter started after the frame's and registry's;
//!   `created_at` at the first push, `updated_at` at the last;
//! - `audit_log`: one entry per change, as `record_many` writes it (the diff, masked);
//! - `field_facts`, by the projector's own `deadlines::facts::project`, and
//!   `field_work_progress` moved past the records, so the projector starts where the load
//!   ends instead of reading millions of records again;
//! - `photo_evidence`, with the flags the evidence rules find (`checked`): no file is
//!   written, so `blobs` has none of these digests and the pulls list them as missing;
//! - `deadlines` of the dropout cases and children taught at home, derived at `now` by
//!   bangfu's own derivation from the loaded facts (version 1, as a first derivation);
//! - `sync_device_status` of every phone that pushed, and `sync_counter` past every
//!   position taken.
//!
//! Left out: `sync_mutations` (the stored answers, kept only to answer a repeated push and
//! expired by housekeeping after 90 days), `sync_quarantine` and `sync_conflicts` (every
//! change is accepted, and each record has one author), `sealed_fields` (no text holds an
//! ID number) and `sync_reach_changes` (no record moves). Visits are routine ones and no
//! photo is rejected, so no look-back or photo-rework clock follows; no campaign exists
//! whose progress they would move. Photo reviews are the secretaries' decisions, not
//! pushes: every photo is pending. The PostgreSQL triggers on these tables only mark the
//! supervision rollups, which `bangfu rollups` counts again after the load.

mod captured;
mod read_back;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bangfu::audit::log::diff_objects;
use bangfu::deadlines::derive::{self, Ctx, Source};
use bangfu::infra::db::DbConn;
use bangfu::photos::evidence_rules::{self as evidence, Facts, Place};
use bangfu::records::store::RecordRow;
use bangfu_sync::merge::{self, Incoming, Stored};
use bangfu_sync::{Hlc, schema};
use chrono::{NaiveDateTime, SubsecRound};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Map, Value};

use crate::prefecture::copy::{Copy, F};
use crate::prefecture::plan::Plan;
use captured::{Captured, Phone, Proof};

pub use read_back::read_back;

/// Id kinds of the rows besides the records.
const AUDIT: u8 = 47;
const REQUEST: u8 = 48;
const DEADLINE: u8 = 49;
/// Households are drawn again for each of these spans of push times, so that only one
/// span's records are held and sorted at a time.
const WINDOWS: i32 = 10;
/// Sources derived per query batch, as the projector's refresh does.
const DERIVE_CHUNK: usize = 200;

/// Rows written per table.
#[derive(Debug, Default)]
pub struct Counts {
    /// `sync_records` per entity.
    pub records: BTreeMap<&'static str, usize>,
    pub field_facts: usize,
    pub photo_evidence: usize,
    pub audit_log: usize,
    pub deadlines: usize,
    pub device_status: usize,
}

/// Loads the field records of every household (see the module's documentation).
pub fn write(plan: &Plan) -> Counts {
    let mut conn = DbConn::Pg(PgConnection::establish(&plan.url).expect("connect to PostgreSQL"));
    // After the registry's positions, which it numbers itself (it loads meanwhile).
    let registry_last =
        crate::prefecture::registry::household_seq(plan.households.saturating_sub(1));
    let first_seq = feed_head(&mut conn).max(registry_last) + 1;
    let mut w = Writer {
        plan,
        records: Copy::start(
            &plan.url,
            "sync_records",
            "entity, id, region_id, region_path, reach_path, data, stamps, version, deleted, seq, \
             created_by, created_at, updated_at",
        ),
        facts: Copy::start(
            &plan.url,
            "field_facts",
            "entity, id, region_path, reach_path, subject_id, actor_id, occurred_at, ended_at, \
             state, deleted",
        ),
        evidence: Copy::start(
            &plan.url,
            "photo_evidence",
            "id, sha256, region_id, region_path, reach_path, created_by, subject_entity, \
             subject_id, household_id, taken_at, lat, lng, accuracy_m, capture_device, \
             review_status, review_reason, reviewed_by, reviewed_at, flags, flag_count, checked, \
             created_at, updated_at",
        ),
        audit: Copy::start(
            &plan.url,
            "audit_log",
            "id, at, actor_id, actor_role, device_id, request_id, action, entity, entity_id, \
             region_path, changes, reason",
        ),
        next_seq: first_seq,
        last_record_seq: first_seq - 1,
        audit_n: 0,
        counts: Counts::default(),
        pushed: BTreeMap::new(),
    };
    let mut sources: BTreeSet<Source> = BTreeSet::new();
    let span = plan.now - plan.start;
    for window in 0..WINDOWS {
        let from = plan.start + span * window / WINDOWS;
        let until = if window + 1 == WINDOWS {
            plan.now + chrono::Duration::seconds(1)
        } else {
            plan.start + span * (window + 1) / WINDOWS
        };
        let mut held: Vec<Captured> = Vec::new();
        let mut arrivals: Vec<Arrival> = Vec::new();
        for h in 0..plan.households {
            let household = captured::household(plan, h);
            if window == 0 {
                sources.extend(household.cases.into_iter().map(Source::Case));
                sources.extend(
                    household
                        .taught_at_home
                        .into_iter()
                        .map(Source::HomeTeaching),
                );
            }
            for rec in household.records {
                let before = arrivals.len();
                for (k, c) in rec.changes.iter().enumerate() {
                    let pushed_at = rec.phone.pushed_at(plan, c.made_at);
                    if (from..until).contains(&pushed_at) {
                        arrivals.push(Arrival {
                            pushed_at,
                            phone: rec.phone.ordinal(plan),
                            made_at: c.made_at,
                            record: held.len(),
                            change: k,
                        });
                    }
                }
                if arrivals.len() > before {
                    held.push(rec);
                }
            }
        }
        arrivals.sort_by_key(|a| (a.pushed_at, a.phone, a.made_at, a.record, a.change));
        for a in &arrivals {
            w.arrive(&held[a.record], a.change, a.pushed_at);
        }
    }
    let Writer {
        records,
        facts,
        evidence,
        audit,
        mut counts,
        pushed,
        mut next_seq,
        last_record_seq,
        ..
    } = w;
    records.finish();
    counts.field_facts = facts.finish();
    counts.photo_evidence = evidence.finish();
    counts.audit_log = audit.finish();
    counts.device_status = write_device_status(plan, &pushed);
    counts.deadlines = write_deadlines(plan, &mut conn, &sources, &mut next_seq);
    let sql = format!(
        "UPDATE sync_counter SET seq = GREATEST(seq, {last}) WHERE id = 1; \
         UPDATE field_work_progress SET projected_through = GREATEST(projected_through, {last_record_seq}), \
         refreshed_at = '{now}' WHERE id = 1",
        last = next_seq - 1,
        now = plan.now.format("%Y-%m-%d %H:%M:%S%.f"),
    );
    pg(&mut conn)
        .batch_execute(&sql)
        .expect("move the feed and the projector on");
    counts
}

fn pg(conn: &mut DbConn) -> &mut PgConnection {
    match conn {
        DbConn::Pg(c) => c,
        DbConn::Sqlite(_) => unreachable!("the prefecture is loaded into PostgreSQL"),
    }
}

/// The last feed position taken by anything loaded before (regions, households).
fn feed_head(conn: &mut DbConn) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let head: Head = diesel::sql_query(
        "SELECT GREATEST((SELECT seq FROM sync_counter WHERE id = 1), \
         (SELECT COALESCE(MAX(seq), 0) FROM regions), (SELECT COALESCE(MAX(seq), 0) FROM households), \
         (SELECT COALESCE(MAX(seq), 0) FROM sync_records), (SELECT COALESCE(MAX(seq), 0) FROM deadlines)) AS seq",
    )
    .get_result(pg(conn))
    .expect("the feed's head");
    head.seq
}

/// What supervisors see of each phone that pushed: its last push, and (as the app pulls
/// right after pushing) its last pull; every change it sent was taken.
fn write_device_status(plan: &Plan, pushed: &BTreeMap<Phone, (NaiveDateTime, i64)>) -> usize {
    let mut copy = Copy::start(
        &plan.url,
        "sync_device_status",
        "device_id, user_id, region_path, protocol_version, app_version, last_push_at, \
         last_pull_at, pending_reported, pushed_total, rejected_total",
    );
    for (phone, (last, total)) in pushed {
        copy.row(&[
            F::T(&phone.device(plan)),
            F::T(&phone.user(plan)),
            F::T(phone.region_path(plan)),
            F::I(i64::from(bangfu_sync::PROTOCOL_VERSION)),
            F::T(captured::APP_VERSION),
            F::Ts(*last),
            F::Ts(*last),
            F::I(0),
            F::I(*total),
            F::I(0),
        ]);
    }
    copy.finish()
}

/// The clocks of the dropout cases and children taught at home, derived from the loaded
/// facts at `now` by bangfu's own rules, as the projector's first derivation stores them
/// (each at a feed position, first stored when it started).
fn write_deadlines(
    plan: &Plan,
    conn: &mut DbConn,
    sources: &BTreeSet<Source>,
    next_seq: &mut i64,
) -> usize {
    let cal = bangfu::calendar::queries::load(conn).expect("the working-day calendar");
    let ctx = Ctx {
        now: plan.now,
        cal: &cal,
    };
    let mut copy = Copy::start(
        &plan.url,
        "deadlines",
        "id, key, source, kind, subject_entity, subject_id, region_path, owner_user_id, \
         owner_region_path, starts_at, due_at, term, met_at, cancelled, params, version, seq, \
         created_at, updated_at",
    );
    let mut produced: HashSet<String> = HashSet::new();
    let all: Vec<Source> = sources.iter().cloned().collect();
    for chunk in all.chunks(DERIVE_CHUNK) {
        let set: BTreeSet<Source> = chunk.iter().cloned().collect();
        for (source, clocks) in derive::derive(conn, &ctx, &set).expect("derive the clocks") {
            for c in clocks {
                if !produced.insert(c.key.clone()) {
                    continue;
                }
                let stored_at = c.starts_at.clamp(plan.start, plan.now).trunc_subsecs(6);
                let id = plan.id(DEADLINE, produced.len() as u64, stored_at);
                copy.row(&[
                    F::T(&id),
                    F::T(&c.key),
                    F::T(&source),
                    F::T(c.kind),
                    F::T(c.subject_entity),
                    F::T(&c.subject_id),
                    F::T(&c.region_path),
                    c.owner.user_id().map_or(F::N, F::T),
                    F::T(c.owner.region_path()),
                    F::Ts(c.starts_at.trunc_subsecs(6)),
                    F::Ts(c.due_at.trunc_subsecs(6)),
                    F::T(&c.term.describe()),
                    c.met_at.map_or(F::N, |t| F::Ts(t.trunc_subsecs(6))),
                    F::B(false),
                    F::T(&c.params.to_string()),
                    F::I(1),
                    F::I(*next_seq),
                    F::Ts(stored_at),
                    F::Ts(stored_at),
                ]);
                *next_seq += 1;
            }
        }
    }
    copy.finish()
}

/// The record a change leaves: each change merged in turn, as the server merges them.
fn merged(plan: &Plan, rec: &Captured, through: usize) -> Stored {
    let def = schema::entity(rec.entity).expect("a synced entity");
    let device = rec.phone.device(plan);
    let mut state: Option<Stored> = None;
    for change in &rec.changes[..=through] {
        let hlc = Hlc {
            millis: change.made_at.and_utc().timestamp_millis() as u64,
            counter: 0,
            node: device.clone(),
        };
        let inc = Incoming {
            device: &device,
            base_version: state.as_ref().map_or(0, |s| s.version),
            hlc: &hlc,
            delete: false,
            fields: &change.fields,
        };
        let refused = merge::validate(def, state.as_ref(), &inc);
        assert!(
            refused.is_empty(),
            "{} {} refused: {refused:?}",
            rec.entity,
            rec.id
        );
        state = Some(merge::merge(def, state.as_ref(), &inc).record);
    }
    state.expect("a record has a change")
}

/// One change reaching the server, in the order they arrive.
struct Arrival {
    pushed_at: NaiveDateTime,
    phone: usize,
    made_at: NaiveDateTime,
    record: usize,
    change: usize,
}

/// The tables being copied, and the counters the rows share.
struct Writer<'a> {
    plan: &'a Plan,
    records: Copy,
    facts: Copy,
    evidence: Copy,
    audit: Copy,
    next_seq: i64,
    /// The last feed position a record took.
    last_record_seq: i64,
    audit_n: u64,
    counts: Counts,
    /// Per phone: its last push and the changes it pushed.
    pushed: BTreeMap<Phone, (NaiveDateTime, i64)>,
}

impl Writer<'_> {
    fn arrive(&mut self, rec: &Captured, k: usize, pushed_at: NaiveDateTime) {
        let plan = self.plan;
        let before = (k > 0).then(|| merged(plan, rec, k - 1));
        let after = merged(plan, rec, k);
        let (device, user) = (rec.phone.device(plan), rec.phone.user(plan));
        // A record changed twice in one batch takes one position, that of its last change.
        let batch_of = |c: usize| rec.phone.pushed_at(plan, rec.changes[c].made_at);
        let last_in_batch = rec
            .changes
            .get(k + 1)
            .is_none_or(|_| batch_of(k + 1) != pushed_at);
        let day = (pushed_at - plan.start).num_days().max(0) as u64;
        let request = plan.id(
            REQUEST,
            rec.phone.ordinal(plan) as u64 * 4096 + day,
            pushed_at,
        );
        let diff = diff_objects(before.as_ref().map(|s| &s.data), Some(&after.data));
        let diff = bangfu::domain::resident_id::mask_in_json(&diff).unwrap_or(diff);
        self.audit.row(&[
            F::T(&plan.id(AUDIT, self.audit_n, pushed_at)),
            F::Ts(pushed_at),
            F::T(&user),
            F::T("helper"),
            F::T(&device),
            F::T(&request),
            F::T(if k == 0 { "create" } else { "update" }),
            F::T(rec.entity),
            F::T(&rec.id),
            F::T(&rec.region_path),
            F::T(&diff.to_string()),
            F::N,
        ]);
        self.audit_n += 1;
        let status = self.pushed.entry(rec.phone).or_insert((pushed_at, 0));
        *status = (status.0.max(pushed_at), status.1 + 1);
        if !last_in_batch {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.last_record_seq = seq;
        if k + 1 < rec.changes.len() {
            return;
        }
        let row = RecordRow {
            entity: rec.entity.to_owned(),
            id: rec.id.clone(),
            region_id: after.data["region_id"]
                .as_str()
                .expect("a region")
                .to_owned(),
            region_path: rec.region_path.clone(),
            data: Value::Object(after.data.clone()).to_string(),
            stamps: merge::stamps_to_json(&after.stamps),
            version: after.version,
            deleted: false,
            seq,
            created_by: Some(user),
            created_at: batch_of(0),
            updated_at: pushed_at,
            reach_path: rec.reach_path.clone(),
        };
        self.write_record(&row, &after.data, rec.proof.as_ref());
    }

    fn write_record(&mut self, row: &RecordRow, data: &Map<String, Value>, proof: Option<&Proof>) {
        self.records.row(&[
            F::T(&row.entity),
            F::T(&row.id),
            F::T(&row.region_id),
            F::T(&row.region_path),
            F::T(&row.reach_path),
            F::T(&row.data),
            F::T(&row.stamps),
            F::I(row.version),
            F::B(row.deleted),
            F::I(row.seq),
            optional(row.created_by.as_deref()),
            F::Ts(row.created_at),
            F::Ts(row.updated_at),
        ]);
        *self
            .counts
            .records
            .entry(captured_entity(&row.entity))
            .or_default() += 1;
        if let Some(f) = bangfu::deadlines::facts::project(row, data) {
            let at = |t: Option<NaiveDateTime>| t.map_or(F::N, F::Ts);
            self.facts.row(&[
                F::T(&f.entity),
                F::T(&f.id),
                F::T(&f.region_path),
                F::T(&f.reach_path),
                F::T(&f.subject_id),
                F::T(&f.actor_id),
                at(f.occurred_at),
                at(f.ended_at),
                F::T(&f.state),
                F::B(f.deleted),
            ]);
            self.counts.field_facts += 1;
        }
        if let Some(proof) = proof {
            self.write_evidence(row, data, proof);
        }
    }

    /// The evidence index row of a photo, flagged as the evidence rules find it: its
    /// subject arrived in the same push, the household's place is the registry's.
    fn write_evidence(&mut self, row: &RecordRow, data: &Map<String, Value>, proof: &Proof) {
        let text = |f: &str| data.get(f).and_then(Value::as_str);
        let taken_at = text("taken_at")
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.to_utc());
        let place = data["location"].as_object().expect("a location");
        let coord = |k: &str| place[k].as_f64().expect("a coordinate");
        let household = text("household_id");
        let subject_entity = text("subject_entity").expect("a subject");
        let facts = Facts {
            taken_at,
            app_place: Some((
                Place {
                    lat: coord("lat"),
                    lng: coord("lng"),
                },
                Some(coord("accuracy_m")),
            )),
            exif_taken_at: None,
            exif_place: None,
            household: household.map(|_| proof.home),
            subject: Some(Some(proof.window.clone())),
            subject_entity: subject_entity.to_owned(),
        };
        let flags = evidence::check(&facts);
        let at =
            |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(F::N, |t| F::Ts(t.naive_utc()));
        self.evidence.row(&[
            F::T(&row.id),
            F::T(text("sha256").expect("a digest")),
            F::T(&row.region_id),
            F::T(&row.region_path),
            F::T(&row.reach_path),
            optional(row.created_by.as_deref()),
            F::T(subject_entity),
            F::T(text("subject_id").expect("a subject")),
            optional(household),
            at(taken_at),
            F::F(coord("lat")),
            F::F(coord("lng")),
            F::F(coord("accuracy_m")),
            optional(text("capture_device")),
            F::T(text("review_status").unwrap_or("pending")),
            F::N,
            F::N,
            F::N,
            F::T(&serde_json::to_string(&flags).expect("flags")),
            F::I(flags.len() as i64),
            F::B(true),
            F::Ts(row.created_at),
            F::Ts(row.updated_at),
        ]);
        self.counts.photo_evidence += 1;
    }
}

/// Text, or NULL.
fn optional(s: Option<&str>) -> F<'_> {
    s.map_or(F::N, F::T)
}

fn captured_entity(entity: &str) -> &'static str {
    schema::entity(entity).expect("a synced entity").name
}
