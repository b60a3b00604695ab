//! Sync benchmark: pushes and pulls against a real `bangfu serve` process and reports
//! throughput, batch latency, bytes on the wire and the server's CPU time and peak memory
//! (read from /proc, so the client's own work is not counted).
//!
//!   cargo build --release -p bangfu
//!   cargo run --release -p bangfu-e2e --bin sync-bench -- [sqlite|postgres] [records]
//!   cargo run --release -p bangfu-e2e --bin sync-bench -- [sqlite|postgres] 0 township
//!
//! The raw limit is the same rows written straight into the same kind of database in one
//! transaction with prepared statements.

use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, percentile, rss_now, sampling_rss, usage};
use bangfu_e2e::workload::{device_login, json, push_applied, register_households, village, visit};
use bangfu_e2e::{Backend, TestDb, hlc, new_id};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const BATCH: usize = 500;

/// Pushes `total` visits from `devices` devices at once; returns (seconds, batch latencies
/// in ms, server CPU-seconds of the pushing alone: sign-ins and set-up are not counted).
fn push(server: &BenchServer, devices: usize, total: usize) -> (f64, Vec<f64>, f64) {
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
    let (cpu0, _) = server.usage();
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
                        push_applied(&http, &base, token, &batch);
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
    let secs = started.elapsed().as_secs_f64();
    (secs, latencies, server.usage().0 - cpu0)
}

/// What a pull measured.
struct Pulled {
    rows: usize,
    bytes: usize,
    secs: f64,
    cursor: Option<String>,
}

/// Pulls everything after `cursor` (from scratch when `None`) with `token`, in pages of
/// 1,000.
fn pull_from(base: &str, token: &str, mut cursor: Option<String>, gzip: bool) -> Pulled {
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let (mut rows, mut bytes) = (0, 0);
    let started = Instant::now();
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/v1/sync/pull?limit=1000&cursor={c}"),
            None => format!("{base}/v1/sync/pull?limit=1000"),
        };
        let mut req = http
            .get(url)
            .bearer_auth(token)
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
    Pulled {
        rows,
        bytes,
        secs: started.elapsed().as_secs_f64(),
        cursor,
    }
}

/// Pulls everything a fresh county device sees; returns (rows, bytes, seconds).
fn pull(server: &BenchServer, gzip: bool) -> (usize, usize, f64) {
    let http = Client::new();
    let (token, _) = device_login(&http, &server.base, "county_officer");
    let p = pull_from(&server.base, &token, None, gzip);
    (p.rows, p.bytes, p.secs)
}

/// Pushes `records` in batches of 500 with `token`; every one must be applied.
fn push_all(http: &Client, base: &str, token: &str, records: Vec<Value>) {
    for chunk in records.chunks(BATCH) {
        let r: Value = http
            .post(format!("{base}/v1/sync/push"))
            .bearer_auth(token)
            .header("Bangfu-Sync-Protocol", "1")
            .json(&json!({"mutations": chunk}))
            .send()
            .and_then(|r| r.json())
            .expect("push");
        let ok = r["results"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["status"] == "applied"));
        assert!(ok, "every record applied: {r}");
    }
}

/// A township as the issue describes it: 2,000 households of four people, 20,000 visits,
/// 2,000 children, in the two villages of 青山镇. Then a fresh township device's initial
/// sync, 100 changes, and its incremental pull.
fn township(backend: Backend) {
    let db = TestDb::new(backend);
    let server = BenchServer::start(&db);
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let base = server.base.clone();
    let (token, officer) = device_login(&http, &base, "qingshan_officer");
    let regions: Value = json(
        http.get(format!("{base}/v1/regions?limit=500"))
            .bearer_auth(&token)
            .send()
            .expect("regions"),
    );
    let village = |code: &str| {
        regions["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["code"] == code))
            .and_then(|i| i["id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let villages = [village("530123101001"), village("530123101002")];
    let t = Instant::now();
    let homes: Vec<(String, String)> = (0..2000)
        .map(|h| {
            let region = &villages[h % 2];
            let members: Vec<Value> = (0..4)
                .map(|m| {
                    // A birth day of their own: ID numbers never collide.
                    let day = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default()
                        + chrono::Duration::days((h * 4 + m) as i64);
                    let (id_number, birth) = bangfu_e2e::resident_id_born(day, m % 2 == 0);
                    json!({"name": format!("村民{h}-{m}"), "relation": if m == 0 { "head" } else { "child" },
                           "id_number": id_number, "birth_date": birth, "gender": if m % 2 == 0 { "female" } else { "male" }})
                })
                .collect();
            let r: Value = http
                .post(format!("{base}/v1/households"))
                .bearer_auth(&token)
                .json(&json!({"region_id": region, "address": format!("{h} 号"), "members": members}))
                .send()
                .and_then(|r| r.json())
                .expect("register household");
            let id = r["id"].as_str().unwrap_or_else(|| panic!("register household: {r}"));
            (region.clone(), id.to_owned())
        })
        .collect();
    let visits: Vec<Value> = (0..20_000)
        .map(|i| {
            let (region, home) = &homes[i % homes.len()];
            visit(region, home, &officer, i)
        })
        .collect();
    let visit_ids: Vec<String> = visits
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    push_all(&http, &base, &token, visits);
    let children: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"mutation_id": new_id(), "entity": "child", "id": new_id(), "base_version": 0, "hlc": hlc(0, "bench"),
                   "fields": {"region_id": villages[i % 2], "name": format!("儿童{i}"), "birth_date": "2014-03-01",
                              "enrollment": "in_school", "at_risk": ["left_behind"]}})
        })
        .collect();
    push_all(&http, &base, &token, children);
    println!(
        "township loaded in {:.0} s: 2000 households of 4, 20000 visits, 2000 children",
        t.elapsed().as_secs_f64()
    );

    let (fresh, _) = device_login(&http, &base, "qingshan_officer");
    let (cpu0, _) = server.usage();
    let rss0 = rss_now(server.child.id());
    let (p, peak) = sampling_rss(server.child.id(), || pull_from(&base, &fresh, None, false));
    let (cpu1, _) = server.usage();
    println!(
        "| township initial sync | {} rows in {:.2} s = {:.0} rows/s | {:.0} KiB | {:.2} server CPU-s | RSS {rss0:.0} MiB before, {peak:.0} MiB peak during |",
        p.rows,
        p.secs,
        p.rows as f64 / p.secs,
        p.bytes as f64 / 1024.0,
        cpu1 - cpu0
    );
    let (fresh_gz, _) = device_login(&http, &base, "qingshan_officer");
    let (cpu0, _) = server.usage();
    let (g, peak) = sampling_rss(server.child.id(), || {
        pull_from(&base, &fresh_gz, None, true)
    });
    let (cpu1, _) = server.usage();
    println!(
        "| township initial sync, gzip | {} rows in {:.2} s = {:.0} rows/s | {:.0} KiB | {:.2} server CPU-s | {peak:.0} MiB peak during |",
        g.rows,
        g.secs,
        g.rows as f64 / g.secs,
        g.bytes as f64 / 1024.0,
        cpu1 - cpu0
    );

    // 100 changes from another device, then the first device's incremental pull.
    let (other, _) = device_login(&http, &base, "qingshan_officer");
    let edits: Vec<Value> = visit_ids[..100]
        .iter()
        .map(|id| {
            json!({"mutation_id": new_id(), "entity": "visit", "id": id, "base_version": 1,
                               "hlc": hlc(5, "other"), "fields": {"notes": "复查：房屋已修缮"}})
        })
        .collect();
    push_all(&http, &base, &other, edits);
    let (cpu0, _) = server.usage();
    let inc = pull_from(&base, &fresh, p.cursor, false);
    let (cpu1, rss) = server.usage();
    println!(
        "| incremental pull after 100 changes | {} rows in {:.3} s = {:.0} rows/s | {:.1} KiB | {:.3} server CPU-s | peak RSS {rss:.0} MiB |",
        inc.rows,
        inc.secs,
        inc.rows as f64 / inc.secs,
        inc.bytes as f64 / 1024.0,
        cpu1 - cpu0
    );
}

/// The same rows written straight into the database: one transaction, multi-row INSERTs of
/// 500 rows through diesel's prepared statements, no product logic.
fn raw_limit(backend: Backend, total: usize) -> f64 {
    use bangfu::infra::db::schema::{regions, sync_records};
    use bangfu::records::store::RecordRow;
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

    if args.get(3).map(String::as_str) == Some("township") {
        township(backend);
        return;
    }
    let raw = raw_limit(backend, total);
    println!("| raw insert, one transaction | {raw:.0} rows/s |");

    for devices in [1, 8] {
        let db = TestDb::new(backend);
        let server = BenchServer::start(&db);
        let (secs, mut lat, cpu) = push(&server, devices, total);
        let (_, rss) = usage(server.child.id());
        lat.sort_by(f64::total_cmp);
        let rate = total as f64 / secs;
        println!(
            "| push, {devices} device(s) | {rate:.0} mutations/s ({:.0} % of raw) | p50 {:.1} ms, p99 {:.1} ms per batch | {:.2} server CPU-s per 10k | peak RSS {rss:.0} MiB |",
            100.0 * rate / raw,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            cpu * 10_000.0 / total as f64,
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
