//! The answers issue-sized installs must give in time, measured on a loaded prefecture
//! against one or two real `bangfu serve` processes (two: requests alternate between them,
//! as a round-robin balancer sends them).
//!
//! Each answer is asked many times over different callers and regions (3 warm-up asks
//! first); the figures are the client-side latency percentiles and the servers' CPU time
//! per answer (from /proc, so the client's own work is not counted).

use std::collections::HashMap;
use std::time::Instant;

use rand::Rng;
use serde_json::{Value, json};

use crate::bench::BenchServer;
use crate::prefecture::Api;
use crate::prefecture::plan::{self, Plan, VILLAGES};

/// One answer's measurements.
pub struct Series {
    pub name: String,
    /// Latencies in ms, sorted.
    pub ms: Vec<f64>,
    /// Server CPU seconds per answer, summed over the instances.
    pub cpu_ms: f64,
    /// What one answer looked like (rows or bytes), for the reader.
    pub note: String,
}

impl Series {
    pub fn pct(&self, p: f64) -> f64 {
        crate::bench::percentile(&self.ms, p)
    }
}

/// The running servers, a client of each, and whose turn it is.
pub struct Bench<'a> {
    pub plan: &'a Plan,
    pub servers: &'a [BenchServer],
    apis: Vec<Api>,
    turn: usize,
}

impl<'a> Bench<'a> {
    pub fn new(plan: &'a Plan, servers: &'a [BenchServer]) -> Bench<'a> {
        Bench {
            plan,
            apis: servers.iter().map(|s| Api::new(&s.base)).collect(),
            servers,
            turn: 0,
        }
    }

    /// The next instance in turn.
    fn api(&mut self) -> &Api {
        self.turn += 1;
        &self.apis[self.turn % self.apis.len()]
    }

    /// A token signed in on the first instance (every instance accepts it).
    fn token(&self, username: &str, device: Option<&str>) -> String {
        self.apis[0]
            .token(username, device)
            .unwrap_or_else(|e| panic!("login {username}: {e}"))
    }

    fn cpu(&self) -> f64 {
        self.servers.iter().map(|s| s.usage().0).sum()
    }

    /// Asks `n` times (after 3 warm-ups): `ask(i)` gives the caller and the request.
    fn series(
        &mut self,
        name: &str,
        n: usize,
        mut ask: impl FnMut(&mut Bench<'a>, usize) -> Ask,
    ) -> Series {
        let mut ms = Vec::with_capacity(n);
        let mut note = String::new();
        let mut cpu = 0.0;
        for i in 0..n + 3 {
            let a = ask(self, i);
            let token = self.token(&a.user, a.device.as_deref());
            let before = self.cpu();
            let t = Instant::now();
            let answer = match &a.body {
                Some(b) => self.api().post(&token, &a.path, b),
                None => self.api().get_with(&token, &a.path, a.device.is_some()),
            }
            .unwrap_or_else(|e| panic!("{name}: {} as {}: {e}", a.path, a.user));
            if i >= 3 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                cpu += self.cpu() - before;
                note = describe(&answer);
            }
        }
        ms.sort_by(f64::total_cmp);
        Series {
            name: name.to_owned(),
            ms,
            cpu_ms: cpu * 1000.0 / n as f64,
            note,
        }
    }
}

/// One request of a series.
pub struct Ask {
    user: String,
    /// Asked from the user's phone: a sync request.
    device: Option<String>,
    path: String,
    body: Option<Value>,
}

fn get(user: String, path: String) -> Ask {
    Ask {
        user,
        device: None,
        path,
        body: None,
    }
}

fn describe(v: &Value) -> String {
    for key in ["items", "changes", "rows", "candidates"] {
        if let Some(a) = v[key].as_array() {
            return format!("{} {key}", a.len());
        }
    }
    match v {
        Value::String(s) => format!("{} KiB", s.len() / 1024),
        _ => String::new(),
    }
}

/// Beijing's district codes: where the bench's new people were registered before.
const BEIJING: [&str; 16] = [
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112",
    "110113", "110114", "110115", "110116", "110117", "110118", "110119",
];

/// Every answer, `n` asks each.
pub fn run(plan: &Plan, servers: &[BenchServer], n: usize) -> Vec<Series> {
    let mut b = Bench::new(plan, servers);
    let today = plan.now.date();
    let period = format!("from={}&to={today}", today - chrono::Duration::days(364));
    let mut out = Vec::new();
    let township_officer = |t: usize| Plan::township_officer_username(t);
    let run = chrono::Utc::now().timestamp_micros() as u64;

    out.push(b.series("metrics: village", n, |b, i| {
        let v = (i * 37) % VILLAGES;
        get(
            township_officer(Plan::township_of(v)),
            format!(
                "/v1/supervision/metrics?region_id={}&{period}",
                b.plan.villages[v].id
            ),
        )
    }));
    out.push(b.series("metrics: township", n, |b, i| {
        let t = (i * 7) % b.plan.townships.len();
        get(
            township_officer(t),
            format!(
                "/v1/supervision/metrics?region_id={}&{period}",
                b.plan.townships[t].id
            ),
        )
    }));
    out.push(b.series("metrics: county", n, |b, i| {
        let c = i % b.plan.counties.len();
        get(
            Plan::county_officer_username(c),
            format!(
                "/v1/supervision/metrics?region_id={}&{period}",
                b.plan.counties[c].id
            ),
        )
    }));
    out.push(b.series("metrics: city", n, |_, _| {
        get(
            plan::CITY_AUDITOR.to_owned(),
            format!("/v1/supervision/metrics?{period}"),
        )
    }));
    let helpers = plan.helpers();
    out.push(b.series("helper's work list", n, |_, i| {
        get(
            Plan::helper_username((i % 20 * 101) % helpers),
            "/v1/work-list?horizon_days=31".to_owned(),
        )
    }));
    // The school's teacher holds the home-teaching and dropout clocks.
    out.push(b.series("teacher's work list", n, |b, i| {
        get(
            Plan::teacher_username((i * 7) % b.plan.schools.len()),
            "/v1/work-list?horizon_days=31".to_owned(),
        )
    }));
    // An incremental pull from twenty phones in turn: each first syncs everything (not
    // timed), then asks for what changed since.
    let mut cursors: HashMap<usize, String> = HashMap::new();
    out.push(b.series("incremental pull", n, |b, i| {
        let h = (i % 20 * 101) % helpers;
        let helper = Plan::helper_username(h);
        let device = b.plan.device_of_helper(h);
        let cursor = cursors
            .entry(h)
            .or_insert_with(|| {
                let token = b.token(&helper, Some(&device));
                let (_, cursor) = b.apis[0]
                    .pull_all(&token)
                    .unwrap_or_else(|e| panic!("pull: {e}"));
                cursor
            })
            .clone();
        Ask {
            user: helper,
            device: Some(device),
            path: format!("/v1/sync/pull?cursor={cursor}"),
            body: None,
        }
    }));
    out.push(b.series("township officer's application queue", n, |b, i| {
        let t = (i * 7) % b.plan.townships.len();
        get(township_officer(t), "/v1/applications?limit=50".to_owned())
    }));
    out.push(b.series("audit log: a county's newest entries", n, |b, i| {
        get(
            Plan::county_auditor_username(i % b.plan.counties.len()),
            "/v1/audit?limit=50".to_owned(),
        )
    }));
    out.push(b.series("audit log: a household's history", n, |b, i| {
        let h = (i * 7_919) % b.plan.households;
        let c = Plan::county_of(b.plan.homes[h].village);
        get(
            Plan::county_auditor_username(c),
            format!(
                "/v1/audit?entity=household&entity_id={}",
                b.plan.household_id(h)
            ),
        )
    }));
    out.push(b.series("household page", n, |b, i| {
        let h = (i * 7_919) % b.plan.households;
        get(
            township_officer(Plan::township_of(b.plan.homes[h].village)),
            format!("/v1/households/{}", b.plan.household_id(h)),
        )
    }));
    // Registration with its duplicate check: a new household whose head shares an existing
    // person's name and birth date (so the check has a candidate to find).
    out.push(b.series("registration with its duplicate check", n.min(50), |b, i| {
        let h = (i * 104_729) % b.plan.households;
        let home = &b.plan.homes[h];
        let head = &home.members[0];
        // Registered elsewhere (one of Beijing's districts), so the number itself is new;
        // drawn afresh on every run, as each run registers its households for good: 16
        // districts of 500 numbers each leave little chance of drawing one taken before.
        let mut rng = b.plan.rng(run, i as u64);
        let district = BEIJING[rng.random_range(0..BEIJING.len())];
        let id_number = bangfu::demo::people::resident_id(&mut rng, district, head.birth, head.female);
        let body = json!({
            "region_id": b.plan.villages[home.village].id,
            "address": "新建住址 1 号",
            "members": [{"name": head.name, "relation": "head", "id_number": id_number,
                         "birth_date": head.birth, "gender": if head.female { "female" } else { "male" }}],
        });
        Ask { user: township_officer(Plan::township_of(home.village)), device: None, path: "/v1/households".to_owned(), body: Some(body) }
    }));
    out
}

/// A large answer streamed to its end: time, size and the server's memory while it ran.
pub struct Download {
    pub name: String,
    pub secs: f64,
    pub bytes: u64,
    pub cpu: f64,
    /// The server's resident memory before, and its highest while answering, in MiB.
    pub rss_before: f64,
    pub rss_peak: f64,
}

/// The city-wide exports: the exit candidates of one county and a year's ledgers
/// of the whole city, each read to the end (one instance: memory is per process).
pub fn downloads(plan: &Plan, server: &BenchServer) -> Vec<Download> {
    let servers = std::slice::from_ref(server);
    let b = Bench::new(plan, servers);
    let today = plan.now.date();
    let from = today - chrono::Duration::days(364);
    let mut asks = vec![(
        "exit candidates (a county)".to_owned(),
        Plan::county_officer_username(0),
        "/v1/case-files/exit-candidates".to_owned(),
    )];
    for ledger in ["payments", "visits"] {
        asks.push((
            format!("ledger `{ledger}`, a year of the city, CSV"),
            plan::CITY_AUDITOR.to_owned(),
            format!("/v1/ledgers/{ledger}?format=csv&from={from}&to={today}"),
        ));
    }
    // The register of households: every household the city has (the period is when they
    // were registered).
    asks.push((
        "ledger `households`, the whole city, XLSX".to_owned(),
        plan::CITY_AUDITOR.to_owned(),
        "/v1/ledgers/households?format=xlsx".to_owned(),
    ));
    asks.into_iter()
        .map(|(name, user, path)| {
            let token = b.token(&user, None);
            let pid = server.child.id();
            let rss_before = crate::bench::rss_now(pid);
            let cpu = server.usage().0;
            let t = Instant::now();
            let ((bytes, status), rss_peak) = crate::bench::sampling_rss(pid, || {
                let mut r = reqwest::blocking::Client::builder()
                    .timeout(None)
                    .build()
                    .expect("client")
                    .get(format!("{}{path}", server.base))
                    .bearer_auth(&token)
                    .send()
                    .expect("download");
                let status = r.status();
                (r.copy_to(&mut std::io::sink()).expect("body"), status)
            });
            assert!(status.is_success(), "{name}: {status}");
            Download {
                name,
                secs: t.elapsed().as_secs_f64(),
                bytes,
                cpu: server.usage().0 - cpu,
                rss_before,
                rss_peak,
            }
        })
        .collect()
}
