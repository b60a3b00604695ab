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

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use crate::infra::clock::{china_date, start_of_china_day};
use crate::infra::db::{Db, DbConn};
use crate::infra::error::Result;
use crate::supervision::sql::{Arg, execute, load};

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

#[derive(QueryableByName, Debug)]
struct Case {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    occurred_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    ended_at: Option<NaiveDateTime>,
}

#[derive(QueryableByName, Debug)]
struct Clock {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamp)]
    due_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    met_at: Option<NaiveDateTime>,
}

#[derive(QueryableByName, Debug)]
struct Paid {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    fen: i64,
}

#[derive(QueryableByName, Debug)]
struct Dated {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SubjectDay {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = Integer)]
    day: i32,
    #[diesel(sql_type = Integer)]
    gap: i32,
}

fn count(conn: &mut DbConn, sql: &str, args: &[Arg<'_>]) -> Result<i64> {
    Ok(load::<One>(conn, sql, args)?.first().map_or(0, |r| r.n))
}

/// The figures of the records filed exactly at `path` on `day`, counted from the records.
fn count_cell(conn: &mut DbConn, path: &str, day: i32) -> Result<Figures> {
    use Arg::{Text as T, Ts};
    let mut f = Figures::default();
    if day == STANDING {
        f.households_active = count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM households h JOIN regions r ON r.id = h.region_id \
             WHERE r.path = ? AND h.status = 'active'",
            &[T(path)],
        )?;
        f.photos_pending = count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM field_facts WHERE region_path = ? AND entity = 'photo' \
             AND state = 'pending' AND NOT deleted",
            &[T(path)],
        )?;
        f.dropout_open = count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM field_facts WHERE region_path = ? AND entity = 'dropout_case' \
             AND state = 'open' AND NOT deleted",
            &[T(path)],
        )?;
        return Ok(f);
    }
    let date = date_of(day);
    let (from, until) = (
        start_of_china_day(date),
        start_of_china_day(date + Duration::days(1)),
    );
    let within = |t: Option<NaiveDateTime>| t.is_some_and(|t| t >= from && t < until);

    let cases: Vec<Case> = load(
        conn,
        "SELECT state, occurred_at, ended_at FROM field_facts WHERE region_path = ? AND entity = 'dropout_case' \
         AND NOT deleted AND occurred_at >= ? AND occurred_at < ? \
         UNION ALL SELECT state, occurred_at, ended_at FROM field_facts WHERE region_path = ? \
         AND entity = 'dropout_case' AND NOT deleted AND ended_at >= ? AND ended_at < ? \
         AND NOT (occurred_at IS NOT NULL AND occurred_at >= ? AND occurred_at < ?)",
        &[
            T(path),
            Ts(from),
            Ts(until),
            T(path),
            Ts(from),
            Ts(until),
            Ts(from),
            Ts(until),
        ],
    )?;
    for c in &cases {
        let open = c.state == "open";
        let closed = matches!(c.state.as_str(), "closed_returned" | "closed_other");
        if within(c.occurred_at) {
            f.dropout_opened += 1;
            // Counted in a period's denominator from the day it opened (R-SUP-1: cases
            // open at some time in the period), unless it was closed without an end.
            if open || c.ended_at.is_some() {
                f.dropout_started += 1;
            }
        }
        if within(c.ended_at) {
            if closed {
                f.dropout_closed += 1;
            }
            if c.state == "closed_returned" {
                f.dropout_returned += 1;
            }
            if !open && c.occurred_at.is_some() {
                f.dropout_left += 1;
            }
        }
    }

    let clocks: Vec<Clock> = load(
        conn,
        "SELECT kind, due_at, met_at FROM deadlines WHERE region_path = ? AND due_at >= ? AND due_at < ? \
         AND NOT cancelled",
        &[T(path), Ts(from), Ts(until)],
    )?;
    for c in &clocks {
        let on_time = c.met_at.is_some_and(|m| m <= c.due_at);
        f.deadlines_due += 1;
        f.deadlines_met_on_time += i64::from(on_time);
        f.deadlines_missed += i64::from(c.met_at.is_none());
        if c.kind == "home_teaching_month" {
            f.home_teaching_months += 1;
            f.home_teaching_compliant += i64::from(on_time);
        }
    }

    let paid: Vec<Paid> = load(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(CASE WHEN on_time THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_time, \
         CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen FROM disbursements \
         WHERE region_path = ? AND created_at >= ? AND created_at < ?",
        &[T(path), Ts(from), Ts(until)],
    )?;
    if let Some(p) = paid.first() {
        f.disbursements = p.n;
        f.disbursements_on_time = p.on_time;
        f.disbursed_fen = p.fen;
    }

    f.files_created = count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM case_files WHERE region_path = ? AND created_at >= ? \
         AND created_at < ?",
        &[T(path), Ts(from), Ts(until)],
    )?;
    let exit_day = date.to_string();
    f.files_exited = count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM case_files WHERE region_path = ? AND exited_on = ?",
        &[T(path), T(&exit_day)],
    )?;
    Ok(f)
}

fn upsert_sql(table: &str, keys: &[&str], conflict: &str, add: bool) -> String {
    let cols: Vec<&str> = keys.iter().chain(Figures::COLUMNS).copied().collect();
    let marks = vec!["?"; cols.len()].join(", ");
    let set: Vec<String> = Figures::COLUMNS
        .iter()
        .map(|c| {
            if add {
                format!("{c} = {table}.{c} + excluded.{c}")
            } else {
                format!("{c} = excluded.{c}")
            }
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {}",
        cols.join(", "),
        set.join(", ")
    )
}

/// Counts one cell again and moves the sums above it by the difference.
fn recount_cell(conn: &mut DbConn, path: &str, day: i32) -> Result<()> {
    let fresh = count_cell(conn, path, day)?;
    let cols = Figures::COLUMNS.join(", ");
    let stored: Vec<Figures> = load(
        conn,
        &format!("SELECT {cols} FROM rollup_cells WHERE path = ? AND day = ?"),
        &[Arg::Text(path), Arg::Int(day)],
    )?;
    let old = stored.first().copied().unwrap_or_default();
    if !stored.is_empty() && old == fresh {
        return Ok(());
    }
    let values = fresh.values();
    let mut args = vec![Arg::Text(path), Arg::Int(day)];
    args.extend(values.iter().map(|v| Arg::Big(*v)));
    execute(
        conn,
        &upsert_sql("rollup_cells", &["path", "day"], "path, day", false),
        &args,
    )?;
    let delta = fresh.minus(&old).values();
    if delta.iter().all(|d| *d == 0) {
        return Ok(());
    }
    let add = upsert_sql("rollup_sums", &["path", "parent", "day"], "path, day", true);
    for (at, parent) in lineage(path) {
        let mut args = vec![Arg::Text(&at), Arg::Text(&parent), Arg::Int(day)];
        args.extend(delta.iter().map(|v| Arg::Big(*v)));
        execute(conn, &add, &args)?;
    }
    Ok(())
}

/// A subject's days per path, each with the gap since the one before it there.
fn spans_of(dated: &[Dated]) -> BTreeSet<SubjectDay> {
    let mut days: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for d in dated {
        days.entry(&d.path).or_default().insert(day_of(d.at));
    }
    let mut out = BTreeSet::new();
    for (path, days) in days {
        let mut before: Option<i32> = None;
        for day in days {
            let gap = before.map_or(GAP_CAP, |b| (day - b).min(GAP_CAP));
            out.insert(SubjectDay {
                path: path.to_owned(),
                day,
                gap,
            });
            before = Some(day);
        }
    }
    out
}

/// Recomputes one subject's days of `measure` ('visits' or 'adjustments') and moves the
/// spans by what changed.
fn recount_subject(conn: &mut DbConn, measure: &str, subject: &str) -> Result<()> {
    let dated: Vec<Dated> = match measure {
        "visits" => load(
            conn,
            "SELECT region_path AS path, occurred_at AS at FROM field_facts WHERE entity = 'visit' \
             AND subject_id = ? AND NOT deleted AND occurred_at IS NOT NULL",
            &[Arg::Text(subject)],
        )?,
        _ => load(
            conn,
            "SELECT region_path AS path, at FROM audit_log WHERE entity = 'case_file' AND entity_id = ? \
             AND action = 'update'",
            &[Arg::Text(subject)],
        )?,
    };
    let fresh = spans_of(&dated);
    let stored: BTreeSet<SubjectDay> = load::<SubjectDay>(
        conn,
        "SELECT path, day, gap FROM rollup_subject_days WHERE measure = ? AND subject_id = ?",
        &[Arg::Text(measure), Arg::Text(subject)],
    )?
    .into_iter()
    .collect();
    let add = "INSERT INTO rollup_spans (measure, path, parent, day, gap, n) VALUES (?, ?, ?, ?, ?, ?) \
               ON CONFLICT (measure, path, day, gap) DO UPDATE SET n = rollup_spans.n + excluded.n";
    let move_spans = |conn: &mut DbConn, d: &SubjectDay, by: i64| -> Result<()> {
        for (at, parent) in lineage(&d.path) {
            execute(
                conn,
                add,
                &[
                    Arg::Text(measure),
                    Arg::Text(&at),
                    Arg::Text(&parent),
                    Arg::Int(d.day),
                    Arg::Int(d.gap),
                    Arg::Big(by),
                ],
            )?;
        }
        Ok(())
    };
    for gone in stored.difference(&fresh) {
        execute(
            conn,
            "DELETE FROM rollup_subject_days WHERE measure = ? AND subject_id = ? AND path = ? AND day = ?",
            &[
                Arg::Text(measure),
                Arg::Text(subject),
                Arg::Text(&gone.path),
                Arg::Int(gone.day),
            ],
        )?;
        move_spans(conn, gone, -1)?;
    }
    for new in fresh.difference(&stored) {
        execute(
            conn,
            "INSERT INTO rollup_subject_days (measure, subject_id, path, day, gap) VALUES (?, ?, ?, ?, ?)",
            &[
                Arg::Text(measure),
                Arg::Text(subject),
                Arg::Text(&new.path),
                Arg::Int(new.day),
                Arg::Int(new.gap),
            ],
        )?;
        move_spans(conn, new, 1)?;
    }
    Ok(())
}

/// Counts one page of marks, in the caller's write transaction; returns how many it took.
pub fn count_page(conn: &mut DbConn) -> Result<usize> {
    // One counter at a time: concurrent counters would each add the same difference.
    execute(
        conn,
        "UPDATE rollup_progress SET processed = processed WHERE id = 1",
        &[],
    )?;
    let marks: Vec<Mark> = load(
        conn,
        "SELECT id, kind, key, at FROM rollup_marks ORDER BY id LIMIT ?",
        &[Arg::Big(PAGE)],
    )?;
    if marks.is_empty() {
        return Ok(0);
    }
    let mut cells: BTreeSet<(&str, i32)> = BTreeSet::new();
    let mut subjects: BTreeSet<(&str, &str)> = BTreeSet::new();
    for m in &marks {
        match m.kind.as_str() {
            "cell" => {
                cells.insert((&m.key, m.at.map_or(STANDING, day_of)));
            }
            kind => {
                subjects.insert((kind, &m.key));
            }
        }
    }
    for (path, day) in cells {
        recount_cell(conn, path, day)?;
    }
    for (measure, subject) in subjects {
        recount_subject(conn, measure, subject)?;
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

/// Whether any change waits to be counted.
pub fn behind(conn: &mut DbConn) -> Result<bool> {
    Ok(count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT id FROM rollup_marks LIMIT 1) m",
        &[],
    )? > 0)
}

/// Counts every waiting mark, a page per transaction. Cheap when nothing waits.
pub async fn catch_up(db: &Db) -> Result<()> {
    if !db.read(behind).await? {
        return Ok(());
    }
    while db.write(count_page).await? == PAGE as usize {}
    Ok(())
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
        let t = |s: &str| {
            NaiveDateTime::parse_from_str(&format!("{s} 02:00"), "%Y-%m-%d %H:%M")
                .unwrap_or_default()
        };
        let d = |path: &str, at: &str| Dated {
            path: path.into(),
            at: t(at),
        };
        let spans = spans_of(&[
            d("/v/", "2026-01-10"),
            d("/v/", "2026-01-10"),
            d("/v/", "2026-01-01"),
            d("/w/", "2026-01-05"),
            d("/v/", "2028-01-01"),
        ]);
        let got: Vec<(String, i32)> = spans.into_iter().map(|s| (s.path, s.gap)).collect();
        assert_eq!(
            got,
            vec![
                ("/v/".into(), GAP_CAP),
                ("/v/".into(), 9),
                ("/v/".into(), GAP_CAP),
                ("/w/".into(), GAP_CAP),
            ]
        );
    }
}
