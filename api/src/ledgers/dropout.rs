//! 控辍保学台账: each dropout case synced from the field, with the child, school and
//! guardian from the registry, the legal step reached, the state and outcome, and how many
//! retrieval attempts were made and what the last one found (R-DROP-3, R-DROP-5).

use std::collections::HashMap;

use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::ledgers::cell::Cell;
use crate::ledgers::lookup::{Link, Record, name_cell};
use crate::ledgers::{Chunk, Column, Kind, Ledger, Selection, cell, col, lookup, personal};

pub const GENDER: &[(&str, &str)] = &[("female", "女"), ("male", "男")];
pub const STAGE: &[(&str, &str)] = &[
    ("enrollment_notice", "入学通知"),
    ("registration", "登记造册"),
    ("dropout_confirmed", "辍学确认"),
    ("persuasion", "双线劝返"),
    ("reported", "及时报告"),
    ("return_urged", "督促复学"),
    ("penalty", "行政处罚"),
    ("court_enforcement", "申请强制执行"),
];
pub const STATE: &[(&str, &str)] = &[("open", "未销号"), ("closed", "已销号")];
pub const OUTCOME: &[(&str, &str)] = &[
    ("returned", "劝返复学"),
    ("studying_elsewhere", "异地就读"),
    ("illness_deferral", "因病缓学"),
    ("illness_exemption", "因病免学"),
    ("home_teaching", "送教上门"),
    ("whereabouts_unknown", "下落不明"),
];
pub const METHOD: &[(&str, &str)] = &[
    ("phone_call", "电话劝返"),
    ("letter", "书面通知"),
    ("home_visit", "上门劝返"),
];
pub const RESULT: &[(&str, &str)] = &[
    ("no_contact", "未联系上"),
    ("refused", "拒绝返校"),
    ("promised", "承诺返校"),
    ("returned", "已返校"),
];

const COLUMNS: &[Column] = &[
    col("opened_at", "立案时间", Kind::Instant, 17),
    col("village", "所属村（社区）", Kind::Text, 14),
    col("child_name", "学生姓名", Kind::Text, 10),
    col("gender", "性别", Kind::Label(GENDER), 6),
    col("birth_date", "出生日期", Kind::Date, 12),
    col("school", "学校", Kind::Text, 18),
    col("guardian", "监护人", Kind::Text, 10),
    personal("guardian_phone", "监护人电话", 14),
    col("stage", "控辍环节", Kind::Label(STAGE), 12),
    col("state", "销号状态", Kind::Label(STATE), 9),
    col("outcome", "处置结果", Kind::Label(OUTCOME), 10),
    col("attempts", "劝返次数", Kind::Int, 9),
    col("last_attempt_at", "最近劝返时间", Kind::Instant, 17),
    col("last_method", "最近劝返方式", Kind::Label(METHOD), 12),
    col("last_result", "最近劝返结果", Kind::Label(RESULT), 12),
];

pub const LEDGER: Ledger = Ledger {
    name: "dropout",
    title: "控辍保学台账",
    title_en: "Dropout control",
    period: "opened_at",
    columns: COLUMNS,
    read,
};

/// The attempts of one case: how many, and the latest by when it was made.
#[derive(Default)]
struct Attempts<'a> {
    count: i64,
    last: Option<&'a Record>,
}

fn tally(attempts: &[Record]) -> HashMap<&str, Attempts<'_>> {
    let mut by_case: HashMap<&str, Attempts<'_>> = HashMap::new();
    for a in attempts {
        let Some(case) = a.str("case_id") else {
            continue;
        };
        let t = by_case.entry(case).or_default();
        t.count += 1;
        let when = |r: &Record| r.str("attempted_at").and_then(cell::parse_instant);
        if t.last.is_none_or(|l| when(a) >= when(l)) {
            t.last = Some(a);
        }
    }
    by_case
}

fn read(conn: &mut DbConn, sel: &Selection, after: Option<&str>, limit: i64) -> Result<Chunk> {
    let page = lookup::records(conn, &sel.scope, "dropout_case", after, limit)?;
    let next = lookup::next_after(page.last().map(|r| r.id.as_str()), page.len(), limit);
    let cases: Vec<Record> = page
        .into_iter()
        .filter(|c| sel.period.contains_text(c.str("opened_at")))
        .collect();
    let child_ids: Vec<String> = cases
        .iter()
        .filter_map(|c| c.str("child_id").map(str::to_owned))
        .collect();
    let children = lookup::records_by_id(conn, &sel.scope, "child", &child_ids)?;
    let case_ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let attempts = lookup::records_naming(conn, &sel.scope, Link::AttemptCase, &case_ids)?;
    let tallies = tally(&attempts);
    let school_of = |c: &Record| {
        c.str("school_id")
            .or_else(|| {
                c.str("child_id")
                    .and_then(|id| children.get(id))
                    .and_then(|k| k.str("school_id"))
            })
            .map(str::to_owned)
    };
    let places = lookup::region_names(
        conn,
        cases
            .iter()
            .flat_map(|c| [Some(c.region_id.clone()), school_of(c)])
            .flatten(),
    )?;
    let rows = cases
        .iter()
        .map(|c| {
            let child = c.str("child_id").and_then(|id| children.get(id));
            let of_child = |f: &str| Cell::opt(child.and_then(|k| k.str(f)));
            let t = tallies.get(c.id.as_str());
            let last = |f: &str| Cell::opt(t.and_then(|t| t.last).and_then(|a| a.str(f)));
            vec![
                cell::instant(c.str("opened_at")),
                name_cell(&places, Some(&c.region_id)),
                of_child("name"),
                of_child("gender"),
                Cell::date(child.and_then(|k| k.str("birth_date"))),
                name_cell(&places, school_of(c).as_deref()),
                of_child("guardian_name"),
                sel.phone(child.and_then(|k| k.str("guardian_phone"))),
                Cell::opt(c.str("stage")),
                Cell::opt(c.str("state")),
                Cell::opt(c.str("outcome")),
                Cell::Int(t.map_or(0, |t| t.count)),
                cell::instant(t.and_then(|t| t.last).and_then(|a| a.str("attempted_at"))),
                last("method"),
                last("result"),
            ]
        })
        .collect();
    Ok(Chunk { rows, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attempt(case: &str, at: &str, result: &str) -> Record {
        Record {
            id: format!("{case}-{at}"),
            region_id: "r".into(),
            data: json!({"case_id": case, "attempted_at": at, "result": result})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn the_last_attempt_is_the_latest_made_whatever_order_they_arrived_in() {
        let attempts = [
            attempt("a", "2026-09-03T08:00:00+08:00", "promised"),
            attempt("a", "2026-09-01T08:00:00Z", "refused"),
            attempt("b", "2026-09-02T08:00:00Z", "no_contact"),
            attempt("a", "2026-09-02T08:00:00Z", "no_contact"),
        ];
        let t = tally(&attempts);
        assert_eq!(t["a"].count, 3);
        assert_eq!(t["a"].last.and_then(|l| l.str("result")), Some("promised"));
        assert_eq!(t["b"].count, 1);
        let mut reversed = attempts.clone();
        reversed.reverse();
        let t = tally(&reversed);
        assert_eq!(t["a"].last.and_then(|l| l.str("result")), Some("promised"));
    }
}
