//! Field work on the server: the projector that turns synced records into facts and
//! deadlines, and what the field-work endpoints read.
//!
//! The projector reads the change feed after its watermark, in pages, each page in one
//! write transaction that holds the feed lock: it projects the records into
//! [`facts`], works out which sources (a case, a pair, a campaign…) the changes touch,
//! derives their clocks again with the pure rules, replaces them, and moves the watermark.
//! Pushes never wait for it: it runs after them (in the background, and before any read of
//! deadlines, so a reader always sees its own writes), and since every rule reads the
//! whole current state of its records, the result is the same whatever order they came
//! in. Time-driven clocks (a week that ended, a new month) are derived again hourly.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::calendar::queries as calendar;
use crate::campaigns::queries as campaigns;
use crate::deadlines::derive::{Ctx, Source};
use crate::deadlines::facts::FactRow;
use crate::deadlines::projections::{self, Moves, PROJECTIONS};
use crate::deadlines::queries as deadlines;
use crate::infra::db::moved::{self, Subject};
use crate::infra::db::schema::{field_facts, field_work_progress, sync_records};
use crate::infra::db::{Db, DbConn, feed};
use crate::infra::error::Result;
use crate::records::store::RecordRow;

/// Records projected per transaction.
pub const PAGE: i64 = 500;
/// Time-driven clocks are derived again this often.
pub const REFRESH_EVERY: Duration = Duration::hours(1);

fn watermark(conn: &mut DbConn) -> Result<(i64, Option<NaiveDateTime>)> {
    Ok(field_work_progress::table
        .find(1)
        .select((
            field_work_progress::projected_through,
            field_work_progress::refreshed_at,
        ))
        .first(conn)?)
}

fn str_of<'a>(d: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    d.get(k).and_then(Value::as_str)
}

/// Subjects of facts of `entity` with these ids (e.g. the case of an attempt).
fn subjects_of(conn: &mut DbConn, entity: &str, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(field_facts::table
        .filter(field_facts::entity.eq(entity))
        .filter(field_facts::id.eq_any(ids))
        .select(field_facts::subject_id)
        .load(conn)?)
}

/// Ids of facts of `entity` belonging to these subjects (e.g. the cases of a child).
fn ids_with_subjects(conn: &mut DbConn, entity: &str, subjects: &[String]) -> Result<Vec<String>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    Ok(field_facts::table
        .filter(field_facts::entity.eq(entity))
        .filter(field_facts::subject_id.eq_any(subjects))
        .select(field_facts::id)
        .load(conn)?)
}

/// The sources these facts (old and new states of the changed records) touch.
fn sources_of(
    conn: &mut DbConn,
    changed: &[FactRow],
    photo_subject_kinds: &[(String, String)],
) -> Result<BTreeSet<Source>> {
    let mut s = BTreeSet::new();
    let mut children: Vec<String> = Vec::new();
    let mut campaign_paths: Vec<&str> = Vec::new();
    for f in changed {
        let Some(p) = projections::of(&f.entity) else {
            continue;
        };
        for m in p.moves {
            match *m {
                Moves::Own(source) => {
                    s.insert(source(f.id.clone()));
                }
                Moves::Subject(source, state) => {
                    if state.is_none_or(|st| f.state == st) {
                        s.insert(source(f.subject_id.clone()));
                    }
                }
                Moves::CasesOfOwnChild => children.push(f.id.clone()),
                Moves::CasesOfSubjectChild => children.push(f.subject_id.clone()),
                Moves::Campaigns => campaign_paths.push(&f.region_path),
            }
        }
    }
    // A photo is evidence of what it names: it moves what that record belongs to, as a
    // change of the record would (its state unknown here, so only what any state moves).
    for p in PROJECTIONS.iter().filter(|p| p.photos_are_evidence) {
        let named: Vec<String> = photo_subject_kinds
            .iter()
            .filter(|(kind, _)| kind == p.entity)
            .map(|(_, id)| id.clone())
            .collect();
        if named.is_empty() {
            continue;
        }
        let subjects = subjects_of(conn, p.entity, &named)?;
        for m in p.moves {
            match *m {
                Moves::Subject(source, None) => {
                    s.extend(subjects.iter().cloned().map(source));
                }
                Moves::CasesOfSubjectChild => children.extend(subjects.iter().cloned()),
                _ => {}
            }
        }
    }
    children.sort();
    children.dedup();
    for case in ids_with_subjects(conn, "dropout_case", &children)? {
        s.insert(Source::Case(case));
    }
    if !campaign_paths.is_empty() {
        for c in campaigns::covering(conn, &campaign_paths)? {
            s.insert(Source::Campaign(c.id));
        }
    }
    Ok(s)
}

/// Derives and stores the clocks of these sources.
pub fn rederive(
    conn: &mut DbConn,
    sources: &BTreeSet<Source>,
    now: NaiveDateTime,
) -> Result<usize> {
    if sources.is_empty() {
        return Ok(0);
    }
    let cal = calendar::load(conn)?;
    let derived = crate::deadlines::derive::derive(conn, &Ctx { now, cal: &cal }, sources)?;
    deadlines::replace(conn, &derived, now)
}

/// Follows one page of the online changes noted since (applications decided, campaigns
/// started or moved): derives their clocks again. Returns how many notes it took.
pub fn follow_moved(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
    feed::take(conn, 0)?;
    let waiting = moved::waiting(conn, PAGE)?;
    let sources: BTreeSet<Source> = waiting
        .moved
        .into_iter()
        .map(|(subject, id)| match subject {
            Subject::Application => Source::Application(id),
            Subject::Campaign => Source::Campaign(id),
        })
        .collect();
    rederive(conn, &sources, now)?;
    moved::forget(conn, &waiting.notes)?;
    Ok(waiting.notes.len())
}

/// Projects one page of the feed; returns how many records it read.
pub fn project_page(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize> {
    feed::take(conn, 0)?;
    let (through, _) = watermark(conn)?;
    let rows: Vec<RecordRow> = sync_records::table
        .filter(sync_records::seq.gt(through))
        .order(sync_records::seq.asc())
        .limit(PAGE)
        .select(RecordRow::as_select())
        .load(conn)?;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(0);
    };
    let mut changed: Vec<FactRow> = Vec::new();
    let mut fresh: Vec<FactRow> = Vec::new();
    let mut photo_subjects: Vec<(String, String)> = Vec::new();
    for entity in rows
        .iter()
        .map(|r| r.entity.as_str())
        .collect::<BTreeSet<_>>()
    {
        let ids: Vec<&str> = rows
            .iter()
            .filter(|r| r.entity == entity)
            .map(|r| r.id.as_str())
            .collect();
        for chunk in ids.chunks(500) {
            changed.extend(
                field_facts::table
                    .filter(field_facts::entity.eq(entity))
                    .filter(field_facts::id.eq_any(chunk))
                    .select(FactRow::as_select())
                    .load(conn)?,
            );
        }
    }
    for r in &rows {
        let data = crate::deadlines::facts::data_of(r)?;
        if r.entity == "photo"
            && let (Some(kind), Some(id)) =
                (str_of(&data, "subject_entity"), str_of(&data, "subject_id"))
        {
            photo_subjects.push((kind.to_owned(), id.to_owned()));
        }
        if let Some(f) = crate::deadlines::facts::project(r, &data) {
            fresh.push(f);
        }
    }
    crate::deadlines::facts::write(conn, &fresh)?;
    changed.extend(fresh);
    let sources = sources_of(conn, &changed, &photo_subjects)?;
    rederive(conn, &sources, now)?;
    diesel::update(field_work_progress::table.find(1))
        .set(field_work_progress::projected_through.eq(last))
        .execute(conn)?;
    Ok(rows.len())
}

/// Every source with clocks that move with time alone: cases with a deadline notice,
/// children taught at home, pairs, employment plans, applications on notice, campaigns.
pub fn time_driven_sources(conn: &mut DbConn) -> Result<BTreeSet<Source>> {
    let live = |entity: &'static str| {
        field_facts::table
            .filter(field_facts::entity.eq(entity))
            .filter(field_facts::deleted.eq(false))
    };
    let mut s = BTreeSet::new();
    let noticed: Vec<String> = live("dropout_document")
        .filter(field_facts::state.eq("return_deadline_notice"))
        .select(field_facts::subject_id)
        .load(conn)?;
    for case in ids_with_subjects(conn, "dropout_case", &noticed)? {
        s.insert(Source::Case(case));
    }
    for id in live("child")
        .filter(field_facts::state.eq("home_teaching"))
        .select(field_facts::id)
        .load::<String>(conn)?
    {
        s.insert(Source::HomeTeaching(id));
    }
    for id in live("pair").select(field_facts::id).load::<String>(conn)? {
        s.insert(Source::Pair(id));
    }
    for id in live("employment_plan")
        .select(field_facts::id)
        .load::<String>(conn)?
    {
        s.insert(Source::Plan(id));
    }
    Ok(s)
}

/// Brings facts and deadlines up to date with the feed, then, if an hour has passed since
/// the last time, derives the time-driven clocks again. Cheap when nothing is waiting.
pub async fn catch_up(db: &Db) -> Result<()> {
    let behind = db
        .read(|c| {
            let (through, refreshed) = watermark(c)?;
            let head: Option<i64> = sync_records::table
                .select(diesel::dsl::max(sync_records::seq))
                .first(c)?;
            let stale = refreshed.is_none_or(|r| crate::infra::clock::now() - r >= REFRESH_EVERY);
            Ok((head.is_some_and(|h| h > through), moved::any(c)?, stale))
        })
        .await?;
    if behind.0 {
        while db
            .write(|c| project_page(c, crate::infra::clock::now()))
            .await?
            == PAGE as usize
        {}
    }
    if behind.1 {
        while db
            .write(|c| follow_moved(c, crate::infra::clock::now()))
            .await?
            == PAGE as usize
        {}
    }
    if behind.2 {
        refresh(db).await?;
    }
    Ok(())
}

/// Derives every time-driven clock again, a few hundred sources per transaction.
pub async fn refresh(db: &Db) -> Result<()> {
    let sources: Vec<Source> = db
        .read(|c| Ok(time_driven_sources(c)?.into_iter().collect()))
        .await?;
    for chunk in sources.chunks(200) {
        let set: BTreeSet<Source> = chunk.iter().cloned().collect();
        db.write(move |c| {
            feed::take(c, 0)?;
            rederive(c, &set, crate::infra::clock::now())
        })
        .await?;
    }
    db.write(|c| {
        diesel::update(field_work_progress::table.find(1))
            .set(field_work_progress::refreshed_at.eq(Some(crate::infra::clock::now())))
            .execute(c)?;
        Ok(())
    })
    .await
}
