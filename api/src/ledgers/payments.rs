//! 资金发放台账: every aid payment in the scope, in the order it was made, with the
//! household it went to, the kind, period, amount and the level that had to approve it.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::{case_files, disbursements};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::error::Result;
use crate::ledgers::cell::Cell;
use crate::ledgers::lookup::name_cell;
use crate::ledgers::{Chunk, Column, Kind, Ledger, Selection, col, lookup, personal};
use crate::payments::disbursements::DisbursementRow;

pub const AID_KIND: &[(&str, &str)] = &[
    ("living", "生活救助"),
    ("medical", "医疗救助"),
    ("education", "教育救助"),
];
pub const APPROVAL: &[(&str, &str)] = &[
    ("county", "县级审批"),
    ("provincial", "省级审批"),
    ("national", "全国审批"),
];

const COLUMNS: &[Column] = &[
    col("paid_at", "发放时间", Kind::Instant, 17),
    col("village", "所属村（社区）", Kind::Text, 14),
    col("head_name", "户主姓名", Kind::Text, 10),
    personal("head_id_number", "户主身份证号", 21),
    col("kind", "救助类别", Kind::Label(AID_KIND), 10),
    col("year", "年度", Kind::Int, 7),
    col("period", "发放期间", Kind::Text, 10),
    col("amount", "金额（元）", Kind::Money, 13),
    col("approval", "审批层级", Kind::Label(APPROVAL), 10),
    col("note", "备注", Kind::Text, 24),
    col("case_file_id", "档案编号", Kind::Text, 38),
];

pub const LEDGER: Ledger = Ledger {
    name: "payments",
    title: "资金发放台账",
    title_en: "Aid payments",
    period: "paid_at",
    columns: COLUMNS,
    read,
};

fn read(conn: &mut DbConn, sel: &Selection, after: Option<&str>, limit: i64) -> Result<Chunk> {
    let mut q = disbursements::table
        .select(DisbursementRow::as_select())
        .filter(path_in_scope(disbursements::region_path, &sel.scope))
        .order(disbursements::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(disbursements::id.gt(a.to_owned()));
    }
    if let Some(f) = sel.period.from {
        q = q.filter(disbursements::created_at.ge(f));
    }
    if let Some(u) = sel.period.until {
        q = q.filter(disbursements::created_at.lt(u));
    }
    let paid: Vec<DisbursementRow> = q.load(conn)?;
    let mut file_ids: Vec<String> = paid.iter().map(|p| p.file_id.clone()).collect();
    file_ids.sort_unstable();
    file_ids.dedup();
    let household_of: HashMap<String, String> = if file_ids.is_empty() {
        HashMap::new()
    } else {
        case_files::table
            .filter(case_files::id.eq_any(&file_ids))
            .select((case_files::id, case_files::household_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let household_ids: Vec<String> = household_of.values().cloned().collect();
    let homes = lookup::homes(conn, &sel.scope, &household_ids)?;
    let villages = lookup::region_names_by_path(conn, paid.iter().map(|p| p.region_path.clone()))?;
    let mut rows = Vec::with_capacity(paid.len());
    for p in &paid {
        let head = household_of
            .get(&p.file_id)
            .and_then(|h| homes.get(h))
            .and_then(|h| h.head.as_ref());
        rows.push(vec![
            Cell::Instant(p.created_at),
            name_cell(&villages, Some(&p.region_path)),
            Cell::opt(head.map(|h| h.name.clone())),
            match head {
                Some(h) => sel.id_number(&h.id_masked, &h.id_sealed)?,
                None => Cell::Empty,
            },
            Cell::text(&p.kind),
            Cell::Int(i64::from(p.year)),
            Cell::text(&p.period),
            Cell::Fen(p.amount_fen),
            Cell::text(&p.approval),
            Cell::opt(p.note.clone()),
            Cell::text(&p.file_id),
        ]);
    }
    Ok(Chunk {
        rows,
        next: lookup::next_after(paid.last().map(|p| p.id.as_str()), paid.len(), limit),
    })
}
