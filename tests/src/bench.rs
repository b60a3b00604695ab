//! What the benchmark binaries share: a real `bangfu serve` process on a fresh database,
//! and its CPU time and peak memory read from /proc (so the client's work is not counted).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;

use crate::TestDb;

/// A running server process; dropping it kills and reaps it on every path.
pub struct BenchServer {
    pub child: Child,
    pub base: String,
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BenchServer {
    /// Starts `BANGFU_BIN` (default `target/release/bangfu`) with the demo data on `db` and
    /// waits until it is ready.
    pub fn start(db: &TestDb) -> BenchServer {
        BenchServer::launch(db, &bangfu_bin(), free_port(), true, &[])
    }

    /// Starts `bin serve` on `db` and `port` (with `--demo` when `demo`), with extra
    /// environment variables, and waits until it is ready.
    pub fn launch(
        db: &TestDb,
        bin: &str,
        port: u16,
        demo: bool,
        env: &[(&str, &str)],
    ) -> BenchServer {
        let mut cmd = Command::new(bin);
        cmd.arg("serve");
        if demo {
            cmd.arg("--demo");
        }
        let mut server = BenchServer {
            child: cmd
                .env("BANGFU_DATA_DIR", db.dir.path())
                .env("DATABASE_URL", &db.url)
                .env("BANGFU_ADDR", format!("127.0.0.1:{port}"))
                .env("BANGFU_LOG", "warn")
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {bin}: {e} (build it first)")),
            base: format!("http://127.0.0.1:{port}"),
        };
        if let Some(out) = server.child.stdout.take() {
            // Drain the demo loader's output so the process never blocks on a full pipe.
            std::thread::spawn(move || for _ in std::io::BufReader::new(out).lines() {});
        }
        let http = Client::new();
        // The demo county is generated on first start: give it time on a busy machine.
        for _ in 0..1800 {
            if http
                .get(format!("{}/ready", server.base))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(server);
        panic!("server did not become ready");
    }

    /// Kills the process at once (SIGKILL: no shutdown, no flushing) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// (CPU seconds, peak RSS in MiB) of the server process so far.
    pub fn usage(&self) -> (f64, f64) {
        usage(self.child.id())
    }
}

/// The server binary the benchmarks run: `BANGFU_BIN`, default `target/release/bangfu`.
pub fn bangfu_bin() -> String {
    std::env::var("BANGFU_BIN").unwrap_or_else(|_| "target/release/bangfu".into())
}

/// The `p`-th quantile (0 to 1) of sorted values; 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A loopback port free at the moment.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18090)
}

/// (CPU seconds, peak RSS in MiB) of a process.
pub fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0);
    ((ticks(11) + ticks(12)) / 100.0, hwm / 1024.0)
}

/// Resident memory of a process now, in MiB.
pub fn rss_now(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Runs `f` while sampling process `pid`'s resident memory every 20 ms; `f`'s result and
/// the highest resident memory seen, in MiB (unlike the peak in [`usage`], not raised by
/// what came before).
pub fn sampling_rss<T>(pid: u32, f: impl FnOnce() -> T) -> (T, f64) {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak: f64 = 0.0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(rss_now(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak.max(rss_now(pid))
        });
        let out = f();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (out, sampler.join().unwrap_or(0.0))
    })
}
