//! Supervision metrics (R-SUP-1, R-SUP-3): per region and period, rolled up the region
//! tree. Every figure is counted by the database with one grouped query per source table:
//! rows are grouped by the child region their path runs through (a path's prefix of the
//! child's length), so a county's answer holds each township's figures and their sum.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::DbConn;
use super::scoped::like_prefix;
use crate::domain::campaign::Progress;

/// Writes `?` placeholders as PostgreSQL's `$1, $2, …`.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs one raw query with `?` placeholders on either backend.
macro_rules! query {
    ($conn:expr, $row:ty, $sql:expr $(, $ty:ty => $val:expr)* $(,)?) => {{
        let sql: String = $sql;
        match $conn {
            DbConn::Sqlite(c) => diesel::sql_query(sql)$(.bind::<$ty, _>($val))*.load::<$row>(c),
            DbConn::Pg(c) => diesel::sql_query(numbered(&sql))$(.bind::<$ty, _>($val))*.load::<$row>(c),
        }
    }};
}

/// The figures of one region over one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Metrics {
    /// Active households in the registry.
    pub households_active: i64,
    /// Of them, visited at least once in the period.
    pub households_visited: i64,
    pub visit_completion: f64,
    /// Evidence photos waiting for review now.
    pub photos_pending: i64,
    /// Photos taken in the period that have been reviewed.
    pub photos_reviewed: i64,
    /// Dropout cases open now.
    pub dropout_cases_open: i64,
    pub dropout_cases_opened: i64,
    /// Closed in the period with the evidence their outcome needs.
    pub dropout_cases_closed: i64,
    /// Closed in the period with the child confirmed back in school.
    pub dropout_cases_returned: i64,
    /// Returned / cases open at some time in the period.
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
        self.photos_reviewed += o.photos_reviewed;
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
/// region itself are keyed by its own path), and their sum.
pub fn by_child(
    conn: &mut DbConn,
    p: &Period,
) -> diesel::QueryResult<(Metrics, BTreeMap<String, Metrics>)> {
    let len = i32::try_from(p.path.len() + 37).unwrap_or(i32::MAX);
    let like = like_prefix(&p.path);
    let due_until = p.to.min(p.now);
    let mut groups: BTreeMap<String, Metrics> = BTreeMap::new();
    let mut in_period: HashMap<String, i64> = HashMap::new();
    let key = |g: &str| g.to_owned();

    for r in query!(conn, G1,
        "SELECT substr(path, 1, ?) AS g, CAST(COUNT(*) AS BIGINT) AS a FROM households WHERE path LIKE ? ESCAPE '\\' AND status = 'active' GROUP BY g".into(),
        Integer => len, Text => &like)?
    {
        groups.entry(key(&r.g)).or_default().households_active = r.a;
    }
    for r in query!(conn, G1,
        "SELECT substr(region_path, 1, ?) AS g, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS a FROM field_facts \
         WHERE entity = 'visit' AND NOT deleted AND region_path LIKE ? ESCAPE '\\' AND occurred_at >= ? AND occurred_at <= ? GROUP BY g".into(),
        Integer => len, Text => &like, Timestamp => p.from, Timestamp => p.to)?
    {
        groups.entry(key(&r.g)).or_default().households_visited = r.a;
    }
    for r in query!(conn, G2,
        format!("SELECT substr(region_path, 1, ?) AS g, {} AS a, {} AS b FROM field_facts \
                 WHERE entity = 'photo' AND NOT deleted AND region_path LIKE ? ESCAPE '\\' GROUP BY g",
                count_if("state = 'pending'"), count_if("state IN ('approved', 'rejected') AND occurred_at >= ? AND occurred_at <= ?")),
        Integer => len, Timestamp => p.from, Timestamp => p.to, Text => &like)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.photos_pending = r.a;
        m.photos_reviewed = r.b;
    }
    for r in query!(conn, G5,
        format!("SELECT substr(region_path, 1, ?) AS g, {} AS a, {} AS b, {} AS c, {} AS d, {} AS e FROM field_facts \
                 WHERE entity = 'dropout_case' AND NOT deleted AND region_path LIKE ? ESCAPE '\\' GROUP BY g",
                count_if("state = 'open'"),
                count_if("occurred_at >= ? AND occurred_at <= ?"),
                count_if("state IN ('closed_returned', 'closed_other') AND ended_at >= ? AND ended_at <= ?"),
                count_if("state = 'closed_returned' AND ended_at >= ? AND ended_at <= ?"),
                count_if("occurred_at <= ? AND (state = 'open' OR ended_at >= ?)")),
        Integer => len, Timestamp => p.from, Timestamp => p.to, Timestamp => p.from, Timestamp => p.to,
        Timestamp => p.from, Timestamp => p.to, Timestamp => p.to, Timestamp => p.from, Text => &like)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.dropout_cases_open = r.a;
        m.dropout_cases_opened = r.b;
        m.dropout_cases_closed = r.c;
        m.dropout_cases_returned = r.d;
        in_period.insert(key(&r.g), r.e);
    }
    for r in query!(conn, G3,
        format!("SELECT substr(region_path, 1, ?) AS g, CAST(COUNT(*) AS BIGINT) AS a, {} AS b, {} AS c FROM deadlines \
                 WHERE NOT cancelled AND region_path LIKE ? ESCAPE '\\' AND due_at >= ? AND due_at <= ? GROUP BY g",
                count_if("met_at IS NOT NULL AND met_at <= due_at"), count_if("met_at IS NULL")),
        Integer => len, Text => &like, Timestamp => p.from, Timestamp => due_until)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.deadlines_due = r.a;
        m.deadlines_met_on_time = r.b;
        m.deadlines_missed = r.c;
    }
    for r in query!(conn, G2,
        format!("SELECT substr(region_path, 1, ?) AS g, CAST(COUNT(*) AS BIGINT) AS a, {} AS b FROM deadlines \
                 WHERE kind = 'home_teaching_month' AND NOT cancelled AND region_path LIKE ? ESCAPE '\\' AND due_at >= ? AND due_at <= ? GROUP BY g",
                count_if("met_at IS NOT NULL AND met_at <= due_at")),
        Integer => len, Text => &like, Timestamp => p.from, Timestamp => due_until)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.home_teaching_months = r.a;
        m.home_teaching_compliant = r.b;
    }
    let local_day = match conn {
        DbConn::Sqlite(_) => "date(created_at, '+8 hours')",
        DbConn::Pg(_) => "to_char(created_at + interval '8 hours', 'YYYY-MM-DD')",
    };
    for r in query!(conn, G3,
        format!("SELECT substr(region_path, 1, ?) AS g, CAST(COUNT(*) AS BIGINT) AS a, {} AS b, CAST(SUM(amount_fen) AS BIGINT) AS c FROM disbursements \
                 WHERE region_path LIKE ? ESCAPE '\\' AND created_at >= ? AND created_at <= ? GROUP BY g",
                count_if(&format!("{local_day} <= due_on"))),
        Integer => len, Text => &like, Timestamp => p.from, Timestamp => p.to)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.disbursements = r.a;
        m.disbursements_on_time = r.b;
        m.disbursed_fen = r.c;
    }
    let (from_day, to_day) = (p.from_day.to_string(), p.to_day.to_string());
    for r in query!(conn, G2,
        format!("SELECT substr(region_path, 1, ?) AS g, {} AS a, {} AS b FROM case_files WHERE region_path LIKE ? ESCAPE '\\' GROUP BY g",
                count_if("created_at >= ? AND created_at <= ?"), count_if("exited_on >= ? AND exited_on <= ?")),
        Integer => len, Timestamp => p.from, Timestamp => p.to, Text => &from_day, Text => &to_day, Text => &like)?
    {
        let m = groups.entry(key(&r.g)).or_default();
        m.files_created = r.a;
        m.files_exited = r.b;
    }
    for r in query!(conn, G1,
        "SELECT substr(region_path, 1, ?) AS g, CAST(COUNT(DISTINCT entity_id) AS BIGINT) AS a FROM audit_log \
         WHERE entity = 'case_file' AND action = 'update' AND region_path LIKE ? ESCAPE '\\' AND at >= ? AND at <= ? GROUP BY g".into(),
        Integer => len, Text => &like, Timestamp => p.from, Timestamp => p.to)?
    {
        groups.entry(key(&r.g)).or_default().files_adjusted = r.a;
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
    path: &str,
    window: (NaiveDateTime, NaiveDateTime),
) -> diesel::QueryResult<HashMap<String, Progress>> {
    let like = like_prefix(path);
    let mut out: HashMap<String, Progress> = HashMap::new();
    for r in query!(conn, VillageCount,
        "SELECT r.path AS g, CAST(COUNT(*) AS BIGINT) AS a, NULL AS t FROM households h JOIN regions r ON r.id = h.region_id \
         WHERE h.path LIKE ? ESCAPE '\\' AND h.status = 'active' GROUP BY r.path".into(),
        Text => &like)?
    {
        out.entry(r.g)
            .or_insert(Progress {
                total: 0,
                done: 0,
                completed_at: None,
            })
            .total = r.a;
    }
    for r in query!(conn, VillageCount,
        "SELECT region_path AS g, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS a, MAX(occurred_at) AS t FROM field_facts \
         WHERE entity = 'visit' AND NOT deleted AND region_path LIKE ? ESCAPE '\\' AND occurred_at >= ? AND occurred_at <= ? GROUP BY region_path".into(),
        Text => &like, Timestamp => window.0, Timestamp => window.1)?
    {
        let p = out.entry(r.g).or_insert(Progress {
            total: 0,
            done: 0,
            completed_at: None,
        });
        p.done = r.a;
        p.completed_at = r.t;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
    }
}
