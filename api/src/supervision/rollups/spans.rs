//! Distinct counts: a household visited (or a case file adjusted) counts once in a period,
//! on its first day there. Every day a subject has one under a path is kept with the gap
//! since its previous day there; spans count those days per path, day and gap, and each
//! span also holds how many of its path's and day's have a gap at least its own (`above`),
//! so a period's count reads one span per day (see [`crate::supervision::figures`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::supervision::rollups::{GAP_CAP, Upsert, day_of, lineage, write_rows};
use crate::supervision::sql::{Arg, execute, load};

/// What a distinct count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    /// Households visited (field facts of visits, by household).
    Visits,
    /// Case files adjusted (audited updates, by file).
    Adjustments,
}

impl Measure {
    pub fn parse(s: &str) -> Option<Measure> {
        match s {
            "visits" => Some(Measure::Visits),
            "adjustments" => Some(Measure::Adjustments),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Visits => "visits",
            Measure::Adjustments => "adjustments",
        }
    }

    /// Each subject's dated records: subject, path, instant.
    fn source(self, placeholders: &str) -> String {
        match self {
            Measure::Visits => format!(
                "SELECT subject_id AS subject, region_path AS path, occurred_at AS at FROM field_facts \
                 WHERE entity = 'visit' AND subject_id IN ({placeholders}) AND NOT deleted \
                 AND occurred_at IS NOT NULL"
            ),
            Measure::Adjustments => format!(
                "SELECT entity_id AS subject, region_path AS path, at FROM audit_log WHERE entity = 'case_file' \
                 AND entity_id IN ({placeholders}) AND action = 'update'"
            ),
        }
    }
}

#[derive(QueryableByName, Debug)]
pub(super) struct Dated {
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub path: String,
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
}

/// One subject's day under one path, with the gap since its day before there.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct SubjectDay {
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub path: String,
    #[diesel(sql_type = Integer)]
    pub day: i32,
    #[diesel(sql_type = Integer)]
    pub gap: i32,
}

/// The subjects' days per path, each with the gap since the one before it there.
pub(super) fn days_of(dated: &[Dated]) -> BTreeSet<SubjectDay> {
    let mut days: BTreeMap<(&str, &str), BTreeSet<i32>> = BTreeMap::new();
    for d in dated {
        days.entry((&d.subject, &d.path))
            .or_default()
            .insert(day_of(d.at));
    }
    let mut out = BTreeSet::new();
    for ((subject, path), days) in days {
        let mut before: Option<i32> = None;
        for day in days {
            let gap = before.map_or(GAP_CAP, |b| (day - b).min(GAP_CAP));
            out.insert(SubjectDay {
                subject: subject.to_owned(),
                path: path.to_owned(),
                day,
                gap,
            });
            before = Some(day);
        }
    }
    out
}

/// Subjects recounted per statement.
const BATCH: usize = 400;

/// Recomputes these subjects' days and moves the spans by what changed. Their `above`
/// counts are brought up to date too, unless `restack` is off (a rebuild does that once at
/// the end, see [`restack_all`]).
pub fn recount(
    conn: &mut DbConn,
    measure: Measure,
    subjects: &[&str],
    restack: bool,
) -> Result<()> {
    let mut spans: HashMap<(String, i32, i32), i64> = HashMap::new();
    let mut added: Vec<SubjectDay> = Vec::new();
    for batch in subjects.chunks(BATCH) {
        let marks = vec!["?"; batch.len()].join(", ");
        let ids: Vec<Arg<'_>> = batch.iter().map(|s| Arg::Text(s)).collect();
        let dated: Vec<Dated> = load(conn, &measure.source(&marks), &ids)?;
        let fresh = days_of(&dated);
        let mut args = vec![Arg::Text(measure.as_str())];
        args.extend(ids.iter().copied());
        let stored: BTreeSet<SubjectDay> = load::<SubjectDay>(
            conn,
            &format!(
                "SELECT subject_id AS subject, path, day, gap FROM rollup_subject_days WHERE measure = ? \
                 AND subject_id IN ({marks})"
            ),
            &args,
        )?
        .into_iter()
        .collect();
        let mut move_spans = |d: &SubjectDay, by: i64| {
            for (at, _) in lineage(&d.path) {
                *spans.entry((at, d.day, d.gap)).or_default() += by;
            }
        };
        for gone in stored.difference(&fresh) {
            execute(
                conn,
                "DELETE FROM rollup_subject_days WHERE measure = ? AND subject_id = ? AND path = ? AND day = ?",
                &[
                    Arg::Text(measure.as_str()),
                    Arg::Text(&gone.subject),
                    Arg::Text(&gone.path),
                    Arg::Int(gone.day),
                ],
            )?;
            move_spans(gone, -1);
        }
        for new in fresh.difference(&stored) {
            move_spans(new, 1);
            added.push(new.clone());
        }
    }
    let insert = Upsert::new(
        "rollup_subject_days",
        &["measure", "subject_id", "path", "day", "gap"],
        "",
        false,
    );
    write_rows(conn, &insert, &added, |d, args| {
        args.extend([
            Arg::Text(measure.as_str()),
            Arg::Text(&d.subject),
            Arg::Text(&d.path),
            Arg::Int(d.day),
            Arg::Int(d.gap),
        ]);
    })?;
    let moved: Vec<(String, i32, i32, i64)> = spans
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((path, day, gap), n)| (path, day, gap, n))
        .collect();
    let add = Upsert::counting(
        "rollup_spans",
        &["measure", "path", "day", "gap"],
        "measure, path, day, gap",
        "n",
    );
    write_rows(conn, &add, &moved, |(path, day, gap, n), args| {
        args.extend([
            Arg::Text(measure.as_str()),
            Arg::Text(path),
            Arg::Int(*day),
            Arg::Int(*gap),
            Arg::Big(*n),
        ]);
    })?;
    if restack {
        let touched: BTreeSet<(&str, i32)> = moved
            .iter()
            .map(|(path, day, _, _)| (path.as_str(), *day))
            .collect();
        let touched: Vec<(&str, i32)> = touched.into_iter().collect();
        for chunk in touched.chunks(RESTACK_BATCH) {
            let mut args = Vec::with_capacity(chunk.len() * 2 + 1);
            for (path, day) in chunk {
                args.extend([Arg::Text(path), Arg::Int(*day)]);
            }
            args.push(Arg::Text(measure.as_str()));
            let keys = vec!["(CAST(? AS TEXT), CAST(? AS INTEGER))"; chunk.len()].join(", ");
            // The touched paths and days drive the read: one index seek each.
            execute(
                conn,
                &restack_sql(
                    &format!("WITH k(path, day) AS (VALUES {keys}) "),
                    "k JOIN rollup_spans s ON s.measure = ? AND s.path = k.path AND s.day = k.day",
                ),
                &args,
            )?;
        }
    }
    Ok(())
}

/// Paths and days restacked per statement.
const RESTACK_BATCH: usize = 200;

/// Sets `above` on the spans `from` reads (as `s`, whole paths and days): each span's
/// count plus those of its path's and day's longer gaps. Only the rows that change are
/// written.
fn restack_sql(with: &str, from: &str) -> String {
    format!(
        "{with}UPDATE rollup_spans SET above = t.above FROM (\
           SELECT s.measure, s.path, s.day, s.gap, CAST(SUM(s.n) OVER (\
             PARTITION BY s.measure, s.path, s.day ORDER BY s.gap DESC) AS BIGINT) AS above \
           FROM {from}\
         ) t WHERE rollup_spans.measure = t.measure AND rollup_spans.path = t.path \
           AND rollup_spans.day = t.day AND rollup_spans.gap = t.gap \
           AND rollup_spans.above <> t.above"
    )
}

/// Sets `above` on every span: after a rebuild that counted with `restack` off.
pub fn restack_all(conn: &mut DbConn) -> Result<()> {
    execute(conn, &restack_sql("", "rollup_spans s"), &[])?;
    Ok(())
}
