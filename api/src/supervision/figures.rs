//! The supervision figures read from the rollups ([`crate::supervision::rollups`]): a
//! region's answer reads its own sums and those of the regions directly below it, a row per
//! day of the period (and, for the retrieval rate's denominator, per day before it), so its
//! cost follows the length of the period and the number of child regions, not the number
//! of records. Only the deadlines falling due today, up to now, are read from the records.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};

use crate::deadlines::current::Current;
use crate::infra::clock::start_of_china_day;
use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::supervision::metrics::{Metrics, Period};
use crate::supervision::rollups::{self, Figures, STANDING};
use crate::supervision::sql::{Arg, load};

#[derive(QueryableByName, Debug)]
struct SummedAt {
    #[diesel(sql_type = Text)]
    path: String,
    /// Each figure over the days it counts on (see [`sums_sql`]).
    #[diesel(embed)]
    s: Figures,
}

#[derive(QueryableByName, Debug)]
struct Distinct {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = Text)]
    measure: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, Debug)]
struct DueToday {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    met_on_time: i64,
    #[diesel(sql_type = BigInt)]
    missed: i64,
    #[diesel(sql_type = BigInt)]
    ht: i64,
    #[diesel(sql_type = BigInt)]
    ht_ok: i64,
}

/// The days of the period, as the rollups number them.
struct Days {
    from: i32,
    to: i32,
    /// Deadlines count up to yesterday from the rollups; today's up to now are read.
    due_to: i32,
}

/// The two reads of a place's sums. The period's days, with day 0 (the figures of now);
/// and, for the retrieval rate's denominator, which counts dropout cases started and left
/// since the beginning, only the days before it on which one did, through the partial
/// indexes `rollup_sums_dropouts_*`. Reading every day since the beginning instead made a
/// village's answer read five years of rows, each on a page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Period,
    History,
}

/// Which days each figure is summed over in a read, in the order of [`Figures::COLUMNS`]
/// (an empty window, `(1, 0)`, in the read that does not hold it).
fn window(column: &str, d: &Days, read: Read) -> (i32, i32) {
    let history = matches!(column, "dropout_started" | "dropout_left");
    if history != (read == Read::History) {
        return (1, 0);
    }
    match column {
        "households_active" | "photos_pending" | "dropout_open" => (STANDING, STANDING),
        // A period's denominator: cases started by its end, less those that left before it.
        "dropout_started" => (1, d.to),
        "dropout_left" => (1, d.from - 1),
        "deadlines_due"
        | "deadlines_met_on_time"
        | "deadlines_missed"
        | "home_teaching_months"
        | "home_teaching_compliant" => (d.from, d.due_to),
        _ => (d.from, d.to),
    }
}

/// Every figure of a read summed over its own days, per path matching `filter`.
fn sums_sql(filter: &str, read: Read) -> String {
    let columns: Vec<String> = Figures::COLUMNS
        .iter()
        .map(|c| {
            format!(
                "CAST(COALESCE(SUM(CASE WHEN day >= ? AND day <= ? THEN {c} ELSE 0 END), 0) AS BIGINT) AS {c}"
            )
        })
        .collect();
    let days = match read {
        Read::Period => "(day = ? OR (day >= ? AND day <= ?))",
        // Word for word the partial indexes' condition, or they are not used.
        Read::History => "day <= ? AND (dropout_started <> 0 OR dropout_left <> 0)",
    };
    format!(
        "SELECT path, {} FROM rollup_sums WHERE {filter} AND {days} GROUP BY path",
        columns.join(", ")
    )
}

fn sums_args<'a>(d: &Days, key: &'a str, read: Read) -> Vec<Arg<'a>> {
    let mut args: Vec<Arg<'a>> = Figures::COLUMNS
        .iter()
        .flat_map(|c| {
            let (from, to) = window(c, d, read);
            [Arg::Int(from), Arg::Int(to)]
        })
        .collect();
    args.push(Arg::Text(key));
    match read {
        Read::Period => args.extend([Arg::Int(STANDING), Arg::Int(d.from), Arg::Int(d.to)]),
        Read::History => args.push(Arg::Int(d.to)),
    }
    args
}

/// Households visited and files adjusted in the period, per place `places` selects: for
/// each day, the first span past the gap that makes a subject's day its first in the
/// period holds, in `above`, how many subjects that day counts (see
/// [`crate::supervision::rollups::spans`]). One index seek per place, measure and day.
fn distinct_sql(places: &str) -> String {
    format!(
        "WITH RECURSIVE days(day) AS (SELECT CAST(? AS INTEGER) UNION ALL \
           SELECT day + 1 FROM days WHERE day < ?), \
         places(path) AS ({places}), \
         measures(measure) AS (SELECT 'visits' UNION ALL SELECT 'adjustments') \
         SELECT places.path AS path, measures.measure AS measure, \
           CAST(COALESCE(SUM((SELECT s.above FROM rollup_spans s \
             WHERE s.measure = measures.measure AND s.path = places.path \
               AND s.day = days.day AND s.gap > days.day - ? \
             ORDER BY s.gap LIMIT 1)), 0) AS BIGINT) AS n \
         FROM places CROSS JOIN measures CROSS JOIN days \
         GROUP BY places.path, measures.measure"
    )
}

fn into_metrics(s: &Figures) -> (Metrics, i64) {
    (
        Metrics {
            households_active: s.households_active,
            photos_pending: s.photos_pending,
            dropout_cases_open: s.dropout_open,
            dropout_cases_opened: s.dropout_opened,
            dropout_cases_closed: s.dropout_closed,
            dropout_cases_returned: s.dropout_returned,
            deadlines_due: s.deadlines_due,
            deadlines_met_on_time: s.deadlines_met_on_time,
            deadlines_missed: s.deadlines_missed,
            home_teaching_months: s.home_teaching_months,
            home_teaching_compliant: s.home_teaching_compliant,
            disbursements: s.disbursements,
            disbursements_on_time: s.disbursements_on_time,
            disbursed_fen: s.disbursed_fen,
            files_created: s.files_created,
            files_exited: s.files_exited,
            ..Metrics::default()
        },
        s.dropout_started - s.dropout_left,
    )
}

/// One region's figures with the regions directly below it, and the denominators.
#[derive(Default)]
struct Tally {
    metrics: Metrics,
    in_period: i64,
}

impl Tally {
    fn less(&mut self, o: &Tally) {
        self.metrics.add_times(&o.metrics, -1);
        self.in_period -= o.in_period;
    }
}

/// The child region (or the region itself) a stored path is counted under.
fn child_of(region: &str, path: &str) -> String {
    let len = region.len();
    match path.get(len..).and_then(|rest| rest.find('/')) {
        Some(end) if path.starts_with(region) && path.len() > len => {
            path[..len + end + 1].to_owned()
        }
        _ => region.to_owned(),
    }
}

/// Figures per child region of `p.path` (keyed by the child's path; records filed at the
/// region itself are keyed by its own path, when there are any), and their sum: the same
/// answer as [`crate::supervision::recount::by_child`], read from the rollups.
pub fn by_child(
    conn: &mut DbConn,
    _: Current,
    p: &Period,
) -> Result<(Metrics, BTreeMap<String, Metrics>)> {
    let today = rollups::day_of(p.now);
    let days = Days {
        from: p.from_day.num_days_from_ce(),
        to: p.to_day.num_days_from_ce(),
        due_to: p.to_day.num_days_from_ce().min(today - 1),
    };
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut region = Tally::default();
    for (filter, own) in [("parent = ?", false), ("path = ?", true)] {
        let mut sums: BTreeMap<String, Figures> = BTreeMap::new();
        for read in [Read::Period, Read::History] {
            let sql = sums_sql(filter, read);
            for r in load::<SummedAt>(conn, &sql, &sums_args(&days, &p.path, read))? {
                let s = sums.entry(r.path).or_default();
                *s = s.plus(&r.s);
            }
        }
        for (path, s) in sums {
            let (metrics, in_period) = into_metrics(&s);
            let t = Tally { metrics, in_period };
            if own {
                region = t;
            } else {
                tallies.insert(path, t);
            }
        }
        let places = if own {
            "SELECT CAST(? AS TEXT) AS path"
        } else {
            "SELECT c.path AS path FROM regions c JOIN regions r ON c.parent_id = r.id WHERE r.path = ?"
        };
        let args = [
            Arg::Int(days.from),
            Arg::Int(days.to),
            Arg::Text(&p.path),
            Arg::Int(days.from),
        ];
        let rows: Vec<Distinct> = load(conn, &distinct_sql(places), &args)?;
        // Every child region comes back, counted or not: only those counted are listed,
        // as the sums list only those with figures.
        for r in rows.into_iter().filter(|r| r.n != 0) {
            let t = if own {
                &mut region
            } else {
                tallies.entry(r.path).or_default()
            };
            match r.measure.as_str() {
                "visits" => t.metrics.households_visited += r.n,
                _ => t.metrics.files_adjusted += r.n,
            }
        }
    }
    // Deadlines falling due today count up to now: read from the records (a day's worth).
    if days.from <= today && today <= days.to {
        let from = p.from.max(start_of_china_day(rollups::date_of(today)));
        add_due_today(conn, p, from, &mut region, &mut tallies)?;
    }
    // What is filed at the region itself is what its children do not hold.
    let mut own = Tally {
        metrics: region.metrics.clone(),
        in_period: region.in_period,
    };
    for t in tallies.values() {
        own.less(t);
    }
    if own.metrics != Metrics::default() || own.in_period != 0 {
        tallies.insert(p.path.clone(), own);
    }
    let mut total = region.metrics;
    total.finish(region.in_period);
    let groups = tallies
        .into_iter()
        .map(|(path, mut t)| {
            t.metrics.finish(t.in_period);
            (path, t.metrics)
        })
        .collect();
    Ok((total, groups))
}

fn add_due_today(
    conn: &mut DbConn,
    p: &Period,
    from: NaiveDateTime,
    region: &mut Tally,
    tallies: &mut BTreeMap<String, Tally>,
) -> Result<()> {
    let on_time = "met_at IS NOT NULL AND met_at <= due_at";
    let ht = "kind = 'home_teaching_month'";
    let sql = format!(
        "SELECT region_path AS path, CAST(COUNT(*) AS BIGINT) AS due, \
         CAST(SUM(CASE WHEN {on_time} THEN 1 ELSE 0 END) AS BIGINT) AS met_on_time, \
         CAST(SUM(CASE WHEN met_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS missed, \
         CAST(SUM(CASE WHEN {ht} THEN 1 ELSE 0 END) AS BIGINT) AS ht, \
         CAST(SUM(CASE WHEN {ht} AND {on_time} THEN 1 ELSE 0 END) AS BIGINT) AS ht_ok \
         FROM deadlines WHERE due_at >= ? AND due_at < ? AND due_at <= ? AND NOT cancelled AND [region_path] \
         GROUP BY region_path"
    );
    let rows: Vec<DueToday> = load(
        conn,
        &sql,
        &[
            Arg::Ts(from),
            Arg::Ts(p.until),
            Arg::Ts(p.now),
            Arg::Within(&p.path),
        ],
    )?;
    let add = |t: &mut Tally, r: &DueToday| {
        t.metrics.deadlines_due += r.due;
        t.metrics.deadlines_met_on_time += r.met_on_time;
        t.metrics.deadlines_missed += r.missed;
        t.metrics.home_teaching_months += r.ht;
        t.metrics.home_teaching_compliant += r.ht_ok;
    };
    for r in rows {
        add(region, &r);
        let child = child_of(&p.path, &r.path);
        // Filed at the region itself: its own share is worked out from the region's total.
        if child != p.path {
            add(tallies.entry(child).or_default(), &r);
        }
    }
    Ok(())
}
