//! Storage of synced records, answered mutations and conflicts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::upsert::excluded;

use crate::domain::access::Scope;
use crate::infra::db::schema::{sealed_fields, sync_conflicts, sync_mutations, sync_records};
use crate::infra::db::scoped::{MultiBackend, path_in_scope};
use crate::infra::db::{DbConn, insert_all};
use crate::infra::error::Result;
use crate::infra::sealing::DataKey;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_records)]
pub struct RecordRow {
    pub entity: String,
    pub id: String,
    pub region_id: String,
    pub region_path: String,
    pub data: String,
    pub stamps: String,
    pub version: i64,
    pub deleted: bool,
    pub seq: i64,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Path of the household or school the record is also reached through, or empty.
    pub reach_path: String,
}

/// The stored records of one entity with these ids.
pub fn load(conn: &mut DbConn, entity: &str, ids: &[String]) -> Result<Vec<RecordRow>> {
    Ok(sync_records::table
        .filter(sync_records::entity.eq(entity))
        .filter(sync_records::id.eq_any(ids))
        .select(RecordRow::as_select())
        .load(conn)?)
}

/// Inserts new records and replaces changed ones: one multi-row upsert on either backend
/// (each backend's statement built for it).
pub fn write(conn: &mut DbConn, rows: &[RecordRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    macro_rules! upsert {
        ($c:expr, $values:expr) => {
            diesel::insert_into(sync_records::table)
                .values($values)
                .on_conflict((sync_records::entity, sync_records::id))
                .do_update()
                .set((
                    sync_records::region_id.eq(excluded(sync_records::region_id)),
                    sync_records::region_path.eq(excluded(sync_records::region_path)),
                    sync_records::reach_path.eq(excluded(sync_records::reach_path)),
                    sync_records::data.eq(excluded(sync_records::data)),
                    sync_records::stamps.eq(excluded(sync_records::stamps)),
                    sync_records::version.eq(excluded(sync_records::version)),
                    sync_records::deleted.eq(excluded(sync_records::deleted)),
                    sync_records::seq.eq(excluded(sync_records::seq)),
                    sync_records::updated_at.eq(excluded(sync_records::updated_at)),
                ))
                .execute($c)
        };
    }
    match conn {
        DbConn::Pg(c) => {
            upsert!(c, rows)?;
        }
        DbConn::Sqlite(c) => {
            // Diesel builds no multi-row upsert for SQLite: the statement is written here.
            // 13 values a row, 500 rows a statement: well inside SQLite's 32,766.
            for chunk in rows.chunks(500) {
                sqlite_upsert(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// `INSERT … VALUES (…), (…) ON CONFLICT (entity, id) DO UPDATE` for these rows, on SQLite.
fn sqlite_upsert(rows: &[RecordRow]) -> BoxedSqlQuery<'_, Sqlite, SqlQuery> {
    let mut sql = String::with_capacity(200 + rows.len() * 30);
    sql.push_str(
        "INSERT INTO sync_records (entity, id, region_id, region_path, reach_path, data, stamps, \
         version, deleted, seq, created_by, created_at, updated_at) VALUES ",
    );
    for i in 0..rows.len() {
        sql.push_str(if i == 0 { "" } else { "," });
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql.push_str(
        " ON CONFLICT (entity, id) DO UPDATE SET region_id = excluded.region_id, \
         region_path = excluded.region_path, reach_path = excluded.reach_path, \
         data = excluded.data, stamps = excluded.stamps, version = excluded.version, \
         deleted = excluded.deleted, seq = excluded.seq, updated_at = excluded.updated_at",
    );
    let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
    for r in rows {
        q = q
            .bind::<Text, _>(&r.entity)
            .bind::<Text, _>(&r.id)
            .bind::<Text, _>(&r.region_id)
            .bind::<Text, _>(&r.region_path)
            .bind::<Text, _>(&r.reach_path)
            .bind::<Text, _>(&r.data)
            .bind::<Text, _>(&r.stamps)
            .bind::<BigInt, _>(r.version)
            .bind::<Bool, _>(r.deleted)
            .bind::<BigInt, _>(r.seq)
            .bind::<Nullable<Text>, _>(&r.created_by)
            .bind::<Timestamp, _>(r.created_at)
            .bind::<Timestamp, _>(r.updated_at);
    }
    q
}

/// The records a scope reaches: by their region, or by the household or school they
/// belong to.
pub fn reached_by(
    scope: &Scope,
) -> Box<dyn BoxableExpression<sync_records::table, MultiBackend, SqlType = Bool>> {
    Box::new(
        path_in_scope(sync_records::region_path, scope)
            .or(path_in_scope(sync_records::reach_path, scope)),
    )
}

/// Records inside the scope (by region or reach) changed after feed position `after`, in feed order.
pub fn changed_since(
    conn: &mut DbConn,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<RecordRow>> {
    Ok(sync_records::table
        .select(RecordRow::as_select())
        .filter(sync_records::seq.gt(after))
        .filter(reached_by(scope))
        .order(sync_records::seq.asc())
        .limit(limit)
        .load(conn)?)
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_mutations)]
pub struct MutationRow {
    pub device_id: String,
    pub mutation_id: String,
    pub user_id: String,
    pub entity: String,
    pub record_id: String,
    pub request_hash: String,
    pub status: String,
    pub result: String,
    pub received_at: NaiveDateTime,
}

/// Mutations of this device already answered, among these ids.
pub fn answered(conn: &mut DbConn, device_id: &str, ids: &[String]) -> Result<Vec<MutationRow>> {
    Ok(sync_mutations::table
        .filter(sync_mutations::device_id.eq(device_id))
        .filter(sync_mutations::mutation_id.eq_any(ids))
        .select(MutationRow::as_select())
        .load(conn)?)
}

/// The latest mutation of a device the server answered (device ids are time-ordered).
pub fn last_answered(conn: &mut DbConn, device_id: &str) -> Result<Option<String>> {
    Ok(sync_mutations::table
        .filter(sync_mutations::device_id.eq(device_id))
        .select(sync_mutations::mutation_id)
        .order(sync_mutations::mutation_id.desc())
        .first(conn)
        .optional()?)
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_conflicts)]
pub struct ConflictRow {
    pub id: String,
    pub entity: String,
    pub record_id: String,
    pub field: String,
    pub region_path: String,
    pub kept: String,
    pub lost: String,
    pub kept_hlc: Option<String>,
    pub lost_hlc: String,
    pub lost_device_id: Option<String>,
    pub lost_user_id: Option<String>,
    pub mutation_id: Option<String>,
    pub state: String,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn save_answers(conn: &mut DbConn, rows: &[MutationRow]) -> Result<()> {
    insert_all!(conn, sync_mutations::table, rows)?;
    Ok(())
}

/// Keeps, sealed, the original text of record fields that held ID numbers (the records
/// hold it masked): each (entity, record id, field, text) replaces what was kept before.
pub fn seal_fields(
    conn: &mut DbConn,
    key: &DataKey,
    originals: &[(String, String, String, String)],
) -> Result<()> {
    for (entity, id, field, text) in originals {
        let sealed = key.seal(text)?;
        diesel::delete(
            sealed_fields::table
                .filter(sealed_fields::entity.eq(entity))
                .filter(sealed_fields::record_id.eq(id))
                .filter(sealed_fields::field.eq(field)),
        )
        .execute(conn)?;
        diesel::insert_into(sealed_fields::table)
            .values((
                sealed_fields::entity.eq(entity),
                sealed_fields::record_id.eq(id),
                sealed_fields::field.eq(field),
                sealed_fields::sealed.eq(sealed),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The original text of a record's fields that held ID numbers, opened: for the audited
/// read only.
pub fn opened_fields(
    conn: &mut DbConn,
    key: &DataKey,
    entity: &str,
    id: &str,
) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = sealed_fields::table
        .filter(sealed_fields::entity.eq(entity))
        .filter(sealed_fields::record_id.eq(id))
        .select((sealed_fields::field, sealed_fields::sealed))
        .load(conn)?;
    rows.into_iter()
        .map(|(f, sealed)| Ok((f, key.open(&sealed)?)))
        .collect()
}

pub fn save_conflicts(conn: &mut DbConn, rows: &[ConflictRow]) -> Result<()> {
    insert_all!(conn, sync_conflicts::table, rows)?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct ConflictFilter {
    pub open_only: bool,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub after_id: Option<String>,
}

pub fn conflicts(
    conn: &mut DbConn,
    scope: &Scope,
    f: &ConflictFilter,
    limit: i64,
) -> Result<Vec<ConflictRow>> {
    let mut q = sync_conflicts::table
        .select(ConflictRow::as_select())
        .filter(path_in_scope(sync_conflicts::region_path, scope))
        .into_boxed();
    if f.open_only {
        q = q.filter(sync_conflicts::state.eq("open"));
    }
    if let Some(e) = &f.entity {
        q = q.filter(sync_conflicts::entity.eq(e.clone()));
    }
    if let Some(r) = &f.record_id {
        q = q.filter(sync_conflicts::record_id.eq(r.clone()));
    }
    if let Some(a) = &f.after_id {
        q = q.filter(sync_conflicts::id.gt(a.clone()));
    }
    Ok(q.order(sync_conflicts::id.asc()).limit(limit).load(conn)?)
}

pub fn conflict(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<ConflictRow> {
    let row: ConflictRow = sync_conflicts::table
        .find(id)
        .select(ConflictRow::as_select())
        .first(conn)?;
    if !scope.contains(&row.region_path) {
        return Err(crate::infra::error::Error::NotFound);
    }
    Ok(row)
}

pub fn mark_resolved(conn: &mut DbConn, id: &str, resolution: &str, by: &str) -> Result<()> {
    diesel::update(sync_conflicts::table.find(id))
        .set((
            sync_conflicts::state.eq("resolved"),
            sync_conflicts::resolution.eq(resolution),
            sync_conflicts::resolved_by.eq(by),
            sync_conflicts::resolved_at.eq(crate::infra::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}
