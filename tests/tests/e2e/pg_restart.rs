//! PostgreSQL going away under load and coming back. The test runs its own PostgreSQL
//! cluster (the shared one serves the other tests) and stops it while clients push and
//! read. Requests in the gap fail with 503 problems, never a 500 or a hang; bangfu recovers
//! by itself once the database is back; every acknowledged push is stored and no batch is
//! half applied. The database stays down until requests sent after the stop have been
//! answered, however slow the machine, so the gap is always tested.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bangfu_e2e::workload::visit;
use bangfu_e2e::{Backend, PrivatePg, TestDb, TestServer, backend};
use diesel::prelude::*;

/// What one request got.
struct Seen {
    at: Instant,
    took: Duration,
    status: u16,
    problem_code: Option<String>,
    content_type: Option<String>,
}

#[test]
fn postgres_restarted_under_load_gives_503_then_recovers() {
    if backend() != Backend::Postgres {
        bangfu_e2e::skip("runs in the PostgreSQL pass");
        return;
    }
    let pg = PrivatePg::start(false);
    let s = Arc::new(TestServer::start_on(TestDb::at(&pg.url())));
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = s.register_household(&officer, &village);

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    // Batches as sent (record ids) and whether each was acknowledged.
    let batches = Arc::new(Mutex::new(Vec::<(Vec<String>, bool)>::new()));
    let mut clients = Vec::new();
    for n in 0..4 {
        let (s, stop, seen, batches) = (s.clone(), stop.clone(), seen.clone(), batches.clone());
        let (village, household) = (village.clone(), household.clone());
        clients.push(std::thread::spawn(move || {
            let helper = s.device_session("qingshan_helper");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let t = Instant::now();
                let r = if n % 2 == 0 {
                    let batch: Vec<_> = (0..5)
                        .map(|k| visit(&village, &household, &helper.user_id, i * 10 + k))
                        .collect();
                    let ids = batch
                        .iter()
                        .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
                        .collect();
                    let r = s.push(&helper, batch);
                    let all_applied = r.status == 200
                        && r.body["results"]
                            .as_array()
                            .is_some_and(|a| a.iter().all(|x| x["status"] == "applied"));
                    batches.lock().expect("batches").push((ids, all_applied));
                    r
                } else {
                    s.call("GET", "/v1/households?limit=5", Some(&helper.access), None)
                };
                seen.lock().expect("seen").push(Seen {
                    at: t,
                    took: t.elapsed(),
                    status: r.status,
                    problem_code: r.body["code"].as_str().map(str::to_owned),
                    content_type: r.header("content-type").map(str::to_owned),
                });
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }

    let probe_token = s.login("county_officer").access;
    std::thread::sleep(Duration::from_secs(1));
    let down_at = Instant::now();
    pg.down();
    assert!(!pg.ready(), "the cluster still answers after stopping");
    // Probes sent while the database is down, one after another, until two have answered:
    // each must be a 503 problem, within the pool's wait for a connection and a margin.
    let mut probes = Vec::new();
    while probes.len() < 2 {
        let t = Instant::now();
        let r = s.call("GET", "/v1/households?limit=5", Some(&probe_token), None);
        probes.push((r.status, r.body["code"].clone(), t.elapsed()));
        assert!(
            down_at.elapsed() < Duration::from_secs(60),
            "probes: {probes:?}"
        );
    }
    for (status, code, took) in &probes {
        assert_eq!(
            (*status, code.as_str()),
            (503, Some("service_unavailable")),
            "{probes:?}"
        );
        assert!(*took < Duration::from_secs(10), "a probe waited {took:?}");
    }
    let ready = s.call("GET", "/ready", None, None);
    assert_eq!(
        ready.status, 503,
        "readiness while the database is down: {}",
        ready.text
    );
    let outage = down_at.elapsed();
    pg.up();
    let up_at = Instant::now();
    // Recovery: within 15 s of the database coming back every request succeeds again.
    let recovered = loop {
        std::thread::sleep(Duration::from_millis(200));
        let ok_since = {
            let seen = seen.lock().expect("seen");
            let last: Vec<_> = seen.iter().rev().take(8).collect();
            last.len() == 8 && last.iter().all(|x| x.status == 200 && x.at > up_at)
        };
        if ok_since {
            break Some(up_at.elapsed());
        }
        if up_at.elapsed() > Duration::from_secs(15) {
            break None;
        }
    };
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    assert!(
        recovered.is_some(),
        "bangfu did not recover within 15 s of PostgreSQL"
    );

    let seen = seen.lock().expect("seen");
    let failed: Vec<&Seen> = seen.iter().filter(|x| x.status != 200).collect();
    assert!(
        failed.iter().any(|x| x.at >= down_at),
        "no request failed while PostgreSQL was down: the test did not test"
    );
    for f in &failed {
        assert_eq!(
            f.status, 503,
            "a request failed with {} ({:?})",
            f.status, f.problem_code
        );
        assert_eq!(f.content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(f.problem_code.as_deref(), Some("service_unavailable"));
    }
    let slowest = seen.iter().map(|x| x.took).max().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(12),
        "a request hung for {slowest:?}"
    );

    // Every acknowledged batch is stored whole; a failed one is stored whole or not at all.
    let mut conn = PgConnection::establish(&pg.url()).expect("connect");
    for (ids, acked) in batches.lock().expect("batches").iter() {
        let list = ids
            .iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",");
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let stored = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM sync_records WHERE entity = 'visit' AND id IN ({list})"
        ))
        .get_result::<N>(&mut conn)
        .expect("count")
        .n;
        if *acked {
            assert_eq!(
                stored,
                ids.len() as i64,
                "an acknowledged batch lost records"
            );
        } else {
            assert!(
                stored == 0 || stored == ids.len() as i64,
                "half a batch: {stored} of {}",
                ids.len()
            );
        }
    }
    eprintln!(
        "PostgreSQL restart: down {outage:?}; probes answered 503 in {:?}; {} requests, \
         {} answered 503, slowest {slowest:?}; recovered {recovered:?} after the restart",
        probes.iter().map(|p| p.2).collect::<Vec<_>>(),
        seen.len(),
        failed.len(),
    );
}
