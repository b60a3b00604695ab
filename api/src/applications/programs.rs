//! Assistance programs: what they serve, the aid they pay, their materials checklist and
//! their public-notice period. Public reference data: the mini-program shows the checklist
//! before anyone signs in (R-APP-1).

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::applications::rules::ChecklistItem;
use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::infra::clock::now;
use crate::infra::db::schema::programs;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = programs)]
pub struct ProgramRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub aid_kinds: String,
    pub checklist: String,
    pub situations: String,
    pub notice_workdays: i32,
    pub fast_track: bool,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A program with its lists read.
#[derive(Debug, Clone)]
pub struct Program {
    pub row: ProgramRow,
    pub aid_kinds: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub situations: Vec<String>,
}

fn parse(row: ProgramRow) -> Result<Program> {
    Ok(Program {
        aid_kinds: serde_json::from_str(&row.aid_kinds).map_err(Error::internal)?,
        checklist: serde_json::from_str(&row.checklist).map_err(Error::internal)?,
        situations: serde_json::from_str(&row.situations).map_err(Error::internal)?,
        row,
    })
}

pub struct NewProgram<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub category: &'a str,
    pub aid_kinds: &'a [String],
    pub checklist: &'a [ChecklistItem],
    pub situations: &'a [String],
    pub notice_workdays: i32,
    pub fast_track: bool,
}

/// Creates a program; its audit entry is filed under `region_path`, the jurisdiction of the
/// office that set it up.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    region_path: &str,
    new: NewProgram<'_>,
) -> Result<Program> {
    let t = now();
    let row = ProgramRow {
        id: new_id(),
        code: new.code.to_owned(),
        name: new.name.to_owned(),
        description: new.description.to_owned(),
        category: new.category.to_owned(),
        aid_kinds: to_json(&new.aid_kinds)?,
        checklist: to_json(&new.checklist)?,
        situations: to_json(&new.situations)?,
        notice_workdays: new.notice_workdays,
        fast_track: new.fast_track,
        active: true,
        created_at: t,
        updated_at: t,
        version: 1,
    };
    diesel::insert_into(programs::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => Error::Conflict {
                code: Code::ProgramCodeTaken,
                detail: Msg::fixed("项目编码已被使用。", "This program code is already taken."),
            },
            other => other,
        })?;
    let view = serde_json::json!({
        "code": row.code, "name": row.name, "category": row.category,
        "aid_kinds": new.aid_kinds, "checklist": new.checklist, "situations": new.situations,
        "notice_workdays": row.notice_workdays, "fast_track": row.fast_track,
    });
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "program",
            entity_id: &row.id,
            region_path,
            changes: audit::diff(&Value::Null, &view),
            reason: None,
        },
    )?;
    parse(row)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Program> {
    parse(
        programs::table
            .find(id)
            .select(ProgramRow::as_select())
            .first(conn)?,
    )
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> Result<Option<Program>> {
    programs::table
        .filter(programs::code.eq(code))
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()?
        .map(parse)
        .transpose()
}

/// Active programs, by code.
pub fn list(conn: &mut DbConn) -> Result<Vec<Program>> {
    programs::table
        .filter(programs::active.eq(true))
        .order(programs::code.asc())
        .select(ProgramRow::as_select())
        .load(conn)?
        .into_iter()
        .map(parse)
        .collect()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}
