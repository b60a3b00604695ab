//! 送教上门台账: the home-teaching sessions synced from teachers' phones, with the child,
//! the teacher, the class hours, whether a parent signed the lesson plan and how many
//! photos were taken as evidence (R-DROP-7).

use std::collections::HashMap;

use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::ledgers::cell::Cell;
use crate::ledgers::lookup::{Link, name_cell};
use crate::ledgers::{Chunk, Column, Kind, Ledger, Selection, cell, col, lookup};

const COLUMNS: &[Column] = &[
    col("held_at", "送教时间", Kind::Instant, 17),
    col("village", "所属村（社区）", Kind::Text, 14),
    col("child_name", "学生姓名", Kind::Text, 10),
    col("school", "学校", Kind::Text, 18),
    col("teacher", "送教教师", Kind::Text, 10),
    col("class_hours", "课时", Kind::Number, 7),
    col("lesson_plan_signed", "教案家长签字", Kind::YesNo, 12),
    col("photos", "照片数", Kind::Int, 8),
    col("notes", "送教记录", Kind::Text, 40),
];

pub const LEDGER: Ledger = Ledger {
    name: "home_teaching",
    title: "送教上门台账",
    title_en: "Home teaching",
    period: "held_at",
    columns: COLUMNS,
    read,
};

fn read(conn: &mut DbConn, sel: &Selection, after: Option<&str>, limit: i64) -> Result<Chunk> {
    let page = lookup::records(conn, &sel.scope, "teaching_session", after, limit)?;
    let next = lookup::next_after(page.last().map(|r| r.id.as_str()), page.len(), limit);
    let sessions: Vec<_> = page
        .into_iter()
        .filter(|s| sel.period.contains_text(s.str("held_at")))
        .collect();
    let field = |name: &str| -> Vec<String> {
        sessions
            .iter()
            .filter_map(|s| s.str(name).map(str::to_owned))
            .collect()
    };
    let children = lookup::records_by_id(conn, &sel.scope, "child", &field("child_id"))?;
    let teachers = lookup::user_names(conn, field("teacher_id"))?;
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let mut photos: HashMap<String, i64> = HashMap::new();
    for p in lookup::records_naming(conn, &sel.scope, Link::PhotoSubject, &ids)? {
        if p.str("subject_entity") == Some("teaching_session")
            && let Some(s) = p.str("subject_id")
        {
            *photos.entry(s.to_owned()).or_default() += 1;
        }
    }
    let places = lookup::region_names(
        conn,
        sessions
            .iter()
            .map(|s| s.region_id.clone())
            .chain(field("school_id")),
    )?;
    let rows = sessions
        .iter()
        .map(|s| {
            let child = s.str("child_id").and_then(|id| children.get(id));
            vec![
                cell::instant(s.str("held_at")),
                name_cell(&places, Some(&s.region_id)),
                Cell::opt(child.and_then(|k| k.str("name"))),
                name_cell(&places, s.str("school_id")),
                name_cell(&teachers, s.str("teacher_id")),
                s.f64("class_hours").map_or(Cell::Empty, Cell::Number),
                // Not recorded as signed is not signed.
                Cell::Bool(s.bool("lesson_plan_signed").unwrap_or(false)),
                Cell::Int(photos.get(&s.id).copied().unwrap_or(0)),
                Cell::opt(s.str("notes")),
            ]
        })
        .collect();
    Ok(Chunk { rows, next })
}
