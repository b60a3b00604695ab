//! Photo evidence over HTTP: resumable uploads interrupted on a real socket and resumed,
//! one stored copy per content, verification of digest and type, limits, names that try
//! to leave the data folder, scoped downloads with ETag and ranges, and copies without GPS.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use bangfu_e2e::{Reply, Session, TestServer, hlc, new_id};
use serde_json::json;
use sha2::{Digest, Sha256};

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An EXIF block (big-endian TIFF) with a capture time and a GPS position in the north-east.
pub(crate) fn exif_block(lat: (u32, u32, u32), lon: (u32, u32, u32)) -> Vec<u8> {
    let mut t: Vec<u8> = Vec::new();
    let u16b = |t: &mut Vec<u8>, v: u16| t.extend_from_slice(&v.to_be_bytes());
    let u32b = |t: &mut Vec<u8>, v: u32| t.extend_from_slice(&v.to_be_bytes());
    t.extend_from_slice(b"MM");
    u16b(&mut t, 42);
    u32b(&mut t, 8);
    // IFD0 at 8: DateTime (ASCII 20 at 38), GPS IFD pointer (-> 58).
    u16b(&mut t, 2);
    for (tag, ty, count, value) in [(0x0132u16, 2u16, 20u32, 38u32), (0x8825, 4, 1, 58)] {
        u16b(&mut t, tag);
        u16b(&mut t, ty);
        u32b(&mut t, count);
        u32b(&mut t, value);
    }
    u32b(&mut t, 0);
    t.extend_from_slice(b"2026:11:20 09:30:00\0");
    // GPS IFD at 58: N, latitude (rationals at 112), E, longitude (rationals at 136).
    u16b(&mut t, 4);
    let inline = |c: u8| u32::from_be_bytes([c, 0, 0, 0]);
    for (tag, ty, count, value) in [
        (1u16, 2u16, 2u32, inline(b'N')),
        (2, 5, 3, 112),
        (3, 2, 2, inline(b'E')),
        (4, 5, 3, 136),
    ] {
        u16b(&mut t, tag);
        u16b(&mut t, ty);
        u32b(&mut t, count);
        u32b(&mut t, value);
    }
    u32b(&mut t, 0);
    for (d, m, s) in [lat, lon] {
        for v in [d, m, s] {
            u32b(&mut t, v);
            u32b(&mut t, 1);
        }
    }
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((t.len() + 8) as u16).to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend(t);
    seg
}

/// A real JPEG of noise (so it does not compress away), `side` pixels square, seeded, with
/// EXIF GPS when asked.
pub(crate) fn jpeg(side: u32, seed: u32, gps: bool) -> Vec<u8> {
    let out =
        bangfu_e2e::workload::noise_jpeg(side, seed.wrapping_mul(2_654_435_761).wrapping_add(1));
    if gps {
        let mut with = out[..2].to_vec();
        with.extend(exif_block((25, 2, 24), (102, 42, 36)));
        with.extend_from_slice(&out[2..]);
        with
    } else {
        out
    }
}

pub(crate) fn start_upload(s: &TestServer, who: &Session, bytes: &[u8], kind: &str) -> Reply {
    s.call(
        "POST",
        "/v1/uploads",
        Some(&who.access),
        Some(json!({"sha256": sha(bytes), "size": bytes.len(), "kind": kind, "file_name": "IMG_0412.jpg"})),
    )
}

pub(crate) fn patch(s: &TestServer, who: &Session, id: &str, offset: usize, chunk: &[u8]) -> Reply {
    let r = s
        .client
        .patch(s.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&who.access)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(chunk.to_vec())
        .send()
        .expect("patch");
    Reply::from(r)
}

/// Uploads all of `bytes` in one chunk; returns the final answer.
pub(crate) fn upload(s: &TestServer, who: &Session, bytes: &[u8], kind: &str) -> Reply {
    let r = start_upload(s, who, bytes, kind);
    assert!(r.status == 201 || r.status == 200, "{}", r.text);
    if r.body["state"] == "complete" {
        return r;
    }
    let id = r.body["id"].as_str().expect("id").to_owned();
    let at = r.body["offset"].as_u64().unwrap_or(0) as usize;
    patch(s, who, &id, at, &bytes[at..])
}

/// A photo record in the caller's village naming the file.
pub(crate) fn link(s: &TestServer, who: &Session, village_code: &str, digest: &str) {
    let region = s.region_id(&who.access, village_code);
    let r = s.push(
        who,
        vec![json!({
            "mutation_id": new_id(), "entity": "photo", "id": new_id(), "base_version": 0, "hlc": hlc(0, "phone"),
            "fields": {"region_id": region, "sha256": digest, "subject_entity": "household", "subject_id": new_id(),
                       "taken_at": "2026-11-20T09:30:00Z", "caption": "修好的屋顶"}
        })],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
}

pub(crate) fn fetch(
    s: &TestServer,
    who: &Session,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = s.client.get(s.url(path)).bearer_auth(&who.access);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().expect("get");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.bytes().expect("body").to_vec())
}

/// Waits for the resized copies made in the background.
pub(crate) fn fetch_ready(
    s: &TestServer,
    who: &Session,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    for _ in 0..100 {
        let got = fetch(s, who, path, &[]);
        if got.0 != 409 {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{path} still pending");
}

pub(crate) fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Sends the first `sent` bytes of a chunk that announces `bytes.len()`, then drops the
/// connection, as a phone losing its network does.
fn interrupted_patch(s: &TestServer, who: &Session, id: &str, bytes: &[u8], sent: usize) {
    let addr = s.base.trim_start_matches("http://");
    let mut sock = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        who.access,
        bytes.len()
    );
    sock.write_all(head.as_bytes()).expect("head");
    sock.write_all(&bytes[..sent]).expect("part");
    sock.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    sock.shutdown(std::net::Shutdown::Both).expect("drop");
}

#[test]
fn an_interrupted_upload_resumes_and_is_served_within_scope_only() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(600, 1, true);
    let digest = sha(&photo);
    assert!(photo.len() > 300_000, "{}", photo.len());

    let r = start_upload(&s, &helper, &photo, "photo");
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["offset"], 0);
    let id = r.body["id"].as_str().expect("id").to_owned();

    // The connection drops after 200,000 bytes: the server keeps what arrived.
    interrupted_patch(&s, &helper, &id, &photo, 200_000);
    let mut held = 0;
    for _ in 0..50 {
        let st = s.call(
            "GET",
            &format!("/v1/uploads/{id}"),
            Some(&helper.access),
            None,
        );
        assert_eq!(st.status, 200, "{}", st.text);
        held = st.body["offset"].as_u64().unwrap_or(0) as usize;
        if held > 0 {
            assert_eq!(st.header("upload-offset"), Some(held.to_string().as_str()));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(held > 0 && held <= 200_000, "held {held}");

    // Resuming from zero is refused with the right offset; from there it completes.
    let wrong = patch(&s, &helper, &id, 0, &photo);
    wrong.assert_problem(409, "offset_mismatch");
    assert_eq!(
        wrong.header("upload-offset"),
        Some(held.to_string().as_str())
    );
    let done = patch(&s, &helper, &id, held, &photo[held..]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "complete");
    assert_eq!(done.body["offset"], photo.len());
    let blob = &done.body["blob"];
    assert_eq!(blob["sha256"], digest);
    assert_eq!(blob["media_type"], "image/jpeg");
    assert_eq!(blob["width"], 600);
    assert_eq!(blob["exif"]["taken_at_local"], "2026-11-20T09:30:00");
    let lat = blob["exif"]["lat"].as_f64().unwrap_or_default();
    assert!(
        (lat - (25.0 + 2.0 / 60.0 + 24.0 / 3600.0)).abs() < 1e-6,
        "{blob}"
    );

    // Nobody can fetch it before a record names it, not even its sender.
    let path = format!("/v1/photos/{digest}");
    assert_eq!(fetch(&s, &helper, &path, &[]).0, 404);
    link(&s, &helper, "530123101001", &digest);
    // A record naming a file the server lacks shows up as missing until it is sent.
    let absent = sha(b"a photo still on the phone");
    link(&s, &helper, "530123101001", &absent);
    let out = s.call("GET", "/v1/uploads", Some(&helper.access), None);
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body["missing"], json!([absent]), "{}", out.text);
    assert_eq!(out.body["open"], json!([]));
    // A pull that brings the phone up to date says the same.
    let phone = s.device_session("qingshan_helper");
    let mut cursor: Option<String> = None;
    let last = loop {
        let r = s.pull(&phone, cursor.as_deref());
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["has_more"] != true {
            break r;
        }
        cursor = r.body["next_cursor"].as_str().map(str::to_owned);
    };
    assert_eq!(
        last.body["missing_photos"],
        json!([absent]),
        "{}",
        last.text
    );

    // The township officer may see location: the original, byte for byte, with ranges.
    let officer = s.login("qingshan_officer");
    let (status, headers, body) = fetch(&s, &officer, &path, &[]);
    assert_eq!(status, 200);
    assert_eq!(body, photo);
    assert_eq!(headers["content-type"], "image/jpeg");
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let (status, headers, body) = fetch(&s, &officer, &path, &[("range", "bytes=100-199")]);
    assert_eq!(status, 206);
    assert_eq!(body, photo[100..200]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 100-199/{}", photo.len()).as_str()
    );
    let (status, _, _) = fetch(&s, &officer, &path, &[("if-none-match", &etag)]);
    assert_eq!(status, 304);
    let (status, headers, _) = fetch(&s, &officer, &path, &[("range", "bytes=99999999-")]);
    assert_eq!(status, 416);
    assert_eq!(
        headers["content-range"],
        format!("bytes */{}", photo.len()).as_str()
    );

    // The helper's role may not see personal data: the original comes without EXIF.
    let (status, headers, body) = fetch_ready(&s, &helper, &path);
    assert_eq!(status, 200);
    assert_ne!(headers["etag"], etag.as_str());
    assert!(!body.windows(4).any(|w| w == b"Exif"), "EXIF left in");
    assert!(body.len() < photo.len() && image::load_from_memory(&body).is_ok());
    // Resized copies: a JPEG thumbnail within 320 pixels.
    let (status, headers, body) = fetch_ready(&s, &helper, &format!("{path}?size=thumb"));
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&body).expect("thumbnail decodes");
    assert!(thumb.width() <= 320 && thumb.height() <= 320);
    let (status, _, body) = fetch_ready(&s, &officer, &format!("{path}?size=medium"));
    assert_eq!(status, 200);
    assert!(!body.windows(4).any(|w| w == b"Exif"));

    // Another region cannot fetch it with its digest, nor by naming it in its own record.
    let other = s.device_session("hekou_helper");
    let refused = s.call("GET", &path, Some(&other.access), None);
    refused.assert_problem(404, "not_found");
    link(&s, &other, "530123102001", &digest);
    s.call("GET", &path, Some(&other.access), None)
        .assert_problem(404, "not_found");
    s.call(
        "GET",
        &format!("{path}?size=thumb"),
        Some(&other.access),
        None,
    )
    .assert_problem(404, "not_found");
}

#[test]
fn the_same_bytes_are_stored_once() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let secretary = s.device_session("qingshan_secretary");
    let photo = jpeg(64, 2, false);
    let first = upload(&s, &helper, &photo, "photo");
    assert_eq!(first.body["state"], "complete", "{}", first.text);
    // The same sender again: nothing to send.
    let again = start_upload(&s, &helper, &photo, "photo");
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["state"], "complete");
    assert_eq!(again.body["offset"], photo.len());
    // Someone else must prove they hold the bytes, and then they are kept once.
    let second = start_upload(&s, &secretary, &photo, "photo");
    assert_eq!(second.status, 201, "{}", second.text);
    let id = second.body["id"].as_str().expect("id").to_owned();
    let done = patch(&s, &secretary, &id, 0, &photo);
    assert_eq!(done.body["state"], "complete", "{}", done.text);
    let blobs = files_under(&s.db.dir.path().join("photos").join("blobs"));
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert_eq!(std::fs::read(&blobs[0]).expect("stored"), photo);
    // A picture within a thumbnail and without metadata is its own copy of each size: no
    // second file holds the same bytes.
    link(&s, &helper, "530123101001", &sha(&photo));
    let path = format!("/v1/photos/{}", sha(&photo));
    for size in ["thumb", "medium"] {
        let (status, headers, body) = fetch_ready(&s, &helper, &format!("{path}?size={size}"));
        assert_eq!(status, 200, "{size}");
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(body == photo, "the {size} copy is the original's bytes");
    }
    let derived = files_under(&s.db.dir.path().join("photos").join("derived"));
    assert!(derived.is_empty(), "{derived:?}");
    // No scratch files or kept chunks are left behind.
    assert!(files_under(&s.db.dir.path().join("uploads")).is_empty());
    assert!(files_under(&s.db.dir.path().join("photos").join("parts")).is_empty());
}

#[test]
fn what_arrives_is_checked() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(32, 3, false);

    // Declared digest of other bytes: refused when complete, and discarded.
    let mut r = start_upload(&s, &helper, &photo, "photo");
    let id = r.body["id"].as_str().expect("id").to_owned();
    let mut tampered = photo.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0xFF;
    patch(&s, &helper, &id, 0, &tampered).assert_problem(422, "hash_mismatch");
    s.call(
        "GET",
        &format!("/v1/uploads/{id}"),
        Some(&helper.access),
        None,
    )
    .assert_problem(404, "not_found");

    // A text file named .jpg is not a photo; a JPEG is not a document.
    let text = b"just some words, saved as roof.jpg\n".repeat(10);
    upload(&s, &helper, &text, "photo").assert_problem(422, "unsupported_file_type");
    upload(&s, &helper, &photo, "document").assert_problem(422, "unsupported_file_type");
    // Only a PDF's magic is not enough for a photo, but it is a document.
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let doc = upload(&s, &helper, &pdf, "document");
    assert_eq!(
        doc.body["blob"]["media_type"], "application/pdf",
        "{}",
        doc.text
    );
    assert_eq!(doc.body["blob"]["derivatives"], "none");
    // A JPEG header over garbage is not a legible image.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend(b"garbage".repeat(50));
    upload(&s, &helper, &fake, "photo").assert_problem(422, "image_unreadable");

    // Oversized: refused before a byte is sent; a chunk past the declared size too.
    r = s.call(
        "POST",
        "/v1/uploads",
        Some(&helper.access),
        Some(json!({"sha256": sha(&photo), "size": 200 * 1024 * 1024, "kind": "photo"})),
    );
    r.assert_problem(413, "payload_too_large");
    r = start_upload(&s, &helper, &photo[..100], "photo");
    let id = r.body["id"].as_str().expect("id").to_owned();
    patch(&s, &helper, &id, 0, &photo).assert_problem(413, "payload_too_large");

    // Names that try to leave the data folder go nowhere.
    for bad in [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        &format!("{}/..", "a".repeat(61)),
    ] {
        let r = s.call(
            "POST",
            "/v1/uploads",
            Some(&helper.access),
            Some(json!({"sha256": bad, "size": 10, "kind": "photo"})),
        );
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "sha256");
    }
    let r = s.call(
        "POST",
        "/v1/uploads",
        Some(&helper.access),
        Some(json!({"sha256": sha(b"x"), "size": 1, "kind": "photo", "file_name": "../../../etc/cron.d/x"})),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "file_name");
    for path in [
        "/v1/photos/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v1/photos/%2E%2E",
        &format!("/v1/photos/{}", "a".repeat(64)),
    ] {
        assert_eq!(
            s.call("GET", path, Some(&helper.access), None).status,
            404,
            "{path}"
        );
    }
    let r = patch(&s, &helper, "..%2F..%2Fjwt_secret", 0, b"x");
    r.assert_problem(400, "invalid_path_parameter");
    // Nothing was written outside the store and the part folder.
    let dir = s.db.dir.path();
    for f in files_under(dir) {
        let rel = f.strip_prefix(dir).expect("inside");
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        assert!(
            matches!(
                top.as_deref(),
                Some("photos" | "uploads" | "jwt_secret" | "data_key")
            ) || rel.to_string_lossy().starts_with("bangfu.db"),
            "unexpected file {rel:?}"
        );
    }
}

#[test]
fn open_uploads_per_device_are_limited_and_expire() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let mut ids = Vec::new();
    for i in 0..8u8 {
        let r = start_upload(&s, &helper, &[i; 10], "photo");
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().expect("id").to_owned());
    }
    start_upload(&s, &helper, &[99; 10], "photo").assert_problem(409, "too_many_open_uploads");
    // Another device of another user is not affected.
    let other = s.device_session("qingshan_secretary");
    assert_eq!(start_upload(&s, &other, &[99; 10], "photo").status, 201);
    // Cancelling one makes room.
    let r = s.call(
        "DELETE",
        &format!("/v1/uploads/{}", ids[0]),
        Some(&helper.access),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(start_upload(&s, &helper, &[99; 10], "photo").status, 201);
    // Somebody else's upload is not found.
    s.call(
        "GET",
        &format!("/v1/uploads/{}", ids[1]),
        Some(&other.access),
        None,
    )
    .assert_problem(404, "not_found");
    // Half-sent uploads expire with their kept chunks at the next housekeeping pass. Only
    // received bytes are kept (in the photo store, where every instance finds them), and
    // nothing stays in the scratch folder after the request.
    assert_eq!(patch(&s, &helper, &ids[1], 0, &[1; 5]).body["offset"], 5);
    assert_eq!(patch(&s, &helper, &ids[1], 5, &[1; 3]).body["offset"], 8);
    let parts = s.db.dir.path().join("photos").join("parts");
    assert_eq!(files_under(&parts).len(), 2);
    assert!(files_under(&s.db.dir.path().join("uploads")).is_empty());
    expire_all(&s);
    assert!(files_under(&parts).is_empty());
    s.call(
        "GET",
        &format!("/v1/uploads/{}", ids[1]),
        Some(&helper.access),
        None,
    )
    .assert_problem(404, "not_found");
}

/// Lets every upload outlive its expiry and runs the upload housekeeping.
fn expire_all(s: &TestServer) {
    s.advance(chrono::Duration::hours(25));
    let n = photo_housekeeping(s);
    assert!(n >= 9, "expired {n}");
}

/// Runs the photo housekeeping (as the hourly pass does) on the server's database and
/// store; returns how many uploads expired.
pub(crate) fn photo_housekeeping(s: &TestServer) -> usize {
    use bangfu::infra::db::{DbOptions, DbTarget, SqliteSync};
    let db = bangfu::infra::db::Db::connect(&DbOptions {
        target: DbTarget::parse(&s.db.url),
        pool_size: 2,
        sqlite_sync: SqliteSync::Full,
        connect_timeout: Duration::from_secs(5),
    })
    .expect("db")
    .with_clock(s.clock().clone());
    let dir = s.db.dir.path();
    let store =
        bangfu::infra::blobs::open(&dir.join("photos").to_string_lossy(), &[]).expect("store");
    let photos = std::sync::Arc::new(
        bangfu::photos::Photos::new(
            store,
            dir.join("uploads"),
            bangfu::photos::Limits::default(),
        )
        .expect("photos"),
    );
    actix_web::rt::System::new()
        .block_on(bangfu::photos::uploads::service::housekeeping(&db, &photos))
        .expect("housekeeping")
}

/// A moto S3 server on a free loopback port, stopped when dropped.
pub(crate) struct Moto {
    child: std::process::Child,
    pub(crate) endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `moto_server` (`BANGFU_MOTO_SERVER`, else on PATH). `None` if it is not installed
/// and this is not CI, where `.ci/run` installs it.
pub(crate) fn moto() -> Option<Moto> {
    let bin = std::env::var("BANGFU_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = match std::process::Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "moto_server ({bin}) is needed in CI: {e}"
            );
            bangfu_e2e::skip(&format!(
                "{bin} not found ({e}): pip install 'moto[server]'"
            ));
            return None;
        }
    };
    let m = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::blocking::Client::new();
    for _ in 0..150 {
        if client.get(&m.endpoint).send().is_ok() {
            return Some(m);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not start on {}", m.endpoint);
}

#[test]
fn photos_live_in_s3_compatible_storage_when_configured() {
    let Some(s3) = moto() else { return };
    let bucket = "bangfu-photos";
    let client = reqwest::blocking::Client::new();
    let made = client
        .put(format!("{}/{bucket}", s3.endpoint))
        .send()
        .expect("create bucket");
    assert!(made.status().is_success(), "{}", made.status());
    let endpoint = s3.endpoint.clone();
    let s = TestServer::start_configured(bangfu_e2e::TestDb::new(bangfu_e2e::backend()), |c| {
        c.photo_store = format!("s3://{bucket}/county");
        c.s3_options = [
            ("aws_endpoint", endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    });
    let helper = s.device_session("qingshan_helper");
    let secretary = s.device_session("qingshan_secretary");

    // Over the single-request size: stored in parts. Sent in two chunks.
    let big = jpeg(2200, 7, true);
    assert!(big.len() > 5 * 1024 * 1024, "{}", big.len());
    let r = start_upload(&s, &helper, &big, "photo");
    let id = r.body["id"].as_str().expect("id").to_owned();
    let half = big.len() / 2;
    assert_eq!(
        patch(&s, &helper, &id, 0, &big[..half]).body["offset"],
        half
    );
    let done = patch(&s, &helper, &id, half, &big[half..]);
    assert_eq!(done.body["state"], "complete", "{}", done.text);
    let small = jpeg(200, 8, false);
    assert_eq!(
        upload(&s, &helper, &small, "photo").body["state"],
        "complete"
    );
    // The same bytes from someone else: still one object.
    assert_eq!(
        upload(&s, &secretary, &small, "photo").body["state"],
        "complete"
    );
    let listing = client
        .get(format!(
            "{}/{bucket}?list-type=2&prefix=county/blobs/",
            s3.endpoint
        ))
        .send()
        .expect("list")
        .text()
        .expect("listing");
    assert_eq!(listing.matches("<Key>").count(), 2, "{listing}");
    // No part file stays on the local disk, and no blob is kept there.
    assert!(
        !files_under(&s.db.dir.path().join("uploads"))
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "part"))
    );
    assert!(!s.db.dir.path().join("photos").join("blobs").exists());

    link(&s, &helper, "530123101001", &sha(&big));
    let path = format!("/v1/photos/{}", sha(&big));
    let officer = s.login("qingshan_officer");
    let (status, _, body) = fetch(&s, &officer, &path, &[]);
    assert_eq!(status, 200);
    assert!(body == big, "original differs");
    let (status, _, body) = fetch(&s, &officer, &path, &[("range", "bytes=-1000")]);
    assert_eq!(status, 206);
    assert_eq!(body, big[big.len() - 1000..]);
    let (status, _, body) = fetch_ready(&s, &helper, &format!("{path}?size=thumb"));
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&body).is_ok());
    let (status, _, body) = fetch_ready(&s, &helper, &path);
    assert_eq!(status, 200);
    assert!(!body.windows(4).any(|w| w == b"Exif"));
    let other = s.login("hekou_helper");
    s.call("GET", &path, Some(&other.access), None)
        .assert_problem(404, "not_found");
}

fn field(s: &TestServer, store: &str, args: &[&str], input: &str) -> String {
    let mut argv = vec!["bangfu-field", "--store", store, "--server", &s.base];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    bangfu_sync::client::cli::run(argv, &mut input.as_bytes(), &mut out)
        .unwrap_or_else(|e| panic!("bangfu-field {args:?}: {e}"));
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_field_cli_uploads_the_photos_its_records_name_and_resumes() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("phone.db").to_string_lossy().into_owned();
    let file = dir.path().join("IMG_0001.jpg");
    let photo = jpeg(500, 9, true);
    std::fs::write(&file, &photo).expect("photo file");
    let digest = sha(&photo);
    let password = format!("{}\n", bangfu_e2e::DEMO_PASSWORD);
    field(&s, &store, &["login", "qingshan_helper"], &password);

    let household = s.register_household(&officer, &village);
    let out = field(
        &s,
        &store,
        &[
            "photo",
            "--file",
            &file.to_string_lossy(),
            "--region",
            &village,
            "--subject-id",
            &household,
            "--household",
            &household,
            "--caption",
            "新修的屋顶",
            "--lat",
            "25.04",
            "--lng",
            "102.71",
            "--accuracy-m",
            "12",
            "--device",
            "HUAWEI nova 12",
        ],
        "",
    );
    assert!(out.contains(&format!("file {digest} waiting")), "{out}");
    let sent = field(&s, &store, &["sync"], "");
    assert!(sent.starts_with("sent 1 (applied 1"), "{sent}");
    // The app's capture metadata reaches the reviewer, apart from the file's EXIF.
    let id = out.split_whitespace().nth(1).expect("photo id");
    let queue = s.call("GET", "/v1/photo-reviews", Some(&officer.access), None);
    let p = queue.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("{}", queue.text));
    assert_eq!(p["capture_device"], "HUAWEI nova 12");
    assert_eq!(p["accuracy_m"], 12.0);
    assert_eq!(p["location"], json!({"lat": 25.04, "lng": 102.71}));
    assert_eq!(p["household_id"], household.as_str());

    // The network gives out after 100,000 bytes: the file waits, the server keeps the part.
    let out = field(&s, &store, &["upload", "--max-bytes", "100000"], "");
    assert_eq!(out.trim(), "uploaded 0, waiting 1, refused 0");
    let path = format!("/v1/photos/{digest}");
    assert_eq!(fetch(&s, &officer, &path, &[]).0, 404);
    // The next round resumes from the server's offset and completes.
    let out = field(&s, &store, &["upload"], "");
    assert_eq!(out.trim(), "uploaded 1, waiting 0, refused 0");
    let (status, _, body) = fetch(&s, &officer, &path, &[]);
    assert_eq!(status, 200);
    assert!(body == photo, "the served photo differs");
    assert_eq!(
        field(&s, &store, &["upload"], "").trim(),
        "uploaded 0, waiting 0, refused 0"
    );
}

/// `POST /v1/uploads` with the file as the body (tus creation-with-upload).
fn post_whole(s: &TestServer, who: &Session, bytes: &[u8], declared: &[u8], kind: &str) -> Reply {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let r = s
        .client
        .post(s.url("/v1/uploads"))
        .bearer_auth(&who.access)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-length", declared.len().to_string())
        .header(
            "upload-metadata",
            format!(
                "sha256 {},kind {},filename {}",
                b64(&sha(declared)),
                b64(kind),
                b64("IMG_0413.jpg")
            ),
        )
        .body(bytes.to_vec())
        .send()
        .expect("post");
    Reply::from(r)
}

#[test]
fn a_photo_goes_up_in_one_request_and_a_cut_one_resumes() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(300, 51, true);
    let r = post_whole(&s, &helper, &photo, &photo, "photo");
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["state"], "complete");
    assert_eq!(r.body["offset"], photo.len());
    assert_eq!(r.body["blob"]["media_type"], "image/jpeg");
    assert_eq!(r.body["blob"]["width"], 300);
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/uploads/{id}").as_str())
    );
    let st = s.call(
        "GET",
        &format!("/v1/uploads/{id}"),
        Some(&helper.access),
        None,
    );
    assert_eq!(st.body["state"], "complete", "{}", st.text);
    // Once held, the same bytes need not come again.
    let again = post_whole(&s, &helper, &photo, &photo, "photo");
    assert_eq!(
        (again.status, again.body["state"].as_str()),
        (200, Some("complete"))
    );

    // What arrives whole is checked as in chunks, and nothing of a refused file is kept.
    let mut tampered = photo.clone();
    tampered[photo.len() - 5] ^= 0xFF;
    let other = jpeg(40, 52, false);
    let mut forged = other.clone();
    forged[other.len() - 5] ^= 0xFF;
    post_whole(&s, &helper, &forged, &other, "photo").assert_problem(422, "hash_mismatch");
    let text = b"words saved as a .jpg".repeat(8);
    post_whole(&s, &helper, &text, &text, "photo").assert_problem(422, "unsupported_file_type");
    let longer = [other.clone(), b"tail".to_vec()].concat();
    post_whole(&s, &helper, &longer, &other, "photo").assert_problem(413, "payload_too_large");
    let out = s.call("GET", "/v1/uploads", Some(&helper.access), None);
    assert_eq!(out.body["open"], json!([]), "{}", out.text);
    // A declaration in headers must be complete.
    let r = s.raw(
        "POST",
        "/v1/uploads",
        Some(&helper.access),
        "application/offset+octet-stream",
        other.clone(),
    );
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["Upload-Length", "sha256"]);

    // The connection drops halfway: what arrived is an open upload; repeating the request
    // resumes it, skipping what the server holds.
    let big = jpeg(600, 53, false);
    let addr = s.base.trim_start_matches("http://");
    let mut sock = TcpStream::connect(addr).expect("connect");
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Length: {n}\r\n\
         Upload-Metadata: sha256 {}\r\nContent-Length: {n}\r\n\r\n",
        helper.access,
        b64(&sha(&big)),
        n = big.len()
    );
    sock.write_all(head.as_bytes()).expect("head");
    sock.write_all(&big[..150_000]).expect("part");
    sock.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    sock.shutdown(std::net::Shutdown::Both).expect("drop");
    let mut open = json!([]);
    for _ in 0..50 {
        open = s
            .call("GET", "/v1/uploads", Some(&helper.access), None)
            .body["open"]
            .clone();
        if open.as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let held = open[0]["offset"].as_u64().unwrap_or(0) as usize;
    assert!(held > 0 && held <= 150_000, "{open}");
    assert_eq!(open[0]["sha256"], sha(&big));
    let done = post_whole(&s, &helper, &big, &big, "photo");
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "complete", "{}", done.text);
    assert_eq!(done.body["id"], open[0]["id"]);
    let officer = s.login("qingshan_officer");
    link(&s, &helper, "530123101001", &sha(&big));
    let (status, _, body) = fetch(&s, &officer, &format!("/v1/photos/{}", sha(&big)), &[]);
    assert_eq!(status, 200);
    assert!(body == big, "the stored file differs");
}

#[test]
fn a_resized_copy_lost_in_a_crash_is_made_again() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(400, 61, true);
    upload(&s, &helper, &photo, "photo");
    link(&s, &helper, "530123101001", &sha(&photo));
    let path = format!("/v1/photos/{}", sha(&photo));
    let thumb = format!("{path}?size=thumb");
    assert_eq!(fetch_ready(&s, &helper, &thumb).0, 200);
    assert_eq!(fetch_ready(&s, &helper, &path).0, 200);
    // Copies are not synced to disk: after a crash one may be empty, or gone.
    let derived = s.db.dir.path().join("photos").join("derived");
    let mut copies = files_under(&derived);
    copies.sort();
    assert_eq!(copies.len(), 3, "{copies:?}");
    for f in &copies {
        let name = f.to_string_lossy();
        if name.ends_with(".thumb.jpg") {
            std::fs::write(f, b"").expect("empty the thumbnail");
        } else if name.ends_with(".stripped") {
            std::fs::remove_file(f).expect("lose the stripped copy");
        }
    }
    let (status, _, _) = fetch(&s, &helper, &thumb, &[]);
    assert!(status == 409 || status == 200, "{status}");
    let (status, _, body) = fetch_ready(&s, &helper, &thumb);
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&body).is_ok_and(|t| t.width() <= 320));
    let (status, _, body) = fetch_ready(&s, &helper, &path);
    assert_eq!(status, 200);
    assert!(!body.is_empty() && !body.windows(4).any(|w| w == b"Exif"));
}

#[test]
fn an_upload_whose_kept_chunks_are_gone_resumes_from_what_remains() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(200, 41, false);
    let third = photo.len() / 3;
    let r = start_upload(&s, &helper, &photo, "photo");
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        patch(&s, &helper, &id, 0, &photo[..third]).body["offset"],
        third
    );
    let two = 2 * third;
    assert_eq!(
        patch(&s, &helper, &id, third, &photo[third..two]).body["offset"],
        two
    );
    // The record of the second chunk is lost (as with chunks an older version kept in its
    // scratch folder): the last chunk is refused with the offset the server can vouch for.
    s.db.execute(&format!(
        "DELETE FROM upload_parts WHERE upload_id = '{id}' AND start_at > 0"
    ))
    .expect("lose a chunk");
    let r = patch(&s, &helper, &id, two, &photo[two..]);
    r.assert_problem(409, "offset_mismatch");
    assert_eq!(r.header("upload-offset"), Some(third.to_string().as_str()));
    let done = patch(&s, &helper, &id, third, &photo[third..]);
    assert_eq!(done.body["state"], "complete", "{}", done.text);
    assert_eq!(done.body["blob"]["sha256"], sha(&photo));
}
