//! Supervision metrics (R-SUP-1, R-SUP-3): per region and period, rolled up the region
//! tree. Every figure is counted by the database with one grouped query per source table:
//! rows are grouped by the child region their path runs through (a path's prefix of the
//! child's length), so a county's answer holds each township's figures and their sum.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::campaigns::rules::Progress;
use crate::deadlines::current::Current;
use crate::infra::db::DbConn;
use crate::infra::db::scoped::like_prefix;

/// A value bound into a metrics query.
#[derive(Debug, Clone, Copy)]
enum Arg<'a> {
    Text(&'a str),
    Ts(NaiveDateTime),
    /// `[column]` in the query: the column holds a path inside this subtree. SQLite gets a
    /// range its index can seek (every path starting with `p/` sorts in `[p/, p0)`);
    /// PostgreSQL a prefix `LIKE` its `text_pattern_ops` index serves.
    Within(&'a str),
}

/// The query for this backend: `?` placeholders (numbered `$n` for PostgreSQL) and the
/// binds in order.
fn render<'a>(sql: &str, args: &[Arg<'a>], pg: bool) -> (String, Vec<Arg<'a>>) {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut binds = Vec::new();
    let mut args = args.iter();
    let mut chars = sql.chars();
    let mut n = 0;
    let mut placeholder = |out: &mut String| {
        n += 1;
        if pg {
            out.push_str(&format!("${n}"));
        } else {
            out.push('?');
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '?' => {
                placeholder(&mut out);
                binds.extend(args.next().copied());
            }
            '[' => {
                let col: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let Some(Arg::Within(prefix)) = args.next().copied() else {
                    continue;
                };
                if pg {
                    out.push_str(&format!("{col} LIKE "));
                    placeholder(&mut out);
                    out.push_str(" ESCAPE '\\'");
                    binds.push(Arg::Within(prefix));
                } else {
                    out.push_str(&format!("{col} >= "));
                    placeholder(&mut out);
                    out.push_str(&format!(" AND {col} < "));
                    placeholder(&mut out);
                    binds.push(Arg::Text(prefix));
                    binds.push(Arg::Within(prefix));
                }
            }
            other => out.push(other),
        }
    }
    (out, binds)
}

/// The end of the range of paths starting with `prefix` (which ends with `/`).
fn range_end(prefix: &str) -> String {
    let mut s = prefix.trim_end_matches('/').to_owned();
    s.push('0');
    s
}

fn run<R>(conn: &mut DbConn, sql: &str, args: &[Arg<'_>]) -> diesel::QueryResult<Vec<R>>
where
    R: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    match conn {
        DbConn::Sqlite(c) => {
            let (sql, binds) = render(sql, args, false);
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for b in binds {
                q = match b {
                    Arg::Text(t) => q.bind::<Text, _>(t.to_owned()),
                    Arg::Ts(t) => q.bind::<Timestamp, _>(t),
                    Arg::Within(p) => q.bind::<Text, _>(range_end(p)),
                };
            }
            q.load::<R>(c)
        }
        DbConn::Pg(c) => {
            let (sql, binds) = render(sql, args, true);
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for b in binds {
                q = match b {
                    Arg::Text(t) => q.bind::<Text, _>(t.to_owned()),
                    Arg::Ts(t) => q.bind::<Timestamp, _>(t),
                    Arg::Within(p) => q.bind::<Text, _>(like_prefix(p)),
                };
            }
            q.load::<R>(c)
        }
    }
}

/// The figures of one region over one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Metrics {
    /// Active households in the registry.
    pub households_active: i64,
    /// Of them, visited at least once in the period.
    pub households_visited: i64,
    pub visit_completion: f64,
    /// Evidence photos waiting for review now (the review backlog).
    pub photos_pending: i64,
    /// Dropout cases open now.
    pub dropout_cases_open: i64,
    pub dropout_cases_opened: i64,
    /// Closed in the period with the evidence their outcome needs.
    pub dropout_cases_closed: i64,
    /// Closed in the period with the child confirmed back in school.
    pub dropout_cases_returned: i64,
    /// Cases open at some time in the period: the retrieval rate's denominator.
    pub dropout_cases_in_period: i64,
    /// `dropout_cases_returned / dropout_cases_in_period`.
    pub retrieval_rate: f64,
    /// Home-teaching child-months due in the period, and those that met the rule.
    pub home_teaching_months: i64,
    pub home_teaching_compliant: i64,
    pub home_teaching_compliance: f64,
    /// Aid payments made in the period, those made by the end of their period, the amount.
    pub disbursements: i64,
    pub disbursements_on_time: i64,
    pub disbursed_fen: i64,
    pub disbursement_timeliness: f64,
    /// Case files opened, adjusted (changed after opening) and exited in the period.
    pub files_created: i64,
    pub files_adjusted: i64,
    pub files_exited: i64,
    /// Clocks due in the period (and already due), met on time, missed.
    pub deadlines_due: i64,
    pub deadlines_met_on_time: i64,
    pub deadlines_missed: i64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
    }
}

impl Metrics {
    fn add(&mut self, o: &Metrics) {
        self.households_active += o.households_active;
        self.households_visited += o.households_visited;
        self.photos_pending += o.photos_pending;
        self.dropout_cases_open += o.dropout_cases_open;
        self.dropout_cases_opened += o.dropout_cases_opened;
        self.dropout_cases_closed += o.dropout_cases_closed;
        self.dropout_cases_returned += o.dropout_cases_returned;
        self.home_teaching_months += o.home_teaching_months;
        self.home_teaching_compliant += o.home_teaching_compliant;
        self.disbursements += o.disbursements;
        self.disbursements_on_time += o.disbursements_on_time;
        self.disbursed_fen += o.disbursed_fen;
        self.files_created += o.files_created;
        self.files_adjusted += o.files_adjusted;
        self.files_exited += o.files_exited;
        self.deadlines_due += o.deadlines_due;
        self.deadlines_met_on_time += o.deadlines_met_on_time;
        self.deadlines_missed += o.deadlines_missed;
    }

    fn finish(&mut self, cases_in_period: i64) {
        self.dropout_cases_in_period = cases_in_period;
        self.visit_completion = ratio(self.households_visited, self.households_active);
        self.retrieval_rate = ratio(self.dropout_cases_returned, cases_in_period);
        self.home_teaching_compliance =
            ratio(self.home_teaching_compliant, self.home_teaching_months);
        self.disbursement_timeliness = ratio(self.disbursements_on_time, self.disbursements);
    }
}

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

/// The period and the grouping of one metrics query.
pub struct Period {
    /// The region's path; rows are grouped by the child region they lie in.
    pub path: String,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub now: NaiveDateTime,
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
    let due_until = p.to.min(p.now);
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
             WHERE entity = 'visit' AND [region_path] AND occurred_at >= ? AND occurred_at <= ? AND NOT deleted GROUP BY region_path"
        }
        DbConn::Pg(_) => {
            "SELECT r.path AS g, CAST(COUNT(*) AS BIGINT) AS a FROM regions r CROSS JOIN households h \
             WHERE h.region_id = r.id AND [r.path] AND h.id IN (SELECT subject_id FROM field_facts \
             WHERE entity = 'visit' AND occurred_at >= ? AND occurred_at <= ? AND NOT deleted) GROUP BY r.path"
        }
    };
    let rows: Vec<G1> = run(conn, visited_sql, &[here, Ts(p.from), Ts(p.to)])?;
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
        count_if("occurred_at >= ? AND occurred_at <= ?"),
        count_if(
            "state IN ('closed_returned', 'closed_other') AND ended_at >= ? AND ended_at <= ?"
        ),
        count_if("state = 'closed_returned' AND ended_at >= ? AND ended_at <= ?"),
        count_if("occurred_at <= ? AND (state = 'open' OR ended_at >= ?)"),
    );
    let rows: Vec<G5> = run(
        conn,
        &sql,
        &[
            Ts(p.from),
            Ts(p.to),
            Ts(p.from),
            Ts(p.to),
            Ts(p.from),
            Ts(p.to),
            Ts(p.to),
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
         WHERE NOT cancelled AND [region_path] AND due_at >= ? AND due_at <= ? GROUP BY region_path",
        count_if("met_at IS NOT NULL AND met_at <= due_at"),
        count_if("met_at IS NULL"),
        count_if("kind = 'home_teaching_month'"),
        count_if("kind = 'home_teaching_month' AND met_at IS NOT NULL AND met_at <= due_at"),
    );
    let rows: Vec<G5> = run(conn, &sql, &[here, Ts(p.from), Ts(due_until)])?;
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
         WHERE [region_path] AND created_at >= ? AND created_at <= ? GROUP BY region_path",
        count_if("on_time"),
    );
    let rows: Vec<G3> = run(conn, &sql, &[here, Ts(p.from), Ts(p.to)])?;
    for r in rows {
        let m = groups.entry(key(&r.g)).or_default();
        m.disbursements += r.a;
        m.disbursements_on_time += r.b;
        m.disbursed_fen += r.c;
    }
    let (from_day, to_day) = (p.from_day.to_string(), p.to_day.to_string());
    let sql = format!(
        "SELECT region_path AS g, {} AS a, {} AS b FROM case_files WHERE [region_path] GROUP BY region_path",
        count_if("created_at >= ? AND created_at <= ?"),
        count_if("exited_on >= ? AND exited_on <= ?"),
    );
    let rows: Vec<G2> = run(
        conn,
        &sql,
        &[Ts(p.from), Ts(p.to), T(&from_day), T(&to_day), here],
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
         WHERE entity = 'case_file' AND action = 'update' AND at >= ? AND at <= ? AND [region_path] GROUP BY region_path",
        &[Ts(p.from), Ts(p.to), here],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_render_for_each_backend() {
        let t = NaiveDateTime::default();
        let (sql, binds) = render(
            "a = ? AND [p] AND b = ?",
            &[Arg::Ts(t), Arg::Within("/x/"), Arg::Text("k")],
            true,
        );
        assert_eq!(sql, "a = $1 AND p LIKE $2 ESCAPE '\\' AND b = $3");
        assert_eq!(binds.len(), 3);
        let (sql, binds) = render(
            "a = ? AND [p] AND b = ?",
            &[Arg::Ts(t), Arg::Within("/x/"), Arg::Text("k")],
            false,
        );
        assert_eq!(sql, "a = ? AND p >= ? AND p < ? AND b = ?");
        assert_eq!(binds.len(), 4);
        assert_eq!(range_end("/x/y/"), "/x/y0");
        assert!("/x/y/z/" < "/x/y0" && "/x/y/" >= "/x/y/" && "/x/y0" > "/x/y/zzz/");
    }
}
