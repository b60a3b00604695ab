//! The prefecture data set: generates and loads a city of 10 counties, 100 townships and
//! 1,000 villages into a PostgreSQL database of its own, then reads a sample back through
//! the API. See `tests/src/prefecture/` for what is drawn and `scripts/prefecture` for the
//! benchmark that runs on it.
//!
//!   cargo build --release -p bangfu -p bangfu-e2e --bin bangfu --bin prefecture
//!   target/release/prefecture load --households 500000 [--seed 20261207] [--database NAME]
//!   target/release/prefecture bench --households 500000 [--instances 2] [--runs 200]
//!
//! The database (default `bangfu_prefecture_<households>`) is dropped first if it exists and
//! kept afterwards; the server reads it with `BANGFU_DATA_KEY` set to the key the generator
//! sealed with (`prefecture key --seed S` prints it). Environment: `BANGFU_TEST_PG` (admin
//! URL), `BANGFU_BIN` (default `target/release/bangfu`).

use std::process::Command;
use std::time::Instant;

use bangfu::infra::sealing::DataKey;
use bangfu_e2e::bench::{BenchServer, bangfu_bin, free_port, percentile};
use bangfu_e2e::prefecture::{self, Api, field, files, frame, plan::Plan, registry};
use bangfu_e2e::{TestDb, pg_admin_url, pg_database_url};

const DEFAULT_SEED: u64 = 20_261_207;

struct Args {
    command: String,
    households: usize,
    seed: u64,
    database: Option<String>,
    sample: usize,
    instances: usize,
    runs: usize,
    lag_workers: usize,
    lag_secs: u64,
    /// Only the answers' latencies: no push load, no exports.
    answers_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        command: String::new(),
        households: 50_000,
        seed: DEFAULT_SEED,
        database: None,
        sample: 20,
        instances: 1,
        runs: 200,
        lag_workers: 100,
        lag_secs: 60,
        answers_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} takes a value"));
        match arg.as_str() {
            "--households" => a.households = value().parse().expect("--households N"),
            "--seed" => a.seed = value().parse().expect("--seed N"),
            "--database" => a.database = Some(value()),
            "--sample" => a.sample = value().parse().expect("--sample N"),
            "--instances" => a.instances = value().parse().expect("--instances N"),
            "--runs" => a.runs = value().parse().expect("--runs N"),
            "--lag-workers" => a.lag_workers = value().parse().expect("--lag-workers N"),
            "--lag-secs" => a.lag_secs = value().parse().expect("--lag-secs N"),
            "--answers-only" => a.answers_only = true,
            c if a.command.is_empty() && !c.starts_with('-') => a.command = c.to_owned(),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The data key a seed's prefecture is sealed with: made up, for benchmarks only.
fn secret(seed: u64) -> String {
    format!("bangfu prefecture benchmark key, seed {seed}; never for real data")
}

/// The prefecture the arguments describe, as drawn at `now`.
fn draw(a: &Args, now: chrono::NaiveDateTime, url: &str) -> Plan {
    let key = DataKey::from_secret(secret(a.seed).as_bytes());
    Plan::draw(a.seed, a.households, now, key, url)
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qXAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn bangfu(url: &str, args: &[&str]) {
    let bin = bangfu_bin();
    let out = Command::new(&bin)
        .args(args)
        .env("DATABASE_URL", url)
        .env("BANGFU_LOG", "warn")
        .env(
            "BANGFU_DATA_DIR",
            std::env::temp_dir().join("bangfu-prefecture"),
        )
        .output()
        .unwrap_or_else(|e| panic!("{bin}: {e} (build it first)"));
    assert!(
        out.status.success(),
        "bangfu {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `bangfu serve` on the loaded database, reading its ID numbers with the seed's key.
/// One `bangfu serve` on the prefecture. Instances share the signing secret, as the
/// instances of one install do: a token one signs, another accepts.
fn serve(a: &Args, url: &str) -> BenchServer {
    let key = secret(a.seed);
    let signing = format!("{key}; token signing");
    BenchServer::launch(
        &TestDb::at(url),
        &bangfu_bin(),
        free_port(),
        false,
        &[("BANGFU_DATA_KEY", &key), ("BANGFU_JWT_SECRET", &signing)],
    )
}

/// Waits (five minutes at most) for the servers' work on starting to end: the projector's
/// notes followed, the rollups' marks counted, and then three seconds in a row with no
/// query of theirs running. The answers measure a settled server, not its first catch-up.
fn settle(url: &str, name: &str) {
    let started = Instant::now();
    let mut quiet = 0;
    while quiet < 3 && started.elapsed().as_secs() < 300 {
        let busy = psql(
            url,
            &format!(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' \
                   AND state = 'active' AND pid <> pg_backend_pid()) \
                 + (SELECT count(*) FROM (SELECT 1 FROM moved_subjects LIMIT 1) n) \
                 + (SELECT count(*) FROM (SELECT 1 FROM rollup_marks LIMIT 1) m)"
            ),
        );
        quiet = if busy == "0" { quiet + 1 } else { 0 };
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    println!(
        "servers settled in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn database(a: &Args) -> String {
    a.database
        .clone()
        .unwrap_or_else(|| format!("bangfu_prefecture_{}", a.households))
}

fn load(a: &Args) {
    let name = database(a);
    let url = pg_database_url(&name);
    psql(
        &pg_admin_url(),
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(&pg_admin_url(), &format!("CREATE DATABASE {name}"));
    bangfu(&url, &["migrate"]);
    let started = Instant::now();
    let now = chrono::Utc::now().naive_utc();
    let plan = draw(a, now, &url);
    let people: usize = plan.homes.iter().map(|h| h.members.len()).sum();
    eprintln!(
        "drew {} households, {people} people in {:.1} s",
        a.households,
        started.elapsed().as_secs_f64()
    );
    let f = frame::write(&plan);
    eprintln!("frame: {f:?}");
    // Two streams at once: the registry and files on one core, the field records on the other.
    std::thread::scope(|s| {
        s.spawn(|| {
            let r = registry::write(&plan);
            eprintln!(
                "registry: {r:?} at {:.0} s",
                started.elapsed().as_secs_f64()
            );
            let c = files::write(&plan);
            eprintln!(
                "case files: {c:?} at {:.0} s",
                started.elapsed().as_secs_f64()
            );
        });
        s.spawn(|| {
            let c = field::write(&plan);
            eprintln!(
                "field records: {c:?} at {:.0} s",
                started.elapsed().as_secs_f64()
            );
        });
    });
    let copied = started.elapsed().as_secs_f64();
    // As autovacuum would in time: statistics, and the visibility map for index-only scans.
    psql(&url, "VACUUM ANALYZE");
    let vacuumed = started.elapsed().as_secs_f64();
    // The copies bypassed the triggers that mark rollups: count them from every record.
    bangfu(&url, &["rollups"]);
    let total = started.elapsed().as_secs_f64();
    let size = psql(
        &url,
        &format!("SELECT pg_size_pretty(pg_database_size('{name}'))"),
    );
    println!("database: {name}");
    println!("households: {}; people: {people}", a.households);
    println!(
        "load: copy {copied:.0} s, vacuum analyze {:.0} s, rollups {:.0} s, in all {total:.0} s",
        vacuumed - copied,
        total - vacuumed
    );
    println!("database size: {size}");
    for table in [
        "households",
        "household_members",
        "case_files",
        "disbursements",
        "sync_records",
        "field_facts",
        "deadlines",
        "audit_log",
    ] {
        println!(
            "{table}: {} rows",
            psql(&url, &format!("SELECT count(*) FROM {table}"))
        );
    }

    // A sample read back through the API, as its users would read it.
    let server = serve(a, &url);
    // The application flow's notes wait for the projector (it turns them into the
    // applications' step clocks), as they would after the real flow: its catch-up on
    // first start is part of what a load costs.
    let started = Instant::now();
    while psql(&url, "SELECT count(*) FROM moved_subjects") != "0" {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    println!(
        "projector caught up with the application notes in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let api = Api::new(&server.base);
    match prefecture::read_back(&plan, &api, a.sample) {
        Ok(()) => println!(
            "read back through the API: {} of each kind, all equal",
            a.sample
        ),
        Err(e) => {
            eprintln!("read-back failed: {e:#}");
            std::process::exit(1);
        }
    }
}

fn print_lag(l: &prefecture::lag::Lag) {
    let pct = percentile;
    let pace = if l.every.is_zero() {
        "back to back".to_owned()
    } else {
        format!("each once every {} s", l.every.as_secs())
    };
    println!();
    println!(
        "| {} phones pushing 10 visits a push, {pace}, for {:.0} s | |",
        l.workers, l.secs
    );
    println!("| --- | --- |");
    println!(
        "| visits pushed | {} ({:.0}/s) |",
        l.pushed,
        l.pushed as f64 / l.secs
    );
    println!(
        "| push latency | p50 {:.0} ms, p99 {:.0} ms |",
        pct(&l.push_ms, 0.5),
        pct(&l.push_ms, 0.99)
    );
    println!(
        "| projector lag | p50 {:.1} s, p95 {:.1} s, max {:.1} s |",
        pct(&l.projector, 0.5),
        pct(&l.projector, 0.95),
        pct(&l.projector, 1.0)
    );
    println!(
        "| rollup lag | p50 {:.1} s, p95 {:.1} s, max {:.1} s |",
        pct(&l.rollups, 0.5),
        pct(&l.rollups, 0.95),
        pct(&l.rollups, 1.0)
    );
    println!(
        "| caught up after the last push | {:.1} s |",
        l.drained_after
    );
    println!("| server CPU | {:.0} s |", l.server_cpu);
}

/// Measures the answers on a loaded prefecture (`load` first, with the same arguments).
fn bench(a: &Args) {
    let name = database(a);
    let url = pg_database_url(&name);
    // The plan is drawn again from the seed, at the time the load drew it: the city's
    // region was made at the start of its five years.
    let start = psql(
        &url,
        &format!(
            "SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US') FROM regions WHERE code = '{}'",
            prefecture::plan::CITY_CODE
        ),
    );
    let start = chrono::NaiveDateTime::parse_from_str(&start, "%Y-%m-%d %H:%M:%S%.f")
        .expect("a loaded prefecture (run `prefecture load` first)");
    let now = start + chrono::Duration::days(365 * prefecture::plan::YEARS);
    let plan = draw(a, now, &url);
    // A settled database, as autovacuum leaves it some time after the load: the notes the
    // projector followed and the marks the rollups counted are dead rows until vacuumed.
    psql(&url, "VACUUM ANALYZE");
    let servers: Vec<BenchServer> = (0..a.instances).map(|_| serve(a, &url)).collect();
    settle(&url, &name);
    println!(
        "{} households, {} instance(s), {} asks an answer; load average {}",
        a.households,
        a.instances,
        a.runs,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!("| answer | p50 ms | p95 ms | p99 ms | server CPU ms an answer | one answer |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for s in prefecture::bench::run(&plan, &servers, a.runs) {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            s.name,
            s.pct(0.5),
            s.pct(0.95),
            s.pct(0.99),
            s.cpu_ms,
            s.note
        );
    }
    if a.answers_only {
        return;
    }
    // The background work under the city's push load: phones pushing back to back (a
    // stress far above field work), then each once every 5 seconds.
    for every in [0, 5] {
        let every = std::time::Duration::from_secs(every);
        let l = prefecture::lag::measure(&plan, &servers, a.lag_workers, a.lag_secs, every);
        print_lag(&l);
    }
    if a.instances == 1 {
        println!();
        println!(
            "| export | seconds | size | server CPU-s | server memory before → highest while streaming |"
        );
        println!("| --- | ---: | ---: | ---: | --- |");
        for d in prefecture::bench::downloads(&plan, &servers[0]) {
            println!(
                "| {} | {:.1} | {:.1} MiB | {:.1} | {:.0} → {:.0} MiB |",
                d.name,
                d.secs,
                d.bytes as f64 / 1048576.0,
                d.cpu,
                d.rss_before,
                d.rss_peak
            );
        }
    }
}

fn main() {
    let a = args();
    match a.command.as_str() {
        "load" => load(&a),
        "bench" => bench(&a),
        "key" => println!("{}", secret(a.seed)),
        _ => {
            eprintln!(
                "usage: prefecture load|bench|key [--households N] [--seed S] [--database NAME] [--sample N] [--instances N] [--runs N] [--lag-workers N] [--lag-secs S] [--answers-only]"
            );
            std::process::exit(2);
        }
    }
}
