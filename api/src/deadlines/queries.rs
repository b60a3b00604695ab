//! Deadlines as stored. The rules derive them from the records (`crate::deadlines::projector`), and
//! deriving again replaces a source's clocks: new ones are added, changed ones updated,
//! ones no longer derived are cancelled, unchanged ones left alone, so a re-derivation
//! that finds nothing new writes nothing. Each change takes a feed position, so owners'
//! phones receive their deadlines on their next pull.
//!
//! Derived rows are not audited one by one: they follow from audited records (pushes,
//! decisions) by rules that are the same for everyone; the human acts that move them are.

use std::collections::HashMap;

use chrono::{NaiveDateTime, SubsecRound};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use crate::deadlines::current::Current;
use crate::domain::access::Scope;
use crate::domain::deadline::Clock;
use crate::infra::db::schema::deadlines;
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, feed, insert_all, new_id};
use crate::infra::error::Result;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = deadlines)]
pub struct DeadlineRow {
    pub id: String,
    pub key: String,
    pub source: String,
    pub kind: String,
    pub subject_entity: String,
    pub subject_id: String,
    pub region_path: String,
    pub owner_user_id: Option<String>,
    pub owner_region_path: String,
    pub starts_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub term: String,
    pub met_at: Option<NaiveDateTime>,
    pub cancelled: bool,
    pub params: String,
    pub version: i64,
    pub seq: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DeadlineRow {
    /// Whether the derived clock says the same as this row.
    fn same_as(&self, c: &DeadlineRow) -> bool {
        self.kind == c.kind
            && self.source == c.source
            && self.subject_entity == c.subject_entity
            && self.subject_id == c.subject_id
            && self.region_path == c.region_path
            && self.owner_user_id == c.owner_user_id
            && self.owner_region_path == c.owner_region_path
            && self.starts_at == c.starts_at
            && self.due_at == c.due_at
            && self.term == c.term
            && self.met_at == c.met_at
            && !self.cancelled
            && self.params == c.params
    }
}

fn row_of(source: &str, c: &Clock, now: NaiveDateTime) -> DeadlineRow {
    DeadlineRow {
        id: new_id(),
        key: c.key.clone(),
        source: source.to_owned(),
        kind: c.kind.to_owned(),
        subject_entity: c.subject_entity.to_owned(),
        subject_id: c.subject_id.clone(),
        region_path: c.region_path.clone(),
        owner_user_id: c.owner.user_id().map(str::to_owned),
        owner_region_path: c.owner.region_path().to_owned(),
        starts_at: c.starts_at.trunc_subsecs(6),
        due_at: c.due_at.trunc_subsecs(6),
        term: c.term.describe(),
        met_at: c.met_at.map(|t| t.trunc_subsecs(6)),
        cancelled: false,
        params: c.params.to_string(),
        version: 1,
        seq: 0,
        created_at: now,
        updated_at: now,
    }
}

fn load_where_source(conn: &mut DbConn, sources: &[String]) -> Result<Vec<DeadlineRow>> {
    let mut out = Vec::new();
    for chunk in sources.chunks(500) {
        out.extend(
            deadlines::table
                .filter(deadlines::source.eq_any(chunk))
                .select(DeadlineRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

fn load_where_key(conn: &mut DbConn, keys: &[String]) -> Result<Vec<DeadlineRow>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            deadlines::table
                .filter(deadlines::key.eq_any(chunk))
                .select(DeadlineRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Replaces the clocks of each source with what was derived now; returns how many rows
/// changed. Runs inside the caller's write transaction, after it took the feed lock.
pub fn replace(
    conn: &mut DbConn,
    derived: &[(String, Vec<Clock>)],
    now: NaiveDateTime,
) -> Result<usize> {
    let sources: Vec<String> = derived.iter().map(|(s, _)| s.clone()).collect();
    let keys: Vec<String> = derived
        .iter()
        .flat_map(|(_, cs)| cs.iter().map(|c| c.key.clone()))
        .collect();
    let mut existing: HashMap<String, DeadlineRow> = HashMap::new();
    for r in load_where_source(conn, &sources)?
        .into_iter()
        .chain(load_where_key(conn, &keys)?)
    {
        existing.insert(r.key.clone(), r);
    }
    let mut inserts: Vec<DeadlineRow> = Vec::new();
    let mut updates: Vec<DeadlineRow> = Vec::new();
    let mut produced: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (source, clocks) in derived {
        for c in clocks {
            if !produced.insert(c.key.clone()) {
                continue;
            }
            let fresh = row_of(source, c, now);
            match existing.get(&c.key) {
                Some(old) if old.same_as(&fresh) => {}
                Some(old) => updates.push(DeadlineRow {
                    id: old.id.clone(),
                    version: old.version + 1,
                    created_at: old.created_at,
                    ..fresh
                }),
                None => inserts.push(fresh),
            }
        }
    }
    for old in existing.values() {
        if sources.contains(&old.source) && !produced.contains(&old.key) && !old.cancelled {
            updates.push(DeadlineRow {
                cancelled: true,
                version: old.version + 1,
                updated_at: now,
                ..old.clone()
            });
        }
    }
    let changed = inserts.len() + updates.len();
    if changed == 0 {
        return Ok(0);
    }
    let first = feed::take(conn, changed as i64)?;
    for (seq, r) in (first..).zip(inserts.iter_mut().chain(updates.iter_mut())) {
        r.seq = seq;
    }
    for chunk in inserts.chunks(500) {
        insert_all!(conn, deadlines::table, chunk)?;
    }
    for r in &updates {
        diesel::update(deadlines::table.find(&r.id))
            .set((
                deadlines::source.eq(&r.source),
                deadlines::kind.eq(&r.kind),
                deadlines::subject_entity.eq(&r.subject_entity),
                deadlines::subject_id.eq(&r.subject_id),
                deadlines::region_path.eq(&r.region_path),
                deadlines::owner_user_id.eq(&r.owner_user_id),
                deadlines::owner_region_path.eq(&r.owner_region_path),
                deadlines::starts_at.eq(r.starts_at),
                deadlines::due_at.eq(r.due_at),
                deadlines::term.eq(&r.term),
                deadlines::met_at.eq(r.met_at),
                deadlines::cancelled.eq(r.cancelled),
                deadlines::params.eq(&r.params),
                deadlines::version.eq(r.version),
                deadlines::seq.eq(r.seq),
                deadlines::updated_at.eq(r.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(changed)
}

/// Whose work list is asked for.
#[derive(Debug, Clone)]
pub struct Worker {
    pub user_id: String,
    /// The region the person acts for: clocks owned by its office are theirs too, when
    /// `acts_for_office`.
    pub region_path: String,
    pub acts_for_office: bool,
    pub scope: Scope,
}

/// Which part of the work list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The caller's own clocks and their office's.
    Mine,
    /// The clocks of everyone else in the caller's jurisdiction.
    Team,
}

/// Open clocks (not met, not cancelled) due by `until`, in due order, after the keyset
/// position `after` (due time, id).
pub fn open_due(
    conn: &mut DbConn,
    _: Current,
    w: &Worker,
    view: View,
    until: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<DeadlineRow>> {
    let mut q = deadlines::table
        .filter(deadlines::cancelled.eq(false))
        .filter(deadlines::met_at.is_null())
        .filter(deadlines::due_at.le(until))
        .select(DeadlineRow::as_select())
        .into_boxed();
    let office = deadlines::owner_user_id
        .is_null()
        .and(deadlines::owner_region_path.eq(w.region_path.clone()));
    q = match (view, w.acts_for_office) {
        (View::Mine, true) => q.filter(deadlines::owner_user_id.eq(w.user_id.clone()).or(office)),
        (View::Mine, false) => q.filter(deadlines::owner_user_id.eq(w.user_id.clone())),
        (View::Team, true) => q
            .filter(path_in_scope(deadlines::region_path, &w.scope))
            .filter(
                deadlines::owner_user_id
                    .ne(w.user_id.clone())
                    .or(deadlines::owner_user_id.is_null()),
            )
            .filter(diesel::dsl::not(office)),
        (View::Team, false) => q
            .filter(path_in_scope(deadlines::region_path, &w.scope))
            .filter(
                deadlines::owner_user_id
                    .ne(w.user_id.clone())
                    .or(deadlines::owner_user_id.is_null()),
            ),
    };
    if let Some((due, id)) = after {
        q = q.filter(
            deadlines::due_at
                .gt(due)
                .or(deadlines::due_at.eq(due).and(deadlines::id.gt(id))),
        );
    }
    Ok(q.order((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// A filter on the deadline list.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub kind: Option<String>,
    pub subject_entity: Option<String>,
    pub subject_id: Option<String>,
    pub owner_user_id: Option<String>,
    pub open_only: bool,
    pub due_from: Option<NaiveDateTime>,
    pub due_to: Option<NaiveDateTime>,
}

/// Deadlines inside the scope, in due order, keyset-paged.
pub fn list(
    conn: &mut DbConn,
    _: Current,
    scope: &Scope,
    f: &Filter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<DeadlineRow>> {
    let mut q = deadlines::table
        .filter(path_in_scope(deadlines::region_path, scope))
        .filter(deadlines::cancelled.eq(false))
        .select(DeadlineRow::as_select())
        .into_boxed();
    if let Some(k) = &f.kind {
        q = q.filter(deadlines::kind.eq(k.clone()));
    }
    if let Some(e) = &f.subject_entity {
        q = q.filter(deadlines::subject_entity.eq(e.clone()));
    }
    if let Some(s) = &f.subject_id {
        q = q.filter(deadlines::subject_id.eq(s.clone()));
    }
    if let Some(o) = &f.owner_user_id {
        q = q.filter(deadlines::owner_user_id.eq(o.clone()));
    }
    if f.open_only {
        q = q.filter(deadlines::met_at.is_null());
    }
    if let Some(t) = f.due_from {
        q = q.filter(deadlines::due_at.ge(t));
    }
    if let Some(t) = f.due_to {
        q = q.filter(deadlines::due_at.le(t));
    }
    if let Some((due, id)) = after {
        q = q.filter(
            deadlines::due_at
                .gt(due)
                .or(deadlines::due_at.eq(due).and(deadlines::id.gt(id))),
        );
    }
    Ok(q.order((deadlines::due_at.asc(), deadlines::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// One kind's record over a period: clocks due in it, met on time, met late, missed (due
/// and still not met), and not yet due.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Compliance {
    pub kind: String,
    pub due: i64,
    pub met_on_time: i64,
    pub met_late: i64,
    pub missed: i64,
    pub not_yet_due: i64,
}

/// Compliance per kind of the clocks inside the scope due in `[from, to]`, counted in the
/// database.
pub fn compliance(
    conn: &mut DbConn,
    _: Current,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<Compliance>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = deadlines::table
        .filter(path_in_scope(deadlines::region_path, scope))
        .filter(deadlines::cancelled.eq(false))
        .filter(deadlines::due_at.ge(from))
        .filter(deadlines::due_at.le(to))
        .group_by(deadlines::kind)
        .select((
            deadlines::kind,
            diesel::dsl::count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(CASE WHEN met_at IS NOT NULL AND met_at <= due_at THEN 1 ELSE 0 END), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(CASE WHEN met_at IS NOT NULL AND met_at > due_at THEN 1 ELSE 0 END), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(CASE WHEN met_at IS NULL AND due_at < ").bind::<Timestamp, _>(now).sql(" THEN 1 ELSE 0 END), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(CASE WHEN met_at IS NULL AND due_at >= ").bind::<Timestamp, _>(now).sql(" THEN 1 ELSE 0 END), 0) AS BIGINT)"),
        ))
        .order(deadlines::kind.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, due, met_on_time, met_late, missed, not_yet_due)| Compliance {
                kind,
                due,
                met_on_time,
                met_late,
                missed,
                not_yet_due,
            },
        )
        .collect())
}

/// The deadlines one user owns that changed after feed position `after` (for pulls). Pulls
/// carry the clocks the projector has made so far and never wait for it: it follows the
/// feed a few seconds behind, and a later pull carries the rest (they have feed positions).
pub fn owned_changed_since(
    conn: &mut DbConn,
    user_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<DeadlineRow>> {
    Ok(deadlines::table
        .filter(deadlines::owner_user_id.eq(user_id))
        .filter(deadlines::seq.gt(after))
        .order(deadlines::seq.asc())
        .limit(limit)
        .select(DeadlineRow::as_select())
        .load(conn)?)
}
