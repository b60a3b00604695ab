//! The jurisdiction filter every scoped query uses.

use diesel::expression::{ValidGrouping, is_aggregate};
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};

use crate::infra::db::DbConn;

pub type MultiBackend = <DbConn as Connection>::Backend;

/// What a jurisdiction filter needs of a scope: the region subtrees it holds, as
/// materialised path prefixes (`/county/township/`).
pub trait Subtrees {
    fn subtrees(&self) -> &[String];
}

/// The SQL condition `col LIKE 'p1%' OR col LIKE 'p2%' …`: the path-valued column `col`
/// lies inside one of the scope's subtrees. `QS` is the query's source (a table or a join),
/// inferred where the condition is used.
pub fn path_in_scope<QS, C>(
    col: C,
    scope: &impl Subtrees,
) -> Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>
where
    C: Expression<SqlType = Text>
        + SelectableExpression<QS>
        + QueryFragment<MultiBackend>
        + ValidGrouping<(), IsAggregate = is_aggregate::No>
        + QueryId
        + Copy
        + Send
        + 'static,
    QS: 'static,
{
    like_any(
        col,
        scope.subtrees().iter().map(|p| like_prefix(p)).collect(),
    )
}

/// The SQL condition `col LIKE 'x1' ESCAPE '\' OR col LIKE 'x2' …` (none: false).
pub fn like_any<QS, C>(
    col: C,
    patterns: Vec<String>,
) -> Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>
where
    C: Expression<SqlType = Text>
        + SelectableExpression<QS>
        + QueryFragment<MultiBackend>
        + ValidGrouping<(), IsAggregate = is_aggregate::No>
        + QueryId
        + Copy
        + Send
        + 'static,
    QS: 'static,
{
    let mut patterns = patterns.into_iter();
    let Some(first) = patterns.next() else {
        // Nothing matches (a condition no value meets, empty or not).
        return Box::new(col.eq("").and(col.ne("")));
    };
    let mut cond: Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>> =
        Box::new(col.like(first).escape('\\'));
    for p in patterns {
        cond = Box::new(cond.or(col.like(p).escape('\\')));
    }
    cond
}

/// A LIKE pattern matching every string that starts with `prefix` (escaping `%` and `_`).
pub fn like_prefix(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(super::like_prefix("/a_b/"), "/a\\_b/%");
        assert_eq!(super::like_prefix("/100%/"), "/100\\%/%");
    }
}
