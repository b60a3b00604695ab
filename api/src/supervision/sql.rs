//! Counting queries written once for both backends: `?` placeholders (numbered `$n` for
//! PostgreSQL), and `[column]` for "the path in this column lies in this subtree".

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::infra::db::DbConn;
use crate::infra::db::scoped::like_prefix;

/// A value bound into a query.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Ts(NaiveDateTime),
    Int(i32),
    Big(i64),
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

type Boxed<DB> = BoxedSqlQuery<'static, DB, SqlQuery>;

/// Binds `binds` to a boxed query, a path subtree (`Within`) as `within` renders it.
macro_rules! bind_all {
    ($q:expr, $binds:expr, $within:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Arg::Text(t) => q.bind::<Text, _>(t.to_owned()),
                Arg::Ts(t) => q.bind::<Timestamp, _>(t),
                Arg::Int(n) => q.bind::<Integer, _>(n),
                Arg::Big(n) => q.bind::<BigInt, _>(n),
                Arg::Within(p) => q.bind::<Text, _>($within(p)),
            };
        }
        q
    }};
}

fn for_sqlite(sql: &str, args: &[Arg<'_>]) -> Boxed<Sqlite> {
    let (sql, binds) = render(sql, args, false);
    bind_all!(
        diesel::sql_query(sql).into_boxed::<Sqlite>(),
        binds,
        range_end
    )
}

fn for_pg(sql: &str, args: &[Arg<'_>]) -> Boxed<Pg> {
    let (sql, binds) = render(sql, args, true);
    bind_all!(
        diesel::sql_query(sql).into_boxed::<Pg>(),
        binds,
        like_prefix
    )
}

/// Runs a query and reads its rows.
pub fn load<R>(conn: &mut DbConn, sql: &str, args: &[Arg<'_>]) -> diesel::QueryResult<Vec<R>>
where
    R: QueryableByName<Sqlite> + QueryableByName<Pg> + 'static,
{
    match conn {
        DbConn::Sqlite(c) => for_sqlite(sql, args).load::<R>(c),
        DbConn::Pg(c) => for_pg(sql, args).load::<R>(c),
    }
}

/// Runs a statement; returns the rows it touched.
pub fn execute(conn: &mut DbConn, sql: &str, args: &[Arg<'_>]) -> diesel::QueryResult<usize> {
    match conn {
        DbConn::Sqlite(c) => for_sqlite(sql, args).execute(c),
        DbConn::Pg(c) => for_pg(sql, args).execute(c),
    }
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
