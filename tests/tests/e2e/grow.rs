//! Growing an install: a SQLite file and a photo folder moved to PostgreSQL and an
//! S3-compatible store (moto) by `bangfu grow`, run as a process, then served from there
//! with the same answers; a copy stopped or killed midway and run again; a target holding
//! another install's data refused.
//!
//! These always go SQLite → PostgreSQL, so they run in the PostgreSQL pass of the suite
//! (`BANGFU_TEST_BACKEND=postgres`) and skip in the SQLite pass, which may have no
//! PostgreSQL at all.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bangfu_e2e::{Backend, Session, TestDb, TestServer, backend, hlc, new_id};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use serde_json::{Value, json};

use crate::photos::{Moto, fetch, fetch_ready, jpeg, link, moto, patch, sha, start_upload, upload};

const BUCKET: &str = "grown";

fn runs_here() -> bool {
    if backend() != Backend::Postgres {
        bangfu_e2e::skip("grows into PostgreSQL: runs in the PostgreSQL pass");
        return false;
    }
    true
}

fn s3_env(s3: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT", s3.endpoint.clone()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// The same settings as the command's `AWS_*` variables, by their object_store names.
fn s3_options(s3: &Moto) -> Vec<(String, String)> {
    s3_env(s3)
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect()
}

/// Overwrites an original in the grown store with as many zero bytes.
fn damage(s3: &Moto, digest: &str, len: usize) {
    use bangfu::infra::blobs::{BlobKey, Variant, open};
    let store = open(&format!("s3://{BUCKET}/office"), &s3_options(s3)).expect("store");
    let key = BlobKey::new(
        &bangfu::photos::Sha256Hex::parse(digest).expect("digest"),
        Variant::Original,
    );
    actix_web::rt::System::new()
        .block_on(store.put_bytes(&key, vec![0u8; len].into()))
        .expect("damage the original");
}

fn make_bucket(s3: &Moto) {
    let made = reqwest::blocking::Client::new()
        .put(format!("{}/{BUCKET}", s3.endpoint))
        .send()
        .expect("create bucket");
    assert!(made.status().is_success(), "{}", made.status());
}

/// The grow command, run on the stopped install in `source`.
fn grow_command(source: &TestDb, target: &TestDb, args: &[&str], s3: Option<&Moto>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bangfu-e2e-server"));
    cmd.arg("grow")
        .args(["--to-database", &target.url])
        .args(args)
        .env("BANGFU_DATA_DIR", source.dir.path())
        .env("DATABASE_URL", &source.url)
        .env_remove("BANGFU_PHOTO_STORE")
        .env("BANGFU_LOG", "warn");
    if let Some(s3) = s3 {
        cmd.args(["--to-photos", &format!("s3://{BUCKET}/office")])
            .envs(s3_env(s3));
    }
    cmd
}

fn grow(source: &TestDb, target: &TestDb, args: &[&str], s3: Option<&Moto>) -> Output {
    grow_command(source, target, args, s3)
        .output()
        .expect("run bangfu grow")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn grow_ok(source: &TestDb, target: &TestDb, args: &[&str], s3: Option<&Moto>) -> String {
    let o = grow(source, target, args, s3);
    assert!(o.status.success(), "bangfu grow failed:\n{}", text(&o));
    text(&o)
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows per table on both sides, every table of the SQLite file but diesel's own.
fn counts(source: &TestDb, target: &TestDb) -> BTreeMap<String, (i64, i64)> {
    let mut lite = SqliteConnection::establish(&source.url).expect("sqlite");
    let mut pg = PgConnection::establish(&target.url).expect("pg");
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite%' AND name <> '__diesel_schema_migrations'",
    )
    .load(&mut lite)
    .expect("tables");
    names
        .into_iter()
        .map(|t| {
            let q = format!("SELECT count(*) AS n FROM \"{}\"", t.name);
            let a = diesel::sql_query(&q)
                .get_result::<Count>(&mut lite)
                .expect("count");
            let b = diesel::sql_query(&q)
                .get_result::<Count>(&mut pg)
                .expect("count");
            (t.name, (a.n, b.n))
        })
        .collect()
}

/// Rows the copy has recorded as committed in the target.
fn rows_recorded(target: &TestDb) -> i64 {
    let mut pg = PgConnection::establish(&target.url).expect("pg");
    diesel::sql_query("SELECT COALESCE(SUM(rows_copied), 0)::bigint AS n FROM grow_progress")
        .get_result::<Count>(&mut pg)
        .map_or(0, |c| c.n)
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Position {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Double>)]
    lat: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    lng: Option<f64>,
}

/// Where the households are, as stored: floating point must arrive bit for bit.
fn positions(source: &TestDb, target: &TestDb) -> (Vec<Position>, Vec<Position>) {
    let q = "SELECT id, lat, lng FROM households ORDER BY id";
    let mut lite = SqliteConnection::establish(&source.url).expect("sqlite");
    let mut pg = PgConnection::establish(&target.url).expect("pg");
    (
        diesel::sql_query(q)
            .load(&mut lite)
            .expect("sqlite positions"),
        diesel::sql_query(q).load(&mut pg).expect("pg positions"),
    )
}

fn visit(region: &str, household: &str, helper: &str, notes: &str) -> Value {
    json!({
        "mutation_id": new_id(), "entity": "visit", "id": new_id(), "base_version": 0, "hlc": hlc(0, "phone"),
        "fields": {"region_id": region, "household_id": household, "helper_id": helper, "kind": "routine",
                   "visited_at": "2026-11-20T09:30:00Z", "basic_needs": {"food": "met", "safe_housing": "not_met"}, "notes": notes}
    })
}

/// A household with a position whose degrees need all 17 digits to be written exactly.
fn located_household(s: &TestServer, officer: &Session, village: &str) -> String {
    let (id_number, birth) = bangfu_e2e::resident_id(false);
    let (lat, lng) = (25.123_456_789_012_345, 102.718_281_828_459_04);
    let r = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(json!({
            "region_id": village, "address": "青山村五组 3 号", "location": {"lat": lat, "lng": lng},
            "members": [{"name": "李建国", "relation": "head", "id_number": id_number,
                         "birth_date": birth, "gender": "male"}],
        })),
    );
    assert_eq!(r.status, 201, "register household: {}", r.text);
    r.body["id"].as_str().expect("household id").to_owned()
}

/// An install on SQLite with households, visits pushed from a phone and, when asked, a
/// photo (with its resized copies made).
struct Install {
    server: TestServer,
    officer: Session,
    helper: Session,
    village: String,
    households: Vec<String>,
    photo: Option<Vec<u8>>,
}

fn install(households: usize, with_photo: bool) -> Install {
    let server = TestServer::start_on(TestDb::new(Backend::Sqlite));
    let officer = server.login("qingshan_officer");
    let village = server.region_id(&officer.access, "530123101001");
    let households: Vec<String> = (0..households)
        .map(|_| server.register_household(&officer, &village))
        .collect();
    let mut households = households;
    households.push(located_household(&server, &officer, &village));
    let helper = server.device_session("qingshan_helper");
    let visits = households
        .iter()
        .enumerate()
        .map(|(i, h)| {
            visit(
                &village,
                h,
                &helper.user_id,
                &format!("第 {i} 户：屋顶漏雨"),
            )
        })
        .collect();
    let r = server.push(&helper, visits);
    assert_eq!(r.status, 200, "{}", r.text);
    let photo = with_photo.then(|| {
        let bytes = jpeg(400, 11, true);
        let r = upload(&server, &helper, &bytes, "photo");
        assert_eq!(r.body["state"], "complete", "{}", r.text);
        link(&server, &helper, "530123101001", &sha(&bytes));
        let path = format!("/v1/photos/{}", sha(&bytes));
        for size in ["thumb", "medium"] {
            let (status, _, _) = fetch_ready(&server, &officer, &format!("{path}?size={size}"));
            assert_eq!(status, 200, "{size}");
        }
        assert_eq!(fetch_ready(&server, &helper, &path).0, 200);
        bytes
    });
    Install {
        server,
        officer,
        helper,
        village,
        households,
        photo,
    }
}

/// What the install answers, as the people using it see it.
fn answers(s: &TestServer, i: &Install) -> Vec<Value> {
    let mut out = vec![
        s.call("GET", "/v1/households", Some(&i.officer.access), None)
            .body,
    ];
    for h in &i.households {
        let r = s.call(
            "GET",
            &format!("/v1/households/{h}?unmask=true&reason=核对身份信息"),
            Some(&i.officer.access),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        out.push(r.body);
    }
    let (changes, _) = s.pull_all(&i.helper, None);
    out.push(Value::Array(changes));
    out
}

fn photo_bytes(s: &TestServer, i: &Install) -> Vec<Vec<u8>> {
    let Some(photo) = &i.photo else {
        return Vec::new();
    };
    let path = format!("/v1/photos/{}", sha(photo));
    let mut out = Vec::new();
    for (who, p) in [
        (&i.officer, path.clone()),
        (&i.helper, path.clone()),
        (&i.officer, format!("{path}?size=thumb")),
        (&i.officer, format!("{path}?size=medium")),
    ] {
        let (status, _, body) = fetch(s, who, &p, &[]);
        assert_eq!(status, 200, "{p}");
        out.push(body);
    }
    out
}

fn object_count(s3: &Moto) -> usize {
    reqwest::blocking::Client::new()
        .get(format!(
            "{}/{BUCKET}?list-type=2&prefix=office/",
            s3.endpoint
        ))
        .send()
        .expect("list")
        .text()
        .expect("listing")
        .matches("<Key>")
        .count()
}

fn local_objects(dir: &std::path::Path) -> usize {
    ["blobs", "derived"]
        .iter()
        .flat_map(|top| {
            std::fs::read_dir(dir.join("photos").join(top))
                .into_iter()
                .flatten()
        })
        .flatten()
        .flat_map(|sub| std::fs::read_dir(sub.path()).into_iter().flatten())
        .flatten()
        .count()
}

#[test]
fn grow_moves_an_install_to_postgresql_and_s3_and_it_answers_the_same() {
    if !runs_here() {
        return;
    }
    let Some(s3) = moto() else { return };
    make_bucket(&s3);
    let mut old = install(3, true);
    let before = answers(&old.server, &old);
    let photos_before = photo_bytes(&old.server, &old);
    // A photo half sent when the office moves: the phone finishes it afterwards.
    let unfinished = jpeg(240, 31, false);
    let half = unfinished.len() / 2;
    let started = start_upload(&old.server, &old.helper, &unfinished, "photo");
    let upload_id = started.body["id"].as_str().expect("id").to_owned();
    let sent = patch(&old.server, &old.helper, &upload_id, 0, &unfinished[..half]);
    assert_eq!(sent.body["offset"], half, "{}", sent.text);
    old.server.stop();
    let objects = local_objects(old.server.db.dir.path());
    assert!(objects >= 3, "the original and its copies: {objects}");

    let target = TestDb::new(Backend::Postgres);
    let out = grow_ok(&old.server.db, &target, &[], Some(&s3));
    assert!(out.contains("verified:"), "{out}");
    assert!(!out.contains("MISMATCH"), "{out}");
    for (table, (a, b)) in counts(&old.server.db, &target) {
        assert_eq!(a, b, "rows in {table}");
    }
    // Every object, and the kept chunk of the unfinished upload.
    assert_eq!(object_count(&s3), objects + 1);
    assert!(out.contains("upload chunk"), "{out}");
    let (a, b) = positions(&old.server.db, &target);
    assert!(
        a.iter().any(|p| p.lat.is_some()),
        "the photo has GPS: {a:?}"
    );
    assert_eq!(a, b);
    // Run again: nothing left to copy, everything verified again.
    let again = grow_ok(&old.server.db, &target, &[], Some(&s3));
    let original_line = again
        .lines()
        .find(|l| l.starts_with("original"))
        .expect("original line");
    let cols: Vec<&str> = original_line.split_whitespace().collect();
    assert_eq!(
        cols[3..],
        ["0", "1", "1"],
        "copied, present, verified: {again}"
    );

    // The operator switches the configuration and starts the server; the data folder (and
    // with it the keys) stays.
    let data_dir = old.server.db.dir.path().to_owned();
    let grown = TestServer::start_configured(target, |c| {
        c.data_dir = data_dir;
        c.photo_store = format!("s3://{BUCKET}/office");
        c.s3_options = s3_options(&s3);
    });
    assert_eq!(answers(&grown, &old), before);
    let rest = patch(&grown, &old.helper, &upload_id, half, &unfinished[half..]);
    assert_eq!(rest.body["state"], "complete", "{}", rest.text);
    assert_eq!(rest.body["blob"]["sha256"], sha(&unfinished));
    let photos_after = photo_bytes(&grown, &old);
    assert_eq!(photos_after.len(), photos_before.len());
    for (a, b) in photos_after.iter().zip(&photos_before) {
        assert!(a == b, "a photo is served differently after growing");
    }

    // It carries on where the old one stopped: new records, new feed positions.
    let (_, cursor) = grown.pull_all(&old.helper, None);
    let more = visit(
        &old.village,
        &old.households[0],
        &old.helper.user_id,
        "搬到新库以后",
    );
    let r = grown.push(&old.helper, vec![more]);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let (changes, _) = grown.pull_all(&old.helper, Some(cursor));
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["fields"]["notes"], "搬到新库以后");
    grown.register_household(&old.officer, &old.village);
}

#[test]
fn a_grow_stopped_or_killed_midway_resumes_without_duplicates_or_losses() {
    if !runs_here() {
        return;
    }
    let Some(s3) = moto() else { return };
    make_bucket(&s3);
    let mut old = install(6, true);
    old.server.stop();
    let source = &old.server.db;
    let target = TestDb::new(Backend::Postgres);

    // Stopped after a few small batches: part of the data is there, not all.
    let o = grow(
        source,
        &target,
        &["--batch-rows", "3", "--limit-batches", "5"],
        Some(&s3),
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("run again to continue"), "{}", text(&o));
    let partial = counts(source, &target);
    let (copied, total): (i64, i64) = partial
        .values()
        .fold((0, 0), |(c, t), (a, b)| (c + b, t + a));
    assert!(copied > 0 && copied < total, "{copied} of {total}");
    assert_eq!(object_count(&s3), 0, "photos go after the tables");

    // Again with other batch sizes, then killed while it copies row by row.
    let o = grow(
        source,
        &target,
        &["--batch-rows", "7", "--limit-batches", "4"],
        Some(&s3),
    );
    assert!(!o.status.success(), "{}", text(&o));
    let mut child = grow_command(source, &target, &["--batch-rows", "1"], Some(&s3))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start grow");
    // Killed as soon as it has committed more batches (or after 10 s if it never does).
    let seen = rows_recorded(&target);
    for _ in 0..500 {
        if rows_recorded(&target) > seen {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("killed after {} of {total} rows", rows_recorded(&target));

    let out = grow_ok(source, &target, &[], Some(&s3));
    assert!(out.contains("verified:"), "{out}");
    for (table, (a, b)) in counts(source, &target) {
        assert_eq!(a, b, "rows in {table}");
    }
    // Every row once: a re-run copies nothing more.
    let again = grow_ok(source, &target, &[], Some(&s3));
    for line in again.lines().filter(|l| l.ends_with("  ok")) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[3], "0", "{line}");
    }

    // A row lost in the target and an original damaged in place (same size, so not copied
    // again) are both reported, and the command fails.
    target
        .execute(
            "DELETE FROM sync_mutations WHERE ctid IN (SELECT ctid FROM sync_mutations LIMIT 1)",
        )
        .expect("lose a row");
    let photo = old.photo.as_ref().expect("photo");
    let digest = sha(photo);
    damage(&s3, &digest, photo.len());
    let o = grow(source, &target, &[], Some(&s3));
    assert!(!o.status.success(), "{}", text(&o));
    let report = text(&o);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("sync_mutations") && l.ends_with("MISMATCH")),
        "{report}"
    );
    assert!(
        report.contains(&format!("MISMATCH blobs/{}/{digest}", &digest[..2])),
        "{report}"
    );
    assert!(
        report.contains("verification found 2 problem(s)"),
        "{report}"
    );
}

#[test]
fn a_target_holding_another_installs_data_is_refused() {
    if !runs_here() {
        return;
    }
    let mut first = install(1, false);
    first.server.stop();
    let mut second = install(1, false);
    second.server.stop();

    let target = TestDb::new(Backend::Postgres);
    grow_ok(&first.server.db, &target, &[], None);
    let o = grow(&second.server.db, &target, &[], None);
    assert!(!o.status.success());
    assert!(text(&o).contains("another install"), "{}", text(&o));
    // Nothing of the second install went in.
    for (table, (a, b)) in counts(&first.server.db, &target) {
        assert_eq!(a, b, "rows in {table}");
    }

    // A database a server already runs on (not grown from this install) is refused too.
    let mut busy = TestServer::start_on(TestDb::new(Backend::Postgres));
    busy.stop();
    let o = grow(&first.server.db, &busy.db, &[], None);
    assert!(!o.status.success());
    assert!(text(&o).contains("already holds data"), "{}", text(&o));
}
