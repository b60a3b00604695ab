//! Upload benchmark: photos uploaded to a real `bangfu serve` process, each in one
//! `POST /v1/uploads` carrying the file (tus creation-with-upload; with `two-requests`, a
//! JSON declaration and one `PATCH`), one and four at a time, with the server's CPU time
//! and peak memory (from /proc, so the client's work is not counted). The limit is the same
//! bytes written straight to files on the same disk, each with fsync.
//!
//!   cargo build --release -p bangfu -p bangfu-e2e
//!   ./target/release/upload-bench [sqlite|postgres] [two-requests] [small|large]
//!
//! Workloads: 200 photos of 2–4 MB and 100 photos of 256 KiB. Each photo is a real JPEG
//! (noise, so it does not compress) followed by unique padding, so every file has its own
//! digest, passes the type check and gets its resized copies made in the background.

use std::io::Write;
use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, usage};
use bangfu_e2e::workload::{padded_jpegs, upload_whole};
use bangfu_e2e::{Backend, DEMO_PASSWORD, TestDb};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn device_login(http: &Client, base: &str, user: &str) -> String {
    let login = |device: Option<&Value>| -> Value {
        http.post(format!("{base}/v1/auth/login"))
            .json(&json!({"username": user, "password": DEMO_PASSWORD, "device_id": device}))
            .send()
            .expect("login")
            .json()
            .expect("json")
    };
    let t = login(None);
    let d: Value = http
        .post(format!("{base}/v1/devices"))
        .bearer_auth(t["access_token"].as_str().unwrap_or_default())
        .json(&json!({"name": "bench", "platform": "bench"}))
        .send()
        .expect("device")
        .json()
        .expect("json");
    login(Some(&d["id"]))["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

struct Run {
    seconds: f64,
    cpu: f64,
    rss: f64,
}

fn upload_all(server: &BenchServer, files: &[Vec<u8>], threads: usize, two_requests: bool) -> Run {
    let http = Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client");
    let tokens: Vec<String> = (0..threads)
        .map(|_| device_login(&http, &server.base, "qingshan_helper"))
        .collect();
    let pid = server.child.id();
    let (cpu0, _) = usage(pid);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (t, token) in tokens.iter().enumerate() {
            let (http, base) = (http.clone(), server.base.clone());
            scope.spawn(move || {
                for f in files.iter().skip(t).step_by(threads) {
                    let digest = hex::encode(Sha256::digest(f));
                    let done = if two_requests {
                        let r: Value = http
                            .post(format!("{base}/v1/uploads"))
                            .bearer_auth(token)
                            .json(&json!({"sha256": digest, "size": f.len(), "kind": "photo"}))
                            .send()
                            .expect("create")
                            .json()
                            .expect("json");
                        let id = r["id"].as_str().expect("upload id");
                        http.patch(format!("{base}/v1/uploads/{id}"))
                            .bearer_auth(token)
                            .header("content-type", "application/offset+octet-stream")
                            .header("upload-offset", "0")
                            .body(f.clone())
                            .send()
                            .expect("patch")
                    } else {
                        upload_whole(&http, &base, token, f)
                    };
                    assert!(done.status().is_success(), "upload: {}", done.status());
                    let _ = done.bytes();
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    // Resized copies are made after the answers: wait until the server is idle again, so
    // their CPU time is counted too.
    let mut last = usage(pid).0;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = usage(pid).0;
        if now - last < 0.02 {
            break;
        }
        last = now;
    }
    let (cpu1, rss) = usage(pid);
    Run {
        seconds,
        cpu: cpu1 - cpu0,
        rss,
    }
}

/// The same bytes written to new files on the same disk, each with fsync.
fn disk_limit(dir: &std::path::Path, files: &[Vec<u8>], threads: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for (i, f) in files.iter().enumerate().skip(t).step_by(threads) {
                    let mut out =
                        std::fs::File::create(dir.join(format!("{i}.bin"))).expect("create");
                    out.write_all(f).expect("write");
                    out.sync_all().expect("fsync");
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = match args.first().map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    // `two-requests`: declare with JSON, then one PATCH (the resumable path); by default
    // each photo goes up in one request.
    let two_requests = args.iter().any(|a| a == "two-requests");
    let mib = |b: usize| b as f64 / 1024.0 / 1024.0;
    let large: Vec<usize> = (0..200).map(|i| 2_000_000 + i * 10_000).collect();
    let small = vec![256 * 1024; 100];
    let workloads = [
        ("200 photos of 2–4 MB", padded_jpegs(700, &large)),
        ("100 photos of 256 KiB", padded_jpegs(200, &small)),
    ];
    println!(
        "| workload | at a time | uploads/s | MiB/s | disk limit files/s | % of limit | server CPU-s (with resized copies) | CPU-ms per upload | server peak RSS MiB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    // `small` / `large`: one workload only (e.g. under a profiler).
    let only = |name: &str| {
        let small = name.contains("256 KiB");
        !(args.iter().any(|a| a == "small") && !small || args.iter().any(|a| a == "large") && small)
    };
    for (name, files) in workloads.iter().filter(|(n, _)| only(n)) {
        let bytes: usize = files.iter().map(Vec::len).sum();
        for threads in [1, 4] {
            let scratch = tempfile::tempdir().expect("scratch");
            let limit = disk_limit(scratch.path(), files, threads);
            drop(scratch);
            let db = TestDb::new(backend);
            let server = BenchServer::start(&db);
            let r = upload_all(&server, files, threads, two_requests);
            let n = files.len() as f64;
            println!(
                "| {name} | {threads} | {:.0} | {:.0} | {:.0} | {:.0} % | {:.2} | {:.1} | {:.0} |",
                n / r.seconds,
                mib(bytes) / r.seconds,
                n / limit,
                100.0 * limit / r.seconds,
                r.cpu,
                1000.0 * r.cpu / n,
                r.rss
            );
        }
    }
}
