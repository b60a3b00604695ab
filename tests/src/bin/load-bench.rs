//! Load benchmark: wrk (a second process on loopback) drives a real `bangfu serve` with a
//! mixed field workload: pulls (a page of 100 changes, and the incremental pull of a phone
//! that is up to date), pushes of five visits, work lists, and photo downloads (thumbnails
//! and originals of 256 KiB). It runs at saturation and at about half of that rate, and
//! measures actix-web's hello world on the same machine as the ceiling.
//!
//!   cargo build --release -p bangfu -p bangfu-e2e
//!   ./target/release/load-bench [sqlite|postgres] [seconds] [connections]
//!
//! Needs `wrk` (Debian package). Reports requests/s, p50/p99/p99.9 latency, errors, and the
//! server's CPU-seconds per 1,000 requests (from /proc, so wrk's own work is not counted).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, free_port, usage};
use bangfu_e2e::workload::{
    device_login, json, padded_jpegs, register_households, upload_whole, village, visit,
};
use bangfu_e2e::{Backend, TestDb, hlc, new_id};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SCRIPT: &str = include_str!("load-bench.lua");
const MIX: [(&str, u32); 6] = [
    ("pull_page", 20),
    ("pull_head", 20),
    ("push", 10),
    ("work_list", 30),
    ("thumb", 15),
    ("original", 5),
];

/// What one wrk run measured.
#[derive(Debug, Clone)]
struct Load {
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    errors: u64,
    cpu_per_1000: f64,
    sent: Value,
}

/// Runs wrk against `base` with `script`; `delay_ms` paces each connection.
fn wrk(base: &str, script: &str, connections: usize, secs: u64, delay_ms: u64, pid: u32) -> Load {
    let (cpu0, _) = usage(pid);
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
        ])
        .args(["-s", script, base])
        .env("LOAD_DELAY_MS", delay_ms.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("wrk (apt-get install wrk)");
    let (cpu1, _) = usage(pid);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("LOAD "))
        .unwrap_or_else(|| panic!("wrk printed no result:\n{text}"));
    let v: Value = serde_json::from_str(line).expect("wrk result");
    let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
    let requests = n("requests");
    Load {
        rps: requests / (n("duration_us") / 1e6),
        p50: n("p50_us") / 1000.0,
        p99: n("p99_us") / 1000.0,
        p999: n("p999_us") / 1000.0,
        max: n("max_us") / 1000.0,
        errors: [
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeouts",
        ]
        .iter()
        .map(|k| n(k) as u64)
        .sum(),
        cpu_per_1000: (cpu1 - cpu0) / requests.max(1.0) * 1000.0,
        sent: v["sent"].clone(),
    }
}

/// The Lua preamble naming this server's data.
fn preamble(
    tokens: &[String],
    households: &[String],
    village: &str,
    helper: &str,
    head: &str,
    photos: &[String],
) -> String {
    let list = |xs: &[String]| {
        xs.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mix = MIX
        .iter()
        .map(|(k, w)| format!("{{{k:?},{w}}}"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "tokens = {{{}}}\nhouseholds = {{{}}}\nvillage = {village:?}\nhelper_id = {helper:?}\n\
         pull_page = \"/v1/sync/pull?limit=100\"\npull_head = \"/v1/sync/pull?limit=100&cursor={head}\"\n\
         photos = {{{}}}\nmix = {{{mix}}}\n",
        list(tokens),
        list(households),
        list(photos)
    )
}

/// Registers households, pushes visits, uploads and links photos; returns the Lua data.
fn seed(server: &BenchServer) -> String {
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let base = &server.base;
    let (officer, _) = device_login(&http, base, "county_officer");
    let region = village(&http, base, &officer);
    let households = register_households(&http, base, &region, 50);
    let devices: Vec<(String, String)> = (0..8)
        .map(|_| device_login(&http, base, "qingshan_helper"))
        .collect();
    let (token, helper) = devices[0].clone();
    let push = |mutations: Vec<Value>| {
        let r = http
            .post(format!("{base}/v1/sync/push"))
            .bearer_auth(&token)
            .header("Bangfu-Sync-Protocol", "1")
            .json(&json!({ "mutations": mutations }))
            .send()
            .expect("push");
        assert!(r.status().is_success(), "seed push: {}", r.status());
    };
    for batch in 0..10 {
        push(
            (0..200)
                .map(|i| {
                    visit(
                        &region,
                        &households[i % households.len()],
                        &helper,
                        batch * 200 + i,
                    )
                })
                .collect(),
        );
    }
    let files = padded_jpegs(200, &[256 * 1024; 40]);
    let mut photos = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let digest = hex::encode(Sha256::digest(f));
        upload_whole(&http, base, &token, f);
        push(vec![
            json!({"mutation_id": new_id(), "entity": "photo", "id": new_id(), "base_version": 0,
            "hlc": hlc(0, "seed"), "fields": {"region_id": region, "sha256": digest,
            "subject_entity": "household", "subject_id": households[i % households.len()],
            "taken_at": "2026-11-20T09:30:00Z", "caption": "走访照片"}}),
        ]);
        photos.push(format!("/v1/photos/{digest}"));
    }
    // Wait for every thumbnail, so the runs measure downloads and not 409s.
    for p in &photos {
        for _ in 0..200 {
            let r = http
                .get(format!("{base}{p}?size=thumb"))
                .bearer_auth(&token)
                .send()
                .expect("thumb");
            if r.status().is_success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // The head of the feed: a phone that is up to date pulls from here.
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}/v1/sync/pull?limit=1000&cursor={c}"),
            None => format!("{base}/v1/sync/pull?limit=1000"),
        };
        let page = json(
            http.get(path)
                .bearer_auth(&token)
                .header("Bangfu-Sync-Protocol", "1")
                .send()
                .expect("pull"),
        );
        let next = page["next_cursor"].as_str().map(str::to_owned);
        assert!(
            next.is_some() && next != cursor,
            "the pull did not advance: {page}"
        );
        cursor = next;
        if page["has_more"] != true {
            break;
        }
    }
    let tokens: Vec<String> = devices.into_iter().map(|(t, _)| t).collect();
    preamble(
        &tokens,
        &households,
        &region,
        &helper,
        &cursor.unwrap_or_default(),
        &photos,
    )
}

fn row(what: &str, l: &Load) {
    println!(
        "| {what} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {:.2} |",
        l.rps, l.p50, l.p99, l.p999, l.max, l.errors, l.cpu_per_1000
    );
}

/// The hello-world ceiling with the same wrk settings.
fn hello(connections: usize, secs: u64) -> Load {
    let bin = std::env::var("HELLO_BIN").unwrap_or_else(|_| "target/release/hello-world".into());
    let port = free_port();
    let mut child = Command::new(&bin)
        .arg(format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    std::thread::sleep(Duration::from_millis(500));
    let script = std::env::temp_dir().join(format!("hello-{port}.lua"));
    std::fs::write(
        &script,
        "function done(s, l, r) io.write(string.format('LOAD {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"p999_us\":%d,\"max_us\":%d,\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"sent\":{}}\\n', s.requests, s.duration, l:percentile(50), l:percentile(99), l:percentile(99.9), l.max, s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout)) end\n",
    )
    .expect("script");
    let l = wrk(
        &format!("http://127.0.0.1:{port}/"),
        &script.to_string_lossy(),
        connections,
        secs,
        0,
        child.id(),
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&script);
    l
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = match args.next().as_deref() {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let uptime = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    println!("load average before: {}", uptime().trim());
    let ceiling = hello(connections, secs);
    let db = TestDb::new(backend);
    let server = BenchServer::start(&db);
    let t = Instant::now();
    let data = seed(&server);
    println!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    let script = db.dir.path().join("load.lua");
    std::fs::write(&script, format!("{data}\n{SCRIPT}")).expect("script");
    let script = script.to_string_lossy().into_owned();
    let pid = server.child.id();

    let full = wrk(&server.base, &script, connections, secs, 0, pid);
    // Half load: each connection waits between requests; one correction after a first try.
    let target = full.rps / 2.0;
    let mut delay = (connections as f64 * 1000.0 / target - full.p50 / 2.0).max(1.0);
    let mut half = wrk(&server.base, &script, connections, secs, delay as u64, pid);
    if (half.rps / target - 1.0).abs() > 0.1 {
        delay *= half.rps / target;
        half = wrk(&server.base, &script, connections, secs, delay as u64, pid);
    }

    println!("load average after: {}", uptime().trim());
    println!(
        "\n{backend:?}, {connections} connections, {secs} s per run, wrk -t2; mix {:?}; sent {}",
        MIX, full.sent
    );
    println!(
        "| run | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU-s per 1,000 requests |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    row("actix-web hello world (ceiling)", &ceiling);
    row("bangfu mixed, saturation", &full);
    row(
        &format!(
            "bangfu mixed, {:.0} % of saturation ({delay:.0} ms pause per connection)",
            half.rps / full.rps * 100.0
        ),
        &half,
    );
}
