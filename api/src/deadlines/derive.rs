//! Deriving clocks: for each source (a case, a child taught at home, a pair, a plan, a
//! household's look-backs, a correction, a photo subject, a campaign) load what its rules
//! read, a few queries for the whole batch, and run the pure rules of `crate::domain`.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use crate::campaigns::queries::CampaignRow;
use crate::campaigns::rules::{CampaignKind, Phase, Progress};
use crate::campaigns::{queries as campaigns, rules as campaign};
use crate::deadlines::current::Current;
use crate::deadlines::facts;
use crate::deadlines::facts::FactRow;
use crate::deadlines::places::Places;
pub use crate::deadlines::source::{Kind, Source};
use crate::domain::calendar::Calendar;
use crate::domain::deadline::{Clock, Owner, china_date};
use crate::dropout::{home_teaching, rules as dropout};
use crate::followup::{employment, pairing, visits};
use crate::infra::db::DbConn;
use crate::infra::db::schema::{field_facts, household_helpers, households};
use crate::infra::error::Result;
use crate::records::store::RecordRow;
use crate::records::typed::{
    self, Child, Correction, DropoutCase, DropoutDocument, EmploymentPlan, Pair, Photo,
    RetrievalAttempt, TeachingSession, Visit,
};

/// How one kind of source derives its clocks: for all the ids asked, a few queries for
/// the whole batch, then the pure rules.
type DeriveAll = fn(&mut DbConn, &Ctx<'_>, &[String]) -> Result<Vec<(String, Vec<Clock>)>>;

/// Each kind of source's derivation.
fn derivation(kind: Kind) -> DeriveAll {
    match kind {
        Kind::Case => cases,
        Kind::HomeTeaching => home_teaching_children,
        Kind::Pair => pairs,
        Kind::Plan => plans,
        Kind::LookBacks => look_backs,
        Kind::Correction => corrections,
        Kind::PhotoSubject => photo_subjects,
        Kind::Campaign => campaigns_progress,
        Kind::Application => applications,
    }
}

/// Everything a derivation needs besides the database.
pub struct Ctx<'a> {
    pub now: NaiveDateTime,
    pub cal: &'a Calendar,
}

/// Each source's clocks, in the order asked, empty for a source that derived none (its
/// earlier clocks are then cancelled).
fn per_source(
    ids: &[String],
    source: fn(String) -> Source,
    mut by_id: HashMap<String, Vec<Clock>>,
) -> Vec<(String, Vec<Clock>)> {
    ids.iter()
        .map(|id| {
            (
                source(id.clone()).key(),
                by_id.remove(id).unwrap_or_default(),
            )
        })
        .collect()
}

fn ids_of(rows: &[FactRow]) -> Vec<String> {
    rows.iter().map(|f| f.id.clone()).collect()
}

/// Derives the clocks of every source; each source's list replaces what it had.
pub fn derive(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    sources: &BTreeSet<Source>,
) -> Result<Vec<(String, Vec<Clock>)>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let ids: Vec<String> = sources
            .iter()
            .filter(|s| s.kind() == kind)
            .map(|s| s.id().to_owned())
            .collect();
        out.extend(derivation(kind)(conn, ctx, &ids)?);
    }
    Ok(out)
}

/// The entry-process clocks of applications, from their status changes as the audit log
/// records them (the append-only history of every step).
fn applications(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    use crate::applications::rules as application;
    use crate::applications::rules::ReviewOffices;
    use crate::applications::rules::Status;
    use crate::infra::db::schema::applications as apps;
    use crate::infra::db::schema::audit_log;
    use crate::infra::db::schema::programs;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, i32)> = apps::table
        .inner_join(programs::table)
        .filter(apps::id.eq_any(ids))
        .select((apps::id, apps::region_path, programs::notice_workdays))
        .load(conn)?;
    let history: Vec<(String, NaiveDateTime, String)> = audit_log::table
        .filter(audit_log::entity.eq("application"))
        .filter(audit_log::entity_id.eq_any(ids))
        .order((audit_log::at.asc(), audit_log::id.asc()))
        .select((audit_log::entity_id, audit_log::at, audit_log::changes))
        .load(conn)?;
    let places = Places::load(conn, rows.iter().map(|(_, p, _)| p.as_str()), &[])?;
    let mut out = Vec::new();
    for (id, path, notice_workdays) in &rows {
        let transitions: Vec<(NaiveDateTime, Status)> = history
            .iter()
            .filter(|(e, _, _)| e == id)
            .filter_map(|(_, at, changes)| {
                let v: Value = serde_json::from_str(changes).ok()?;
                Some((
                    *at,
                    Status::parse(v.get("status")?.get("after")?.as_str()?)?,
                ))
            })
            .collect();
        let county = places
            .ancestor(path, "county")
            .unwrap_or_else(|| path.clone());
        let offices = ReviewOffices {
            region_path: path,
            grassroots_path: path,
            county_path: &county,
        };
        let clocks = application::clocks(
            id,
            &transitions,
            u32::try_from(*notice_workdays).unwrap_or(5),
            &offices,
            ctx.cal,
            ctx.now,
        );
        out.push((Source::Application(id.clone()).key(), clocks));
    }
    Ok(out)
}

/// A dropout case with its documents, attempts and their photos, as the rules read it.
pub fn load_cases(
    conn: &mut DbConn,
    _: Current,
    ids: &[String],
) -> Result<(Vec<dropout::Case>, Places)> {
    let case_rows = typed::load::<DropoutCase>(conn, ids)?;
    let live: Vec<&(RecordRow, DropoutCase)> =
        case_rows.iter().filter(|(r, _)| !r.deleted).collect();
    let child_ids: Vec<String> = live
        .iter()
        .filter_map(|(_, d)| d.child_id.clone())
        .collect();
    let case_ids: Vec<String> = live.iter().map(|(r, _)| r.id.clone()).collect();
    let children: HashMap<String, Child> = typed::load::<Child>(conn, &child_ids)?
        .into_iter()
        .map(|(r, d)| (r.id, d))
        .collect();
    let attempt_facts = facts::of_subjects(conn, "retrieval_attempt", &case_ids)?;
    let attempts = typed::load::<RetrievalAttempt>(conn, &ids_of(&attempt_facts))?;
    let doc_facts = facts::of_subjects(conn, "dropout_document", &child_ids)?;
    let docs = typed::load::<DropoutDocument>(conn, &ids_of(&doc_facts))?;
    let evidence: Vec<String> = ids_of(&attempt_facts)
        .into_iter()
        .chain(ids_of(&doc_facts))
        .collect();
    let photos = facts::photo_counts(conn, &evidence)?;
    let mut paths: Vec<String> = live.iter().map(|(r, _)| r.region_path.clone()).collect();
    paths.extend(
        live.iter()
            .filter_map(|(_, d)| d.school_id.as_deref())
            .map(|s| format!("/{s}/")),
    );
    let places = Places::load(conn, paths.iter().map(String::as_str), &[])?;
    let mut out = Vec::new();
    for (r, d) in live {
        let child_id = d.child_id.clone().unwrap_or_default();
        out.push(dropout::Case {
            id: r.id.clone(),
            child_id: child_id.clone(),
            region_path: r.region_path.clone(),
            school_path: d.school_id.as_deref().and_then(|s| places.path_of(s)),
            opened_at: d.opened_at.unwrap_or(r.created_at),
            declared_stage: d.stage.clone(),
            closed: d.state.as_deref() == Some("closed"),
            closed_at: d.closed_at,
            outcome: d.outcome.clone(),
            team: d.team.clone(),
            studying_elsewhere: d.studying_elsewhere.clone(),
            has_student_status: children.get(&child_id).and_then(|c| c.has_student_status),
            documents: docs
                .iter()
                .filter(|(dr, dd)| {
                    !dr.deleted
                        && dd.child_id.as_deref() == Some(child_id.as_str())
                        && dd.case_id.as_deref().is_none_or(|c| c == r.id)
                })
                .filter_map(|(dr, dd)| {
                    Some(dropout::Document {
                        id: dr.id.clone(),
                        kind: dd.kind.clone()?,
                        issued_on: dd.issued_on?,
                        deadline_on: dd.deadline_on,
                        issued_by: dd.issued_by.clone().unwrap_or_default(),
                        photos: photos.get(&dr.id).copied().unwrap_or(0),
                    })
                })
                .collect(),
            attempts: attempts
                .iter()
                .filter(|(ar, ad)| !ar.deleted && ad.case_id.as_deref() == Some(r.id.as_str()))
                .filter_map(|(ar, ad)| {
                    Some(dropout::Attempt {
                        id: ar.id.clone(),
                        at: ad.attempted_at?,
                        method: ad.method.clone().unwrap_or_default(),
                        party: ad.party.clone(),
                        result: ad.result.clone().unwrap_or_default(),
                        photos: photos.get(&ar.id).copied().unwrap_or(0),
                    })
                })
                .collect(),
        });
    }
    Ok((out, places))
}

fn cases(conn: &mut DbConn, ctx: &Ctx<'_>, ids: &[String]) -> Result<Vec<(String, Vec<Clock>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (loaded, places) = load_cases(conn, Current::caught_up(), ids)?;
    // The case's fact carries its judged close-out, so that metrics count only closings
    // with their evidence.
    let mut by_state: HashMap<&'static str, Vec<String>> = HashMap::new();
    for c in &loaded {
        let state = match dropout::evaluate(c).close_out {
            dropout::CloseOut::Open => "open",
            dropout::CloseOut::Confirmed { outcome } if outcome == "returned" => "closed_returned",
            dropout::CloseOut::Confirmed { .. } => "closed_other",
            dropout::CloseOut::Unconfirmed { .. } => "closed_unconfirmed",
        };
        by_state.entry(state).or_default().push(c.id.clone());
    }
    for (state, case_ids) in by_state {
        diesel::update(
            field_facts::table
                .filter(field_facts::entity.eq("dropout_case"))
                .filter(field_facts::id.eq_any(case_ids)),
        )
        .set(field_facts::state.eq(state))
        .execute(conn)?;
    }
    let mut by_id: HashMap<String, Vec<Clock>> = HashMap::new();
    for c in &loaded {
        let township = places
            .ancestor(&c.region_path, "township")
            .unwrap_or_else(|| c.region_path.clone());
        by_id.insert(
            c.id.clone(),
            dropout::clocks(c, ctx.now, ctx.cal, &township),
        );
    }
    Ok(per_source(ids, Source::Case, by_id))
}

/// Children taught at home, with their agreement, sessions and the sessions' photos.
pub fn load_home_teaching(
    conn: &mut DbConn,
    _: Current,
    ids: &[String],
) -> Result<Vec<home_teaching::Child>> {
    let children = typed::load::<Child>(conn, ids)?;
    let live: Vec<&(RecordRow, Child)> = children
        .iter()
        .filter(|(r, d)| !r.deleted && d.enrollment.as_deref() == Some("home_teaching"))
        .collect();
    let child_ids: Vec<String> = live.iter().map(|(r, _)| r.id.clone()).collect();
    let agreements = facts::of_subjects(conn, "dropout_document", &child_ids)?;
    let session_facts = facts::of_subjects(conn, "teaching_session", &child_ids)?;
    let sessions = typed::load::<TeachingSession>(conn, &ids_of(&session_facts))?;
    let photos = facts::photo_counts(conn, &ids_of(&session_facts))?;
    let schools: Vec<String> = live
        .iter()
        .filter_map(|(_, d)| d.school_id.as_deref())
        .map(|s| format!("/{s}/"))
        .collect();
    let places = Places::load(conn, schools.iter().map(String::as_str), &[])?;
    Ok(live
        .into_iter()
        .map(|(r, d)| home_teaching::Child {
            id: r.id.clone(),
            name: d.name.clone().unwrap_or_default(),
            region_path: r.region_path.clone(),
            school_path: d.school_id.as_deref().and_then(|s| places.path_of(s)),
            agreement_on: agreements
                .iter()
                .filter(|f| f.subject_id == r.id && f.state == "home_teaching_agreement")
                .filter_map(|f| f.occurred_at.map(china_date))
                .min(),
            has_student_status: d.has_student_status.unwrap_or(false),
            sessions: sessions
                .iter()
                .filter(|(sr, sd)| !sr.deleted && sd.child_id.as_deref() == Some(r.id.as_str()))
                .filter_map(|(sr, sd)| {
                    Some(home_teaching::Session {
                        id: sr.id.clone(),
                        held_at: sd.held_at?,
                        class_hours: sd.class_hours.unwrap_or(0.0),
                        lesson_plan_signed: sd.lesson_plan_signed.unwrap_or(false),
                        photos: photos.get(&sr.id).copied().unwrap_or(0),
                    })
                })
                .collect(),
        })
        .collect())
}

fn home_teaching_children(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let today = china_date(ctx.now);
    let by_id: HashMap<String, Vec<Clock>> = load_home_teaching(conn, Current::caught_up(), ids)?
        .iter()
        .map(|c| (c.id.clone(), home_teaching::clocks(c, today)))
        .collect();
    Ok(per_source(ids, Source::HomeTeaching, by_id))
}

/// Pairs with their sessions, as the rules read them.
pub fn load_pairs(conn: &mut DbConn, ids: &[String]) -> Result<Vec<pairing::Pair>> {
    let rows = typed::load::<Pair>(conn, ids)?;
    let live: Vec<&(RecordRow, Pair)> = rows.iter().filter(|(r, _)| !r.deleted).collect();
    let pair_ids: Vec<String> = live.iter().map(|(r, _)| r.id.clone()).collect();
    let sessions = facts::of_subjects(conn, "pair_session", &pair_ids)?;
    let teachers: Vec<String> = live
        .iter()
        .filter_map(|(_, d)| d.teacher_id.clone())
        .collect();
    let places = Places::load(conn, std::iter::empty(), &teachers)?;
    Ok(live
        .into_iter()
        .filter_map(|(r, d)| {
            let teacher = d.teacher_id.clone()?;
            Some(pairing::Pair {
                id: r.id.clone(),
                region_path: r.region_path.clone(),
                teacher_region_path: places.user_path(&teacher, &r.region_path),
                teacher_id: teacher,
                child_id: d.child_id.clone().unwrap_or_default(),
                program: d.program.clone().unwrap_or_default(),
                difficulty: d.difficulty.clone(),
                starts_on: d.starts_on?,
                ends_on: d.ends_on,
                sessions: sessions
                    .iter()
                    .filter(|f| f.subject_id == r.id)
                    .filter_map(|f| Some((f.state.clone(), f.occurred_at?)))
                    .collect(),
            })
        })
        .collect())
}

fn pairs(conn: &mut DbConn, ctx: &Ctx<'_>, ids: &[String]) -> Result<Vec<(String, Vec<Clock>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let today = china_date(ctx.now);
    let by_id: HashMap<String, Vec<Clock>> = load_pairs(conn, ids)?
        .iter()
        .map(|p| (p.id.clone(), pairing::clocks(p, today)))
        .collect();
    Ok(per_source(ids, Source::Pair, by_id))
}

fn plans(conn: &mut DbConn, ctx: &Ctx<'_>, ids: &[String]) -> Result<Vec<(String, Vec<Clock>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = typed::load::<EmploymentPlan>(conn, ids)?;
    let live: Vec<&(RecordRow, EmploymentPlan)> = rows.iter().filter(|(r, _)| !r.deleted).collect();
    let plan_ids: Vec<String> = live.iter().map(|(r, _)| r.id.clone()).collect();
    let events = facts::of_subjects(conn, "employment_event", &plan_ids)?;
    let helpers: Vec<String> = live
        .iter()
        .filter_map(|(_, d)| d.helper_id.clone())
        .collect();
    let places = Places::load(conn, std::iter::empty(), &helpers)?;
    let mut by_id: HashMap<String, Vec<Clock>> = HashMap::new();
    for (r, d) in live {
        let (Some(category), Some(helper), Some(opened_at)) = (
            d.category.as_deref().and_then(employment::Category::parse),
            d.helper_id.as_deref(),
            d.opened_at,
        ) else {
            continue;
        };
        let plan = employment::Plan {
            id: r.id.clone(),
            region_path: r.region_path.clone(),
            category,
            helper_id: helper.to_owned(),
            helper_region_path: places.user_path(helper, &r.region_path),
            person_name: d.person_name.clone().unwrap_or_default(),
            opened_at,
            stable_on: d.stable_on,
            events: events
                .iter()
                .filter(|f| f.subject_id == r.id)
                .filter_map(|f| Some((f.state.clone(), f.occurred_at?)))
                .collect(),
        };
        by_id.insert(r.id.clone(), employment::clocks(&plan, ctx.now, ctx.cal));
    }
    Ok(per_source(ids, Source::Plan, by_id))
}

/// A stored visit as the look-back rules read it (`None`: deleted, or no instant).
pub fn visit_of(r: &RecordRow, d: &Visit) -> Option<visits::Visit> {
    if r.deleted {
        return None;
    }
    Some(visits::Visit {
        id: r.id.clone(),
        household_id: d.household_id.clone().unwrap_or_default(),
        helper_id: d.helper_id.clone().unwrap_or_default(),
        kind: d.kind.clone().unwrap_or_default(),
        visited_at: d.visited_at?,
        basic_needs: d
            .basic_needs
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    })
}

/// Visits read per query while looking for the visits that meet renewed help.
const LATER_PAGE: i64 = 500;

/// The visits the look-back rules of these households need, with the region of each
/// household: its look-back visits that found an item not met, and for each of them the
/// first later visit that finds every failing item met, if there is one. Renewed help is
/// derived from these exactly as from every visit of the household (a look-back's help is
/// met by the earliest later visit that finds its items met, and that visit is here), but
/// a household visited thousands of times without a failing look-back costs one indexed
/// query that finds nothing, and one with open help costs a walk through its later visits
/// only, in pages, until every look-back is met.
pub fn look_back_visits(
    conn: &mut DbConn,
    households: &[String],
) -> Result<HashMap<String, (String, Vec<visits::Visit>)>> {
    let mut out: HashMap<String, (String, Vec<visits::Visit>)> = HashMap::new();
    if households.is_empty() {
        return Ok(out);
    }
    let mut look_facts: Vec<FactRow> = Vec::new();
    for chunk in households.chunks(500) {
        look_facts.extend(
            field_facts::table
                .filter(field_facts::entity.eq("visit"))
                .filter(field_facts::subject_id.eq_any(chunk))
                .filter(field_facts::deleted.eq(false))
                .filter(field_facts::state.eq("look_back"))
                .select(FactRow::as_select())
                .load(conn)?,
        );
    }
    // (look-back, its failing items), waiting for a later visit that meets it.
    let mut open: Vec<(visits::Visit, Vec<String>)> = Vec::new();
    for (r, d) in typed::load::<Visit>(conn, &ids_of(&look_facts))? {
        let Some(v) = visit_of(&r, &d).filter(|v| v.kind == "look_back") else {
            continue;
        };
        let failing: Vec<String> = v.failing().into_iter().map(str::to_owned).collect();
        if failing.is_empty() {
            continue;
        }
        let entry = out
            .entry(v.household_id.clone())
            .or_insert_with(|| (r.region_path.clone(), Vec::new()));
        entry.1.push(v.clone());
        open.push((v, failing));
    }
    let Some(from) = open.iter().map(|(v, _)| v.visited_at).min() else {
        return Ok(out);
    };
    let waiting: Vec<String> = out.keys().cloned().collect();
    // Later visits of those households, in the order they were made (the facts' time is
    // the visit's instant), until every look-back has found the visit that meets it.
    let mut after: Option<(NaiveDateTime, String)> = None;
    while !open.is_empty() {
        let mut q = field_facts::table
            .filter(field_facts::entity.eq("visit"))
            .filter(field_facts::subject_id.eq_any(&waiting))
            .filter(field_facts::deleted.eq(false))
            .filter(field_facts::occurred_at.ge(from))
            .order((field_facts::occurred_at.asc(), field_facts::id.asc()))
            .select((field_facts::id, field_facts::occurred_at))
            .limit(LATER_PAGE)
            .into_boxed();
        if let Some((t, id)) = &after {
            q = q.filter(
                field_facts::occurred_at.gt(*t).or(field_facts::occurred_at
                    .eq(*t)
                    .and(field_facts::id.gt(id.clone()))),
            );
        }
        let page: Vec<(String, Option<NaiveDateTime>)> = q.load(conn)?;
        let Some((last_id, Some(last_at))) = page.last().cloned() else {
            break;
        };
        let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
        let mut later: Vec<visits::Visit> = typed::load::<Visit>(conn, &ids)?
            .iter()
            .filter_map(|(r, d)| visit_of(r, d))
            .collect();
        later.sort_by_key(|v| v.visited_at);
        for w in later {
            let before = open.len();
            open.retain(|(v, failing)| {
                let failing: Vec<&str> = failing.iter().map(String::as_str).collect();
                !w.meets(v, &failing)
            });
            if open.len() < before
                && let Some(entry) = out.get_mut(&w.household_id)
                && !entry.1.iter().any(|v| v.id == w.id)
            {
                entry.1.push(w);
            }
        }
        if (page.len() as i64) < LATER_PAGE {
            break;
        }
        after = Some((last_at, last_id));
    }
    Ok(out)
}

fn look_backs(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    households: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    if households.is_empty() {
        return Ok(Vec::new());
    }
    let per_household = look_back_visits(conn, households)?;
    let helpers: Vec<String> = per_household
        .values()
        .flat_map(|(_, vs)| vs.iter().map(|v| v.helper_id.clone()))
        .collect();
    let places = Places::load(conn, std::iter::empty(), &helpers)?;
    Ok(households
        .iter()
        .map(|h| {
            let clocks = per_household
                .get(h)
                .map(|(region, vs)| {
                    visits::renewed_help(vs, region, |u| places.user_path(u, region), ctx.cal)
                })
                .unwrap_or_default();
            (Source::LookBacks(h.clone()).key(), clocks)
        })
        .collect())
}

fn corrections(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = typed::load::<Correction>(conn, ids)?;
    let places = Places::load(conn, rows.iter().map(|(r, _)| r.region_path.as_str()), &[])?;
    let mut by_id: HashMap<String, Vec<Clock>> = HashMap::new();
    for (r, d) in rows.iter().filter(|(r, _)| !r.deleted) {
        let village = places
            .ancestor(&r.region_path, "village")
            .unwrap_or_else(|| r.region_path.clone());
        let township = places
            .ancestor(&r.region_path, "township")
            .unwrap_or_else(|| village.clone());
        let county = places
            .ancestor(&r.region_path, "county")
            .unwrap_or_else(|| township.clone());
        let c = visits::Correction {
            id: r.id.clone(),
            region_path: r.region_path.clone(),
            village_path: village,
            township_path: township,
            county_path: county,
            // When the proposal was made on the phone, not when it arrived.
            proposed_at: stamped_at(r, "proposed_value").unwrap_or(r.created_at),
            status: d.review_status.clone().unwrap_or_else(|| "pending".into()),
            village_decided_at: d.village_decided_at,
            township_decided_at: d.township_decided_at,
            county_decided_at: d.county_decided_at,
        };
        by_id.insert(r.id.clone(), visits::correction_clocks(&c, ctx.cal));
    }
    Ok(per_source(ids, Source::Correction, by_id))
}

/// When a field was last set, by the hybrid clock of the change that set it.
fn stamped_at(r: &RecordRow, field: &str) -> Option<NaiveDateTime> {
    let stamps: Value = serde_json::from_str(&r.stamps).ok()?;
    let hlc: bangfu_sync::Hlc = stamps.get(field)?.get("hlc")?.as_str()?.parse().ok()?;
    chrono::DateTime::from_timestamp_millis(i64::try_from(hlc.millis).ok()?).map(|t| t.naive_utc())
}

fn photo_subjects(
    conn: &mut DbConn,
    ctx: &Ctx<'_>,
    subjects: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let photo_facts = facts::of_subjects(conn, "photo", subjects)?;
    let rejected: Vec<String> = photo_facts
        .iter()
        .filter(|f| f.state == "rejected")
        .map(|f| f.id.clone())
        .collect();
    let rows = typed::load::<Photo>(conn, &rejected)?;
    let authors: Vec<String> = rows
        .iter()
        .filter_map(|(r, _)| r.created_by.clone())
        .collect();
    let places = Places::load(conn, std::iter::empty(), &authors)?;
    let mut by_subject: HashMap<String, Vec<Clock>> = HashMap::new();
    for (r, d) in &rows {
        let subject = d.subject_id.clone().unwrap_or_default();
        let (Some(author), Some(rejected_at)) =
            (r.created_by.clone(), stamped_at(r, "review_status"))
        else {
            continue;
        };
        let replacements: Vec<NaiveDateTime> = photo_facts
            .iter()
            .filter(|f| f.subject_id == subject && f.id != r.id && f.state != "rejected")
            .filter_map(|f| f.occurred_at)
            .collect();
        let owner = Owner::User {
            region_path: places.user_path(&author, &r.region_path),
            id: author,
        };
        let rejected = visits::RejectedPhoto {
            photo_id: &r.id,
            region_path: &r.region_path,
            author: owner,
            subject: (d.subject_entity.as_deref().unwrap_or_default(), &subject),
            rejected_at,
            reason: d.review_reason.as_deref(),
        };
        by_subject
            .entry(subject.clone())
            .or_default()
            .push(visits::photo_rework(rejected, &replacements, ctx.cal));
    }
    Ok(subjects
        .iter()
        .map(|s| {
            (
                Source::PhotoSubject(s.clone()).key(),
                by_subject.remove(s).unwrap_or_default(),
            )
        })
        .collect())
}

/// Per helper: (assigned households, visited ones, when the last of them first was), for
/// active households under the campaign's region, visits by that helper in the window.
pub fn helper_progress(
    conn: &mut DbConn,
    _: Current,
    c: &CampaignRow,
    window: (NaiveDateTime, NaiveDateTime),
) -> Result<HashMap<String, Progress>> {
    let prefix = crate::infra::db::scoped::like_prefix(&c.region_path);
    let assigned: Vec<(String, String)> = household_helpers::table
        .inner_join(households::table)
        .filter(households::path.like(&prefix).escape('\\'))
        .filter(households::status.eq("active"))
        .select((household_helpers::user_id, households::id))
        .load(conn)?;
    let first_visits: Vec<(String, String, Option<NaiveDateTime>)> = field_facts::table
        .filter(field_facts::entity.eq("visit"))
        .filter(field_facts::deleted.eq(false))
        .filter(field_facts::region_path.like(&prefix).escape('\\'))
        .filter(field_facts::occurred_at.ge(window.0))
        .filter(field_facts::occurred_at.le(window.1))
        .group_by((field_facts::actor_id, field_facts::subject_id))
        .select((
            field_facts::actor_id,
            field_facts::subject_id,
            diesel::dsl::min(field_facts::occurred_at),
        ))
        .load(conn)?;
    let visited: HashMap<(&str, &str), NaiveDateTime> = first_visits
        .iter()
        .filter_map(|(a, s, t)| Some(((a.as_str(), s.as_str()), (*t)?)))
        .collect();
    let mut out: HashMap<String, Progress> = HashMap::new();
    for (helper, household) in &assigned {
        let p = out.entry(helper.clone()).or_insert(Progress {
            total: 0,
            done: 0,
            completed_at: None,
        });
        p.total += 1;
        if let Some(t) = visited.get(&(helper.as_str(), household.as_str())) {
            p.done += 1;
            p.completed_at = p.completed_at.max(Some(*t));
        }
    }
    Ok(out)
}

/// Per office (school, or the village of children without one): compulsory-age children
/// under the campaign's region, those checked in the start-of-term week, and when the last
/// of them first was.
pub fn start_of_term_progress(
    conn: &mut DbConn,
    _: Current,
    c: &CampaignRow,
    term_starts_on: NaiveDate,
) -> Result<(HashMap<String, Progress>, Vec<String>)> {
    let prefix = crate::infra::db::scoped::like_prefix(&c.region_path);
    let (earliest, latest) = campaign::compulsory_birth_range(term_starts_on);
    let children: Vec<(String, String, String)> = field_facts::table
        .filter(field_facts::entity.eq("child"))
        .filter(field_facts::deleted.eq(false))
        .filter(
            field_facts::region_path
                .like(&prefix)
                .escape('\\')
                .or(field_facts::reach_path.like(&prefix).escape('\\')),
        )
        .filter(field_facts::occurred_at.gt(crate::domain::deadline::start_of_china_day(earliest)))
        .filter(field_facts::occurred_at.le(crate::domain::deadline::start_of_china_day(latest)))
        .select((
            field_facts::id,
            field_facts::region_path,
            field_facts::reach_path,
        ))
        .load(conn)?;
    let (from, to) = campaign::start_of_term_window(term_starts_on);
    let ids: Vec<String> = children.iter().map(|(id, _, _)| id.clone()).collect();
    let mut first_check: HashMap<String, NaiveDateTime> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, Option<NaiveDateTime>)> = field_facts::table
            .filter(field_facts::entity.eq("pupil_check"))
            .filter(field_facts::deleted.eq(false))
            .filter(field_facts::subject_id.eq_any(chunk))
            .filter(field_facts::occurred_at.ge(from))
            .filter(field_facts::occurred_at.le(to))
            .group_by(field_facts::subject_id)
            .select((
                field_facts::subject_id,
                diesel::dsl::min(field_facts::occurred_at),
            ))
            .load(conn)?;
        first_check.extend(rows.into_iter().filter_map(|(s, t)| Some((s, t?))));
    }
    let mut out: HashMap<String, Progress> = HashMap::new();
    let mut unchecked = Vec::new();
    for (id, region, reach) in &children {
        let office = if reach.is_empty() {
            region.clone()
        } else {
            reach.clone()
        };
        let p = out.entry(office).or_insert(Progress {
            total: 0,
            done: 0,
            completed_at: None,
        });
        p.total += 1;
        match first_check.get(id) {
            Some(t) => {
                p.done += 1;
                p.completed_at = p.completed_at.max(Some(*t));
            }
            None => unchecked.push(id.clone()),
        }
    }
    unchecked.sort();
    Ok((out, unchecked))
}

fn campaigns_progress(
    conn: &mut DbConn,
    _ctx: &Ctx<'_>,
    ids: &[String],
) -> Result<Vec<(String, Vec<Clock>)>> {
    let mut out = Vec::new();
    for id in ids {
        let Some(c) = campaigns::find_any(conn, id)? else {
            out.push((Source::Campaign(id.clone()).key(), Vec::new()));
            continue;
        };
        let phases: Vec<campaigns::StoredPhase> = c.phases()?;
        let plain: Vec<Phase> = phases.iter().map(|p| p.phase.clone()).collect();
        let mut clocks = Vec::new();
        let mut starts = crate::domain::deadline::start_of_china_day(c.starts_on()?);
        for (i, p) in phases.iter().enumerate() {
            clocks.push(campaign::phase_clock(
                &c.id,
                &c.region_path,
                i,
                &p.phase,
                starts,
                p.completed_at,
            ));
            starts = crate::domain::deadline::end_of_china_day(p.phase.due_on)
                + chrono::Duration::seconds(1);
        }
        match CampaignKind::parse(&c.kind) {
            Some(CampaignKind::Visit) => {
                let window = campaign::visiting_window(c.starts_on()?, &plain);
                let progress = helper_progress(conn, Current::caught_up(), &c, window)?;
                let helpers: Vec<String> = progress.keys().cloned().collect();
                let places = Places::load(conn, std::iter::empty(), &helpers)?;
                let mut sorted: Vec<(&String, &Progress)> = progress.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                for (helper, p) in sorted {
                    let owner = Owner::User {
                        id: helper.clone(),
                        region_path: places.user_path(helper, &c.region_path),
                    };
                    clocks.push(campaign::helper_visits_clock(
                        &c.id,
                        owner,
                        &c.region_path,
                        window,
                        p,
                    ));
                }
            }
            Some(CampaignKind::Dropout) => {
                if let Some(term) = c.term_starts_on()? {
                    let (progress, _) =
                        start_of_term_progress(conn, Current::caught_up(), &c, term)?;
                    let mut sorted: Vec<(&String, &Progress)> = progress.iter().collect();
                    sorted.sort_by(|a, b| a.0.cmp(b.0));
                    for (office, p) in sorted {
                        clocks.push(campaign::start_of_term_clock(&c.id, office, term, p));
                    }
                }
            }
            None => {}
        }
        out.push((Source::Campaign(id.clone()).key(), clocks));
    }
    Ok(out)
}
