//! 走访台账: the home visits synced from helpers' phones, with the household, the helper,
//! the kind of visit and the basic-needs check (两不愁三保障), item by item.

use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::ledgers::cell::Cell;
use crate::ledgers::lookup::name_cell;
use crate::ledgers::{Chunk, Column, Kind, Ledger, Selection, cell, col, lookup};

pub const VISIT_KIND: &[(&str, &str)] = &[
    ("routine", "日常走访"),
    ("look_back", "回头看"),
    ("verification", "核查走访"),
];
pub const CHECK: &[(&str, &str)] = &[
    ("met", "有保障"),
    ("not_met", "未保障"),
    ("unknown", "未核实"),
];
pub const REVIEW: &[(&str, &str)] = &[
    ("pending", "待审核"),
    ("approved", "已通过"),
    ("rejected", "未通过"),
];

/// The basic-needs items, in the order of the columns that show them.
const BASIC_NEEDS: [&str; 5] = [
    "food",
    "clothing",
    "compulsory_education",
    "basic_medical",
    "safe_housing",
];

const COLUMNS: &[Column] = &[
    col("visited_at", "走访时间", Kind::Instant, 17),
    col("village", "所属村（社区）", Kind::Text, 14),
    col("head_name", "户主姓名", Kind::Text, 10),
    col("address", "家庭住址", Kind::Text, 26),
    col("helper", "帮扶责任人", Kind::Text, 11),
    col("kind", "走访类型", Kind::Label(VISIT_KIND), 10),
    col("food", "不愁吃", Kind::Label(CHECK), 8),
    col("clothing", "不愁穿", Kind::Label(CHECK), 8),
    col("compulsory_education", "义务教育", Kind::Label(CHECK), 9),
    col("basic_medical", "基本医疗", Kind::Label(CHECK), 9),
    col("safe_housing", "住房安全", Kind::Label(CHECK), 9),
    col("review_status", "审核状态", Kind::Label(REVIEW), 9),
    col("notes", "走访记录", Kind::Text, 40),
];

pub const LEDGER: Ledger = Ledger {
    name: "visits",
    title: "走访台账",
    title_en: "Home visits",
    period: "visited_at",
    columns: COLUMNS,
    read,
};

fn read(conn: &mut DbConn, sel: &Selection, after: Option<&str>, limit: i64) -> Result<Chunk> {
    let page = lookup::records(conn, &sel.scope, "visit", after, limit)?;
    let next = lookup::next_after(page.last().map(|r| r.id.as_str()), page.len(), limit);
    let visits: Vec<_> = page
        .into_iter()
        .filter(|v| sel.period.contains_text(v.str("visited_at")))
        .collect();
    let field = |name: &str| -> Vec<String> {
        visits
            .iter()
            .filter_map(|v| v.str(name).map(str::to_owned))
            .collect()
    };
    let homes = lookup::homes(conn, &sel.scope, &field("household_id"))?;
    let helpers = lookup::user_names(conn, field("helper_id"))?;
    let villages = lookup::region_names(conn, visits.iter().map(|v| v.region_id.clone()))?;
    let rows = visits
        .iter()
        .map(|v| {
            let home = v.str("household_id").and_then(|h| homes.get(h));
            let mut row = vec![
                cell::instant(v.str("visited_at")),
                name_cell(&villages, Some(&v.region_id)),
                Cell::opt(home.and_then(|h| h.head.as_ref()).map(|h| h.name.clone())),
                Cell::opt(home.map(|h| h.address.clone())),
                name_cell(&helpers, v.str("helper_id")),
                Cell::opt(v.str("kind")),
            ];
            row.extend(
                BASIC_NEEDS
                    .iter()
                    .map(|item| Cell::opt(v.item("basic_needs", item))),
            );
            // A visit nobody has reviewed yet is waiting for review.
            row.push(Cell::text(v.str("review_status").unwrap_or("pending")));
            row.push(Cell::opt(v.str("notes")));
            row
        })
        .collect();
    Ok(Chunk { rows, next })
}
