//! The device's own SQLite store: the records as last received from the server, the outbox
//! of changes not yet acknowledged, changes the server refused, and a few settings.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::ClientError;

diesel::table! {
    records (entity, id) {
        entity -> Text,
        id -> Text,
        version -> BigInt,
        deleted -> Bool,
        data -> Text,
    }
}

diesel::table! {
    outbox (pos) {
        pos -> BigInt,
        mutation_id -> Text,
        entity -> Text,
        id -> Text,
        op -> Text,
        base_version -> BigInt,
        hlc -> Text,
        fields -> Text,
    }
}

diesel::table! {
    rejected (mutation_id) {
        mutation_id -> Text,
        entity -> Text,
        id -> Text,
        fields -> Text,
        problem -> Text,
    }
}

diesel::table! {
    /// Records the server said to drop while the outbox still changes them: kept until
    /// those changes are answered, then dropped.
    dropping (entity, id) {
        entity -> Text,
        id -> Text,
    }
}

diesel::table! {
    meta (key) {
        key -> Text,
        value -> Text,
    }
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL, deleted BOOLEAN NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT NOT NULL UNIQUE, entity TEXT NOT NULL,
    id TEXT NOT NULL, op TEXT NOT NULL, base_version BIGINT NOT NULL, hlc TEXT NOT NULL, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    mutation_id TEXT PRIMARY KEY NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL,
    problem TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dropping (entity TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
";

pub fn open(path: &str) -> Result<SqliteConnection, ClientError> {
    let mut conn =
        SqliteConnection::establish(path).map_err(|e| ClientError::Local(e.to_string()))?;
    conn.batch_execute(SCHEMA)?;
    Ok(conn)
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub entity: String,
    pub id: String,
    pub version: i64,
    pub deleted: bool,
    pub data: String,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub pos: i64,
    pub mutation_id: String,
    pub entity: String,
    pub id: String,
    pub op: String,
    pub base_version: i64,
    pub hlc: String,
    pub fields: String,
}

pub fn get_meta(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>, ClientError> {
    Ok(meta::table
        .find(key)
        .select(meta::value)
        .first(conn)
        .optional()?)
}

pub fn set_meta(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<(), ClientError> {
    diesel::replace_into(meta::table)
        .values((meta::key.eq(key), meta::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

pub fn record(
    conn: &mut SqliteConnection,
    entity: &str,
    id: &str,
) -> Result<Option<RecordRow>, ClientError> {
    Ok(records::table
        .find((entity, id))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_record(conn: &mut SqliteConnection, row: &RecordRow) -> Result<(), ClientError> {
    diesel::replace_into(records::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn parse_object(s: &str) -> Result<Map<String, Value>, ClientError> {
    serde_json::from_str(s).map_err(|e| ClientError::Local(e.to_string()))
}

/// Drops records the server says are no longer in scope. One the outbox still changes is
/// kept (and dropped once those changes are answered): unsent work is never lost.
pub fn drop_records(
    conn: &mut SqliteConnection,
    entity: &str,
    ids: &[String],
) -> Result<(), ClientError> {
    for id in ids {
        let pending: i64 = outbox::table
            .filter(outbox::entity.eq(entity))
            .filter(outbox::id.eq(id))
            .count()
            .get_result(conn)?;
        if pending > 0 {
            diesel::replace_into(dropping::table)
                .values((dropping::entity.eq(entity), dropping::id.eq(id)))
                .execute(conn)?;
        } else {
            diesel::delete(records::table.find((entity, id))).execute(conn)?;
        }
    }
    Ok(())
}

/// Drops the records kept for their unsent changes once nothing of theirs is left to send.
pub fn finish_drops(conn: &mut SqliteConnection) -> Result<(), ClientError> {
    let waiting: Vec<(String, String)> = dropping::table
        .select((dropping::entity, dropping::id))
        .load(conn)?;
    for (entity, id) in waiting {
        let pending: i64 = outbox::table
            .filter(outbox::entity.eq(&entity))
            .filter(outbox::id.eq(&id))
            .count()
            .get_result(conn)?;
        if pending == 0 {
            diesel::delete(records::table.find((&entity, &id))).execute(conn)?;
            diesel::delete(dropping::table.find((&entity, &id))).execute(conn)?;
        }
    }
    Ok(())
}
