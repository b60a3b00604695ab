//! Faults under the photo store: a disk that fills up (507, nothing half-written, the
//! server keeps serving and the upload resumes once space is freed; the same for the disk
//! under the SQLite file), and a server process
//! SIGKILLed while chunks arrive (no acknowledged byte lost, the upload resumes from the
//! offset the restarted server reports, and the finished file has the declared digest).

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bangfu_e2e::bench::{BenchServer, free_port};
use bangfu_e2e::workload::device_login;
use bangfu_e2e::{Backend, TestDb, TestServer, backend};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::photos::{files_under, jpeg, patch, sha, start_upload, upload};

/// A small tmpfs, unmounted when dropped: a disk that really fills up.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (the test is skipped, saying so) where mounting is not permitted; as root
    /// (CI) a failure to mount fails the test.
    fn mount(bytes: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("tmpfs")
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs { dir });
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        assert!(!root, "mounting a tmpfs failed although running as root");
        bangfu_e2e::skip("mounting a tmpfs for a full disk needs root");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros until the disk is full, then gives back `leave` bytes.
fn fill(file: &Path, leave: u64) {
    let mut f = std::fs::File::create(file).expect("filler");
    let block = vec![0u8; 16 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
    let len = f.metadata().expect("meta").len();
    f.set_len(len.saturating_sub(leave)).expect("shrink");
}

#[test]
fn a_full_photo_store_answers_507_keeps_nothing_half_written_and_recovers() {
    let Some(disk) = Tmpfs::mount(2 * 1024 * 1024) else {
        return;
    };
    let store = disk.path().to_string_lossy().into_owned();
    let s = TestServer::start_configured(TestDb::new(backend()), |c| c.photo_store = store);
    let helper = s.device_session("qingshan_helper");
    let small = jpeg(64, 7, false);
    assert_eq!(
        upload(&s, &helper, &small, "photo").body["state"],
        "complete"
    );
    // Its resized copies are made in the background: wait for them (original, medium, thumb).
    let mut before = files_under(disk.path());
    for _ in 0..100 {
        if before.len() >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        before = files_under(disk.path());
    }
    before.sort();

    let filler = disk.path().join("filler");
    fill(&filler, 32 * 1024);
    let photo = jpeg(400, 8, false);
    assert!(photo.len() > 100_000, "{}", photo.len());
    let r = upload(&s, &helper, &photo, "photo");
    r.assert_problem(507, "storage_full");
    assert!(r.header("retry-after").is_some());

    // Nothing half-written: the store holds what it held, and the filler.
    let mut after = files_under(disk.path());
    after.retain(|p| p != &filler);
    after.sort();
    assert_eq!(after, before, "a failed write left files behind");
    // The server keeps serving.
    assert_eq!(
        s.call("GET", "/v1/me", Some(&helper.access), None).status,
        200
    );
    let up = start_upload(&s, &helper, &photo, "photo");
    assert_eq!(up.status, 200, "the same upload resumes: {}", up.text);
    assert_ne!(up.body["state"], "complete");

    // Once space is freed, the upload resumes from the offset the server reports.
    std::fs::remove_file(&filler).expect("free");
    let id = up.body["id"].as_str().expect("id");
    let at = up.body["offset"].as_u64().expect("offset") as usize;
    let done = patch(&s, &helper, id, at, &photo[at..]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "complete");
    assert_eq!(done.body["blob"]["sha256"], sha(&photo));
}

#[test]
fn a_full_disk_under_the_sqlite_file_answers_507_and_recovers() {
    if backend() != Backend::Sqlite {
        bangfu_e2e::skip("fills the disk under a SQLite file: runs in the SQLite pass");
        return;
    }
    let Some(disk) = Tmpfs::mount(16 * 1024 * 1024) else {
        return;
    };
    let file = disk.path().join("bangfu.db").to_string_lossy().into_owned();
    let s = TestServer::start_on(TestDb::at(&file));
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    s.register_household(&officer, &village);

    let filler = disk.path().join("filler");
    fill(&filler, 0);
    // Writes until one meets the full disk (the WAL may still hold a few pages).
    let mut refused = None;
    for _ in 0..200 {
        let (id_number, birth) = bangfu_e2e::resident_id(false);
        let r = s.call(
            "POST",
            "/v1/households",
            Some(&officer.access),
            Some(json!({"region_id": village, "address": "五组 3 号", "members": [{"name": "李建国",
                "relation": "head", "id_number": id_number, "birth_date": birth, "gender": "male"}]})),
        );
        if r.status != 201 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("no write met the full disk");
    r.assert_problem(507, "storage_full");
    assert!(r.header("retry-after").is_some());
    // Reads go on; once space is freed, writes do too.
    assert_eq!(
        s.call("GET", "/v1/me", Some(&officer.access), None).status,
        200
    );
    std::fs::remove_file(&filler).expect("free");
    s.register_household(&officer, &village);
}

/// Sends chunks of `chunk` bytes from offset `from`, `pause` apart, until the file is
/// complete or a request fails (the server was killed); returns the acknowledged offsets.
fn send_chunks(
    http: &Client,
    base: &str,
    token: &str,
    id: &str,
    photo: &[u8],
    (from, chunk, pause): (usize, usize, Duration),
) -> Vec<usize> {
    let mut acked = Vec::new();
    let mut at = from;
    while at < photo.len() {
        let end = (at + chunk).min(photo.len());
        let r = http
            .patch(format!("{base}/v1/uploads/{id}"))
            .bearer_auth(token)
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", at.to_string())
            .body(photo[at..end].to_vec())
            .send();
        match r {
            Ok(r) if r.status().is_success() => {
                let held: usize = r
                    .headers()
                    .get("upload-offset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(end);
                acked.push(held);
                at = held;
            }
            // Told in the output: a failure other than the kill is the test's to explain.
            Ok(r) => {
                let status = r.status();
                eprintln!(
                    "chunk at {at} of {id}: {status} {}",
                    r.text().unwrap_or_default()
                );
                break;
            }
            Err(e) => {
                eprintln!("chunk at {at} of {id}: {e}");
                break;
            }
        }
        std::thread::sleep(pause);
    }
    acked
}

/// Starts a chunk of `len` bytes at `at` on a raw socket and sends only its first half,
/// so that the server is in the middle of receiving it.
fn half_a_chunk(
    base: &str,
    token: &str,
    id: &str,
    photo: &[u8],
    at: usize,
    len: usize,
) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut sock = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {at}\r\nContent-Length: {len}\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).expect("head");
    sock.write_all(&photo[at..at + len / 2]).expect("half");
    sock.flush().expect("flush");
    sock
}

fn status_of(http: &Client, base: &str, token: &str, id: &str) -> Value {
    http.get(format!("{base}/v1/uploads/{id}"))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.json())
        .expect("upload status")
}

#[test]
fn uploads_survive_sigkill_mid_chunk_and_resume() {
    const CHUNK: usize = 16 * 1024;
    let db = TestDb::new(backend());
    let bin = env!("CARGO_BIN_EXE_bangfu-e2e-server");
    let port = free_port();
    let mut server = BenchServer::launch(&db, bin, port, true, &[]);
    let base = server.base.clone();
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let (token, _) = device_login(&http, &base, "qingshan_helper");

    // Rounds 0–2 kill while a chunk is half received; rounds 3–5 at a random moment of a
    // paced upload (between chunks, in an append, in a commit).
    for round in 0..6u32 {
        let photo = jpeg(500, 100 + round, false);
        let created: Value = http
            .post(format!("{base}/v1/uploads"))
            .bearer_auth(&token)
            .json(&json!({"sha256": sha(&photo), "size": photo.len(), "kind": "photo", "file_name": "a.jpg"}))
            .send()
            .and_then(|r| r.json())
            .expect("create");
        let id = created["id"].as_str().expect("id").to_owned();
        assert!(photo.len() > 8 * CHUNK, "{}", photo.len());

        let acked = if round < 3 {
            let n = 2 + round as usize;
            let mut sent = send_chunks(
                &http,
                &base,
                &token,
                &id,
                &photo[..n * CHUNK],
                (0, CHUNK, Duration::ZERO),
            );
            // A refusal before the kill (told above; a busy machine can answer 503) is
            // retried as a phone would: from the server's offset, which must be the last
            // one acknowledged.
            for _ in 0..3 {
                let last = sent.last().copied().unwrap_or(0);
                if last == n * CHUNK {
                    break;
                }
                let st = status_of(&http, &base, &token, &id);
                assert_eq!(st["offset"].as_u64(), Some(last as u64), "round {round}");
                std::thread::sleep(Duration::from_millis(500));
                let more = (last, CHUNK, Duration::ZERO);
                sent.extend(send_chunks(
                    &http,
                    &base,
                    &token,
                    &id,
                    &photo[..n * CHUNK],
                    more,
                ));
            }
            assert_eq!(sent.last().copied(), Some(n * CHUNK), "round {round}");
            let _open = half_a_chunk(&base, &token, &id, &photo, n * CHUNK, CHUNK);
            std::thread::sleep(Duration::from_millis(100));
            server.kill();
            sent
        } else {
            let (h, b, t, i, p) = (
                http.clone(),
                base.clone(),
                token.clone(),
                id.clone(),
                photo.clone(),
            );
            let pace = (0, CHUNK / 2, Duration::from_millis(5));
            let sender = std::thread::spawn(move || send_chunks(&h, &b, &t, &i, &p, pace));
            std::thread::sleep(Duration::from_millis(50 + (random_u64() % 250)));
            server.kill();
            sender.join().expect("sender")
        };
        server = BenchServer::launch(&db, bin, port, false, &[]);

        // Nothing acknowledged is lost; at most the chunk in flight was kept on top.
        let st = status_of(&http, &base, &token, &id);
        let held = st["offset"].as_u64().expect("offset") as usize;
        let last = acked.last().copied().unwrap_or(0);
        assert!(
            held >= last,
            "round {round}: acknowledged {last}, server holds {held}"
        );
        assert!(
            held <= last + CHUNK,
            "round {round}: holds {held} past {last}"
        );
        if st["state"] != "complete" {
            let rest = send_chunks(
                &http,
                &base,
                &token,
                &id,
                &photo,
                (held, 64 * 1024, Duration::ZERO),
            );
            assert_eq!(rest.last().copied(), Some(photo.len()), "round {round}");
        }
        let st = status_of(&http, &base, &token, &id);
        assert_eq!(st["state"], "complete", "round {round}: {st}");
        assert_eq!(st["blob"]["sha256"], sha(&photo), "round {round}");
        eprintln!("upload kill round {round}: acknowledged {last}, held after restart {held}");
    }
}

fn random_u64() -> u64 {
    let u = uuid::Uuid::now_v7();
    u.as_u64_pair().1
}
