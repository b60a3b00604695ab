//! Scope changes in sync. When a helper is assigned or released, or moves to another
//! region, the rows that became visible to them arrive on their devices and the rows they
//! no longer reach are dropped; when a record moves, devices that held it where it was and
//! no longer reach it drop it. Both travel as feed entries (`sync_reach_changes`) at their
//! own positions, so paging and the no-skip guarantee work as for every other change. The
//! periods a user held part of their scope are kept (`sync_scope_history`), so that edits
//! made before the loss are still accepted.

use chrono::NaiveDateTime;
use diesel::dsl::{not, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use crate::domain::access::Scope;
use crate::infra::clock::now;
use crate::infra::db::schema::{
    device_scope_seen, devices, household_helpers, households, regions, sync_reach_changes,
    sync_records, sync_scope_history, users,
};
use crate::infra::db::scoped::{MultiBackend, path_in_scope};
use crate::infra::db::{DbConn, feed};
use crate::infra::error::Result;
use crate::sync::rules::CAPTURE_WINDOW;

/// A part of a user's scope they held from `started_at` until `ended_at`. What may still
/// be written through it afterwards is `sync::rules::capture_allowed`'s to say.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_scope_history)]
pub struct Period {
    pub user_id: String,
    pub path: String,
    /// `region` or `household`.
    pub kind: String,
    pub started_at: NaiveDateTime,
    pub ended_at: NaiveDateTime,
}

/// The periods a user held part of their scope and lost.
pub fn periods(conn: &mut DbConn, user_id: &str) -> Result<Vec<Period>> {
    Ok(sync_scope_history::table
        .filter(sync_scope_history::user_id.eq(user_id))
        .select(Period::as_select())
        .load(conn)?)
}

/// Keeps the end of a period.
pub fn end_period(conn: &mut DbConn, period: &Period) -> Result<()> {
    diesel::insert_into(sync_scope_history::table)
        .values(period)
        .execute(conn)?;
    Ok(())
}

/// The ends of the user's lost scope periods (inside the capture window) that this device,
/// signed in before them, has not pulled since: its next pull is when it learns of them.
pub fn unseen_ends(
    conn: &mut DbConn,
    user_id: &str,
    device_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>> {
    let since = now - CAPTURE_WINDOW;
    let mut ends: Vec<NaiveDateTime> = sync_scope_history::table
        .filter(sync_scope_history::user_id.eq(user_id))
        .filter(sync_scope_history::ended_at.gt(since))
        .select(sync_scope_history::ended_at)
        .load(conn)?;
    if ends.is_empty() {
        return Ok(ends);
    }
    let registered: Option<NaiveDateTime> = devices::table
        .find(device_id)
        .select(devices::created_at)
        .first(conn)
        .optional()?;
    let seen: Vec<NaiveDateTime> = device_scope_seen::table
        .filter(device_scope_seen::device_id.eq(device_id))
        .select(device_scope_seen::ended_at)
        .load(conn)?;
    ends.sort();
    ends.dedup();
    ends.retain(|e| registered.is_some_and(|r| r < *e) && !seen.contains(e));
    Ok(ends)
}

/// Records that the device pulled at `at`, after these ends of its user's scope periods.
pub fn mark_seen(
    conn: &mut DbConn,
    device_id: &str,
    ends: &[NaiveDateTime],
    at: NaiveDateTime,
) -> Result<()> {
    for e in ends {
        let known: i64 = device_scope_seen::table
            .find((device_id, *e))
            .count()
            .get_result(conn)?;
        if known == 0 {
            diesel::insert_into(device_scope_seen::table)
                .values((
                    device_scope_seen::device_id.eq(device_id),
                    device_scope_seen::ended_at.eq(*e),
                    device_scope_seen::seen_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// When the user's current region period began: the end of the last one, or when the
/// account was made.
pub fn region_since(conn: &mut DbConn, user_id: &str) -> Result<NaiveDateTime> {
    let last: Option<NaiveDateTime> = sync_scope_history::table
        .filter(sync_scope_history::user_id.eq(user_id))
        .filter(sync_scope_history::kind.eq("region"))
        .select(diesel::dsl::max(sync_scope_history::ended_at))
        .first(conn)?;
    match last {
        Some(t) => Ok(t),
        None => Ok(users::table
            .find(user_id)
            .select(users::created_at)
            .first(conn)?),
    }
}

/// What a user's devices are synced with: their region and their assignments.
pub fn sync_scope(conn: &mut DbConn, user_id: &str) -> Result<Scope> {
    let region: String = users::table
        .inner_join(regions::table)
        .filter(users::id.eq(user_id))
        .select(regions::path)
        .first(conn)?;
    let mut paths: Vec<String> = household_helpers::table
        .inner_join(households::table)
        .filter(household_helpers::user_id.eq(user_id))
        .select(households::path)
        .load(conn)?;
    paths.push(region);
    Ok(Scope::new(paths))
}

/// Records reached by a scope, through their region or what they belong to.
fn records_in(
    scope: &Scope,
) -> Box<dyn BoxableExpression<sync_records::table, MultiBackend, SqlType = Bool>> {
    Box::new(
        path_in_scope(sync_records::region_path, scope)
            .or(path_in_scope(sync_records::reach_path, scope)),
    )
}

/// The row number of each selected row in feed order, moved to start at `first`: a block of
/// new positions in one statement.
fn positions(first: i64) -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("ROW_NUMBER() OVER (ORDER BY seq) + {}", first - 1))
}

/// Writes, in one statement per table, an entry for every row under `under` that `outside`
/// does not reach: arrivals (`arrived`) or departures of `user_id`. Takes the feed lock.
fn note_rows(
    conn: &mut DbConn,
    user_id: &str,
    arrived: bool,
    under: &Scope,
    outside: &Scope,
) -> Result<()> {
    use sync_reach_changes as r;
    feed::take(conn, 0)?;
    let at = now();
    let columns = (
        r::seq,
        r::user_id,
        r::entity,
        r::id,
        r::arrived,
        r::region_path,
        r::reach_path,
        r::at,
    );
    let n: i64 = sync_records::table
        .filter(records_in(under))
        .filter(not(records_in(outside)))
        .count()
        .get_result(conn)?;
    if n > 0 {
        let first = feed::take(conn, n)?;
        let rows = sync_records::table
            .filter(records_in(under))
            .filter(not(records_in(outside)))
            .select((
                positions(first),
                Some(user_id).into_sql::<Nullable<Text>>(),
                sync_records::entity,
                sync_records::id,
                arrived.into_sql::<Bool>(),
                sync_records::region_path,
                sync_records::reach_path,
                at.into_sql::<Timestamp>(),
            ));
        diesel::insert_into(r::table)
            .values(rows)
            .into_columns(columns)
            .execute(conn)?;
    }
    let n: i64 = households::table
        .filter(path_in_scope(households::path, under))
        .filter(not(path_in_scope(households::path, outside)))
        .count()
        .get_result(conn)?;
    if n > 0 {
        let first = feed::take(conn, n)?;
        let rows = households::table
            .filter(path_in_scope(households::path, under))
            .filter(not(path_in_scope(households::path, outside)))
            .select((
                positions(first),
                Some(user_id).into_sql::<Nullable<Text>>(),
                "household".into_sql::<Text>(),
                households::id,
                arrived.into_sql::<Bool>(),
                households::path,
                "".into_sql::<Text>(),
                at.into_sql::<Timestamp>(),
            ));
        diesel::insert_into(r::table)
            .values(rows)
            .into_columns(columns)
            .execute(conn)?;
    }
    let n: i64 = regions::table
        .filter(path_in_scope(regions::path, under))
        .filter(not(path_in_scope(regions::path, outside)))
        .count()
        .get_result(conn)?;
    if n > 0 {
        let first = feed::take(conn, n)?;
        let rows = regions::table
            .filter(path_in_scope(regions::path, under))
            .filter(not(path_in_scope(regions::path, outside)))
            .select((
                positions(first),
                Some(user_id).into_sql::<Nullable<Text>>(),
                "region".into_sql::<Text>(),
                regions::id,
                arrived.into_sql::<Bool>(),
                regions::path,
                "".into_sql::<Text>(),
                at.into_sql::<Timestamp>(),
            ));
        diesel::insert_into(r::table)
            .values(rows)
            .into_columns(columns)
            .execute(conn)?;
    }
    Ok(())
}

/// A user's scope went from `before` to `after` (inside the writing transaction): what
/// became visible arrives on their devices, what they no longer reach is dropped there.
pub fn scope_changed(
    conn: &mut DbConn,
    user_id: &str,
    before: &Scope,
    after: &Scope,
) -> Result<()> {
    let gained: Vec<String> = after
        .paths()
        .iter()
        .filter(|p| !before.contains(p))
        .cloned()
        .collect();
    let lost: Vec<String> = before
        .paths()
        .iter()
        .filter(|p| !after.contains(p))
        .cloned()
        .collect();
    if !gained.is_empty() {
        note_rows(conn, user_id, true, &Scope::new(gained), before)?;
    }
    if !lost.is_empty() {
        note_rows(conn, user_id, false, &Scope::new(lost), after)?;
    }
    Ok(())
}

/// A feed entry beyond the records themselves.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_reach_changes)]
pub struct ReachChange {
    pub seq: i64,
    /// The user whose scope changed; `None` for a record that moved.
    pub user_id: Option<String>,
    pub entity: String,
    pub id: String,
    pub arrived: bool,
    /// For a move: where the record was.
    pub region_path: String,
    pub reach_path: String,
    pub at: NaiveDateTime,
}

/// Writes entries made by a push (moves, and records its user no longer reaches).
pub fn write(conn: &mut DbConn, rows: &[ReachChange]) -> Result<()> {
    crate::infra::db::insert_all!(conn, sync_reach_changes::table, rows)?;
    Ok(())
}

/// The entries after feed position `after` that concern a user with this scope: their own
/// scope changes, and moves away from places the scope holds.
pub fn since(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<ReachChange>> {
    use sync_reach_changes as r;
    let moved_from_scope = r::user_id
        .is_null()
        .and(path_in_scope(r::region_path, scope).or(path_in_scope(r::reach_path, scope)));
    Ok(r::table
        .filter(r::seq.gt(after))
        .filter(r::user_id.eq(user_id).or(moved_from_scope))
        .order(r::seq.asc())
        .limit(limit)
        .select(ReachChange::as_select())
        .load(conn)?)
}

/// Removes entries older than `before`; returns how many and the highest position removed.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> Result<(usize, Option<i64>)> {
    use sync_reach_changes as r;
    let highest: Option<i64> = r::table
        .filter(r::at.lt(before))
        .select(diesel::dsl::max(r::seq))
        .first(conn)?;
    let n = diesel::delete(r::table.filter(r::at.lt(before))).execute(conn)?;
    Ok((n, highest))
}
