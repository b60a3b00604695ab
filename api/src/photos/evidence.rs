//! The photo evidence index: one row per live photo record, kept in step with the records
//! as they are written (on the push path, a few queries per batch, never one per row). It
//! holds what the app captured, what the photo proves, its review, and the integrity flags
//! found for it; serving, missing-photo lookups and the review queue read it by index,
//! never the records' JSON.
//!
//! Flags are worked out again whenever a fact they rest on arrives, in whatever order:
//! the record, the file (EXIF), its perceptual hash, the visit it proves, the household's
//! location, or another photo of the same picture.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde_json::{Map, Value};

use crate::domain::access::Scope;
use crate::infra::db::schema::{blob_hash_bands, blobs, households, photo_evidence, sync_records};
use crate::infra::db::scoped::{MultiBackend, path_in_scope};
use crate::infra::db::{DbConn, insert_all};
use crate::infra::error::{Error, Result};
use crate::photos::evidence_rules as evidence;
use crate::photos::evidence_rules::{Facts, Flag, Picture, Place, Window};
use crate::photos::exif::ExifInfo;
use crate::records::store::RecordRow;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = photo_evidence)]
pub struct EvidenceRow {
    pub id: String,
    pub sha256: String,
    pub region_id: String,
    pub region_path: String,
    pub reach_path: String,
    pub created_by: Option<String>,
    pub subject_entity: String,
    pub subject_id: String,
    pub household_id: Option<String>,
    pub taken_at: Option<NaiveDateTime>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub capture_device: Option<String>,
    pub review_status: String,
    pub review_reason: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub flags: String,
    pub flag_count: i32,
    pub checked: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EvidenceRow {
    pub fn flag_list(&self) -> Vec<Flag> {
        serde_json::from_str(&self.flags).unwrap_or_default()
    }
}

/// Subjects that happen at a time, and the field that says when.
const TIMED_SUBJECTS: &[(&str, &str)] = &[
    ("visit", "visited_at"),
    ("retrieval_attempt", "attempted_at"),
    ("teaching_session", "held_at"),
];

pub const PHOTO: &str = "photo";
const PENDING: &str = "pending";

fn instant(v: Option<&Value>) -> Option<NaiveDateTime> {
    let s = v?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).naive_utc())
}

fn text(data: &Map<String, Value>, field: &str) -> Option<String> {
    data.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// The index row a live photo record stands for; its flags are worked out by [`refresh`].
fn from_record(r: &RecordRow) -> Result<EvidenceRow> {
    let data: Map<String, Value> = serde_json::from_str(&r.data).map_err(Error::internal)?;
    let subject_entity = text(&data, "subject_entity").unwrap_or_default();
    let subject_id = text(&data, "subject_id").unwrap_or_default();
    let household_id = text(&data, "household_id")
        .or_else(|| (subject_entity == "household").then(|| subject_id.clone()));
    let place = data.get("location").and_then(Value::as_object);
    let coord = |k: &str| place.and_then(|p| p.get(k)).and_then(Value::as_f64);
    Ok(EvidenceRow {
        id: r.id.clone(),
        sha256: text(&data, "sha256")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        region_id: r.region_id.clone(),
        region_path: r.region_path.clone(),
        reach_path: r.reach_path.clone(),
        created_by: r.created_by.clone(),
        subject_entity,
        subject_id,
        household_id,
        taken_at: instant(data.get("taken_at")),
        lat: coord("lat").filter(|_| coord("lng").is_some()),
        lng: coord("lng").filter(|_| coord("lat").is_some()),
        accuracy_m: coord("accuracy_m"),
        capture_device: text(&data, "capture_device"),
        review_status: text(&data, "review_status").unwrap_or_else(|| PENDING.to_owned()),
        review_reason: text(&data, "review_reason"),
        reviewed_by: text(&data, "reviewed_by"),
        reviewed_at: instant(data.get("reviewed_at")),
        flags: "[]".into(),
        flag_count: 0,
        checked: false,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Keeps the index in step with synced records just written (any entities): photo records
/// are indexed (or dropped when deleted), and photos of a visit, attempt or session that
/// changed are checked again.
pub fn records_written(conn: &mut DbConn, rows: &[RecordRow]) -> Result<()> {
    let mut fresh = Vec::new();
    let mut gone = Vec::new();
    let mut subjects = Vec::new();
    for r in rows {
        if r.entity == PHOTO {
            if r.deleted {
                gone.push(r.id.clone());
            } else {
                fresh.push(from_record(r)?);
            }
        } else if TIMED_SUBJECTS.iter().any(|(e, _)| *e == r.entity) {
            subjects.push(r.id.clone());
        }
    }
    let recheck = if subjects.is_empty() {
        Vec::new()
    } else {
        photo_evidence::table
            .filter(photo_evidence::subject_id.eq_any(&subjects))
            .select(photo_evidence::id)
            .load(conn)?
    };
    refresh(conn, fresh, recheck, gone)
}

/// Checks again the photos of a file whose facts just arrived (EXIF, perceptual hash).
pub fn file_changed(conn: &mut DbConn, sha256: &str) -> Result<()> {
    let ids = photo_evidence::table
        .filter(photo_evidence::sha256.eq(sha256))
        .select(photo_evidence::id)
        .load(conn)?;
    refresh(conn, Vec::new(), ids, Vec::new())
}

/// Checks again the photos of a household whose location changed.
pub fn household_moved(conn: &mut DbConn, household_id: &str) -> Result<()> {
    let ids = photo_evidence::table
        .filter(photo_evidence::household_id.eq(household_id))
        .select(photo_evidence::id)
        .load(conn)?;
    refresh(conn, Vec::new(), ids, Vec::new())
}

/// Works out rows not checked yet (those this index was started with) from their records;
/// returns how many were looked at.
pub fn check_unchecked(conn: &mut DbConn, limit: i64) -> Result<usize> {
    let ids: Vec<String> = photo_evidence::table
        .filter(photo_evidence::checked.eq(false))
        .select(photo_evidence::id)
        .limit(limit)
        .load(conn)?;
    let live: HashSet<String> = crate::records::store::load(conn, PHOTO, &ids)?
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| r.id)
        .collect();
    let (recheck, gone): (Vec<String>, Vec<String>) =
        ids.iter().cloned().partition(|i| live.contains(i));
    refresh(conn, Vec::new(), recheck, gone)?;
    Ok(ids.len())
}

fn load_rows(conn: &mut DbConn, ids: &[String]) -> Result<Vec<EvidenceRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(photo_evidence::table
        .filter(photo_evidence::id.eq_any(ids))
        .select(EvidenceRow::as_select())
        .load(conn)?)
}

/// What is known of the files photos name: EXIF and perceptual hash.
#[derive(Default)]
struct Files(HashMap<String, (Option<ExifInfo>, Option<i64>)>);

impl Files {
    fn load<'a>(&mut self, conn: &mut DbConn, shas: impl Iterator<Item = &'a str>) -> Result<()> {
        let mut want: Vec<&str> = shas.filter(|s| !self.0.contains_key(*s)).collect();
        want.sort_unstable();
        want.dedup();
        if want.is_empty() {
            return Ok(());
        }
        for (sha, exif, dhash) in blobs::table
            .filter(blobs::sha256.eq_any(&want))
            .select((blobs::sha256, blobs::exif, blobs::dhash))
            .load::<(String, Option<String>, Option<i64>)>(conn)?
        {
            let exif = exif.and_then(|e| serde_json::from_str(&e).ok());
            self.0.insert(sha, (exif, dhash));
        }
        Ok(())
    }

    fn dhash(&self, sha: &str) -> Option<i64> {
        self.0.get(sha).and_then(|f| f.1)
    }

    fn exif(&self, sha: &str) -> Option<&ExifInfo> {
        self.0.get(sha).and_then(|f| f.0.as_ref())
    }
}

/// Photos showing the same file as, or a picture within the reuse threshold of, any of
/// these rows: by the digest index, and by the hash bands (pigeonhole: a match shares at
/// least one band exactly, so indexed equality finds every one).
fn same_pictures(
    conn: &mut DbConn,
    rows: &[&EvidenceRow],
    files: &mut Files,
) -> Result<Vec<EvidenceRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut shas: HashSet<String> = rows.iter().map(|r| r.sha256.clone()).collect();
    let hashes: Vec<i64> = rows.iter().filter_map(|r| files.dhash(&r.sha256)).collect();
    if !hashes.is_empty() {
        let mut per_band: Vec<Vec<i32>> = vec![Vec::new(); evidence::BANDS];
        for h in &hashes {
            for (band, value) in evidence::bands(*h) {
                per_band[band as usize].push(value);
            }
        }
        type Cond =
            Box<dyn BoxableExpression<blob_hash_bands::table, MultiBackend, SqlType = Bool>>;
        let mut cond: Option<Cond> = None;
        for (band, values) in per_band.into_iter().enumerate() {
            let c = blob_hash_bands::band
                .eq(band as i32)
                .and(blob_hash_bands::value.eq_any(values));
            cond = Some(match cond {
                None => Box::new(c),
                Some(prev) => Box::new(prev.or(c)),
            });
        }
        let candidates: Vec<String> = match cond {
            Some(c) => blob_hash_bands::table
                .filter(c)
                .select(blob_hash_bands::sha256)
                .distinct()
                .load(conn)?,
            None => Vec::new(),
        };
        files.load(conn, candidates.iter().map(String::as_str))?;
        for c in candidates {
            if files
                .dhash(&c)
                .is_some_and(|d| hashes.iter().any(|h| evidence::same_picture(*h, d)))
            {
                shas.insert(c);
            }
        }
    }
    let shas: Vec<String> = shas.into_iter().collect();
    Ok(photo_evidence::table
        .filter(photo_evidence::sha256.eq_any(&shas))
        .select(EvidenceRow::as_select())
        .load(conn)?)
}

/// Parses a subject record's time window from its fields.
fn window_of(entity: &str, data: &Map<String, Value>) -> Option<Window> {
    let field = TIMED_SUBJECTS.iter().find(|(e, _)| *e == entity)?.1;
    let at = instant(data.get(field))?.and_utc();
    // A session lasts its class hours, counted generously as whole hours.
    let duration = data
        .get("class_hours")
        .and_then(Value::as_f64)
        .map(|h| Duration::minutes((h * 60.0).round() as i64));
    Some(Window::around(entity, at, duration))
}

/// Works out the flags of `fresh` rows (as their records now stand), of stored rows
/// `recheck`, and of every photo sharing a picture with them, and writes the rows that
/// changed. Rows `gone` (deleted records) are removed, and the photos they were flagged
/// with are checked again.
fn refresh(
    conn: &mut DbConn,
    fresh: Vec<EvidenceRow>,
    recheck: Vec<String>,
    gone: Vec<String>,
) -> Result<()> {
    if fresh.is_empty() && recheck.is_empty() && gone.is_empty() {
        return Ok(());
    }
    let gone_rows = load_rows(conn, &gone)?;
    let gone: HashSet<String> = gone.into_iter().collect();
    // The photos a deleted one was flagged with lose that flag.
    let mut recheck: Vec<String> = recheck;
    for g in &gone_rows {
        for f in g.flag_list() {
            if let Flag::Reused { photo_id, .. } = f {
                recheck.push(photo_id);
            }
        }
    }
    let mut wanted: Vec<String> = fresh.iter().map(|r| r.id.clone()).collect();
    wanted.extend(recheck.iter().cloned());
    wanted.sort();
    wanted.dedup();
    let mut stored: HashMap<String, EvidenceRow> = load_rows(conn, &wanted)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut targets: HashMap<String, EvidenceRow> = HashMap::new();
    for r in fresh {
        targets.insert(r.id.clone(), r);
    }
    for id in &recheck {
        if let Some(r) = stored.get(id)
            && !targets.contains_key(id)
        {
            targets.insert(id.clone(), r.clone());
        }
    }
    targets.retain(|id, _| !gone.contains(id));
    rebuild_unchecked(conn, &mut targets)?;

    // Photos of the same picture are flagged together: find them (and, to list their own
    // matches in full, theirs).
    let mut files = Files::default();
    files.load(conn, targets.values().map(|r| r.sha256.as_str()))?;
    let first: Vec<&EvidenceRow> = targets.values().collect();
    let partners: Vec<EvidenceRow> = same_pictures(conn, &first, &mut files)?
        .into_iter()
        .filter(|r| !targets.contains_key(&r.id) && !gone.contains(&r.id))
        .collect();
    let partner_refs: Vec<&EvidenceRow> = partners.iter().collect();
    let second = same_pictures(conn, &partner_refs, &mut files)?;
    for p in &partners {
        targets.entry(p.id.clone()).or_insert_with(|| p.clone());
        stored.entry(p.id.clone()).or_insert_with(|| p.clone());
    }
    rebuild_unchecked(conn, &mut targets)?;
    let ctx = Context::load(conn, targets.values(), &mut files)?;
    for r in targets.values_mut() {
        r.household_id = ctx.household_of(r);
    }
    let mut pool: HashMap<&str, &EvidenceRow> = HashMap::new();
    for r in second.iter().filter(|r| !gone.contains(&r.id)) {
        pool.insert(&r.id, r);
    }
    for r in targets.values() {
        pool.insert(&r.id, r);
    }
    let pictures: Vec<Picture<'_>> = pool.values().map(|r| ctx.picture(r)).collect();
    let mut write: Vec<EvidenceRow> = Vec::new();
    for row in targets.values() {
        let mut flags = evidence::check(&ctx.facts(row));
        flags.extend(evidence::reuse(&ctx.picture(row), &pictures));
        let mut new = row.clone();
        new.flags = serde_json::to_string(&flags).map_err(Error::internal)?;
        new.flag_count = i32::try_from(flags.len()).unwrap_or(i32::MAX);
        new.checked = true;
        if stored.get(&row.id) != Some(&new) {
            write.push(new);
        }
    }
    let mut delete: Vec<String> = gone.into_iter().collect();
    delete.extend(write.iter().map(|r| r.id.clone()));
    if !delete.is_empty() {
        diesel::delete(photo_evidence::table.filter(photo_evidence::id.eq_any(&delete)))
            .execute(conn)?;
    }
    insert_all!(conn, photo_evidence::table, &write)?;
    Ok(())
}

/// Rows never checked hold only what the index was started with: their facts come from
/// their records. (Their records are live: deletions remove rows.)
fn rebuild_unchecked(conn: &mut DbConn, targets: &mut HashMap<String, EvidenceRow>) -> Result<()> {
    let ids: Vec<String> = targets
        .values()
        .filter(|r| !r.checked)
        .map(|r| r.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    for rec in crate::records::store::load(conn, PHOTO, &ids)? {
        if !rec.deleted {
            let row = from_record(&rec)?;
            targets.insert(row.id.clone(), row);
        }
    }
    Ok(())
}

/// The facts flags rest on, loaded at once for a set of photos.
struct Context<'f> {
    files: &'f Files,
    /// (entity, id) -> the subject record's fields, for subjects that have a time.
    subjects: HashMap<(String, String), Map<String, Value>>,
    /// household id -> its location, for registered households.
    homes: HashMap<String, Option<Place>>,
}

impl<'f> Context<'f> {
    fn load<'a>(
        conn: &mut DbConn,
        rows: impl Iterator<Item = &'a EvidenceRow> + Clone,
        files: &'f mut Files,
    ) -> Result<Context<'f>> {
        let timed: Vec<String> = rows
            .clone()
            .filter(|r| TIMED_SUBJECTS.iter().any(|(e, _)| *e == r.subject_entity))
            .map(|r| r.subject_id.clone())
            .collect();
        let mut subjects = HashMap::new();
        if !timed.is_empty() {
            let entities: Vec<&str> = TIMED_SUBJECTS.iter().map(|(e, _)| *e).collect();
            for (entity, id, data) in sync_records::table
                .filter(sync_records::entity.eq_any(&entities))
                .filter(sync_records::id.eq_any(&timed))
                .filter(sync_records::deleted.eq(false))
                .select((sync_records::entity, sync_records::id, sync_records::data))
                .load::<(String, String, String)>(conn)?
            {
                let fields: Map<String, Value> =
                    serde_json::from_str(&data).map_err(Error::internal)?;
                subjects.insert((entity, id), fields);
            }
        }
        files.load(conn, rows.clone().map(|r| r.sha256.as_str()))?;
        let mut ctx = Context {
            files,
            subjects,
            homes: HashMap::new(),
        };
        let mut ids: Vec<String> = rows.filter_map(|r| ctx.household_of(r)).collect();
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            ctx.homes = households::table
                .filter(households::id.eq_any(&ids))
                .select((households::id, households::lat, households::lng))
                .load::<(String, Option<f64>, Option<f64>)>(conn)?
                .into_iter()
                .map(|(id, lat, lng)| (id, lat.zip(lng).map(|(lat, lng)| Place { lat, lng })))
                .collect();
        }
        Ok(ctx)
    }

    fn subject(&self, r: &EvidenceRow) -> Option<&Map<String, Value>> {
        self.subjects
            .get(&(r.subject_entity.clone(), r.subject_id.clone()))
    }

    /// The household a photo concerns: its own field, or its visit's household.
    fn household_of(&self, r: &EvidenceRow) -> Option<String> {
        if r.subject_entity == "household" {
            return Some(r.subject_id.clone());
        }
        r.household_id
            .clone()
            .or_else(|| self.subject(r).and_then(|d| text(d, "household_id")))
    }

    fn facts(&self, r: &EvidenceRow) -> Facts {
        let exif = self.files.exif(&r.sha256);
        let subject = if r.subject_entity == "household" {
            // A photo of a household that is not registered proves nothing known.
            (!self.homes.contains_key(&r.subject_id)).then_some(None)
        } else if TIMED_SUBJECTS.iter().any(|(e, _)| *e == r.subject_entity) {
            Some(
                self.subject(r)
                    .and_then(|d| window_of(&r.subject_entity, d)),
            )
        } else {
            None
        };
        Facts {
            taken_at: r.taken_at.map(|t| t.and_utc()),
            app_place: r
                .lat
                .zip(r.lng)
                .map(|(lat, lng)| (Place { lat, lng }, r.accuracy_m)),
            exif_taken_at: exif.and_then(|e| {
                evidence::exif_instant(e.taken_at_local.as_deref()?, e.offset.as_deref())
            }),
            exif_place: exif.and_then(|e| {
                Some(Place {
                    lat: e.lat?,
                    lng: e.lon?,
                })
            }),
            household: r
                .household_id
                .as_deref()
                .map(|h| self.homes.get(h).copied().flatten()),
            subject,
            subject_entity: r.subject_entity.clone(),
        }
    }

    fn picture<'r>(&self, r: &'r EvidenceRow) -> Picture<'r> {
        Picture {
            photo_id: &r.id,
            subject_entity: &r.subject_entity,
            subject_id: &r.subject_id,
            household_id: r.household_id.as_deref(),
            sha256: &r.sha256,
            dhash: self.files.dhash(&r.sha256),
        }
    }
}

/// Records a file's perceptual hash and its bands.
pub fn set_dhash(conn: &mut DbConn, sha256: &str, dhash: i64) -> Result<()> {
    diesel::update(blobs::table.find(sha256))
        .set(blobs::dhash.eq(Some(dhash)))
        .execute(conn)?;
    diesel::delete(blob_hash_bands::table.filter(blob_hash_bands::sha256.eq(sha256)))
        .execute(conn)?;
    let rows: Vec<_> = evidence::bands(dhash)
        .iter()
        .map(|(band, value)| {
            (
                blob_hash_bands::band.eq(*band),
                blob_hash_bands::value.eq(*value),
                blob_hash_bands::sha256.eq(sha256),
            )
        })
        .collect();
    insert_all!(conn, blob_hash_bands::table, &rows)?;
    Ok(())
}

/// The photo records a scope reaches, as a condition on the index.
pub fn reached_by(
    scope: &Scope,
) -> Box<dyn BoxableExpression<photo_evidence::table, MultiBackend, SqlType = Bool>> {
    Box::new(
        path_in_scope(photo_evidence::region_path, scope)
            .or(path_in_scope(photo_evidence::reach_path, scope)),
    )
}

/// The region path of a photo record inside `scope`, made by one of `authors`, that names
/// this file; `None` if there is none.
pub fn named_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    sha256: &str,
    authors: &[String],
) -> Result<Option<String>> {
    Ok(photo_evidence::table
        .filter(photo_evidence::sha256.eq(sha256))
        .filter(photo_evidence::created_by.eq_any(authors))
        .filter(reached_by(scope))
        .select(photo_evidence::region_path)
        .first(conn)
        .optional()?)
}

/// Digests named by the latest `limit` photo records `user_id` made inside `scope`.
pub fn named_by(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let mut named: Vec<String> = photo_evidence::table
        .filter(photo_evidence::created_by.eq(user_id))
        .filter(reached_by(scope))
        .order(photo_evidence::created_at.desc())
        .limit(limit)
        .select(photo_evidence::sha256)
        .load(conn)?;
    named.sort();
    named.dedup();
    Ok(named)
}
