//! 户档台账: every household in the scope, village by village, with its members count and
//! head, and one line per case file (program, category, status, dates in and out); a
//! household without a file has one line with those left empty.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::households::queries::HouseholdRow;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{case_files, households};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::error::Result;
use crate::ledgers::cell::{Cell, china};
use crate::ledgers::lookup::name_cell;
use crate::ledgers::{Chunk, Column, Kind, Ledger, Selection, col, lookup, personal};
use crate::payments::case_files::FileRow;

pub const HOUSEHOLD_STATUS: &[(&str, &str)] = &[
    ("active", "在册"),
    ("exited", "已退出"),
    ("merged", "已合并"),
];
pub const CATEGORY: &[(&str, &str)] = &[
    ("deep", "深度困难"),
    ("relative", "相对困难"),
    ("accidental", "意外致困"),
];
pub const FILE_STATUS: &[(&str, &str)] = &[
    ("active", "帮扶中"),
    ("exit_review", "退出审核中"),
    ("exit_notice", "退出公示中"),
    ("exited", "已退出"),
];

const COLUMNS: &[Column] = &[
    col("village", "所属村（社区）", Kind::Text, 14),
    col("address", "家庭住址", Kind::Text, 26),
    col("head_name", "户主姓名", Kind::Text, 10),
    personal("head_id_number", "户主身份证号", 21),
    personal("phone", "联系电话", 14),
    col("members", "家庭人口", Kind::Int, 9),
    col(
        "household_status",
        "户状态",
        Kind::Label(HOUSEHOLD_STATUS),
        8,
    ),
    col("registered_on", "建档日期", Kind::Date, 12),
    col("program", "帮扶项目", Kind::Text, 20),
    col("category", "困难类别", Kind::Label(CATEGORY), 10),
    col("file_status", "档案状态", Kind::Label(FILE_STATUS), 11),
    col("opened_on", "纳入日期", Kind::Date, 12),
    col("exited_on", "退出日期", Kind::Date, 12),
    col("household_id", "户编号", Kind::Text, 38),
];

pub const LEDGER: Ledger = Ledger {
    name: "households",
    title: "户档台账",
    title_en: "Household files",
    period: "registered_on",
    columns: COLUMNS,
    read,
};

/// Households by path (so village by village), after the path `after`.
fn read(conn: &mut DbConn, sel: &Selection, after: Option<&str>, limit: i64) -> Result<Chunk> {
    let mut q = households::table
        .select(HouseholdRow::as_select())
        .filter(path_in_scope(households::path, &sel.scope))
        .order(households::path.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(households::path.gt(a.to_owned()));
    }
    if let Some(f) = sel.period.from {
        q = q.filter(households::created_at.ge(f));
    }
    if let Some(u) = sel.period.until {
        q = q.filter(households::created_at.lt(u));
    }
    let homes: Vec<HouseholdRow> = q.load(conn)?;
    let ids: Vec<String> = homes.iter().map(|h| h.id.clone()).collect();
    let mut members = lookup::members_of(conn, &ids)?;
    let mut files: HashMap<String, Vec<FileRow>> = HashMap::new();
    if !ids.is_empty() {
        for f in case_files::table
            .filter(case_files::household_id.eq_any(&ids))
            .order((
                case_files::household_id,
                case_files::opened_on,
                case_files::id,
            ))
            .select(FileRow::as_select())
            .load(conn)?
        {
            files.entry(f.household_id.clone()).or_default().push(f);
        }
    }
    let programs =
        lookup::program_names(conn, files.values().flatten().map(|f| f.program_id.clone()))?;
    let villages = lookup::region_names(conn, homes.iter().map(|h| h.region_id.clone()))?;
    let mut rows = Vec::with_capacity(homes.len());
    for h in &homes {
        // A household merged away keeps its line, without members and so without a head.
        let (count, head) = match members.remove(&h.id) {
            Some((count, head)) => (count, Some(head)),
            None => (0, None),
        };
        let household = vec![
            name_cell(&villages, Some(&h.region_id)),
            Cell::text(&h.address),
            Cell::opt(head.as_ref().map(|h| h.name.clone())),
            match &head {
                Some(head) => sel.id_number(&head.id_masked, &head.id_sealed)?,
                None => Cell::Empty,
            },
            sel.phone(h.phone.as_deref()),
            Cell::Int(count),
            Cell::text(&h.status),
            Cell::Date(china(h.created_at).date()),
        ];
        let line = |file: Option<&FileRow>| {
            let mut row = household.clone();
            row.extend(match file {
                Some(f) => [
                    name_cell(&programs, Some(&f.program_id)),
                    Cell::text(&f.category),
                    Cell::text(&f.status),
                    Cell::date(Some(&f.opened_on)),
                    Cell::date(f.exited_on.as_deref()),
                ],
                None => [
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ],
            });
            row.push(Cell::text(&h.id));
            row
        };
        match files.get(&h.id) {
            Some(fs) => rows.extend(fs.iter().map(|f| line(Some(f)))),
            None => rows.push(line(None)),
        }
    }
    Ok(Chunk {
        rows,
        next: lookup::next_after(homes.last().map(|h| h.path.as_str()), homes.len(), limit),
    })
}
