//! The background work (the projector, the housekeeping) is done by one instance among
//! several on one PostgreSQL, the holder of an advisory lock, and taken over when that one
//! dies. Real `bangfu serve` processes on a real database; each instance tries for the lock
//! every second here (`BANGFU_LEADER_RETRY_SECS=1`; 5 s by default).

use std::path::Path;
use std::time::{Duration, Instant};

use bangfu::infra::db::leadership::{APPLICATION_NAME, LEADER_LOCK};
use bangfu_e2e::bench::{BenchServer, free_port};
use bangfu_e2e::{Backend, DEMO_PASSWORD, TestDb, backend, skip};
use bangfu_sync::client::Field;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde_json::{Map, Value, json};

/// The most a standby may take to lead once the lock is free.
const TAKEOVER: Duration = Duration::from_secs(15);
/// The most the leader's projector may take to follow a push, once it leads.
const FOLLOW: Duration = Duration::from_secs(15);

const SECRETS: [(&str, &str); 2] = [
    (
        "BANGFU_JWT_SECRET",
        "leadership-test-jwt-secret-0123456789abcdef",
    ),
    (
        "BANGFU_DATA_KEY",
        "leadership-test-data-key-0123456789abcdefgh",
    ),
];

/// One `bangfu serve` process on `db`, with a data folder of its own when `data` is given
/// (another machine), trying for the lead every second.
fn instance(db: &TestDb, data: Option<&Path>, demo: bool) -> BenchServer {
    let bin = env!("CARGO_BIN_EXE_bangfu-e2e-server");
    let mut env: Vec<(&str, &str)> = SECRETS.to_vec();
    env.push(("BANGFU_LEADER_RETRY_SECS", "1"));
    let dir;
    if let Some(d) = data {
        dir = d.to_string_lossy().into_owned();
        env.push(("BANGFU_DATA_DIR", &dir));
    }
    BenchServer::launch(db, bin, free_port(), demo, &env)
}

/// What `/health` says of the background work: `leader` or `standby`.
fn background(base: &str) -> String {
    let r: Value = reqwest::blocking::get(format!("{base}/health"))
        .and_then(|r| r.json())
        .expect("health");
    assert_eq!(r["status"], "ok", "{r}");
    r["background"]
        .as_str()
        .unwrap_or_else(|| panic!("no background role in {r}"))
        .to_owned()
}

/// Waits until `f` holds, for at most `limit`; returns how long it took.
fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    application_name: Option<String>,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The sessions holding the leader's lock in this database.
fn holders(c: &mut PgConnection) -> Vec<Holder> {
    diesel::sql_query(
        "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
         AND l.classid::bigint = $1 AND l.objid::bigint = $2 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind::<BigInt, _>(LEADER_LOCK >> 32)
    .bind::<BigInt, _>(LEADER_LOCK & 0xffff_ffff)
    .load(c)
    .expect("lock holders")
}

/// How far the projector has followed the change feed, read from its own table.
fn projected_through(c: &mut PgConnection) -> i64 {
    diesel::sql_query("SELECT projected_through AS n FROM field_work_progress WHERE id = 1")
        .get_result::<Number>(c)
        .expect("projector position")
        .n
}

/// The change-feed position of a synced record.
fn seq_of(c: &mut PgConnection, id: &str) -> i64 {
    diesel::sql_query("SELECT seq AS n FROM sync_records WHERE id = $1")
        .bind::<Text, _>(id)
        .get_result::<Number>(c)
        .expect("the pushed record")
        .n
}

/// A helper's phone on `base` pushes one home visit; returns the visit's record id. Nothing
/// here reads deadlines, so nothing catches the projector up on the way.
fn push_visit(base: &str, phone: &Path, household: &(String, String)) -> String {
    let store = phone.join("phone.db").to_string_lossy().into_owned();
    let mut f = Field::open(&store, base).expect("phone store");
    f.login("qingshan_helper", DEMO_PASSWORD)
        .expect("helper login");
    let me = f.user_id().expect("user");
    let fields: Map<String, Value> = json!({
        "region_id": household.0, "household_id": household.1, "helper_id": me,
        "kind": "routine", "visited_at": "2026-11-20T09:30:00Z",
        "basic_needs": {"food": "met", "safe_housing": "not_met"}, "notes": "房屋需维修"})
    .as_object()
    .cloned()
    .unwrap_or_default();
    let id = f.capture("visit", None, fields).expect("capture");
    f.push().expect("push");
    assert_eq!(f.pending().expect("pending"), 0, "the visit was not taken");
    id
}

#[test]
fn one_of_two_instances_does_the_background_work_and_the_other_takes_over_when_it_is_killed() {
    if backend() != Backend::Postgres {
        skip("leadership among instances is PostgreSQL's (a SQLite install is one instance)");
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let mut c = PgConnection::establish(&db.url).expect("pg");
    // While someone else holds the lock, neither instance leads, and the projector does
    // not follow pushes (only a read would catch it up, and none is made).
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(LEADER_LOCK)
        .execute(&mut c)
        .expect("take the lock");
    let other_machine = tempfile::tempdir().expect("dir");
    let mut servers = [
        Some(instance(&db, None, true)),
        Some(instance(&db, Some(other_machine.path()), false)),
    ];
    let bases: Vec<String> = servers.iter().flatten().map(|s| s.base.clone()).collect();
    let phone = tempfile::tempdir().expect("dir");
    let place = bangfu_e2e::household_at(&bases[0]);
    let before = push_visit(&bases[1], phone.path(), &place);
    let before = seq_of(&mut c, &before);
    // Longer than a projector round (5 s) and several tries for the lock.
    std::thread::sleep(Duration::from_secs(7));
    for b in &bases {
        assert_eq!(
            background(b),
            "standby",
            "{b} leads while the test holds the lock"
        );
    }
    assert!(
        projected_through(&mut c) < before,
        "a standby projected the push"
    );

    // The lock is free: exactly one instance leads, and its projector follows the push.
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(LEADER_LOCK)
        .execute(&mut c)
        .expect("release the lock");
    let roles = || bases.iter().map(|b| background(b)).collect::<Vec<_>>();
    let took = within(TAKEOVER, "one instance leads", || {
        roles().iter().any(|r| r == "leader")
    });
    eprintln!("an instance led {took:?} after the lock was freed");
    // Exactly one, and it stays so over several tries of the other.
    for _ in 0..8 {
        let now = roles();
        assert_eq!(
            now.iter().filter(|r| *r == "leader").count(),
            1,
            "roles: {now:?}"
        );
        assert_eq!(now.iter().filter(|r| *r == "standby").count(), 1);
        std::thread::sleep(Duration::from_millis(300));
    }
    let held = holders(&mut c);
    assert_eq!(held.len(), 1, "one session holds the lock");
    assert_eq!(held[0].application_name.as_deref(), Some(APPLICATION_NAME));
    within(FOLLOW, "the leader's projector follows the push", || {
        projected_through(&mut c) >= before
    });

    // The leader is killed (SIGKILL: no shutdown): the other takes over in bounded time,
    // and its projector follows a push made after the kill, with no read forcing it.
    let leader = roles()
        .iter()
        .position(|r| r == "leader")
        .expect("a leader");
    let survivor = &bases[1 - leader];
    servers[leader].take().expect("the leader").kill();
    let killed = Instant::now();
    let took = within(TAKEOVER, "the survivor leads", || {
        background(survivor) == "leader"
    });
    eprintln!("the survivor led {took:?} after the leader was killed");
    let after = push_visit(survivor, phone.path(), &place);
    let after = seq_of(&mut c, &after);
    assert!(after > before);
    within(
        FOLLOW,
        "the new leader's projector follows the push",
        || projected_through(&mut c) >= after,
    );
    eprintln!(
        "a push after the kill was projected {:?} after the kill",
        killed.elapsed()
    );
    let held = holders(&mut c);
    assert_eq!(held.len(), 1, "one session holds the lock");
}

#[test]
fn a_leader_whose_lock_session_dies_stands_by_then_leads_again() {
    if backend() != Backend::Postgres {
        skip("leadership among instances is PostgreSQL's (a SQLite install is one instance)");
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let server = instance(&db, None, false);
    let mut c = PgConnection::establish(&db.url).expect("pg");
    within(TAKEOVER, "the lone instance leads", || {
        background(&server.base) == "leader"
    });
    let held = holders(&mut c);
    assert_eq!(held.len(), 1, "one session holds the lock");
    let first = held[0].pid;
    // Its lock session ends (an operator's pg_terminate_backend, a network cut, a restart
    // of PostgreSQL): PostgreSQL releases the lock, and the instance notices at its next
    // check and stands by.
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<Integer, _>(first)
        .execute(&mut c)
        .expect("terminate the lock session");
    within(Duration::from_secs(5), "the instance stands by", || {
        background(&server.base) == "standby"
    });
    // A try later, on a new session, it leads again.
    within(TAKEOVER, "the instance leads again", || {
        background(&server.base) == "leader"
    });
    let held = holders(&mut c);
    assert_eq!(held.len(), 1, "one session holds the lock");
    assert_ne!(held[0].pid, first, "the lock is held by a new session");
}

#[test]
fn a_lone_instance_leads() {
    let db = TestDb::new(backend());
    let server = instance(&db, None, false);
    within(TAKEOVER, "the instance leads", || {
        background(&server.base) == "leader"
    });
}
