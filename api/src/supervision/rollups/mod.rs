//! Keeping the supervision rollups up to date (the tables are described in the migration
//! `supervision_rollups`).
//!
//! Triggers note each change to a counted record as a mark. [`catch_up`] takes the marks
//! a page at a time, one counter at a time: it counts each touched cell (a path and a day)
//! again from the records filed exactly there, stores it, and adds the difference to the
//! sums of that path and every path above it. A household's (or case file's) days are
//! recomputed the same way for the distinct counts. Counting a cell from its records rather
//! than applying each change's own delta makes a mark idempotent: a mark counted twice, or
//! marks in any order, leave the same figures.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::infra::clock::china_date;
use crate::infra::db::{Db, DbConn};
use crate::infra::error::Result;
use crate::supervision::sql::{Arg, execute, load};

mod cells;
pub mod spans;

use spans::Measure;

/// The day that holds the figures of now (households active, photos waiting, cases open).
pub const STANDING: i32 = 0;
/// The longest gap kept between a subject's days: a period is at most 400 days, so any
/// longer gap counts the same.
pub const GAP_CAP: i32 = 401;
/// Marks counted per transaction.
pub const PAGE: i64 = 2000;

/// The China day of an instant, as days from the common era.
pub fn day_of(at: NaiveDateTime) -> i32 {
    china_date(at).num_days_from_ce()
}

/// The China date of a day number.
pub fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or_default()
}

macro_rules! figures {
    ($($f:ident),* $(,)?) => {
        /// The additive figures of one cell (or of the sum of cells).
        #[derive(QueryableByName, Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Figures {
            $(#[diesel(sql_type = BigInt)] pub $f: i64,)*
        }

        impl Figures {
            /// The columns, in the order of [`Figures::values`].
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($f)),*];

            pub fn values(&self) -> Vec<i64> {
                vec![$(self.$f),*]
            }

            fn minus(&self, o: &Figures) -> Figures {
                Figures { $($f: self.$f - o.$f),* }
            }

            pub(crate) fn plus(&self, o: &Figures) -> Figures {
                Figures { $($f: self.$f + o.$f),* }
            }
        }
    };
}

figures!(
    households_active,
    photos_pending,
    dropout_open,
    dropout_opened,
    dropout_closed,
    dropout_returned,
    dropout_started,
    dropout_left,
    deadlines_due,
    deadlines_met_on_time,
    deadlines_missed,
    home_teaching_months,
    home_teaching_compliant,
    disbursements,
    disbursements_on_time,
    disbursed_fen,
    files_created,
    files_exited,
);

/// The paths at and above `path` (`/a/b/` → `/a/b/`, `/a/`), each with its parent (`/`
/// above a root).
pub fn lineage(path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut ends: Vec<usize> = path
        .char_indices()
        .filter(|(i, c)| *c == '/' && *i > 0)
        .map(|(i, _)| i + 1)
        .collect();
    ends.reverse();
    for (n, end) in ends.iter().enumerate() {
        let parent = ends.get(n + 1).map_or("/", |e| &path[..*e]);
        out.push((path[..*end].to_owned(), parent.to_owned()));
    }
    out
}

#[derive(QueryableByName, Debug)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    at: Option<NaiveDateTime>,
}

#[derive(QueryableByName, Debug)]
struct One {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A multi-row `INSERT` (an upsert when it names a conflict), written a chunk of rows at a
/// time.
pub(crate) struct Upsert {
    head: String,
    row: String,
    tail: String,
    per_row: usize,
}

impl Upsert {
    /// Rows of `keys` and then every figure; on a conflict on `conflict` the figures are
    /// replaced, or added to when `add`. No conflict named: a plain insert.
    pub(crate) fn new(table: &str, keys: &[&str], conflict: &str, add: bool) -> Upsert {
        let figures: &[&str] = if conflict.is_empty() {
            &[]
        } else {
            Figures::COLUMNS
        };
        let set: Vec<String> = figures
            .iter()
            .map(|c| {
                if add {
                    format!("{c} = {table}.{c} + excluded.{c}")
                } else {
                    format!("{c} = excluded.{c}")
                }
            })
            .collect();
        Upsert::build(table, keys, figures, conflict, &set)
    }

    /// Rows of `keys` and a count `column`, added to the stored count on a conflict.
    pub(crate) fn counting(table: &str, keys: &[&str], conflict: &str, column: &str) -> Upsert {
        let set = vec![format!("{column} = {table}.{column} + excluded.{column}")];
        Upsert::build(table, keys, &[column], conflict, &set)
    }

    fn build(
        table: &str,
        keys: &[&str],
        values: &[&str],
        conflict: &str,
        set: &[String],
    ) -> Upsert {
        let cols: Vec<&str> = keys.iter().chain(values).copied().collect();
        Upsert {
            head: format!("INSERT INTO {table} ({}) VALUES ", cols.join(", ")),
            row: format!("({})", vec!["?"; cols.len()].join(", ")),
            tail: if conflict.is_empty() {
                String::new()
            } else {
                format!(" ON CONFLICT ({conflict}) DO UPDATE SET {}", set.join(", "))
            },
            per_row: cols.len(),
        }
    }
}

/// Writes `rows` with `u`, as many rows a statement as the backends' bind limits allow.
pub(crate) fn write_rows<'a, T>(
    conn: &mut DbConn,
    u: &Upsert,
    rows: &'a [T],
    bind: impl Fn(&'a T, &mut Vec<Arg<'a>>),
) -> Result<()> {
    let per_statement = (8_000 / u.per_row).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut args = Vec::with_capacity(chunk.len() * u.per_row);
        for r in chunk {
            bind(r, &mut args);
        }
        let values = vec![u.row.as_str(); chunk.len()].join(", ");
        execute(conn, &format!("{}{values}{}", u.head, u.tail), &args)?;
    }
    Ok(())
}

/// The one number `sql` selects (as `n`).
fn count(conn: &mut DbConn, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
    Ok(load::<One>(conn, sql, args)?.first().map_or(0, |r| r.n))
}

/// Waits for any other counter's transaction to end (one counts at a time, or each would
/// add the same difference), and holds the turn until this transaction ends.
fn take_turn(conn: &mut DbConn) -> Result<()> {
    execute(
        conn,
        "UPDATE rollup_progress SET processed = processed WHERE id = 1",
        &[],
    )?;
    Ok(())
}

/// Counts one page of marks, in the caller's write transaction; returns how many it took.
pub fn count_page(conn: &mut DbConn) -> Result<usize> {
    take_turn(conn)?;
    // While a rebuild's restack is due, spans are left to it.
    let restack = !restack_due(conn)?;
    let marks: Vec<Mark> = load(
        conn,
        "SELECT id, kind, key, at FROM rollup_marks ORDER BY id LIMIT ?",
        &[Arg::Big(PAGE)],
    )?;
    if marks.is_empty() {
        return Ok(0);
    }
    let mut cells: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    let mut subjects: BTreeMap<Measure, BTreeSet<&str>> = BTreeMap::new();
    for m in &marks {
        match Measure::parse(&m.kind) {
            None => {
                cells
                    .entry(m.key.clone())
                    .or_default()
                    .insert(m.at.map_or(STANDING, day_of));
            }
            Some(measure) => {
                subjects.entry(measure).or_default().insert(&m.key);
            }
        }
    }
    cells::recount(conn, &cells)?;
    for (measure, ids) in subjects {
        let ids: Vec<&str> = ids.into_iter().collect();
        spans::recount(conn, measure, &ids, restack)?;
    }
    // Exactly the marks counted: one committed while this page ran waits for the next.
    for chunk in marks.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|m| m.id.to_string()).collect();
        execute(
            conn,
            &format!("DELETE FROM rollup_marks WHERE id IN ({})", ids.join(", ")),
            &[],
        )?;
    }
    execute(
        conn,
        "UPDATE rollup_progress SET processed = processed + ? WHERE id = 1",
        &[Arg::Big(marks.len() as i64)],
    )?;
    Ok(marks.len())
}

/// Marks every counted record, as the migration that made the rollups did: after a bulk
/// load that bypassed the triggers (PostgreSQL's `session_replication_role = replica`),
/// or to count everything again. The figures already kept are cleared first.
pub fn mark_everything(conn: &mut DbConn) -> Result<()> {
    let exit_day = match conn {
        DbConn::Sqlite(_) => "datetime(exited_on, '-8 hours')",
        DbConn::Pg(_) => "exited_on::date - interval '8 hours'",
    };
    let none = "CAST(NULL AS TIMESTAMP)";
    take_turn(conn)?;
    execute(
        conn,
        "UPDATE rollup_progress SET restack_due = TRUE WHERE id = 1",
        &[],
    )?;
    for table in [
        "rollup_marks",
        "rollup_cells",
        "rollup_sums",
        "rollup_subject_days",
        "rollup_spans",
    ] {
        execute(conn, &format!("DELETE FROM {table}"), &[])?;
    }
    for sql in [
        format!(
            "SELECT DISTINCT 'cell', r.path, {none} FROM households h JOIN regions r ON r.id = h.region_id"
        ),
        format!(
            "SELECT DISTINCT 'cell', region_path, {none} FROM field_facts WHERE entity IN ('dropout_case', 'photo')"
        ),
        "SELECT 'cell', region_path, occurred_at FROM field_facts WHERE entity = 'dropout_case' \
         AND occurred_at IS NOT NULL"
            .to_owned(),
        "SELECT 'cell', region_path, ended_at FROM field_facts WHERE entity = 'dropout_case' \
         AND ended_at IS NOT NULL"
            .to_owned(),
        format!(
            "SELECT DISTINCT 'visits', subject_id, {none} FROM field_facts WHERE entity = 'visit'"
        ),
        "SELECT 'cell', region_path, due_at FROM deadlines".to_owned(),
        "SELECT 'cell', region_path, created_at FROM disbursements".to_owned(),
        "SELECT 'cell', region_path, created_at FROM case_files".to_owned(),
        format!(
            "SELECT 'cell', region_path, {exit_day} FROM case_files WHERE exited_on IS NOT NULL"
        ),
        format!(
            "SELECT DISTINCT 'adjustments', entity_id, {none} FROM audit_log WHERE entity = 'case_file' \
             AND action = 'update'"
        ),
    ] {
        execute(
            conn,
            &format!("INSERT INTO rollup_marks (kind, key, at) {sql}"),
            &[],
        )?;
    }
    Ok(())
}

/// Clears the rollups and counts every record again; returns the marks counted.
pub async fn rebuild(db: &Db) -> Result<u64> {
    db.write(mark_everything).await?;
    let mut counted = 0u64;
    loop {
        let n = db.write(count_page).await?;
        counted += n as u64;
        if n < PAGE as usize {
            break;
        }
    }
    db.write(restack_if_due).await?;
    Ok(counted)
}

fn restack_due(conn: &mut DbConn) -> Result<bool> {
    count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM rollup_progress WHERE id = 1 AND restack_due",
        &[],
    )
    .map(|n| n > 0)
}

/// After a rebuild has counted its marks (and after a catch-up's last page, should a
/// rebuild have been cut short): the spans' `above` counts, set everywhere at once. Page
/// by page, nearly every day of the regions high up would be set again by every page.
fn restack_if_due(conn: &mut DbConn) -> Result<()> {
    take_turn(conn)?;
    if restack_due(conn)? {
        spans::restack_all(conn)?;
        execute(
            conn,
            "UPDATE rollup_progress SET restack_due = FALSE WHERE id = 1",
            &[],
        )?;
    }
    Ok(())
}

/// After counting everything again: fresh statistics, and on PostgreSQL the visibility
/// map that lets a region's answer read the spans from their index alone (autovacuum keeps
/// it up later). Runs outside any transaction.
pub fn tidy(conn: &mut DbConn) -> Result<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConn::Pg(c) => c.batch_execute(
            "VACUUM ANALYZE rollup_cells, rollup_sums, rollup_subject_days, rollup_spans",
        )?,
        DbConn::Sqlite(c) => c.batch_execute(
            "ANALYZE rollup_cells; ANALYZE rollup_sums; ANALYZE rollup_subject_days; ANALYZE rollup_spans",
        )?,
    }
    Ok(())
}

/// Whether any change waits to be counted, or a rebuild's restack to be done: one read on
/// every metrics read. The marks are read through the key's index (`ORDER BY id`): after a
/// burst of marks the table holds their dead rows until vacuumed, which a scan would walk
/// each time (measured: 264,000 dead rows after a catch-up of 400,000 marks).
pub fn behind(conn: &mut DbConn) -> Result<bool> {
    Ok(count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM rollup_progress WHERE id = 1 AND (restack_due \
         OR EXISTS (SELECT 1 FROM (SELECT id FROM rollup_marks ORDER BY id LIMIT 1) m))",
        &[],
    )? > 0)
}

/// Counts every waiting mark, a page per transaction. Cheap when nothing waits.
pub async fn catch_up(db: &Db) -> Result<()> {
    if !db.read(behind).await? {
        return Ok(());
    }
    while db.write(count_page).await? == PAGE as usize {}
    db.write(restack_if_due).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_sums_into_itself_and_every_region_above() {
        assert_eq!(
            lineage("/a/b/c/"),
            vec![
                ("/a/b/c/".to_owned(), "/a/b/".to_owned()),
                ("/a/b/".to_owned(), "/a/".to_owned()),
                ("/a/".to_owned(), "/".to_owned()),
            ]
        );
    }

    #[test]
    fn days_are_china_days_and_round_trip() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default();
        assert_eq!(
            date_of(day_of(t("2026-12-02 15:59"))).to_string(),
            "2026-12-02"
        );
        assert_eq!(
            date_of(day_of(t("2026-12-02 16:00"))).to_string(),
            "2026-12-03"
        );
        assert!(day_of(t("1971-01-01 00:00")) > STANDING);
    }

    #[test]
    fn a_subjects_days_carry_the_gap_since_the_one_before_in_the_same_place() {
        use spans::{Dated, days_of};
        let t = |s: &str| {
            NaiveDateTime::parse_from_str(&format!("{s} 02:00"), "%Y-%m-%d %H:%M")
                .unwrap_or_default()
        };
        let d = |subject: &str, path: &str, at: &str| Dated {
            subject: subject.into(),
            path: path.into(),
            at: t(at),
        };
        let days = days_of(&[
            d("h", "/v/", "2026-01-10"),
            d("h", "/v/", "2026-01-10"),
            d("h", "/v/", "2026-01-01"),
            d("h", "/w/", "2026-01-05"),
            d("h", "/v/", "2028-01-01"),
            d("k", "/v/", "2026-01-03"),
        ]);
        let got: Vec<(String, String, i32)> = days
            .into_iter()
            .map(|s| (s.subject, s.path, s.gap))
            .collect();
        let row = |s: &str, p: &str, g: i32| (s.to_owned(), p.to_owned(), g);
        assert_eq!(
            got,
            vec![
                row("h", "/v/", GAP_CAP),
                row("h", "/v/", 9),
                row("h", "/v/", GAP_CAP),
                row("h", "/w/", GAP_CAP),
                row("k", "/v/", GAP_CAP),
            ]
        );
    }
}
