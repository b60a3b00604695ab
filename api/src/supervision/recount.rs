//! The supervision figures counted from the records themselves: one grouped query per
//! source table, rows grouped by the child region their path runs through (a path's prefix
//! of the child's length), so a county's answer holds each township's figures and their
//! sum. Its cost grows with the records under the region: metrics are read from the
//! rollups ([`crate::supervision::figures`]), and this count proves them right (the
//! `rollups` end-to-end test, on both backends). A campaign's village progress is counted
//! here too.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::campaigns::rules::Progress;
use crate::deadlines::current::Current;
use crate::infra::db::DbConn;
use crate::supervision::metrics::{Metrics, Period};
use crate::supervision::sql::{Arg, load as run};

#[derive(QueryableByName, Debug)]
struct G1 {
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
}

#[derive(QueryableByName, Debug)]
struct G2 {
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
}

#[derive(QueryableByName, Debug)]
struct G3 {
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
}

#[derive(QueryableByName, Debug)]
struct G5 {
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
    #[diesel(sql_type = BigInt)]
    d: i64,
    #[diesel(sql_type = BigInt)]
    e: i64,
}

/// `SUM(CASE WHEN cond THEN 1 ELSE 0 END)` as a BIGINT on both backends.
fn count_if(cond: &str) -> String {
    format!("CAST(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT)")
}

/// Figures per child region of `p.path` (keyed by the child's path; rows lying at the
/// region itself are keyed by its own path), and their sum. The database groups by the
/// path each row is filed under (a village, mostly: a few hundred groups for a county),
/// which the indexes give in order; those group rows are then added up per child region.
pub fn by_child(
    conn: &mut DbConn,
    _: Current,
    p: &Period,
) -> diesel::QueryResult<(Metrics, BTreeMap<String, Metrics>)> {
    use Arg::Text as T;
    use Arg::Ts;
    use Arg::Within;
    let len = p.path.len() + 37;
    let here = Within(&p.path);
    let mut groups: BTreeMap<String, Metrics> = BTreeMap::new();
    let mut in_period: HashMap<String, i64> = HashMap::new();
    // The child region a stored path lies in (a path of the child's length is its prefix).
    let key = |g: &str| {
        g.get(..len)
            .filter(|k| k.ends_with('/'))
            .unwrap_or(g)
            .to_owned()
    };

    // Regions first (a few hundred), then each one's households by index.
    let rows: Vec<G1> = run(
        conn,
        "SELECT r.path AS g, CAST(COUNT(*) AS BIGINT) AS a FROM regions r CROSS JOIN households h \
         WHERE h.region_id = r.id AND [r.path] AND h.status = 'active' GROUP BY r.path",
        &[here],
    )?;
    for r in rows {
        groups.entry(key(&r.g)).or_default().households_active += r.a;
    }
    // Households visited, each counted once. SQLite walks the (entity, region, household,
    // time) index of the region's visits in order; PostgreSQL hashes the households found
    // among the period's visits, read from the narrow (entity, time, household) index (a
    // visit lies in its household's region: pushes check it).
    let visited_sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT region_path AS g, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS a FROM field_facts \
             WHERE entity = 'visit' AND [region_path] AND occurred_at >= ? AND occurred_at < ? AND NOT deleted GROUP BY region_path"
        }
        DbConn::Pg(_) => {
            "SELECT r.path AS g, CAST(COUNT(*) AS BIGINT) AS a FROM regions r CROSS JOIN households h \
             WHERE h.region_id = r.id AND [r.path] AND h.id IN (SELECT subject_id FROM field_facts \
             WHERE entity = 'visit' AND occurred_at >= ? AND occurred_at < ? AND NOT deleted) GROUP BY r.path"
        }
    };
    let rows: Vec<G1> = run(conn, visited_sql, &[here, Ts(p.from), Ts(p.until)])?;
    for r in rows {
        groups.entry(key(&r.g)).or_default().households_visited += r.a;
    }
    let rows: Vec<G1> = run(
        conn,
        "SELECT region_path AS g, CAST(COUNT(*) AS BIGINT) AS a FROM field_facts \
         WHERE entity = 'photo' AND state = 'pending' AND NOT deleted AND [region_path] GROUP BY region_path",
        &[here],
    )?;
    for r in rows {
        groups.entry(key(&r.g)).or_default().photos_pending += r.a;
    }
    let sql = format!(
        "SELECT region_path AS g, {} AS a, {} AS b, {} AS c, {} AS d, {} AS e FROM field_facts \
         WHERE entity = 'dropout_case' AND NOT deleted AND [region_path] GROUP BY region_path",
        count_if("state = 'open'"),
        count_if("occurred_at >= ? AND occurred_at < ?"),
        count_if("state IN ('closed_returned', 'closed_other') AND ended_at >= ? AND ended_at < ?"),
        count_if("state = 'closed_returned' AND ended_at >= ? AND ended_at < ?"),
        count_if("occurred_at < ? AND (state = 'open' OR ended_at >= ?)"),
    );
    let rows: Vec<G5> = run(
        conn,
        &sql,
        &[
            Ts(p.from),
            Ts(p.until),
            Ts(p.from),
            Ts(p.until),
            Ts(p.from),
            Ts(p.until),
            Ts(p.until),
            Ts(p.from),
            here,
        ],
    )?;
    for r in rows {
        let k = key(&r.g);
        let m = groups.entry(k.clone()).or_default();
        m.dropout_cases_open += r.a;
        m.dropout_cases_opened += r.b;
        m.dropout_cases_closed += r.c;
        m.dropout_cases_returned += r.d;
        *in_period.entry(k).or_default() += r.e;
    }
    let sql = format!(
        "SELECT region_path AS g, CAST(COUNT(*) AS BIGINT) AS a, {} AS b, {} AS c, {} AS d, {} AS e FROM deadlines \
         WHERE NOT cancelled AND [region_path] AND due_at >= ? AND due_at < ? AND due_at <= ? GROUP BY region_path",
        count_if("met_at IS NOT NULL AND met_at <= due_at"),
        count_if("met_at IS NULL"),
        count_if("kind = 'home_teaching_month'"),
        count_if("kind = 'home_teaching_month' AND met_at IS NOT NULL AND met_at <= due_at"),
    );
    let rows: Vec<G5> = run(conn, &sql, &[here, Ts(p.from), Ts(p.until), Ts(p.now)])?;
    for r in rows {
        let m = groups.entry(key(&r.g)).or_default();
        m.deadlines_due += r.a;
        m.deadlines_met_on_time += r.b;
        m.deadlines_missed += r.c;
        m.home_teaching_months += r.d;
        m.home_teaching_compliant += r.e;
    }
    let sql = format!(
        "SELECT region_path AS g, CAST(COUNT(*) AS BIGINT) AS a, {} AS b, CAST(SUM(amount_fen) AS BIGINT) AS c FROM disbursements \
         WHERE [region_path] AND created_at >= ? AND created_at < ? GROUP BY region_path",
        count_if("on_time"),
    );
    let rows: Vec<G3> = run(conn, &sql, &[here, Ts(p.from), Ts(p.until)])?;
    for r in rows {
        let m = groups.entry(key(&r.g)).or_default();
        m.disbursements += r.a;
        m.disbursements_on_time += r.b;
        m.disbursed_fen += r.c;
    }
    let (from_day, to_day) = (p.from_day.to_string(), p.to_day.to_string());
    let sql = format!(
        "SELECT region_path AS g, {} AS a, {} AS b FROM case_files WHERE [region_path] GROUP BY region_path",
        count_if("created_at >= ? AND created_at < ?"),
        count_if("exited_on >= ? AND exited_on <= ?"),
    );
    let rows: Vec<G2> = run(
        conn,
        &sql,
        &[Ts(p.from), Ts(p.until), T(&from_day), T(&to_day), here],
    )?;
    for r in rows {
        let m = groups.entry(key(&r.g)).or_default();
        m.files_created += r.a;
        m.files_exited += r.b;
    }
    // A file adjusted twice in the period counts once: distinct per file, and a file lies
    // under one path.
    let rows: Vec<G1> = run(
        conn,
        "SELECT region_path AS g, CAST(COUNT(DISTINCT entity_id) AS BIGINT) AS a FROM audit_log \
         WHERE entity = 'case_file' AND action = 'update' AND at >= ? AND at < ? AND [region_path] GROUP BY region_path",
        &[Ts(p.from), Ts(p.until), here],
    )?;
    for r in rows {
        groups.entry(key(&r.g)).or_default().files_adjusted += r.a;
    }

    let mut total = Metrics::default();
    let mut total_in_period = 0;
    for (g, m) in groups.iter_mut() {
        let n = in_period.get(g).copied().unwrap_or(0);
        total.add(m);
        total_in_period += n;
        m.finish(n);
    }
    total.finish(total_in_period);
    Ok((total, groups))
}

#[derive(QueryableByName, Debug)]
struct VillageCount {
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    t: Option<NaiveDateTime>,
}

/// Per village under `path`: active households and those visited (by anyone) in the window.
pub fn village_visits(
    conn: &mut DbConn,
    _: Current,
    path: &str,
    window: (NaiveDateTime, NaiveDateTime),
) -> diesel::QueryResult<HashMap<String, Progress>> {
    let mut out: HashMap<String, Progress> = HashMap::new();
    let empty = || Progress {
        total: 0,
        done: 0,
        completed_at: None,
    };
    let rows: Vec<G1> = run(
        conn,
        "SELECT r.path AS g, CAST(COUNT(*) AS BIGINT) AS a FROM regions r CROSS JOIN households h \
         WHERE h.region_id = r.id AND [r.path] AND h.status = 'active' GROUP BY r.path",
        &[Arg::Within(path)],
    )?;
    for r in rows {
        out.entry(r.g).or_insert_with(empty).total = r.a;
    }
    let rows: Vec<VillageCount> = run(
        conn,
        "SELECT region_path AS g, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS a, MAX(occurred_at) AS t FROM field_facts \
         WHERE entity = 'visit' AND NOT deleted AND [region_path] AND occurred_at >= ? AND occurred_at <= ? GROUP BY region_path",
        &[Arg::Within(path), Arg::Ts(window.0), Arg::Ts(window.1)],
    )?;
    for r in rows {
        let p = out.entry(r.g).or_insert_with(empty);
        p.done = r.a;
        p.completed_at = r.t;
    }
    Ok(out)
}
