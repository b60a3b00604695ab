//! The kill test: a real server process is SIGKILLed at random moments while several
//! reference clients push bursts, and restarted, many times. Every acknowledged record must
//! be present and byte-identical, no batch half applied, the batch in flight re-pushed
//! without duplicates, the SQLite file sound, and the clients must finish by themselves.
//!
//! `BANGFU_KILL_ROUNDS` sets the number of kills (default 15, well under a minute); a longer run:
//! `BANGFU_KILL_ROUNDS=100 cargo test -p bangfu-e2e --test e2e kill -- --nocapture`.
//! The control (a server that answers before it commits must fail the checks):
//! `cargo test -p bangfu-e2e --features fault-injection --test e2e kill`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bangfu_e2e::bench::{BenchServer, free_port};
use bangfu_e2e::{Backend, DEMO_PASSWORD, TestDb, backend};
use bangfu_sync::client::Field;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde_json::{Map, Value, json};

const USERS: [&str; 4] = [
    "qingshan_helper",
    "qingshan_secretary",
    "qingshan_officer",
    "county_officer",
];

/// A small deterministic-enough random source (seeded from the clock).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        Rng(t | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What one client did: every record it made (id -> fields as canonical JSON), the batches
/// it sent (mutation ids, as one request), and the records the server acknowledged.
#[derive(Default)]
struct Log {
    device_id: String,
    made: BTreeMap<String, String>,
    batches: Vec<Vec<String>>,
    acked: HashSet<String>,
    finished: bool,
}

/// One client: bursts of visits, each pushed as one batch, retried until answered.
fn client(
    base: String,
    user: &'static str,
    dir: tempfile::TempDir,
    place: (String, String),
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut rng = Rng::new();
    let store = dir.path().join("phone.db").to_string_lossy().into_owned();
    let mut f = Field::open(&store, &base).expect("open");
    while f.login(user, DEMO_PASSWORD).is_err() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let me = f.user_id().expect("user");
    if let Ok(mut l) = log.lock() {
        l.device_id = f.device_id().expect("device").unwrap_or_default();
    }
    let mut n = 0usize;
    while Instant::now() < deadline {
        let idle = f.pending().expect("pending") == 0;
        if idle && stop.load(Ordering::SeqCst) {
            break;
        }
        if idle {
            for _ in 0..(100 + rng.below(400)) {
                n += 1;
                let fields: Map<String, Value> = json!({
                    "region_id": place.0, "household_id": place.1, "helper_id": me, "kind": "routine",
                    "visited_at": "2026-11-20T09:30:00Z", "basic_needs": {"food": "met", "safe_housing": "not_met"},
                    "notes": format!("{user} 的第 {n} 次走访：房屋需维修")})
                .as_object()
                .cloned()
                .unwrap_or_default();
                let id = f.capture("visit", None, fields.clone()).expect("capture");
                if let Ok(mut l) = log.lock() {
                    l.made.insert(id, Value::Object(fields).to_string());
                }
            }
        }
        let before = f.outbox().expect("outbox");
        if let Ok(mut l) = log.lock() {
            let ids: Vec<String> = before.iter().map(|(m, ..)| m.clone()).collect();
            if l.batches.last() != Some(&ids) {
                l.batches.push(ids);
            }
        }
        let outcome = f.push();
        let left: HashSet<String> = f
            .outbox()
            .expect("outbox")
            .into_iter()
            .map(|(m, ..)| m)
            .collect();
        if let Ok(mut l) = log.lock() {
            for (m, _, id) in &before {
                if !left.contains(m) {
                    l.acked.insert(id.clone());
                }
            }
        }
        if outcome.is_err() {
            // The server is down or restarting: try again shortly, as a phone would.
            std::thread::sleep(Duration::from_millis(50 + rng.below(200)));
        }
    }
    if let Ok(mut l) = log.lock() {
        l.finished = f.pending().unwrap_or(1) == 0;
    }
}

/// Direct reads of the server's database, for the checks.
enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

#[derive(QueryableByName)]
struct RecordRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    data: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

#[derive(QueryableByName)]
struct AnswerRow {
    #[diesel(sql_type = Text)]
    device_id: String,
    #[diesel(sql_type = Text)]
    mutation_id: String,
    #[diesel(sql_type = Timestamp)]
    received_at: chrono::NaiveDateTime,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    entity_id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

impl Conn {
    fn open(db: &TestDb) -> Conn {
        match backend() {
            Backend::Sqlite => Conn::Sqlite(SqliteConnection::establish(&db.url).expect("sqlite")),
            Backend::Postgres => Conn::Pg(PgConnection::establish(&db.url).expect("pg")),
        }
    }
    fn load<T>(&mut self, sql: &str) -> Vec<T>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        match self {
            Conn::Sqlite(c) => diesel::sql_query(sql).load(c).expect("query"),
            Conn::Pg(c) => diesel::sql_query(sql).load(c).expect("query"),
        }
    }
}

/// Runs the kill test and returns what it found wrong.
fn kill_test(rounds: usize, fault: &[(&str, &str)]) -> Vec<String> {
    let db = TestDb::new(backend());
    let bin = env!("CARGO_BIN_EXE_bangfu-e2e-server");
    let port = free_port();
    let mut server = Some(BenchServer::launch(&db, bin, port, true, fault));
    let base = format!("http://127.0.0.1:{port}");
    let place = bangfu_e2e::household_at(&base);
    let stop = Arc::new(AtomicBool::new(false));
    let logs: Vec<Arc<Mutex<Log>>> = USERS.iter().map(|_| Arc::default()).collect();
    let threads: Vec<_> = USERS
        .iter()
        .zip(&logs)
        .map(|(user, log)| {
            let (base, place, stop, log) = (base.clone(), place.clone(), stop.clone(), log.clone());
            let dir = tempfile::tempdir().expect("dir");
            std::thread::spawn(move || client(base, user, dir, place, stop, log))
        })
        .collect();
    let mut problems = Vec::new();
    let mut rng = Rng::new();
    for round in 0..rounds {
        std::thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        if let Some(s) = server.take() {
            s.kill();
        }
        if backend() == Backend::Sqlite {
            let mut c = Conn::open(&db);
            let lines: Vec<Line> = c.load("PRAGMA integrity_check");
            let verdict: Vec<&str> = lines.iter().map(|l| l.integrity_check.as_str()).collect();
            if verdict != ["ok"] {
                problems.push(format!("round {round}: integrity_check says {verdict:?}"));
            }
        }
        server = Some(BenchServer::launch(&db, bin, port, false, fault));
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        if t.join().is_err() {
            problems.push("a client failed".into());
        }
    }

    let mut c = Conn::open(&db);
    let stored: HashMap<String, (String, i64)> = c
        .load::<RecordRow>("SELECT id, data, version FROM sync_records WHERE entity = 'visit'")
        .into_iter()
        .map(|r| (r.id, (r.data, r.version)))
        .collect();
    let answers: HashMap<(String, String), chrono::NaiveDateTime> = c
        .load::<AnswerRow>("SELECT device_id, mutation_id, received_at FROM sync_mutations")
        .into_iter()
        .map(|a| ((a.device_id, a.mutation_id), a.received_at))
        .collect();
    let created: HashMap<String, i64> = c
        .load::<Count>(
            "SELECT entity_id, COUNT(*) AS n FROM audit_log \
             WHERE entity = 'visit' AND action = 'create' GROUP BY entity_id",
        )
        .into_iter()
        .map(|r| (r.entity_id, r.n))
        .collect();
    let mut made = 0;
    for (user, log) in USERS.iter().zip(&logs) {
        let Ok(l) = log.lock() else {
            problems.push(format!("{user}: log poisoned"));
            continue;
        };
        if !l.finished {
            problems.push(format!("{user}: the outbox did not empty by itself"));
        }
        made += l.made.len();
        for id in &l.acked {
            match (stored.get(id), l.made.get(id)) {
                (None, _) => problems.push(format!("{user}: acknowledged record {id} is missing")),
                (Some((data, _)), Some(sent)) if data != sent => {
                    problems.push(format!("{user}: record {id} differs: {data} != {sent}"))
                }
                (Some((_, v)), _) if *v != 1 => {
                    problems.push(format!("{user}: record {id} was applied {v} times"))
                }
                _ => {}
            }
        }
        for id in l.made.keys() {
            if created.get(id).copied().unwrap_or(0) > 1 {
                problems.push(format!("{user}: record {id} created twice"));
            }
        }
        // A batch went in one transaction: its answers were all stored at the same instant.
        for batch in &l.batches {
            let times: HashSet<chrono::NaiveDateTime> = batch
                .iter()
                .filter_map(|m| answers.get(&(l.device_id.clone(), m.clone())).copied())
                .collect();
            if times.len() > 1 {
                problems.push(format!(
                    "{user}: a batch of {} was applied in {} parts",
                    batch.len(),
                    times.len()
                ));
            }
        }
    }
    if made == 0 {
        problems.push("no records were made".into());
    }
    eprintln!(
        "kill test: {rounds} kills, {made} records made, {} stored, {} problem(s)",
        stored.len(),
        problems.len()
    );
    problems
}

fn rounds() -> usize {
    std::env::var("BANGFU_KILL_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(15)
}

#[test]
fn killing_the_server_at_random_loses_nothing_acknowledged_and_applies_no_half_batch() {
    let problems = kill_test(rounds(), &[]);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The control: a server that answers pushes before committing them must fail the checks.
#[cfg(feature = "fault-injection")]
#[test]
fn the_kill_test_catches_a_server_that_answers_before_committing() {
    let problems = kill_test(rounds(), &[("BANGFU_FAULT", "ack_before_commit")]);
    assert!(
        problems.iter().any(|p| p.contains("is missing")),
        "the control server lost nothing the test noticed: {problems:#?}"
    );
}
