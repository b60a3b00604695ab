//! Sync benchmark: pushes and pulls against a real `bangfu serve` process and reports
//! throughput, batch latency, bytes on the wire and the server's CPU time and peak memory
//! (read from /proc, so the client's own work is not counted).
//!
//!   cargo build --release -p bangfu
//!   cargo run --release -p bangfu-e2e --bin sync-bench -- [sqlite|postgres] [records]
//!
//! The raw limit is the same rows written straight into the same kind of database in one
//! transaction with prepared statements.

use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, usage};
use bangfu_e2e::workload::{device_login, register_households, village, visit};
use bangfu_e2e::{Backend, TestDb, new_id};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const BATCH: usize = 500;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Pushes `total` visits from `devices` devices at once; returns (seconds, batch latencies in ms).
fn push(server: &BenchServer, devices: usize, total: usize) -> (f64, Vec<f64>) {
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let users = [
        "qingshan_helper",
        "qingshan_secretary",
        "qingshan_officer",
        "county_officer",
    ];
    let sessions: Vec<(String, String)> = (0..devices)
        .map(|i| device_login(&http, &server.base, users[i % users.len()]))
        .collect();
    let region = village(&http, &server.base, &sessions[0].0);
    let households = register_households(&http, &server.base, &region, 50);
    let per_device = total / devices;
    let started = Instant::now();
    let latencies: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .map(|(token, user)| {
                let (http, region, base) = (http.clone(), region.clone(), server.base.clone());
                let households = &households;
                scope.spawn(move || {
                    let mut lat = Vec::new();
                    let mut sent = 0;
                    while sent < per_device {
                        let n = BATCH.min(per_device - sent);
                        let batch: Vec<Value> = (0..n)
                            .map(|i| {
                                let h = &households[(sent + i) % households.len()];
                                visit(&region, h, user, sent + i)
                            })
                            .collect();
                        let t = Instant::now();
                        let r = http
                            .post(format!("{base}/v1/sync/push"))
                            .bearer_auth(token)
                            .header("Bangfu-Sync-Protocol", "1")
                            .json(&json!({"mutations": batch}))
                            .send()
                            .expect("push");
                        assert!(r.status().is_success(), "push failed: {}", r.status());
                        let body: Value = r.json().expect("push answer");
                        let applied = body["results"]
                            .as_array()
                            .map_or(0, |a| a.iter().filter(|x| x["status"] == "applied").count());
                        assert_eq!(applied, n, "every visit applied: {body}");
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        sent += n;
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("pusher"))
            .collect()
    });
    (started.elapsed().as_secs_f64(), latencies)
}

/// Pulls everything a fresh county device sees; returns (rows, bytes, seconds).
fn pull(server: &BenchServer, gzip: bool) -> (usize, usize, f64) {
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let (token, _) = device_login(&http, &server.base, "county_officer");
    let mut cursor: Option<String> = None;
    let (mut rows, mut bytes) = (0, 0);
    let started = Instant::now();
    loop {
        let url = match &cursor {
            Some(c) => format!("{}/v1/sync/pull?limit=1000&cursor={c}", server.base),
            None => format!("{}/v1/sync/pull?limit=1000", server.base),
        };
        let mut req = http
            .get(url)
            .bearer_auth(&token)
            .header("Bangfu-Sync-Protocol", "1");
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        let body = req.send().expect("pull").bytes().expect("body");
        bytes += body.len();
        let page: Value = if gzip {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(body.as_ref()),
                &mut text,
            )
            .expect("gunzip");
            serde_json::from_str(&text).expect("json")
        } else {
            serde_json::from_slice(&body).expect("json")
        };
        rows += page["changes"].as_array().map_or(0, Vec::len);
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if page["has_more"] != true {
            break;
        }
    }
    (rows, bytes, started.elapsed().as_secs_f64())
}

/// The same rows written straight into the database: one transaction, multi-row INSERTs of
/// 500 rows through diesel's prepared statements, no product logic.
fn raw_limit(backend: Backend, total: usize) -> f64 {
    use bangfu::store::schema::{regions, sync_records};
    use bangfu::sync::records::RecordRow;
    use diesel::prelude::*;
    let db = TestDb::new(backend);
    drop(BenchServer::start(&db)); // migrations and the demo regions, as on the server
    let now = chrono::Utc::now().naive_utc();
    let make = |region: &(String, String)| -> Vec<RecordRow> {
        (0..total)
            .map(|i| RecordRow {
                entity: "visit".into(),
                id: new_id(),
                region_id: region.0.clone(),
                region_path: region.1.clone(),
                data: visit("r", "h", "u", i)["fields"].to_string(),
                stamps: "{}".into(),
                version: 1,
                deleted: false,
                seq: 1_000_000 + i as i64,
                created_by: None,
                created_at: now,
                updated_at: now,
                reach_path: format!("{}h/", region.1),
            })
            .collect()
    };
    macro_rules! run {
        ($conn:expr) => {{
            let c = $conn;
            let region: (String, String) = regions::table
                .filter(regions::code.eq("530123101001"))
                .select((regions::id, regions::path))
                .first(c)
                .expect("region");
            let rows = make(&region);
            let t = Instant::now();
            c.transaction::<_, diesel::result::Error, _>(|c| {
                for chunk in rows.chunks(BATCH) {
                    diesel::insert_into(sync_records::table)
                        .values(chunk)
                        .execute(c)?;
                }
                Ok(())
            })
            .expect("raw insert");
            t.elapsed().as_secs_f64()
        }};
    }
    let secs = match backend {
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(&db.url).expect("sqlite");
            diesel::sql_query("PRAGMA synchronous = FULL")
                .execute(&mut c)
                .expect("pragma");
            run!(&mut c)
        }
        Backend::Postgres => run!(&mut diesel::PgConnection::establish(&db.url).expect("pg")),
    };
    total as f64 / secs
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let total: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "backend {backend:?}, {total} visits, batches of {BATCH}, load average {}",
        load.trim()
    );

    let raw = raw_limit(backend, total);
    println!("| raw insert, one transaction | {raw:.0} rows/s |");

    for devices in [1, 8] {
        let db = TestDb::new(backend);
        let server = BenchServer::start(&db);
        let (cpu0, _) = usage(server.child.id());
        let (secs, mut lat) = push(&server, devices, total);
        let (cpu1, rss) = usage(server.child.id());
        lat.sort_by(f64::total_cmp);
        let rate = total as f64 / secs;
        println!(
            "| push, {devices} device(s) | {rate:.0} mutations/s ({:.0} % of raw) | p50 {:.1} ms, p99 {:.1} ms per batch | {:.2} server CPU-s per 10k | peak RSS {rss:.0} MiB |",
            100.0 * rate / raw,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            (cpu1 - cpu0) * 10_000.0 / total as f64,
        );
        if devices == 1 {
            for gzip in [false, true] {
                let (c0, _) = usage(server.child.id());
                let (rows, bytes, secs) = pull(&server, gzip);
                let (c1, rss) = usage(server.child.id());
                println!(
                    "| pull from scratch{} | {rows} rows in {secs:.2} s = {:.0} rows/s | {:.0} KiB on the wire | {:.2} server CPU-s | peak RSS {rss:.0} MiB |",
                    if gzip { ", gzip" } else { "" },
                    rows as f64 / secs,
                    bytes as f64 / 1024.0,
                    c1 - c0,
                );
            }
        }
    }
}
