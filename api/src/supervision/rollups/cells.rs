//! Cells: the figures of the records filed exactly at one path on one day, counted from the
//! records, and the sums above them moved by what changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use crate::infra::clock::start_of_china_day;
use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::supervision::rollups::{
    Figures, STANDING, Upsert, date_of, day_of, lineage, write_rows,
};
use crate::supervision::sql::{Arg, load};

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
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Bool)]
    on_time: bool,
    #[diesel(sql_type = BigInt)]
    amount_fen: i64,
}

#[derive(QueryableByName, Debug)]
struct Opened {
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

#[derive(QueryableByName, Debug)]
struct Exited {
    #[diesel(sql_type = Text)]
    exited_on: String,
}

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Integer)]
    day: i32,
    #[diesel(embed)]
    figures: Figures,
}

fn count(conn: &mut DbConn, sql: &str, path: &str) -> Result<i64> {
    super::count(conn, sql, &[Arg::Text(path)])
}

/// The figures of now of the records filed exactly at `path`.
fn standing(conn: &mut DbConn, path: &str) -> Result<Figures> {
    Ok(Figures {
        households_active: count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM households h JOIN regions r ON r.id = h.region_id \
             WHERE r.path = ? AND h.status = 'active'",
            path,
        )?,
        photos_pending: count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM field_facts WHERE region_path = ? AND entity = 'photo' \
             AND state = 'pending' AND NOT deleted",
            path,
        )?,
        dropout_open: count(
            conn,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM field_facts WHERE region_path = ? \
             AND entity = 'dropout_case' AND state = 'open' AND NOT deleted",
            path,
        )?,
        ..Figures::default()
    })
}

/// The figures of the records filed exactly at `path` on each of `days` (none of them
/// [`STANDING`]), read with one query per table over the days' span.
fn dated(conn: &mut DbConn, path: &str, days: &BTreeSet<i32>) -> Result<BTreeMap<i32, Figures>> {
    use Arg::{Text as T, Ts};
    let mut out: BTreeMap<i32, Figures> = days.iter().map(|d| (*d, Figures::default())).collect();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(out);
    };
    let from = start_of_china_day(date_of(*first));
    let until = start_of_china_day(date_of(*last) + Duration::days(1));
    // Each figure is added on the day its instant falls on, if that day was asked for.
    let cases: Vec<Case> = load(
        conn,
        "SELECT state, occurred_at, ended_at FROM field_facts WHERE region_path = ? AND entity = 'dropout_case' \
         AND NOT deleted AND ((occurred_at >= ? AND occurred_at < ?) OR (ended_at >= ? AND ended_at < ?))",
        &[T(path), Ts(from), Ts(until), Ts(from), Ts(until)],
    )?;
    for c in &cases {
        let open = c.state == "open";
        if let Some(f) = c.occurred_at.and_then(|t| out.get_mut(&day_of(t))) {
            f.dropout_opened += 1;
            // In a period's denominator from the day it opened (cases open at some time in
            // the period), unless it was closed without an end.
            if open || c.ended_at.is_some() {
                f.dropout_started += 1;
            }
        }
        if let Some(f) = c.ended_at.and_then(|t| out.get_mut(&day_of(t))) {
            if matches!(c.state.as_str(), "closed_returned" | "closed_other") {
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
        let Some(f) = out.get_mut(&day_of(c.due_at)) else {
            continue;
        };
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
        "SELECT created_at, on_time, amount_fen FROM disbursements WHERE region_path = ? \
         AND created_at >= ? AND created_at < ?",
        &[T(path), Ts(from), Ts(until)],
    )?;
    for p in &paid {
        if let Some(f) = out.get_mut(&day_of(p.created_at)) {
            f.disbursements += 1;
            f.disbursements_on_time += i64::from(p.on_time);
            f.disbursed_fen += p.amount_fen;
        }
    }
    let opened: Vec<Opened> = load(
        conn,
        "SELECT created_at FROM case_files WHERE region_path = ? AND created_at >= ? AND created_at < ?",
        &[T(path), Ts(from), Ts(until)],
    )?;
    for o in &opened {
        if let Some(f) = out.get_mut(&day_of(o.created_at)) {
            f.files_created += 1;
        }
    }
    let (first_day, last_day) = (date_of(*first).to_string(), date_of(*last).to_string());
    let exited: Vec<Exited> = load(
        conn,
        "SELECT exited_on FROM case_files WHERE region_path = ? AND exited_on >= ? AND exited_on <= ?",
        &[T(path), T(&first_day), T(&last_day)],
    )?;
    for e in &exited {
        let day = NaiveDate::parse_from_str(&e.exited_on, "%Y-%m-%d").map(|d| d.num_days_from_ce());
        if let Some(f) = day.ok().and_then(|d| out.get_mut(&d)) {
            f.files_exited += 1;
        }
    }
    Ok(out)
}

/// Counts the cells `days` of each path again, stores those that changed, and moves the
/// sums of every path at and above them by the differences (one row per path and day).
pub fn recount(conn: &mut DbConn, cells: &BTreeMap<String, BTreeSet<i32>>) -> Result<()> {
    let mut changed: Vec<(String, i32, Figures)> = Vec::new();
    let mut deltas: HashMap<(String, i32), (String, Figures)> = HashMap::new();
    for (path, days) in cells {
        let mut fresh = if days.contains(&STANDING) {
            BTreeMap::from([(STANDING, standing(conn, path)?)])
        } else {
            BTreeMap::new()
        };
        let dated_days: BTreeSet<i32> = days.iter().copied().filter(|d| *d != STANDING).collect();
        fresh.extend(dated(conn, path, &dated_days)?);
        let (lo, hi) = (
            days.first().copied().unwrap_or(STANDING),
            days.last().copied().unwrap_or(STANDING),
        );
        let cols = Figures::COLUMNS.join(", ");
        let stored: HashMap<i32, Figures> = load::<Stored>(
            conn,
            &format!(
                "SELECT day, {cols} FROM rollup_cells WHERE path = ? AND day >= ? AND day <= ?"
            ),
            &[Arg::Text(path), Arg::Int(lo), Arg::Int(hi)],
        )?
        .into_iter()
        .map(|s| (s.day, s.figures))
        .collect();
        for (day, now) in fresh {
            let old = stored.get(&day).copied();
            if old == Some(now) || (old.is_none() && now == Figures::default()) {
                continue;
            }
            let delta = now.minus(&old.unwrap_or_default());
            changed.push((path.clone(), day, now));
            for (at, parent) in lineage(path) {
                let e = deltas
                    .entry((at, day))
                    .or_insert_with(|| (parent, Figures::default()));
                e.1 = e.1.plus(&delta);
            }
        }
    }
    let cells_sql = Upsert::new("rollup_cells", &["path", "day"], "path, day", false);
    write_rows(conn, &cells_sql, &changed, |(path, day, f), args| {
        args.push(Arg::Text(path));
        args.push(Arg::Int(*day));
        args.extend(f.values().into_iter().map(Arg::Big));
    })?;
    let sums: Vec<(String, i32, String, Figures)> = deltas
        .into_iter()
        .filter(|(_, (_, f))| *f != Figures::default())
        .map(|((path, day), (parent, f))| (path, day, parent, f))
        .collect();
    let sums_sql = Upsert::new("rollup_sums", &["path", "day", "parent"], "path, day", true);
    write_rows(conn, &sums_sql, &sums, |(path, day, parent, f), args| {
        args.push(Arg::Text(path));
        args.push(Arg::Int(*day));
        args.push(Arg::Text(parent));
        args.extend(f.values().into_iter().map(Arg::Big));
    })
}
