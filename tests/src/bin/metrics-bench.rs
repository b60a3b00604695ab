//! Supervision metrics benchmark: a county of 50,000 households with a year of records,
//! loaded straight into the database and its rollups counted (`bangfu rollups`), then
//! `GET /v1/supervision/metrics` timed for the county and for one township against a real
//! `bangfu serve` process.
//!
//!   cargo build --release -p bangfu
//!   cargo run --release -p bangfu-e2e --bin metrics-bench -- [sqlite|postgres] [households]
//!
//! Data per year: 4 visits and 4 photos per household (5 % of photos pending review), one
//! child aged 6–15 per 2.5 households (2 % taught at home), a dropout case per 100 children
//! with 4 retrieval attempts each, 12 monthly clocks per child taught at home and 6 more
//! clocks per case, a case file per 5 households paid monthly, and an adjustment in the
//! audit log per 10 files.

use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, bangfu_bin, percentile};
use bangfu_e2e::{Backend, DEMO_PASSWORD, TestDb};
use chrono::{Datelike, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const TOWNSHIPS: usize = 10;
const VILLAGES_PER_TOWNSHIP: usize = 20;

/// A deterministic id: the n-th of its kind (a UUID-shaped string, so paths have the
/// lengths real ones have).
fn id(kind: u8, n: usize) -> String {
    format!("0193b4a0-{kind:04x}-7000-8000-{n:012x}")
}

struct Loader {
    sqlite: Option<SqliteConnection>,
    pg: Option<PgConnection>,
}

impl Loader {
    fn exec(&mut self, sql: &str) {
        match (&mut self.sqlite, &mut self.pg) {
            (Some(c), _) => c.batch_execute(sql).expect("sqlite load"),
            (_, Some(c)) => c.batch_execute(sql).expect("pg load"),
            _ => unreachable!("a connection"),
        }
    }

    /// Inserts rows in statements of 1,000.
    fn insert(&mut self, table: &str, columns: &str, rows: impl Iterator<Item = String>) -> usize {
        let mut n = 0;
        let mut batch: Vec<String> = Vec::with_capacity(1000);
        let flush = |batch: &mut Vec<String>, me: &mut Loader| {
            if !batch.is_empty() {
                me.exec(&format!(
                    "INSERT INTO {table} ({columns}) VALUES {}",
                    batch.join(",")
                ));
                batch.clear();
            }
        };
        for r in rows {
            batch.push(r);
            n += 1;
            if batch.len() == 1000 {
                flush(&mut batch, self);
            }
        }
        flush(&mut batch, self);
        n
    }
}

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let households: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let db = TestDb::new(backend);
    let server = BenchServer::start(&db);
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let login = |u: &str| -> String {
        let t: Value = http
            .post(format!("{}/v1/auth/login", server.base))
            .json(&json!({"username": u, "password": DEMO_PASSWORD}))
            .send()
            .expect("login")
            .json()
            .expect("json");
        t["access_token"].as_str().unwrap_or_default().to_owned()
    };
    let county_token = login("county_officer");
    let regions: Value = http
        .get(format!("{}/v1/regions?limit=500", server.base))
        .bearer_auth(&county_token)
        .send()
        .expect("regions")
        .json()
        .expect("json");
    let county = regions["items"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["code"] == "530123"))
        .cloned()
        .expect("county");
    let county_id = county["id"].as_str().unwrap_or_default().to_owned();
    let county_path = format!("/{county_id}/");

    let mut l = match backend {
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(&db.url).expect("sqlite");
            // Bulk loading: the case files' applications are not part of this data set.
            c.batch_execute("PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 10000")
                .expect("pragmas");
            Loader {
                sqlite: Some(c),
                pg: None,
            }
        }
        Backend::Postgres => {
            let mut c = PgConnection::establish(&db.url).expect("pg");
            // Bulk loading: skip foreign-key triggers for this session only.
            c.batch_execute("SET session_replication_role = replica")
                .expect("replica");
            Loader {
                sqlite: None,
                pg: Some(c),
            }
        }
    };
    let started = Instant::now();
    let now = Utc::now().naive_utc();
    let year_start = chrono::NaiveDate::from_ymd_opt(now.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(now);
    let span = (now - year_start).num_seconds().max(86_400);
    let when = |n: usize| year_start + chrono::Duration::seconds((n as i64 * 7_919) % span);
    let txn = |l: &mut Loader, begin: bool| l.exec(if begin { "BEGIN" } else { "COMMIT" });

    txn(&mut l, true);
    // Regions: townships and villages under the demo county.
    let mut villages: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for t in 0..TOWNSHIPS {
        let tid = id(1, t);
        let tpath = format!("{county_path}{tid}/");
        rows.push(format!("('{tid}', '{county_id}', 'township', '5301239{t:02}', '镇{t}', '{tpath}', NULL, {n}, {n}, 1, 0)", n = ts(now)));
        for v in 0..VILLAGES_PER_TOWNSHIP {
            let vid = id(2, t * 100 + v);
            let vpath = format!("{tpath}{vid}/");
            rows.push(format!("('{vid}', '{tid}', 'village', '5301239{t:02}{v:03}', '村{t}-{v}', '{vpath}', NULL, {n}, {n}, 1, 0)", n = ts(now)));
            villages.push(vpath);
        }
    }
    l.insert(
        "regions",
        "id, parent_id, level, code, name, path, dibao_fen, created_at, updated_at, version, seq",
        rows.into_iter(),
    );
    let village_of = |h: usize| &villages[h % villages.len()];
    let vid_of = |path: &str| {
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    l.insert(
        "households",
        "id, region_id, path, address, phone, status, created_at, updated_at, version, seq",
        (0..households).map(|h| {
            let v = village_of(h);
            format!(
                "('{}', '{}', '{v}{}/', '一组 {h} 号', NULL, 'active', {n}, {n}, 1, 0)",
                id(3, h),
                vid_of(v),
                id(3, h),
                n = ts(now)
            )
        }),
    );
    let facts = "entity, id, region_path, reach_path, subject_id, actor_id, occurred_at, ended_at, state, deleted";
    let mut total = l.insert(
        "field_facts",
        facts,
        (0..households * 4).map(|n| {
            let h = n / 4;
            format!(
                "('visit', '{}', '{}', '', '{}', 'helper', {}, NULL, 'routine', FALSE)",
                id(4, n),
                village_of(h),
                id(3, h),
                ts(when(n))
            )
        }),
    );
    total += l.insert(
        "field_facts",
        facts,
        (0..households * 4).map(|n| {
            let state = if n % 20 == 0 { "pending" } else { "approved" };
            format!(
                "('photo', '{}', '{}', '', '{}', 'helper', {}, NULL, '{state}', FALSE)",
                id(5, n),
                village_of(n / 4),
                id(4, n),
                ts(when(n))
            )
        }),
    );
    let children = households * 2 / 5;
    total += l.insert(
        "field_facts",
        facts,
        (0..children).map(|n| {
            let state = if n % 50 == 0 {
                "home_teaching"
            } else {
                "in_school"
            };
            format!(
                "('child', '{}', '{}', '', '', '', '2015-06-01 00:00:00', NULL, '{state}', FALSE)",
                id(6, n),
                village_of(n)
            )
        }),
    );
    let cases = children / 100;
    total += l.insert(
        "field_facts",
        facts,
        (0..cases).map(|n| {
            let (state, ended) = match n % 3 {
                0 => ("open", "NULL".to_owned()),
                1 => ("closed_returned", ts(when(n * 13 + 5))),
                _ => ("closed_other", ts(when(n * 13 + 9))),
            };
            format!(
                "('dropout_case', '{}', '{}', '', '{}', '', {}, {ended}, '{state}', FALSE)",
                id(7, n),
                village_of(n),
                id(6, n * 100),
                ts(when(n * 13))
            )
        }),
    );
    total += l.insert("field_facts", facts, (0..cases * 4).map(|n| {
        format!("('retrieval_attempt', '{}', '{}', '', '{}', 'teacher', {}, NULL, 'refused', FALSE)", id(8, n), village_of(n / 4), id(7, n / 4), ts(when(n)))
    }));
    let deadline_cols = "id, key, source, kind, subject_entity, subject_id, region_path, owner_user_id, owner_region_path, starts_at, due_at, term, met_at, cancelled, params, version, seq, created_at, updated_at";
    let taught = children / 50;
    let mut clocks = l.insert("deadlines", deadline_cols, (0..taught * 12).map(|n| {
        let (child, month) = (n / 12, n % 12 + 1);
        let due = chrono::NaiveDate::from_ymd_opt(now.year(), month as u32, 28).and_then(|d| d.and_hms_opt(15, 59, 59)).unwrap_or(now);
        let met = if n % 4 == 0 { "NULL".to_owned() } else { ts(due - chrono::Duration::days(3)) };
        format!("('{}', 'home_teaching_month:{child}:{month}', 'home_teaching:{child}', 'home_teaching_month', 'child', '{}', '{}', NULL, '{}', {}, {}, 'end_of_period', {met}, FALSE, '{{}}', 1, 0, {n2}, {n2})",
            id(9, n), id(6, child * 50), village_of(child * 50), village_of(child * 50), ts(due - chrono::Duration::days(27)), ts(due), n2 = ts(now))
    }));
    clocks += l.insert("deadlines", deadline_cols, (0..cases * 6).map(|n| {
        let due = when(n * 17);
        let met = if n % 3 == 0 { "NULL".to_owned() } else { ts(due) };
        format!("('{}', 'k:{n}', 'dropout_case:{}', 'dropout_return_deadline', 'dropout_case', '{}', '{}', NULL, '{}', {}, {}, 'calendar_days:7', {met}, FALSE, '{{}}', 1, 0, {n2}, {n2})",
            id(10, n), id(7, n / 6), id(7, n / 6), village_of(n / 6), village_of(n / 6), ts(due - chrono::Duration::days(7)), ts(due), n2 = ts(now))
    }));
    let files = households / 5;
    l.insert("case_files", "id, application_id, program_id, household_id, region_path, category, status, opened_on, created_at, updated_at, version, exit_notice_ends_on, exited_on, reopened_on", (0..files).map(|f| {
        let h = f * 5;
        let exited = if f % 40 == 0 { format!("'{}'", when(f).date()) } else { "NULL".into() };
        format!("('{}', '{}', 'program', '{}', '{}', 'relative', 'active', '{}', {}, {}, 1, NULL, {exited}, NULL)", id(11, f), id(12, f), id(3, h), village_of(h), when(f).date(), ts(when(f)), ts(when(f)))
    }));
    let months = now.month() as usize;
    let payments = l.insert("disbursements", "id, file_id, kind, year, period, amount_fen, approval, note, region_path, created_by, created_at, due_on, on_time", (0..files * months).map(|n| {
        let (f, m) = (n / months, n % months + 1);
        let due = chrono::NaiveDate::from_ymd_opt(now.year(), m as u32, 1).map(bangfu::domain::deadline::month_end).unwrap_or(now.date());
        let paid = if n % 10 == 0 { due + chrono::Duration::days(3) } else { due - chrono::Duration::days(5) };
        format!("('{}', '{}', 'living', {}, '{}-{m:02}', 60000, 'county', NULL, '{}', NULL, {}, '{due}', {})", id(13, n), id(11, f), now.year(), now.year(), village_of(f * 5), ts(paid.and_hms_opt(2, 0, 0).unwrap_or(now)), if paid <= due { "TRUE" } else { "FALSE" })
    }));
    l.insert("audit_log", "id, at, actor_id, actor_role, device_id, request_id, action, entity, entity_id, region_path, changes, reason", (0..files / 10).map(|n| {
        format!("('{}', {}, NULL, 'county_officer', NULL, NULL, 'update', 'case_file', '{}', '{}', '{{}}', NULL)", id(14, n), ts(when(n * 31)), id(11, n * 10), village_of(n * 50))
    }));
    // Nothing for the projector to catch up on, and the hourly refresh just done.
    l.exec(&format!(
        "UPDATE field_work_progress SET refreshed_at = {} WHERE id = 1",
        ts(now)
    ));
    txn(&mut l, false);
    // As autovacuum would have: statistics, and the visibility map index-only scans need.
    match backend {
        Backend::Sqlite => l.exec("ANALYZE"),
        Backend::Postgres => l.exec("VACUUM ANALYZE"),
    }
    let load_secs = started.elapsed().as_secs_f64();
    // The loader wrote straight into the tables (on PostgreSQL with triggers off): the
    // rollups are counted from every record, as `bangfu rollups` does after a bulk load.
    let started = Instant::now();
    let counted = std::process::Command::new(bangfu_bin())
        .arg("rollups")
        .env("BANGFU_DATA_DIR", db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("BANGFU_LOG", "warn")
        .output()
        .expect("bangfu rollups");
    assert!(
        counted.status.success(),
        "{}",
        String::from_utf8_lossy(&counted.stderr)
    );
    let rollup_secs = started.elapsed().as_secs_f64();

    let time = |path: &str, n: usize| -> (Vec<f64>, Value) {
        let mut ms = Vec::new();
        let mut last = Value::Null;
        for i in 0..n + 3 {
            let t = Instant::now();
            let r = http
                .get(format!("{}{path}", server.base))
                .bearer_auth(&county_token)
                .send()
                .expect("metrics");
            assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
            last = r.json().expect("json");
            if i >= 3 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        ms.sort_by(f64::total_cmp);
        (ms, last)
    };
    let from = year_start.date();
    let to = (now + chrono::Duration::hours(8)).date();
    let (county_ms, report) = time(&format!("/v1/supervision/metrics?from={from}&to={to}"), 30);
    let (township_ms, _) = time(
        &format!(
            "/v1/supervision/metrics?region_id={}&from={from}&to={to}",
            id(1, 0)
        ),
        30,
    );
    let (cpu, rss) = server.usage();
    let pct = percentile;
    println!(
        "backend: {backend:?}; uptime: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "loaded {households} households, {total} field records, {clocks} deadlines, {files} case files, {payments} payments in {load_secs:.1} s"
    );
    println!("rollups counted from every record in {rollup_secs:.1} s");
    println!(
        "county metrics (30 runs): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(&county_ms, 0.5),
        pct(&county_ms, 0.95),
        pct(&county_ms, 1.0)
    );
    println!(
        "township metrics (30 runs): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(&township_ms, 0.5),
        pct(&township_ms, 0.95),
        pct(&township_ms, 1.0)
    );
    println!("server: {cpu:.2} CPU-s in all, peak RSS {rss:.0} MiB");
    println!("county totals: {}", report["totals"]);
    println!(
        "townships in the answer: {}",
        report["children"].as_array().map_or(0, Vec::len)
    );
    // To look at the query plans afterwards: BANGFU_BENCH_KEEP=<file> keeps a copy of the
    // SQLite database.
    if let Ok(keep) = std::env::var("BANGFU_BENCH_KEEP") {
        drop(l);
        drop(server);
        match backend {
            Backend::Sqlite => {
                let _ = std::fs::copy(&db.url, keep);
            }
            // PostgreSQL: the database stays; drop it by hand afterwards.
            Backend::Postgres => {
                println!("kept database: {}", db.url);
                std::mem::forget(db);
            }
        }
    }
}
