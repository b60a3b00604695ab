//! What a chunk of ledger rows needs from the rest of the database: synced records by page,
//! by id and by the record they name; households with their head; the names of people,
//! places and programs. One query per lookup per chunk, never one per row. Records and
//! households are read through the caller's scope; names of places, people and programs
//! are reference data every signed-in caller reads.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use serde_json::{Map, Value};

use crate::domain::access::Scope;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{
    household_members, households, programs, regions, sync_records, users,
};
use crate::infra::db::scoped::{MultiBackend, path_in_scope};
use crate::infra::error::{Error, Result};
use crate::records::store::reached_by;

/// A live synced record, decoded.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub region_id: String,
    pub data: Map<String, Value>,
}

impl Record {
    pub fn str(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(Value::as_str)
    }

    pub fn f64(&self, field: &str) -> Option<f64> {
        self.data.get(field).and_then(Value::as_f64)
    }

    pub fn bool(&self, field: &str) -> Option<bool> {
        self.data.get(field).and_then(Value::as_bool)
    }

    /// A field holding a `{name: value}` checklist: the value of one name.
    pub fn item(&self, field: &str, name: &str) -> Option<&str> {
        self.data.get(field)?.get(name)?.as_str()
    }
}

fn decode(rows: Vec<(String, String, String)>) -> Result<Vec<Record>> {
    rows.into_iter()
        .map(|(id, region_id, data)| {
            let data = serde_json::from_str(&data).map_err(Error::internal)?;
            Ok(Record {
                id,
                region_id,
                data,
            })
        })
        .collect()
}

type Live<'a> = sync_records::BoxedQuery<'a, MultiBackend, (Text, Text, Text)>;

/// Live (not deleted) records of `entity` in the scope: id, region and data.
fn live<'a>(entity: &'a str, scope: &Scope) -> Live<'a> {
    sync_records::table
        .filter(sync_records::entity.eq(entity))
        .filter(sync_records::deleted.eq(false))
        .filter(reached_by(scope))
        .select((
            sync_records::id,
            sync_records::region_id,
            sync_records::data,
        ))
        .into_boxed()
}

/// Live records of `entity` in the scope, by id after `after`, at most `limit`.
pub fn records(
    conn: &mut DbConn,
    scope: &Scope,
    entity: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Record>> {
    let mut q = live(entity, scope)
        .order(sync_records::id.asc())
        .limit(limit);
    if let Some(a) = after {
        q = q.filter(sync_records::id.gt(a.to_owned()));
    }
    decode(q.load(conn)?)
}

/// Live records of `entity` in the scope with these ids.
pub fn records_by_id(
    conn: &mut DbConn,
    scope: &Scope,
    entity: &str,
    ids: &[String],
) -> Result<HashMap<String, Record>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = live(entity, scope)
        .filter(sync_records::id.eq_any(ids))
        .load(conn)?;
    Ok(decode(rows)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

/// How one entity's records name another's, looked up through an index on the field's
/// value inside the JSON (migration `ledger_links`: partial on PostgreSQL, on entity and
/// value on SQLite). The expression, and the entity once more, are written into the SQL as
/// the index has them, so that even a generic plan matches the partial index's condition.
#[derive(Debug, Clone, Copy)]
pub enum Link {
    /// `retrieval_attempt.case_id`: the attempts made on a dropout case.
    AttemptCase,
    /// `photo.subject_id`: the photos taken as evidence of a record.
    PhotoSubject,
}

impl Link {
    fn entity(self) -> (&'static str, &'static str) {
        match self {
            Link::AttemptCase => ("retrieval_attempt", "entity = 'retrieval_attempt'"),
            Link::PhotoSubject => ("photo", "entity = 'photo'"),
        }
    }

    fn expr(self, conn: &DbConn) -> &'static str {
        match (self, conn) {
            (Link::AttemptCase, DbConn::Sqlite(_)) => "json_extract(data, '$.case_id')",
            (Link::AttemptCase, DbConn::Pg(_)) => "(data::json ->> 'case_id')",
            (Link::PhotoSubject, DbConn::Sqlite(_)) => "json_extract(data, '$.subject_id')",
            (Link::PhotoSubject, DbConn::Pg(_)) => "(data::json ->> 'subject_id')",
        }
    }
}

/// Live records in the scope that name one of `targets` by `link`.
pub fn records_naming(
    conn: &mut DbConn,
    scope: &Scope,
    link: Link,
    targets: &[String],
) -> Result<Vec<Record>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let (entity, literally) = link.entity();
    let rows = live(entity, scope)
        .filter(sql::<Bool>(literally))
        .filter(sql::<Text>(link.expr(conn)).eq_any(targets))
        .load(conn)?;
    decode(rows)
}

/// The head of a household as a ledger names them.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub name: String,
    pub id_masked: String,
    pub id_sealed: String,
}

/// A household as the ledgers show it.
#[derive(Debug, Clone, Default)]
pub struct Home {
    pub address: String,
    pub phone: Option<String>,
    pub members: i64,
    /// The member registered as head, or else the first.
    pub head: Option<Head>,
}

/// Member counts and heads of these households: one query.
pub fn members_of(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, (i64, Head)>> {
    let mut out: HashMap<String, (i64, Head)> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, String, String, String)> = household_members::table
        .filter(household_members::household_id.eq_any(ids))
        .order((household_members::household_id, household_members::position))
        .select((
            household_members::household_id,
            household_members::name,
            household_members::relation,
            household_members::id_masked,
            household_members::id_sealed,
        ))
        .load(conn)?;
    for (household, name, relation, id_masked, id_sealed) in rows {
        let entry = out.entry(household).or_insert((0, Head::default()));
        let first = entry.0 == 0;
        entry.0 += 1;
        if first || relation == "head" {
            entry.1 = Head {
                name,
                id_masked,
                id_sealed,
            };
        }
    }
    Ok(out)
}

/// Households in the scope with these ids: two queries.
pub fn homes(conn: &mut DbConn, scope: &Scope, ids: &[String]) -> Result<HashMap<String, Home>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, Option<String>)> = households::table
        .filter(households::id.eq_any(ids))
        .filter(path_in_scope(households::path, scope))
        .select((households::id, households::address, households::phone))
        .load(conn)?;
    let found: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut members = members_of(conn, &found)?;
    Ok(rows
        .into_iter()
        .map(|(id, address, phone)| {
            let m = members.remove(&id);
            let home = Home {
                address,
                phone,
                members: m.as_ref().map_or(0, |m| m.0),
                head: m.map(|m| m.1),
            };
            (id, home)
        })
        .collect())
}

fn unique(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = values.into_iter().filter(|s| !s.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `key → name` pairs of a table for these keys: one query (none for no keys).
macro_rules! names {
    ($conn:expr, $table:path, $key:path, $name:path, $keys:expr) => {{
        let keys = unique($keys);
        let found: Vec<(String, String)> = if keys.is_empty() {
            Vec::new()
        } else {
            $table
                .filter($key.eq_any(&keys))
                .select(($key, $name))
                .load($conn)?
        };
        Ok(found.into_iter().collect())
    }};
}

type Names = Result<HashMap<String, String>>;

/// Names of regions (villages, schools) by id.
pub fn region_names(conn: &mut DbConn, ids: impl IntoIterator<Item = String>) -> Names {
    names!(conn, regions::table, regions::id, regions::name, ids)
}

/// Names of regions by their path.
pub fn region_names_by_path(conn: &mut DbConn, paths: impl IntoIterator<Item = String>) -> Names {
    names!(conn, regions::table, regions::path, regions::name, paths)
}

/// Display names of staff by id.
pub fn user_names(conn: &mut DbConn, ids: impl IntoIterator<Item = String>) -> Names {
    names!(conn, users::table, users::id, users::display_name, ids)
}

/// Names of programs by id.
pub fn program_names(conn: &mut DbConn, ids: impl IntoIterator<Item = String>) -> Names {
    names!(conn, programs::table, programs::id, programs::name, ids)
}

/// The name a map holds for a key, as a cell (empty when unknown).
pub fn name_cell(names: &HashMap<String, String>, key: Option<&str>) -> crate::ledgers::Cell {
    crate::ledgers::Cell::opt(key.and_then(|k| names.get(k)).cloned())
}

/// The keyset position after a page of `limit` source records: the last key when the page
/// was full (there may be more), `None` when it was the last.
pub fn next_after(last: Option<&str>, read: usize, limit: i64) -> Option<String> {
    (read as i64 >= limit)
        .then(|| last.map(str::to_owned))
        .flatten()
}
