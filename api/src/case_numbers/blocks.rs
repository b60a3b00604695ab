//! Case numbers minted offline: blocks of serials reserved by a device while online, and
//! the check a push makes of every new case's number (from a block of the pushing device,
//! not used by another record).

use std::collections::HashMap;

use bangfu_sync::Code;
use bangfu_sync::wire::{Mutation, Op};
use chrono::Datelike;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::case_numbers::rules::{CaseNumber, MAX_BLOCK, MAX_SERIAL, Series};
use crate::infra::clock::now;
use crate::infra::db::schema::{case_number_blocks, case_number_series, case_numbers};
use crate::infra::db::{DbConn, insert_all, new_id};
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = case_number_blocks)]
pub struct BlockRow {
    pub id: String,
    pub county_code: String,
    pub year: i32,
    pub series: String,
    pub first_serial: i64,
    pub last_serial: i64,
    pub device_id: String,
    pub user_id: String,
    pub created_at: chrono::NaiveDateTime,
}

/// Reserves `size` serials of a series for a device: the next free ones of the county's
/// year. Concurrent reservations queue on the series row, so blocks never overlap.
#[allow(clippy::too_many_arguments)]
pub fn reserve(
    conn: &mut DbConn,
    actor: &Actor,
    device_id: &str,
    user_id: &str,
    county_code: &str,
    region_path: &str,
    series: Series,
    size: i64,
) -> Result<BlockRow> {
    if !(1..=MAX_BLOCK).contains(&size) {
        return Err(Error::validation(
            "size",
            Code::OutOfRange,
            Msg::fixed(
                "每次预留 1 到 500 个编号。",
                "A block holds 1 to 500 numbers.",
            ),
        ));
    }
    let year = crate::infra::clock::today().year();
    let key = (county_code, year, series.as_str());
    macro_rules! ensure_row {
        ($c:expr) => {
            diesel::insert_into(case_number_series::table)
                .values((
                    case_number_series::county_code.eq(key.0),
                    case_number_series::year.eq(key.1),
                    case_number_series::series.eq(key.2),
                    case_number_series::next_serial.eq(1_i64),
                ))
                .on_conflict_do_nothing()
                .execute($c)
        };
    }
    match conn {
        DbConn::Pg(c) => ensure_row!(c)?,
        DbConn::Sqlite(c) => ensure_row!(c)?,
    };
    let this = case_number_series::table.find(key);
    diesel::update(this)
        .set(case_number_series::next_serial.eq(case_number_series::next_serial + size))
        .execute(conn)?;
    let next: i64 = this.select(case_number_series::next_serial).first(conn)?;
    let first = next - size;
    if next - 1 > MAX_SERIAL {
        return Err(Error::Conflict {
            code: Code::CaseNumbersExhausted,
            detail: Msg::fixed(
                "本年度该类编号已用完。",
                "This year's numbers of this series are used up.",
            ),
        });
    }
    let row = BlockRow {
        id: new_id(),
        county_code: county_code.to_owned(),
        year,
        series: series.as_str().to_owned(),
        first_serial: first,
        last_serial: next - 1,
        device_id: device_id.to_owned(),
        user_id: user_id.to_owned(),
        created_at: now(),
    };
    diesel::insert_into(case_number_blocks::table)
        .values(&row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "case_number_block",
            entity_id: &row.id,
            region_path,
            changes: audit::diff(
                &Value::Null,
                &json!({"series": row.series, "county_code": row.county_code, "year": year, "first_serial": first, "last_serial": row.last_serial, "device_id": device_id}),
            ),
            reason: None,
        },
    )?;
    Ok(row)
}

/// The blocks a device holds, newest first.
pub fn blocks_of(conn: &mut DbConn, device_id: &str) -> Result<Vec<BlockRow>> {
    Ok(case_number_blocks::table
        .filter(case_number_blocks::device_id.eq(device_id))
        .order(case_number_blocks::id.desc())
        .select(BlockRow::as_select())
        .load(conn)?)
}

/// The case numbers of one push: the device's blocks and the numbers already in use, loaded
/// once for the batch.
#[derive(Debug, Default)]
pub struct Admission {
    blocks: Vec<BlockRow>,
    /// number -> record holding it
    taken: HashMap<String, String>,
    minted: Vec<(String, String, String, String)>,
}

fn number_of(m: &Mutation) -> Option<&str> {
    m.fields.get("case_no").and_then(Value::as_str)
}

impl Admission {
    pub fn load(conn: &mut DbConn, device_id: &str, batch: &[Mutation]) -> Result<Admission> {
        let numbers: Vec<String> = batch
            .iter()
            .filter(|m| m.op == Op::Upsert && Series::of_entity(&m.entity).is_some())
            .filter_map(|m| number_of(m).map(str::to_owned))
            .collect();
        if numbers.is_empty() {
            return Ok(Admission::default());
        }
        let taken = case_numbers::table
            .filter(case_numbers::case_no.eq_any(&numbers))
            .select((case_numbers::case_no, case_numbers::record_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(Admission {
            blocks: blocks_of(conn, device_id)?,
            taken,
            minted: Vec::new(),
        })
    }

    /// Checks the number a new record carries; `Err` is (code, message) for the answer.
    pub fn admit(
        &mut self,
        entity: &str,
        record_id: &str,
        case_no: &str,
    ) -> std::result::Result<(), (Code, Msg)> {
        let Some(series) = Series::of_entity(entity) else {
            return Ok(());
        };
        if let Some(holder) = self.taken.get(case_no) {
            return if holder == record_id {
                Ok(())
            } else {
                Err((
                    Code::CaseNoTaken,
                    Msg::new(
                        format!("案件编号 {case_no} 已属于另一条记录。"),
                        format!("case number {case_no} belongs to another record"),
                    ),
                ))
            };
        }
        let Some(n) = CaseNumber::parse(case_no).filter(|n| n.series == series) else {
            return Err((
                Code::CaseNoInvalid,
                Msg::new(
                    format!(
                        "{case_no:?} 不是 {} 编号，格式如 530123-2026-{}-00001。",
                        series.as_str(),
                        series.code()
                    ),
                    format!(
                        "{case_no:?} is not a {} number such as 530123-2026-{}-00001",
                        series.as_str(),
                        series.code()
                    ),
                ),
            ));
        };
        let Some(block) = self.blocks.iter().find(|b| {
            b.county_code == n.county_code
                && b.year == n.year
                && b.series == series.as_str()
                && (b.first_serial..=b.last_serial).contains(&n.serial)
        }) else {
            return Err((
                Code::CaseNoNotReserved,
                Msg::new(
                    format!("{case_no} 不在本设备预留的编号段内。"),
                    format!("{case_no} is not in a block this device reserved"),
                ),
            ));
        };
        self.taken.insert(case_no.to_owned(), record_id.to_owned());
        self.minted.push((
            case_no.to_owned(),
            entity.to_owned(),
            record_id.to_owned(),
            block.id.clone(),
        ));
        Ok(())
    }

    /// Records the numbers admitted in this batch; the primary key refuses any number twice.
    pub fn save(self, conn: &mut DbConn) -> Result<()> {
        let at = now();
        let rows: Vec<_> = self
            .minted
            .iter()
            .map(|(no, entity, id, block)| {
                (
                    case_numbers::case_no.eq(no),
                    case_numbers::entity.eq(entity),
                    case_numbers::record_id.eq(id),
                    case_numbers::block_id.eq(block),
                    case_numbers::created_at.eq(at),
                )
            })
            .collect();
        insert_all!(conn, case_numbers::table, &rows)?;
        Ok(())
    }
}
