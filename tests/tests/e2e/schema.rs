//! Both backends' migrations build the same tables with the same columns.

use std::collections::BTreeSet;

use bangfu_e2e::{Backend, TestDb, TestServer, backend};
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

fn sqlite_columns(url: &str) -> BTreeSet<Column> {
    let mut c = diesel::SqliteConnection::establish(url).expect("sqlite");
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, (p.\"notnull\" = 0) AS nullable \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    )
    .load(&mut c)
    .expect("sqlite schema")
    .into_iter()
    .collect()
}

fn pg_columns(url: &str) -> BTreeSet<Column> {
    let mut c = diesel::PgConnection::establish(url).expect("pg");
    diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut c)
    .expect("pg schema")
    .into_iter()
    .collect()
}

#[test]
fn both_backends_hold_the_same_tables_and_columns() {
    // Needs both databases; the PostgreSQL run has both.
    if backend() != Backend::Postgres {
        bangfu_e2e::skip("needs both databases: runs in the PostgreSQL pass");
        return;
    }
    let sqlite = TestServer::start_on(TestDb::new(Backend::Sqlite));
    let pg = TestServer::start_on(TestDb::new(Backend::Postgres));
    let a = sqlite_columns(&sqlite.db.url);
    let b = pg_columns(&pg.db.url);
    assert!(
        a.len() > 40,
        "expected the foundation's tables, got {}",
        a.len()
    );
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
}
