//! Ledger export benchmark: visits pushed through sync into a real `bangfu serve` process,
//! then the visit ledger exported as CSV and XLSX by the township officer, at growing row
//! counts on the same database. Each size is exported by a freshly started server, so its
//! peak memory (VmHWM from /proc) covers start-up and the exports only, not the pushes: if
//! an export held its rows or its file, the peak would grow with the row count.
//!
//!   cargo build --release -p bangfu -p bangfu-e2e --bin ledger-bench --bin bangfu
//!   ./target/release/ledger-bench [sqlite|postgres] [rows…]     (default 20000 100000 200000)

use std::io::Read;
use std::time::{Duration, Instant};

use bangfu_e2e::bench::BenchServer;
use bangfu_e2e::workload::{device_login, register_households, village, visit};
use bangfu_e2e::{Backend, TestDb};
use reqwest::blocking::Client;
use serde_json::json;

const BATCH: usize = 1000;
const RUNS: usize = 3;

/// Pushes visits until the database holds `total` of them.
fn push_to(http: &Client, server: &BenchServer, have: usize, total: usize) {
    let (token, helper) = device_login(http, &server.base, "qingshan_helper");
    let region = village(http, &server.base, &token);
    let household = register_households(http, &server.base, &region, 1).remove(0);
    let mut i = have;
    while i < total {
        let n = BATCH.min(total - i);
        let batch: Vec<_> = (i..i + n)
            .map(|k| visit(&region, &household, &helper, k))
            .collect();
        let r = http
            .post(format!("{}/v1/sync/push", server.base))
            .bearer_auth(&token)
            .header("Bangfu-Sync-Protocol", "1")
            .json(&json!({"mutations": batch}))
            .send()
            .expect("push");
        assert!(r.status().is_success(), "push: {}", r.status());
        i += n;
    }
}

struct Export {
    seconds: f64,
    cpu: f64,
    bytes: usize,
    lines: usize,
}

/// Reads one export to the end without keeping it (only the line breaks are counted).
fn export(http: &Client, server: &BenchServer, token: &str, format: &str) -> Export {
    let (cpu0, _) = server.usage();
    let started = Instant::now();
    let mut r = http
        .get(format!("{}/v1/ledgers/visits?format={format}", server.base))
        .bearer_auth(token)
        .send()
        .expect("export");
    assert!(r.status().is_success(), "export: {}", r.status());
    assert!(r.headers().get("content-length").is_none(), "streamed");
    let mut buf = vec![0u8; 256 * 1024];
    let (mut bytes, mut lines) = (0, 0);
    loop {
        let n = r.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        bytes += n;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
    let seconds = started.elapsed().as_secs_f64();
    Export {
        seconds,
        cpu: server.usage().0 - cpu0,
        bytes,
        lines,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = match args.next().as_deref() {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let mut sizes: Vec<usize> = args.filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![20_000, 100_000, 200_000];
    }
    sizes.sort_unstable();
    let http = Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .expect("client");
    let db = TestDb::new(backend);
    let mib = |b: f64| b / 1024.0 / 1024.0;
    println!(
        "| visits | format | rows/s (median of {RUNS}) | MiB/s | server CPU-s per 10k rows | file MiB | server peak RSS after start MiB | server peak RSS after exports MiB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut have = 0;
    for &size in &sizes {
        {
            let server = BenchServer::start(&db);
            push_to(&http, &server, have, size);
            have = size;
        }
        let server = BenchServer::start(&db);
        let (_, at_start) = server.usage();
        let (token, _) = device_login(&http, &server.base, "qingshan_officer");
        let mut results: Vec<(&str, Vec<Export>)> = vec![("csv", vec![]), ("xlsx", vec![])];
        // Interleaved, so that a noisy neighbour touches both formats alike.
        for _ in 0..RUNS {
            for (format, runs) in results.iter_mut() {
                runs.push(export(&http, &server, &token, format));
            }
        }
        let (_, peak) = server.usage();
        for (format, runs) in &results {
            if *format == "csv" {
                assert!(
                    runs.iter().all(|e| e.lines == size + 1),
                    "every row arrived"
                );
            }
            let rate = median(runs.iter().map(|e| size as f64 / e.seconds).collect());
            let mibs = median(
                runs.iter()
                    .map(|e| mib(e.bytes as f64) / e.seconds)
                    .collect(),
            );
            let cpu = median(
                runs.iter()
                    .map(|e| e.cpu * 10_000.0 / size as f64)
                    .collect(),
            );
            println!(
                "| {size} | {format} | {rate:.0} | {mibs:.1} | {cpu:.2} | {:.1} | {at_start:.0} | {peak:.0} |",
                mib(runs[0].bytes as f64)
            );
        }
    }
}
