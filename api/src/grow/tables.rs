//! The tables: discovered from both databases (so a new migration is covered without a
//! change here), checked to match, and copied in rowid order, one batch per PostgreSQL
//! transaction together with the progress it makes.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::SqliteConnection;

/// Diesel's own record of applied migrations: each side keeps its own.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";
/// Tables derived from the others (the supervision rollups): not copied. The target's
/// triggers mark every copied record, and its first catch-up counts them all again.
const DERIVED_PREFIX: &str = "rollup_";
/// Where the copy records its progress in the target (not part of the schema).
pub const PROGRESS: &str = "grow_progress";
pub const SOURCE: &str = "grow_source";

/// One table to copy, with its columns as PostgreSQL types them.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, String)>,
}

/// Quotes an identifier for either backend.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Edge {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// The source's tables in an order that inserts every referenced row before the rows that
/// refer to it, with their columns; fails if the two schemas differ.
pub fn discover(src: &mut SqliteConnection, pg: &mut PgConnection) -> anyhow::Result<Vec<Table>> {
    let names: Vec<String> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .load::<Name>(src)?
    .into_iter()
    .map(|n| n.name)
    .filter(|n| n != MIGRATIONS_TABLE && !n.starts_with(DERIVED_PREFIX))
    .collect();
    let without_rowid: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND upper(sql) LIKE '%WITHOUT ROWID%'",
    )
    .load(src)?;
    if let Some(t) = without_rowid.first() {
        bail!("table {} has no rowid; grow copies in rowid order", t.name);
    }
    let edges: Vec<Edge> = diesel::sql_query(
        "SELECT m.name AS child, f.\"table\" AS parent FROM sqlite_master m, \
         pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
    )
    .load(src)?;
    let mut pg_cols: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for c in diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
         data_type::text AS data_type FROM information_schema.columns \
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    )
    .load::<PgColumn>(pg)?
    {
        pg_cols
            .entry(c.table_name)
            .or_default()
            .push((c.column_name, c.data_type));
    }
    let mut tables = BTreeMap::new();
    for name in &names {
        let src_cols: BTreeSet<String> =
            diesel::sql_query("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind::<Text, _>(name)
                .load::<Name>(src)?
                .into_iter()
                .map(|n| n.name)
                .collect();
        let Some(columns) = pg_cols.get(name) else {
            bail!(
                "table {name} is in the SQLite database but not in PostgreSQL: are both migrated?"
            );
        };
        let dst_cols: BTreeSet<String> = columns.iter().map(|(c, _)| c.clone()).collect();
        if src_cols != dst_cols {
            bail!(
                "table {name} has different columns: SQLite {src_cols:?}, PostgreSQL {dst_cols:?}"
            );
        }
        tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                columns: columns.clone(),
            },
        );
    }
    let extra: Vec<&String> = pg_cols
        .keys()
        .filter(|t| {
            !tables.contains_key(*t)
                && !t.starts_with(DERIVED_PREFIX)
                && ![MIGRATIONS_TABLE, PROGRESS, SOURCE].contains(&t.as_str())
        })
        .collect();
    if !extra.is_empty() {
        bail!("PostgreSQL has tables the SQLite database lacks: {extra:?}; are both migrated?");
    }
    order_by_references(tables, &edges)
}

/// Parents before children (a table's references to itself are satisfied by rowid order:
/// SQLite checked them when each row went in).
fn order_by_references(
    mut left: BTreeMap<String, Table>,
    edges: &[Edge],
) -> anyhow::Result<Vec<Table>> {
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready: Vec<String> = left
            .keys()
            .filter(|t| {
                !edges
                    .iter()
                    .any(|e| &e.child == *t && e.parent != e.child && left.contains_key(&e.parent))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            bail!(
                "tables {:?} refer to each other in a cycle",
                left.keys().collect::<Vec<_>>()
            );
        }
        for t in ready {
            out.extend(left.remove(&t));
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Marker {
    #[diesel(sql_type = Text)]
    install_id: String,
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Text)]
    started_at: String,
}

/// Makes sure the target is this install's: either grown from it before (then the copy
/// resumes) or empty but for the rows the migrations seed (then it is marked as ours).
pub fn claim_target(
    pg: &mut PgConnection,
    tables: &[Table],
    install_id: &str,
    source: &str,
) -> anyhow::Result<()> {
    pg.transaction(|pg| {
        let marker: Option<Marker> = if has_table(pg, SOURCE)? {
            diesel::sql_query(format!(
                "SELECT install_id, source, started_at::text AS started_at FROM {SOURCE}"
            ))
            .get_result(pg)
            .optional()?
        } else {
            None
        };
        if let Some(m) = marker {
            if m.install_id != install_id {
                bail!(
                    "refusing the target database: it holds another install's data (copied from {} \
                     on {}, with a different data key). Grow into a new, empty database.",
                    m.source,
                    m.started_at
                );
            }
            return Ok(());
        }
        for t in tables {
            let n = foreign_rows(pg, t)?;
            if n > 0 {
                bail!(
                    "refusing the target database: it already holds data ({n} row(s) in {}) that \
                     was not copied from this install. Grow into a new, empty database.",
                    t.name
                );
            }
        }
        // Made in the same transaction as the checks: a second copy started at the same
        // moment fails here instead of claiming the database too.
        pg.batch_execute(&format!(
            "CREATE TABLE {SOURCE} (id INTEGER PRIMARY KEY CHECK (id = 1), \
             install_id TEXT NOT NULL, source TEXT NOT NULL, started_at TIMESTAMP NOT NULL); \
             CREATE TABLE IF NOT EXISTS {PROGRESS} (table_name TEXT PRIMARY KEY, \
             last_rowid BIGINT NOT NULL, rows_copied BIGINT NOT NULL, done BOOLEAN NOT NULL);"
        ))?;
        // The migrations' own rows (counters at their start) make way for the source's.
        for t in tables.iter().rev() {
            pg.batch_execute(&format!("DELETE FROM {}", ident(&t.name)))?;
        }
        diesel::sql_query(format!(
            "INSERT INTO {SOURCE} (id, install_id, source, started_at) \
             VALUES (1, $1, $2, now() AT TIME ZONE 'UTC')"
        ))
        .bind::<Text, _>(install_id)
        .bind::<Text, _>(source)
        .execute(pg)?;
        Ok(())
    })
}

fn has_table(pg: &mut PgConnection, name: &str) -> anyhow::Result<bool> {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        e: bool,
    }
    let r: Exists = diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS e")
        .bind::<Text, _>(name)
        .get_result(pg)?;
    Ok(r.e)
}

/// Rows in `t` other than what the migrations put there: the single-row tables
/// (`CHECK (id = 1)`) are seeded with their row 1.
fn foreign_rows(pg: &mut PgConnection, t: &Table) -> anyhow::Result<i64> {
    let integer_id = t
        .columns
        .iter()
        .any(|(c, ty)| c == "id" && matches!(ty.as_str(), "integer" | "bigint" | "smallint"));
    let filter = if integer_id { " WHERE id <> 1" } else { "" };
    let c: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM {}{filter}",
        ident(&t.name)
    ))
    .get_result(pg)?;
    Ok(c.n)
}

/// How a column is read out of SQLite into JSON that `json_populate_recordset` reads back
/// as the PostgreSQL type: bytes as `\x` hex (bytea's input form), floating point as text
/// with 17 digits (exact whatever the SQLite version: older ones put 15 in JSON), the
/// rest as it is (booleans are 0/1, which PostgreSQL accepts; timestamps are text in a
/// form it accepts).
fn read_expr(column: &str, pg_type: &str) -> String {
    let c = ident(column);
    match pg_type {
        "bytea" => format!("CASE WHEN {c} IS NULL THEN NULL ELSE '\\x' || hex({c}) END"),
        "double precision" | "real" | "numeric" => {
            format!("CASE WHEN {c} IS NULL THEN NULL ELSE printf('%!.17g', {c}) END")
        }
        _ => c,
    }
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = BigInt)]
    k: i64,
    #[diesel(sql_type = Text)]
    j: String,
}

#[derive(QueryableByName)]
struct Progress {
    #[diesel(sql_type = BigInt)]
    last_rowid: i64,
    #[diesel(sql_type = Bool)]
    done: bool,
}

/// What copying one table did in this run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Copied {
    pub rows: u64,
    pub batches: u64,
}

/// Why a copy stopped before the end.
#[derive(Debug)]
pub struct Stopped;

/// Copies `t` from where an earlier run left off, `batch_rows` rows per transaction;
/// `budget` counts down the batches this run may still make (`None`: no limit).
pub fn copy_table(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
    t: &Table,
    batch_rows: i64,
    budget: &mut Option<u64>,
) -> anyhow::Result<Result<Copied, Stopped>> {
    let progress: Option<Progress> = diesel::sql_query(format!(
        "SELECT last_rowid, done FROM {PROGRESS} WHERE table_name = $1"
    ))
    .bind::<Text, _>(&t.name)
    .get_result(pg)
    .optional()?;
    let (mut after, done) = progress.map_or((i64::MIN, false), |p| (p.last_rowid, p.done));
    let mut copied = Copied::default();
    if done {
        return Ok(Ok(copied));
    }
    let fields: Vec<String> = t
        .columns
        .iter()
        .map(|(c, ty)| format!("'{}', {}", c.replace('\'', "''"), read_expr(c, ty)))
        .collect();
    let read = format!(
        "SELECT rowid AS k, json_object({}) AS j FROM {} WHERE rowid > ? ORDER BY rowid LIMIT ?",
        fields.join(", "),
        ident(&t.name)
    );
    let cols: Vec<String> = t.columns.iter().map(|(c, _)| ident(c)).collect();
    let cols = cols.join(", ");
    // The copied keys are kept as they are, identity columns included (their sequences are
    // moved past them afterwards).
    let write = format!(
        "INSERT INTO {name} ({cols}) OVERRIDING SYSTEM VALUE \
         SELECT {cols} FROM json_populate_recordset(NULL::{name}, $1::json) ON CONFLICT DO NOTHING",
        name = ident(&t.name)
    );
    let record = format!(
        "INSERT INTO {PROGRESS} (table_name, last_rowid, rows_copied, done) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (table_name) DO UPDATE SET last_rowid = EXCLUDED.last_rowid, \
         rows_copied = {PROGRESS}.rows_copied + EXCLUDED.rows_copied, done = EXCLUDED.done"
    );
    loop {
        if *budget == Some(0) {
            return Ok(Err(Stopped));
        }
        let rows: Vec<JsonRow> = diesel::sql_query(&read)
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(batch_rows)
            .load(src)
            .with_context(|| format!("reading {}", t.name))?;
        let last = rows.last().map_or(after, |r| r.k);
        let finished = (rows.len() as i64) < batch_rows;
        let n = rows.len() as i64;
        let json = format!(
            "[{}]",
            rows.into_iter().map(|r| r.j).collect::<Vec<_>>().join(",")
        );
        // The rows and the progress they make commit together: a run killed at any point
        // resumes after the last batch that committed, and ON CONFLICT guards the rest.
        pg.transaction(|pg| {
            if n > 0 {
                diesel::sql_query(&write)
                    .bind::<Text, _>(&json)
                    .execute(pg)?;
            }
            diesel::sql_query(&record)
                .bind::<Text, _>(&t.name)
                .bind::<BigInt, _>(last)
                .bind::<BigInt, _>(n)
                .bind::<Bool, _>(finished)
                .execute(pg)?;
            diesel::QueryResult::Ok(())
        })
        .with_context(|| format!("writing {}", t.name))?;
        after = last;
        copied.rows += n as u64;
        copied.batches += 1;
        if let Some(b) = budget.as_mut() {
            *b -= 1;
        }
        if finished {
            return Ok(Ok(copied));
        }
    }
}

#[derive(QueryableByName)]
struct Sequence {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Moves every sequence (serial or identity column) past the largest copied value, so
/// the next row PostgreSQL numbers does not collide with a copied one.
pub fn fix_sequences(pg: &mut PgConnection) -> anyhow::Result<usize> {
    let seqs: Vec<Sequence> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
    )
    .load(pg)?;
    for s in &seqs {
        let (t, c) = (ident(&s.table_name), ident(&s.column_name));
        pg.batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('{}', '{}'), COALESCE(MAX({c}), 1), \
             MAX({c}) IS NOT NULL) FROM {t}",
            t.replace('\'', "''"),
            s.column_name.replace('\'', "''")
        ))?;
    }
    Ok(seqs.len())
}

/// Rows in a table of the source.
pub fn count_source(src: &mut SqliteConnection, table: &str) -> anyhow::Result<i64> {
    let c: Count =
        diesel::sql_query(format!("SELECT count(*) AS n FROM {}", ident(table))).get_result(src)?;
    Ok(c.n)
}

/// Rows in a table of the target.
pub fn count_target(pg: &mut PgConnection, table: &str) -> anyhow::Result<i64> {
    let c: Count =
        diesel::sql_query(format!("SELECT count(*) AS n FROM {}", ident(table))).get_result(pg)?;
    Ok(c.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> (String, Table) {
        let t = Table {
            name: name.into(),
            columns: Vec::new(),
        };
        (name.into(), t)
    }

    fn edge(child: &str, parent: &str) -> Edge {
        Edge {
            child: child.into(),
            parent: parent.into(),
        }
    }

    #[test]
    fn referenced_tables_come_first_and_cycles_are_refused() -> anyhow::Result<()> {
        let all: BTreeMap<String, Table> = ["a_children", "m_parents", "z_roots"]
            .map(table)
            .into_iter()
            .collect();
        let edges = [
            edge("a_children", "m_parents"),
            edge("m_parents", "z_roots"),
            edge("m_parents", "m_parents"),
        ];
        let order: Vec<String> = order_by_references(all.clone(), &edges)?
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(order, ["z_roots", "m_parents", "a_children"]);
        let cycle = [edge("a_children", "z_roots"), edge("z_roots", "a_children")];
        assert!(order_by_references(all, &cycle).is_err());
        Ok(())
    }

    #[test]
    fn columns_are_read_in_a_form_postgresql_takes_back() {
        assert_eq!(read_expr("n", "bigint"), "\"n\"");
        assert!(read_expr("b", "bytea").contains("'\\x' || hex(\"b\")"));
        assert!(read_expr("lat", "double precision").contains("%!.17g"));
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
    }
}
