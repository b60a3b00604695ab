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
use crate::supervision::rollups::{self, STANDING};
use crate::supervision::sql::{Arg, load};

#[derive(QueryableByName, Debug, Default, Clone, Copy)]
struct Summed {
    #[diesel(sql_type = BigInt)]
    households_active: i64,
    #[diesel(sql_type = BigInt)]
    photos_pending: i64,
    #[diesel(sql_type = BigInt)]
    dropout_open: i64,
    #[diesel(sql_type = BigInt)]
    dropout_opened: i64,
    #[diesel(sql_type = BigInt)]
    dropout_closed: i64,
    #[diesel(sql_type = BigInt)]
    dropout_returned: i64,
    #[diesel(sql_type = BigInt)]
    dropout_in_period: i64,
    #[diesel(sql_type = BigInt)]
    deadlines_due: i64,
    #[diesel(sql_type = BigInt)]
    deadlines_met_on_time: i64,
    #[diesel(sql_type = BigInt)]
    deadlines_missed: i64,
    #[diesel(sql_type = BigInt)]
    home_teaching_months: i64,
    #[diesel(sql_type = BigInt)]
    home_teaching_compliant: i64,
    #[diesel(sql_type = BigInt)]
    disbursements: i64,
    #[diesel(sql_type = BigInt)]
    disbursements_on_time: i64,
    #[diesel(sql_type = BigInt)]
    disbursed_fen: i64,
    #[diesel(sql_type = BigInt)]
    files_created: i64,
    #[diesel(sql_type = BigInt)]
    files_exited: i64,
}

#[derive(QueryableByName, Debug)]
struct SummedAt {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(embed)]
    s: Summed,
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

/// `SUM(column)` over the rows whose day lies in `[from, to]` (both bound).
fn sum_in(column: &str) -> String {
    format!(
        "CAST(COALESCE(SUM(CASE WHEN day >= ? AND day <= ? THEN {column} ELSE 0 END), 0) AS BIGINT)"
    )
}

/// The days the sums cover, bound in the order of [`sums_sql`]'s placeholders.
struct Days {
    from: i32,
    to: i32,
    /// Deadlines count up to yesterday from the rollups; today's up to now are read.
    due_to: i32,
}

fn sums_sql(filter: &str) -> String {
    let standing = |c: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN day = {STANDING} THEN {c} ELSE 0 END), 0) AS BIGINT) AS {c}"
        )
    };
    let within = |c: &str| format!("{} AS {c}", sum_in(c));
    format!(
        "SELECT path, {}, {}, {}, {}, {}, {}, {} - {} AS dropout_in_period, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} \
         FROM rollup_sums WHERE {filter} AND day <= ? GROUP BY path",
        standing("households_active"),
        standing("photos_pending"),
        standing("dropout_open"),
        within("dropout_opened"),
        within("dropout_closed"),
        within("dropout_returned"),
        sum_in("dropout_started"),
        sum_in("dropout_left"),
        within("deadlines_due"),
        within("deadlines_met_on_time"),
        within("deadlines_missed"),
        within("home_teaching_months"),
        within("home_teaching_compliant"),
        within("disbursements"),
        within("disbursements_on_time"),
        within("disbursed_fen"),
        within("files_created"),
        within("files_exited"),
    )
}

fn sums_args<'a>(d: &Days, key: &'a str) -> Vec<Arg<'a>> {
    use Arg::Int;
    let mut args = Vec::new();
    for _ in 0..3 {
        args.extend([Int(d.from), Int(d.to)]);
    }
    // Cases opened on any day up to the period's end, less those that ended before it.
    args.extend([Int(1), Int(d.to), Int(1), Int(d.from - 1)]);
    for _ in 0..5 {
        args.extend([Int(d.from), Int(d.due_to)]);
    }
    for _ in 0..5 {
        args.extend([Int(d.from), Int(d.to)]);
    }
    args.push(Arg::Text(key));
    args.push(Int(d.to));
    args
}

fn into_metrics(s: &Summed) -> (Metrics, i64) {
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
        s.dropout_in_period,
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
        let m = &mut self.metrics;
        let s = &o.metrics;
        m.households_active -= s.households_active;
        m.households_visited -= s.households_visited;
        m.photos_pending -= s.photos_pending;
        m.dropout_cases_open -= s.dropout_cases_open;
        m.dropout_cases_opened -= s.dropout_cases_opened;
        m.dropout_cases_closed -= s.dropout_cases_closed;
        m.dropout_cases_returned -= s.dropout_cases_returned;
        m.home_teaching_months -= s.home_teaching_months;
        m.home_teaching_compliant -= s.home_teaching_compliant;
        m.disbursements -= s.disbursements;
        m.disbursements_on_time -= s.disbursements_on_time;
        m.disbursed_fen -= s.disbursed_fen;
        m.files_created -= s.files_created;
        m.files_adjusted -= s.files_adjusted;
        m.files_exited -= s.files_exited;
        m.deadlines_due -= s.deadlines_due;
        m.deadlines_met_on_time -= s.deadlines_met_on_time;
        m.deadlines_missed -= s.deadlines_missed;
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
        let rows: Vec<SummedAt> = load(conn, &sums_sql(filter), &sums_args(&days, &p.path))?;
        for r in rows {
            let (metrics, in_period) = into_metrics(&r.s);
            let t = Tally { metrics, in_period };
            if own {
                region = t;
            } else {
                tallies.insert(r.path, t);
            }
        }
        // Read through the covering (measure, parent, day, gap, path, n) index: every
        // measure named, and the region itself found among its parent's children.
        let parent = rollups::lineage(&p.path)
            .first()
            .map_or_else(|| "/".to_owned(), |(_, parent)| parent.clone());
        let (filter, mut args) = if own {
            (
                "parent = ? AND path = ?",
                vec![Arg::Text(&parent), Arg::Text(&p.path)],
            )
        } else {
            ("parent = ?", vec![Arg::Text(&p.path)])
        };
        args.extend([Arg::Int(days.from), Arg::Int(days.to), Arg::Int(days.from)]);
        let rows: Vec<Distinct> = load(
            conn,
            &format!(
                "SELECT path, measure, CAST(SUM(n) AS BIGINT) AS n FROM rollup_spans \
                 WHERE measure IN ('visits', 'adjustments') AND {filter} \
                 AND day >= ? AND day <= ? AND gap > day - ? GROUP BY path, measure"
            ),
            &args,
        )?;
        for r in rows {
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
