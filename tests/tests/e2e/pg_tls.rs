//! The PostgreSQL client built into bangfu (libpq and OpenSSL, compiled from source, no
//! system libraries) speaks TLS: against a server that requires it, `sslmode=require`
//! connects encrypted, and bangfu runs on it.

use bangfu_e2e::{PrivatePg, TestDb, TestServer};
use diesel::prelude::*;
use diesel::sql_types::Bool;

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[test]
fn sslmode_require_connects_over_tls() {
    let pg = PrivatePg::start(true);
    let url = format!("{}?sslmode=require", pg.url());
    let mut c = diesel::PgConnection::establish(&url).expect("a TLS connection");
    let row: Encrypted =
        diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .get_result(&mut c)
            .expect("pg_stat_ssl");
    assert!(row.ssl, "the connection is encrypted");

    // The server itself migrates and serves over such connections.
    let s = TestServer::start_on(TestDb::at(&url));
    let officer = s.login("qingshan_officer");
    let r = s.call("GET", "/v1/regions", Some(&officer.access), None);
    assert_eq!(r.status, 200, "{}", r.text);
    let mut check = diesel::PgConnection::establish(&url).expect("a TLS connection");
    let all_encrypted: Encrypted = diesel::sql_query(
        "SELECT bool_and(s.ssl) AS ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = 'postgres' AND a.backend_type = 'client backend'",
    )
    .get_result(&mut check)
    .expect("pg_stat_ssl");
    assert!(
        all_encrypted.ssl,
        "every session of the server is encrypted"
    );
}
