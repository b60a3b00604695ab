//! Test harness: starts the real bangfu server on a free loopback port against a fresh
//! database, SQLite file or PostgreSQL (chosen by `BANGFU_TEST_BACKEND`), loads the demo
//! county, and talks HTTP to it. Each server gets its own database, dropped afterwards.
//!
//! With `BANGFU_TEST_INSTANCES=2` every test server is two bangfu instances on one database
//! and one photo store, each with a data folder (scratch files) of its own, and requests
//! alternate between them, as behind a round-robin load balancer.

pub mod bench;
pub mod contract;
pub mod prefecture;
pub mod workload;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use bangfu::infra::clock::Clock;
use bangfu::infra::config::{Config, Overrides};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub use bangfu::demo::DEMO_PASSWORD;

/// Which database the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("BANGFU_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Records that the running test cannot run here, and why; the test then returns at once.
/// It counts as skipped, not passed: `scripts/test` points `BANGFU_TEST_SKIPPED` at a file
/// the skips are listed in, takes them off the passed and names them.
pub fn skip(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned();
    eprintln!("skipped: {test}: {why}");
    if let Ok(path) = std::env::var("BANGFU_TEST_SKIPPED") {
        use std::io::Write;
        let line = format!("{test}: {why}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot record a skipped test in {path}: {e}");
        }
    }
}

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("BANGFU_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of database `name` on the tests' PostgreSQL server.
pub fn pg_database_url(name: &str) -> String {
    let admin = pg_admin_url();
    match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => admin,
    }
}

/// A database made for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: dir.path().join("bangfu.db").to_string_lossy().into_owned(),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("bangfu_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&pg_admin_url())
                    .expect("PostgreSQL for tests (set BANGFU_TEST_PG or start the server)");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                TestDb {
                    url: pg_database_url(&name),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// An existing database (a private PostgreSQL cluster's), used as it is and left in
    /// place when dropped.
    pub fn at(url: &str) -> TestDb {
        TestDb {
            url: url.to_owned(),
            dir: tempfile::tempdir().expect("temp dir"),
            pg_name: None,
        }
    }

    /// Runs one SQL statement directly, as an operator would (e.g. to let time pass).
    pub fn execute(&self, sql: &str) -> diesel::QueryResult<usize> {
        if self.url.starts_with("postgres") {
            let mut c = PgConnection::establish(&self.url).expect("pg");
            diesel::sql_query(sql).execute(&mut c)
        } else {
            let mut c = diesel::SqliteConnection::establish(&self.url).expect("sqlite");
            // The server may be writing at the same moment: wait for it, as it waits.
            diesel::sql_query("PRAGMA busy_timeout = 10000").execute(&mut c)?;
            diesel::sql_query(sql).execute(&mut c)
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = PgConnection::establish(&pg_admin_url())
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// A PostgreSQL cluster of the test's own, on a free port, removed when dropped.
pub struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    tls: bool,
}

impl PrivatePg {
    /// Starts a cluster; with `tls`, it serves TLS with a self-signed certificate made by
    /// the `openssl` command.
    pub fn start(tls: bool) -> PrivatePg {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|v| v.parse::<u32>().ok()))
            .max()
            .expect("a PostgreSQL version");
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        let dir = tempfile::tempdir().expect("dir");
        // PostgreSQL refuses to run as root: as root, the cluster belongs to `postgres`.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the cluster's folder to postgres");
        }
        let pg = PrivatePg {
            dir,
            bin,
            port: crate::bench::free_port(),
            as_postgres,
            tls,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        if tls {
            let data = pg.data();
            let out = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", "/CN=localhost", "-keyout"])
                .arg(format!("{data}/server.key"))
                .arg("-out")
                .arg(format!("{data}/server.crt"))
                .output()
                .expect("the openssl command, for a test certificate");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut owner = Command::new("chmod");
            owner.args(["600", &format!("{data}/server.key")]);
            assert!(owner.status().is_ok_and(|s| s.success()));
            if pg.as_postgres {
                let ok = Command::new("chown")
                    .args([
                        "postgres:postgres",
                        &format!("{data}/server.key"),
                        &format!("{data}/server.crt"),
                    ])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "chown the certificate to postgres");
            }
        }
        pg.up();
        pg
    }

    pub fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// A PostgreSQL tool, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn up(&self) {
        let mut opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            opts.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        let log = self.dir.path().join("log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    /// A fast shutdown: sessions are terminated, as in a restart for maintenance.
    pub fn down(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Whether the cluster accepts connections.
    pub fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// How many instances each test server runs (`BANGFU_TEST_INSTANCES`, default 1).
pub fn instances() -> usize {
    std::env::var("BANGFU_TEST_INSTANCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// One running bangfu instance.
#[derive(Debug)]
struct Instance {
    base: String,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
    /// Its own data folder, for instances after the first.
    _data: Option<tempfile::TempDir>,
}

impl Instance {
    /// Starts an instance reading `clock`; the first (no `data` of its own) loads the demo
    /// county.
    fn start(config: &Config, data: Option<tempfile::TempDir>, clock: &Clock) -> Instance {
        let mut state = bangfu::app::prepare(config).expect("prepare server");
        state.db = state.db.with_clock(clock.clone());
        if data.is_none() {
            bangfu::demo::load(&state.db).expect("demo data");
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = bangfu::app::run(state, listener, 2).expect("run");
                let _ = tx.send(server.handle());
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server started");
        Instance {
            base,
            handle: Some(handle),
            thread: Some(thread),
            _data: data,
        }
    }

    fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            actix_web::rt::System::new().block_on(h.stop(false));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running server with the demo data loaded: one instance, or several sharing the
/// database and the photo store (see [`instances`]).
#[derive(Debug)]
pub struct TestServer {
    /// The first instance's address.
    pub base: String,
    pub client: Client,
    pub db: TestDb,
    instances: Vec<Instance>,
    next: AtomicUsize,
    /// The clock every instance reads.
    clock: Clock,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_on(TestDb::new(backend()))
    }

    pub fn start_on(db: TestDb) -> TestServer {
        Self::start_configured(db, |_| {})
    }

    /// Starts with the configuration adjusted by `configure` (e.g. a stand-in WeChat).
    pub fn start_configured(db: TestDb, configure: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_instances(db, instances(), configure)
    }

    /// Starts `n` instances on one database and one photo store, whatever
    /// `BANGFU_TEST_INSTANCES` says.
    pub fn start_instances(
        db: TestDb,
        n: usize,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = Config::load(&Overrides {
            addr: None,
            data_dir: Some(PathBuf::from(db.dir.path())),
            database_url: Some(db.url.clone()),
            config: None,
        })
        .expect("config");
        configure(&mut config);
        let clock = Clock::default();
        let mut instances = vec![Instance::start(&config, None, &clock)];
        for _ in 1..n {
            // Another machine: a data folder of its own holding the same secrets (as an
            // operator sets BANGFU_JWT_SECRET and BANGFU_DATA_KEY everywhere).
            let data = tempfile::tempdir().expect("temp dir");
            for secret in ["jwt_secret", "data_key"] {
                std::fs::copy(config.data_dir.join(secret), data.path().join(secret))
                    .expect("share the secrets");
            }
            let mut other = config.clone();
            other.data_dir = data.path().to_owned();
            instances.push(Instance::start(&other, Some(data), &clock));
        }
        TestServer {
            base: instances[0].base.clone(),
            client: Client::builder().build().expect("client"),
            db,
            instances,
            next: AtomicUsize::new(0),
            clock,
        }
    }

    /// The clock the server's instances read (for a tool run beside the server).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Lets time pass on the server: every instance's clock moves forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// The address of instance `i` (0 when there is one).
    pub fn base_of(&self, i: usize) -> &str {
        &self.instances[i % self.instances.len()].base
    }

    /// A URL on the next instance in turn.
    pub fn url(&self, path: &str) -> String {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{path}", self.base_of(i))
    }

    /// Signs in a demo account.
    pub fn login(&self, username: &str) -> Session {
        self.login_with(username, None)
    }

    /// Signs in a demo account, on a device when `device` is given.
    pub fn login_with(&self, username: &str, device: Option<&str>) -> Session {
        let r = self.call(
            "POST",
            "/v1/auth/login",
            None,
            Some(serde_json::json!({"username": username, "password": DEMO_PASSWORD, "device_id": device})),
        );
        assert_eq!(r.status, 200, "login {username}: {}", r.body);
        let text = |k: &str| r.body[k].as_str().unwrap_or_default().to_owned();
        Session {
            access: text("access_token"),
            refresh: text("refresh_token"),
            user_id: text("user_id"),
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, path, token, body, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        held_to_contract(
            method.as_str(),
            path,
            Reply::from(req.send().expect("request")),
        )
    }

    /// Sends raw bytes with the given content type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method.clone(), self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        held_to_contract(
            method.as_str(),
            path,
            Reply::from(req.send().expect("request")),
        )
    }

    /// The id of a demo region by its code, as seen by `token`.
    pub fn region_id(&self, token: &str, code: &str) -> String {
        let r = self.call("GET", "/v1/regions?limit=500", Some(token), None);
        r.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["code"] == code))
            .and_then(|i| i["id"].as_str())
            .unwrap_or_else(|| panic!("region {code} not visible"))
            .to_owned()
    }
}

impl TestServer {
    /// Stops serving; the database and the data folder stay until the server is dropped (for
    /// a command run on them afterwards, as on an install whose server was stopped).
    pub fn stop(&mut self) {
        for i in &mut self.instances {
            i.stop();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Checks an answer against the contract: an operation the contract documents must answer
/// with a documented status, content type and body shape, or the test fails. Paths the
/// contract does not document (the docs UI, unknown routes) are not checked.
pub fn held_to_contract(method: &str, path: &str, reply: Reply) -> Reply {
    let doc = contract::document();
    if let Some((template, op)) = contract::operation(doc, method, path) {
        let body = serde_json::from_str::<Value>(&reply.text).ok();
        // A HEAD answer has the headers of its GET's (a problem's too) and no body.
        let bodiless = method == "HEAD";
        let errors: Vec<String> = contract::check_answer(
            doc,
            op,
            reply.status,
            reply.header("content-type"),
            body.as_ref(),
        )
        .into_iter()
        .filter(|e| !(bodiless && e.ends_with("the body is not JSON")))
        .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} ({template}) answered {} against its contract:\n  {}\nbody: {}",
            reply.status,
            errors.join("\n  "),
            reply.text.chars().take(2000).collect::<String>()
        );
    }
    reply
}

/// Tokens of a signed-in demo account.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type; body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "code; body: {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(
            self.body["request_id"].as_str().is_some(),
            "request_id; body: {}",
            self.text
        );
    }
}

/// The sync protocol header every sync request carries.
pub const SYNC_HEADER: (&str, &str) = ("Bangfu-Sync-Protocol", "1");

impl TestServer {
    /// Signs in a demo account on a freshly registered device, as a phone would.
    pub fn device_session(&self, username: &str) -> Session {
        let first = self.login(username);
        let r = self.call(
            "POST",
            "/v1/devices",
            Some(&first.access),
            Some(serde_json::json!({"name": format!("{username} phone"), "platform": "android"})),
        );
        assert_eq!(r.status, 201, "register device: {}", r.text);
        let device = r.body["id"].as_str().expect("device id").to_owned();
        self.login_with(username, Some(&device))
    }

    pub fn push(&self, s: &Session, mutations: Vec<Value>) -> Reply {
        self.call_with(
            "POST",
            "/v1/sync/push",
            Some(&s.access),
            Some(serde_json::json!({"mutations": mutations})),
            &[SYNC_HEADER],
        )
    }

    /// One pull page after `cursor`.
    pub fn pull(&self, s: &Session, cursor: Option<&str>) -> Reply {
        let path = match cursor {
            Some(c) => format!("/v1/sync/pull?cursor={c}"),
            None => "/v1/sync/pull".to_owned(),
        };
        self.call_with("GET", &path, Some(&s.access), None, &[SYNC_HEADER])
    }

    /// Pulls until nothing more is waiting; returns the changes and the final cursor.
    pub fn pull_all(&self, s: &Session, mut cursor: Option<String>) -> (Vec<Value>, String) {
        let mut changes = Vec::new();
        loop {
            let r = self.pull(s, cursor.as_deref());
            assert_eq!(r.status, 200, "pull: {}", r.text);
            changes.extend(r.body["changes"].as_array().cloned().unwrap_or_default());
            cursor = r.body["next_cursor"].as_str().map(str::to_owned);
            if r.body["has_more"] != true {
                return (changes, cursor.unwrap_or_default());
            }
        }
    }
}

/// A new time-ordered id, as devices make them.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A hybrid-clock timestamp `offset_ms` from now, made by `node`.
pub fn hlc(offset_ms: i64, node: &str) -> String {
    let millis = chrono::Utc::now().timestamp_millis() + offset_ms;
    format!("{millis:018}-00000-{node}")
}

/// A valid resident ID number (GB 11643) for someone of that sex, different on every call,
/// with the birth date it encodes.
pub fn resident_id(female: bool) -> (String, String) {
    let n = random_u64();
    let day = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
        + chrono::Duration::days((n % 22_000) as i64);
    resident_id_born(day, female)
}

/// A valid resident ID number for someone born on `day`, with a random sequence.
pub fn resident_id_born(day: chrono::NaiveDate, female: bool) -> (String, String) {
    let mut seq = random_u64() % 1000;
    if seq.is_multiple_of(2) != female {
        seq = (seq + 1) % 1000;
    }
    let first17 = format!("530123{}{seq:03}", day.format("%Y%m%d"));
    let check = bangfu::domain::resident_id::check_char(first17.as_bytes()).expect("17 digits");
    (format!("{first17}{check}"), day.to_string())
}

fn random_u64() -> u64 {
    let r = uuid::Uuid::now_v7();
    let b = r.as_bytes();
    u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}

impl TestServer {
    /// Registers a one-person household in the region as `officer` and returns its id.
    pub fn register_household(&self, officer: &Session, region_id: &str) -> String {
        let (id_number, birth) = resident_id(true);
        let r = self.call(
            "POST",
            "/v1/households",
            Some(&officer.access),
            Some(serde_json::json!({
                "region_id": region_id, "address": "三组 12 号",
                "members": [{"name": "张秀英", "relation": "head", "id_number": id_number,
                             "birth_date": birth, "gender": "female"}],
            })),
        );
        assert_eq!(r.status, 201, "register household: {}", r.text);
        r.body["id"].as_str().expect("household id").to_owned()
    }
}

/// A stand-in for WeChat's code exchanges on loopback (`jscode2session` for the
/// mini-program, `oauth2/access_token` for the app): a login code `ok-<name>` signs in the
/// user with an openid of that app and the unionid `union-<name>`, the same on both; any
/// other code is refused as WeChat does (40029). App ids and secrets must match.
pub struct FakeWechat {
    pub url: String,
}

pub const WECHAT_APP_ID: &str = "wx-test-app";
pub const WECHAT_SECRET: &str = "wx-test-secret";
pub const WECHAT_MOBILE_APP_ID: &str = "wx-test-mobile";
pub const WECHAT_MOBILE_SECRET: &str = "wx-test-mobile-secret";

impl FakeWechat {
    pub fn start() -> FakeWechat {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sns", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer_code2session(stream));
            }
        });
        FakeWechat { url }
    }

    /// Points the server's configuration at this stand-in.
    pub fn configure(&self, config: &mut Config) {
        config.wechat.app_id = Some(WECHAT_APP_ID.into());
        config.wechat.app_secret = Some(WECHAT_SECRET.into());
        config.wechat.code2session_url = format!("{}/jscode2session", self.url);
        config.wechat.mobile_app_id = Some(WECHAT_MOBILE_APP_ID.into());
        config.wechat.mobile_app_secret = Some(WECHAT_MOBILE_SECRET.into());
        config.wechat.oauth_url = format!("{}/oauth2/access_token", self.url);
    }
}

fn answer_code2session(mut stream: std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Write};
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers: a GET has no body.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |k: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_owned())
    };
    let (app, secret, code) = if path.ends_with("/jscode2session") {
        (WECHAT_APP_ID, WECHAT_SECRET, param("js_code"))
    } else {
        (WECHAT_MOBILE_APP_ID, WECHAT_MOBILE_SECRET, param("code"))
    };
    let body = match (param("appid"), param("secret"), code) {
        (Some(a), Some(s), Some(code)) if a == app && s == secret => {
            match code.strip_prefix("ok-") {
                Some(name) => format!(
                    r#"{{"openid":"openid-{app}-{name}","unionid":"union-{name}","session_key":"k"}}"#
                ),
                None => r#"{"errcode":40029,"errmsg":"invalid code"}"#.to_owned(),
            }
        }
        _ => r#"{"errcode":40013,"errmsg":"invalid appid"}"#.to_owned(),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A household in 青山村 registered by the county officer through the server at `base`
/// (a process the test started, not a [`TestServer`]): (village id, household id).
pub fn household_at(base: &str) -> (String, String) {
    let http = reqwest::blocking::Client::new();
    let t: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"username": "county_officer", "password": DEMO_PASSWORD}))
        .send()
        .and_then(|r| r.json())
        .expect("login");
    let token = t["access_token"].as_str().unwrap_or_default();
    let regions: Value = http
        .get(format!("{base}/v1/regions?limit=500"))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.json())
        .expect("regions");
    let village = regions["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["code"] == "530123101001"))
        .and_then(|i| i["id"].as_str())
        .expect("village")
        .to_owned();
    let (id_number, birth) = resident_id(true);
    let h: Value = http
        .post(format!("{base}/v1/households"))
        .bearer_auth(token)
        .json(
            &serde_json::json!({"region_id": village, "address": "三组 12 号",
            "members": [{"name": "张秀英", "relation": "head", "id_number": id_number,
                         "birth_date": birth, "gender": "female"}]}),
        )
        .send()
        .and_then(|r| r.json())
        .expect("household");
    (village, h["id"].as_str().expect("household id").to_owned())
}
