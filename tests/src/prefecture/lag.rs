//! The projector under a city's push load: field workers' phones pushing visits at once,
//! back to back, while a monitor samples how far the field-work projector and the
//! supervision rollups trail the change feed.
//!
//! Lag is an age: at each sample, how long ago the oldest change still waiting was
//! acknowledged (to within the sampling interval). A change waits for the projector until
//! `field_work_progress.projected_through` passes its feed position, and for the rollups
//! until the marks its records' triggers left are counted (and deleted).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;

use crate::bench::BenchServer;
use crate::prefecture::Api;
use crate::prefecture::plan::Plan;
use crate::workload::{push_applied, visit};

/// Visits a push carries.
const BATCH: usize = 10;
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

pub struct Lag {
    pub workers: usize,
    pub every: Duration,
    pub secs: f64,
    pub pushed: usize,
    /// Push latencies in ms, sorted.
    pub push_ms: Vec<f64>,
    /// Projector and rollup lag at each sample, in seconds, sorted.
    pub projector: Vec<f64>,
    pub rollups: Vec<f64>,
    /// From the last acknowledged push until both had caught up.
    pub drained_after: f64,
    pub server_cpu: f64,
}

/// One sample: when, and the four positions.
struct Sample {
    at: f64,
    /// The change feed's head, and the last position the projector has passed.
    feed: i64,
    projected: i64,
    /// The last mark made, and the last before the oldest still waiting to be counted.
    marks: i64,
    counted: i64,
}

fn sample(url: &str, started: Instant) -> Sample {
    let out = Command::new("psql")
        .args(["-qXAt", "-F", " ", url, "-c"])
        .arg(
            "SELECT (SELECT coalesce(max(seq), 0) FROM sync_records), \
             (SELECT projected_through FROM field_work_progress), \
             (SELECT last_value FROM rollup_marks_id_seq), \
             (SELECT coalesce(min(id) - 1, (SELECT last_value FROM rollup_marks_id_seq)) \
              FROM rollup_marks)",
        )
        .output()
        .expect("psql");
    let at = started.elapsed().as_secs_f64();
    let v: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().expect("a position"))
        .collect();
    Sample {
        at,
        feed: v[0],
        projected: v[1],
        marks: v[2],
        counted: v[3],
    }
}

/// The age of the oldest change not yet passed by `done(s)`, at each sample.
fn ages(
    samples: &[Sample],
    head: impl Fn(&Sample) -> i64,
    done: impl Fn(&Sample) -> i64,
) -> Vec<f64> {
    let mut out: Vec<f64> = samples
        .iter()
        .map(|now| {
            samples
                .iter()
                .find(|s| head(s) > done(now))
                .map_or(0.0, |first| (now.at - first.at).max(0.0))
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// `workers` helpers push visits for `secs` seconds, each a push every `every` at most
/// (zero: back to back); then waits for the background work to catch up.
pub fn measure(
    plan: &Plan,
    servers: &[BenchServer],
    workers: usize,
    secs: u64,
    every: Duration,
) -> Lag {
    let apis: Vec<Api> = servers.iter().map(|s| Api::new(&s.base)).collect();
    let helpers: Vec<usize> = (0..workers).map(|w| (w * 7_919) % plan.helpers()).collect();
    let sessions: Vec<(String, usize)> = helpers
        .iter()
        .map(|&i| {
            let t = apis[0]
                .token(&Plan::helper_username(i), Some(&plan.device_of_helper(i)))
                .expect("helper sign-in");
            (t, i)
        })
        .collect();
    let http = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let cpu0: f64 = servers.iter().map(|s| s.usage().0).sum();
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let (push_ms, samples, last_ack, caught_up) = std::thread::scope(|scope| {
        let monitor = scope.spawn(|| {
            let mut samples = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                samples.push(sample(&plan.url, started));
                std::thread::sleep(SAMPLE_EVERY);
            }
            samples
        });
        let pushers: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(w, (token, i))| {
                let http = http.clone();
                let base = &servers[w % servers.len()].base;
                let village = &plan.villages[plan.village_of_helper(*i)].id;
                let helper_id = plan.helper_id(*i);
                let homes: Vec<String> = plan
                    .households_of_helper(*i)
                    .map(|h| plan.household_id(h))
                    .collect();
                scope.spawn(move || {
                    let mut lat = Vec::new();
                    let mut n = 0;
                    while started.elapsed().as_secs() < secs {
                        let batch: Vec<Value> = (0..BATCH)
                            .map(|k| {
                                visit(village, &homes[(n + k) % homes.len()], &helper_id, n + k)
                            })
                            .collect();
                        let t = Instant::now();
                        push_applied(&http, base, token, &batch);
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        n += BATCH;
                        std::thread::sleep(every.saturating_sub(t.elapsed()));
                    }
                    (lat, started.elapsed().as_secs_f64())
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut last_ack: f64 = 0.0;
        for p in pushers {
            let (lat, ended) = p.join().expect("pusher");
            all.extend(lat);
            last_ack = last_ack.max(ended);
        }
        // Until the projector and the rollups have passed everything pushed.
        let end = sample(&plan.url, started);
        let caught_up = loop {
            let s = sample(&plan.url, started);
            if s.projected >= end.feed && s.counted >= end.marks {
                break s.at;
            }
            assert!(
                started.elapsed().as_secs() < secs + 600,
                "the background work never caught up"
            );
            std::thread::sleep(SAMPLE_EVERY);
        };
        stop.store(true, Ordering::SeqCst);
        (all, monitor.join().expect("monitor"), last_ack, caught_up)
    });
    let mut push_ms = push_ms;
    push_ms.sort_by(f64::total_cmp);
    Lag {
        workers,
        every,
        secs: last_ack,
        pushed: push_ms.len() * BATCH,
        push_ms,
        projector: ages(&samples, |s| s.feed, |s| s.projected),
        rollups: ages(&samples, |s| s.marks, |s| s.counted),
        drained_after: (caught_up - last_ack).max(0.0),
        server_cpu: servers.iter().map(|s| s.usage().0).sum::<f64>() - cpu0,
    }
}
