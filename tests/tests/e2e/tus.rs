//! The tus 1.0.0 protocol on `/v1/uploads`, step by step over a real socket: discovery,
//! creation, creation-with-upload, `HEAD`, `PATCH`, a chunk cut off and resumed after
//! `HEAD`, the 409/412/415 answers, expiration and termination, and a wrong digest refused
//! when the file completes. Also `X-HTTP-Method-Override: PATCH` for clients without
//! `PATCH`, and the multipart form WeChat's `wx.uploadFile` sends.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use bangfu_e2e::{Reply, Session, TestServer};
use base64::Engine;
use serde_json::json;

use crate::photos::{jpeg, sha};

const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");

fn b64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

fn metadata(digest: &str, kind: &str) -> String {
    // What tus-js-client and Uppy send besides: the name and type, ignored by the server.
    format!(
        "filename {},filetype {},sha256 {},kind {}",
        b64("IMG_0420.jpg"),
        b64("image/jpeg"),
        b64(digest),
        b64(kind)
    )
}

/// A tus creation (no body): 201 with the upload's path in `Location`.
fn create(s: &TestServer, who: &Session, len: usize, digest: &str) -> (Reply, String) {
    let r = s
        .client
        .post(s.url("/v1/uploads"))
        .bearer_auth(&who.access)
        .header(TUS.0, TUS.1)
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", metadata(digest, "photo"))
        .send()
        .expect("post");
    let r = Reply::from(r);
    assert_eq!(r.status, 201, "{}", r.text);
    let location = r.header("location").expect("Location").to_owned();
    (r, location)
}

fn head(s: &TestServer, who: &Session, location: &str) -> Reply {
    Reply::from(
        s.client
            .head(s.url(location))
            .bearer_auth(&who.access)
            .header(TUS.0, TUS.1)
            .send()
            .expect("head"),
    )
}

fn patch_with(
    s: &TestServer,
    who: &Session,
    location: &str,
    offset: usize,
    chunk: &[u8],
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = s
        .client
        .patch(s.url(location))
        .bearer_auth(&who.access)
        .header("Upload-Offset", offset.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Reply::from(req.body(chunk.to_vec()).send().expect("patch"))
}

fn tus_patch(s: &TestServer, who: &Session, location: &str, offset: usize, chunk: &[u8]) -> Reply {
    patch_with(
        s,
        who,
        location,
        offset,
        chunk,
        &[TUS, ("Content-Type", "application/offset+octet-stream")],
    )
}

fn offset_of(r: &Reply) -> usize {
    r.header("upload-offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Upload-Offset in {:?}", r.headers))
}

/// Whether the answer's `Upload-Expires` is a day after its `Date` (the idle expiry).
fn expires_in_a_day(r: &Reply) -> bool {
    let date = |name: &str| {
        let v = r
            .header(name)
            .unwrap_or_else(|| panic!("{name} in {:?}", r.headers));
        chrono::DateTime::parse_from_rfc2822(v).expect("an HTTP-date")
    };
    let minutes = (date("upload-expires") - date("date")).num_minutes();
    (24 * 60 - 2..=24 * 60 + 2).contains(&minutes)
}

#[test]
fn a_tus_client_discovers_creates_sends_resumes_after_a_cut_and_completes() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");

    // Discovery needs no sign-in and is the one answer without Tus-Resumable.
    for path in [
        "/v1/uploads",
        "/v1/uploads/0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10",
    ] {
        let r = Reply::from(
            s.client
                .request(reqwest::Method::OPTIONS, s.url(path))
                .send()
                .expect("options"),
        );
        assert_eq!(r.status, 204, "{path}: {}", r.text);
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(
            r.header("tus-extension"),
            Some("creation,creation-with-upload,expiration,termination")
        );
        assert_eq!(r.header("tus-max-size"), Some("52428800"));
        assert_eq!(r.header("tus-resumable"), None);
    }

    let photo = jpeg(600, 71, true);
    let digest = sha(&photo);
    let (created, location) = create(&s, &helper, photo.len(), &digest);
    assert!(location.starts_with("/v1/uploads/"), "{location}");
    assert_eq!(created.header("tus-resumable"), Some("1.0.0"));
    assert!(expires_in_a_day(&created), "{:?}", created.headers);

    let h = head(&s, &helper, &location);
    assert_eq!(h.status, 200);
    assert_eq!(offset_of(&h), 0);
    assert_eq!(
        h.header("upload-length"),
        Some(photo.len().to_string().as_str())
    );
    assert_eq!(h.header("cache-control"), Some("no-store"));
    assert_eq!(h.header("tus-resumable"), Some("1.0.0"));
    assert!(h.header("upload-expires").is_some());

    let r = tus_patch(&s, &helper, &location, 0, &photo[..100_000]);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(offset_of(&r), 100_000);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert!(expires_in_a_day(&r), "{:?}", r.headers);

    // The wrong offset, the wrong body type, another protocol version.
    let r = tus_patch(&s, &helper, &location, 0, &photo[..10]);
    r.assert_problem(409, "offset_mismatch");
    assert_eq!(offset_of(&r), 100_000);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    let r = patch_with(
        &s,
        &helper,
        &location,
        100_000,
        &photo[100_000..100_010],
        &[TUS, ("Content-Type", "application/octet-stream")],
    );
    r.assert_problem(415, "unsupported_media_type");
    let r = patch_with(
        &s,
        &helper,
        &location,
        100_000,
        &photo[100_000..100_010],
        &[
            ("Tus-Resumable", "0.2.2"),
            ("Content-Type", "application/offset+octet-stream"),
        ],
    );
    r.assert_problem(412, "tus_version_unsupported");
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    assert_eq!(offset_of(&head(&s, &helper, &location)), 100_000);

    // The connection drops in the middle of a chunk: HEAD tells what arrived.
    let addr = s.base.trim_start_matches("http://");
    let mut sock = TcpStream::connect(addr).expect("connect");
    let rest = &photo[100_000..];
    let request = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 100000\r\nContent-Length: {}\r\n\r\n",
        helper.access,
        rest.len()
    );
    sock.write_all(request.as_bytes()).expect("head");
    sock.write_all(&rest[..120_000]).expect("part");
    sock.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    sock.shutdown(std::net::Shutdown::Both).expect("drop");
    let mut held = 100_000;
    for _ in 0..50 {
        held = offset_of(&head(&s, &helper, &location));
        if held > 100_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(held > 100_000 && held <= 220_000, "{held}");

    let r = tus_patch(&s, &helper, &location, held, &photo[held..]);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(offset_of(&r), photo.len());
    assert_eq!(r.header("upload-expires"), None);
    let h = head(&s, &helper, &location);
    assert_eq!(offset_of(&h), photo.len());
    assert_eq!(h.header("upload-expires"), None);
    // The JSON view of the same upload: stored, verified.
    let r = s.call("GET", &location, Some(&helper.access), None);
    assert_eq!(r.body["state"], "complete", "{}", r.text);
    assert_eq!(r.body["blob"]["sha256"], digest.as_str());
    assert_eq!(r.body["blob"]["media_type"], "image/jpeg");
    // A complete upload takes no more bytes.
    tus_patch(&s, &helper, &location, photo.len(), b"x").assert_problem(409, "upload_complete");
}

#[test]
fn tus_creation_with_upload_expiration_termination_and_a_wrong_digest() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");

    // The whole file with its creation.
    let small = jpeg(200, 72, false);
    let r = Reply::from(
        s.client
            .post(s.url("/v1/uploads"))
            .bearer_auth(&helper.access)
            .header(TUS.0, TUS.1)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Length", small.len().to_string())
            .header("Upload-Metadata", metadata(&sha(&small), "photo"))
            .body(small.clone())
            .send()
            .expect("post"),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(offset_of(&r), small.len());
    let location = r.header("location").expect("Location").to_owned();
    assert_eq!(offset_of(&head(&s, &helper, &location)), small.len());
    // Created again (another phone, or the app reinstalled): already held, and the client
    // is given a complete upload to ask about.
    let (held, again) = create(&s, &helper, small.len(), &sha(&small));
    assert_ne!(again, location);
    assert_eq!(held.body["state"], "complete", "{}", held.text);
    let h = head(&s, &helper, &again);
    assert_eq!((h.status, offset_of(&h)), (200, small.len()));

    // A creation lacking the digest names it.
    let r = Reply::from(
        s.client
            .post(s.url("/v1/uploads"))
            .bearer_auth(&helper.access)
            .header(TUS.0, TUS.1)
            .header("Upload-Length", "100")
            .header("Upload-Metadata", format!("filename {}", b64("a.jpg")))
            .send()
            .expect("post"),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "sha256", "{}", r.text);
    // Another protocol version is refused before anything is created.
    let r = Reply::from(
        s.client
            .post(s.url("/v1/uploads"))
            .bearer_auth(&helper.access)
            .header("Tus-Resumable", "2.0.0")
            .header("Upload-Length", "100")
            .send()
            .expect("post"),
    );
    r.assert_problem(412, "tus_version_unsupported");
    assert_eq!(r.header("tus-version"), Some("1.0.0"));

    // Termination.
    let other = jpeg(300, 73, false);
    let (_, gone) = create(&s, &helper, other.len(), &sha(&other));
    let r = Reply::from(
        s.client
            .delete(s.url(&gone))
            .bearer_auth(&helper.access)
            .header(TUS.0, TUS.1)
            .send()
            .expect("delete"),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(head(&s, &helper, &gone).status, 404);

    // A file whose bytes are not the ones declared is refused when it completes, and gone.
    let mut forged = other.clone();
    forged[other.len() - 5] ^= 0xFF;
    let (_, wrong) = create(&s, &helper, other.len(), &sha(&other));
    tus_patch(&s, &helper, &wrong, 0, &forged).assert_problem(422, "hash_mismatch");
    assert_eq!(head(&s, &helper, &wrong).status, 404);

    // Expiration: an upload left alone past Upload-Expires is gone.
    let (created, idle) = create(&s, &helper, other.len(), &sha(&other));
    assert!(expires_in_a_day(&created), "{:?}", created.headers);
    tus_patch(&s, &helper, &idle, 0, &other[..1000]);
    s.advance(chrono::Duration::hours(25));
    assert_eq!(head(&s, &helper, &idle).status, 404);
    tus_patch(&s, &helper, &idle, 1000, &other[1000..]).assert_problem(404, "not_found");
}

#[test]
fn a_post_with_method_override_reaches_patch_routes_and_other_overrides_are_refused() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    const OVERRIDE: &str = "X-HTTP-Method-Override";

    // An upload's chunk, as a mini-program sends it with wx.request.
    let photo = jpeg(200, 74, false);
    let started = crate::photos::start_upload(&s, &helper, &photo, "photo");
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.body["id"].as_str().expect("id");
    let r = Reply::from(
        s.client
            .post(s.url(&format!("/v1/uploads/{id}")))
            .bearer_auth(&helper.access)
            .header(OVERRIDE, "PATCH")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .body(photo.clone())
            .send()
            .expect("post"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "complete");

    // A household's correction.
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = s.register_household(&officer, &village);
    let path = format!("/v1/households/{household}");
    let read = s.call("GET", &path, Some(&officer.access), None);
    let etag = read.header("etag").expect("ETag").to_owned();
    let r = s.call_with(
        "POST",
        &path,
        Some(&officer.access),
        Some(json!({"address": "三组 14 号"})),
        &[(OVERRIDE, "PATCH"), ("If-Match", &etag)],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["address"], "三组 14 号");
    // Without the override a POST there is still not a PATCH.
    let r = s.call("POST", &path, Some(&officer.access), Some(json!({})));
    r.assert_problem(405, "method_not_allowed");

    // Only a POST, and only to PATCH.
    for (method, value) in [
        ("POST", "DELETE"),
        ("POST", "PUT"),
        ("GET", "PATCH"),
        ("PUT", "PATCH"),
    ] {
        let r = s.call_with(
            method,
            &path,
            Some(&officer.access),
            None,
            &[(OVERRIDE, value)],
        );
        r.assert_problem(400, "method_override_refused");
        assert!(
            r.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(OVERRIDE)),
            "{}",
            r.text
        );
    }
    let r = s.call("GET", &path, Some(&officer.access), None);
    assert_eq!(r.body["address"], "三组 14 号", "nothing else changed it");
}

/// A multipart form as `wx.uploadFile` builds it: `formData` fields, then the file.
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----WeChatFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file_name, value) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_form(s: &TestServer, who: &Session, parts: &[(&str, Option<&str>, &[u8])]) -> Reply {
    let (content_type, body) = form(parts);
    s.raw(
        "POST",
        "/v1/uploads",
        Some(&who.access),
        &content_type,
        body,
    )
}

fn fields(r: &Reply) -> Vec<&str> {
    r.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect()
}

#[test]
fn a_mini_program_uploads_a_file_as_a_multipart_form() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(400, 75, true);
    let digest = sha(&photo);

    let r = post_form(
        &s,
        &helper,
        &[
            ("sha256", None, digest.as_bytes()),
            ("kind", None, b"photo"),
            ("household", None, b"ignored"),
            ("file", Some("tmp_3f2a.jpg"), &photo),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["state"], "complete");
    assert_eq!(r.body["blob"]["sha256"], digest.as_str());
    assert_eq!(r.body["blob"]["media_type"], "image/jpeg");
    assert_eq!(r.body["blob"]["width"], 400);
    // Sent again: already held.
    let again = post_form(
        &s,
        &helper,
        &[
            ("file", Some("tmp_3f2a.jpg"), &photo),
            ("kind", None, b"photo"),
            ("sha256", None, digest.as_bytes()),
        ],
    );
    assert_eq!(
        (again.status, again.body["state"].as_str()),
        (200, Some("complete"))
    );

    // The fields may come after the file.
    let other = jpeg(100, 76, false);
    let r = post_form(
        &s,
        &helper,
        &[
            ("file", Some("tmp_77.jpg"), &other),
            ("sha256", None, sha(&other).as_bytes()),
            ("kind", None, b"photo"),
        ],
    );
    assert_eq!(
        (r.status, r.body["state"].as_str()),
        (201, Some("complete")),
        "{}",
        r.text
    );

    // What is missing is named, all at once.
    let r = post_form(
        &s,
        &helper,
        &[
            ("sha256", None, digest.as_bytes()),
            ("kind", None, b"photo"),
        ],
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(fields(&r), ["file"]);
    let r = post_form(&s, &helper, &[("file", Some("tmp.jpg"), &photo)]);
    r.assert_problem(422, "validation_failed");
    assert_eq!(fields(&r), ["sha256", "kind"]);
    let r = post_form(
        &s,
        &helper,
        &[
            ("sha256", None, b"abc"),
            ("kind", None, b"photo"),
            ("file", Some("t.jpg"), &photo),
        ],
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(fields(&r), ["sha256"]);
    // The file is verified as any other.
    let text = b"words saved as a .jpg".repeat(8);
    let r = post_form(
        &s,
        &helper,
        &[
            ("sha256", None, sha(&text).as_bytes()),
            ("kind", None, b"photo"),
            ("file", Some("t.jpg"), &text),
        ],
    );
    r.assert_problem(422, "unsupported_file_type");
    let mut forged = other.clone();
    forged[other.len() - 5] ^= 0xFF;
    let r = post_form(
        &s,
        &helper,
        &[
            ("sha256", None, sha(&jpeg(100, 77, false)).as_bytes()),
            ("kind", None, b"photo"),
            ("file", Some("t.jpg"), &forged),
        ],
    );
    r.assert_problem(422, "hash_mismatch");
    // Nothing of the refused files is left open.
    let out = s.call("GET", "/v1/uploads", Some(&helper.access), None);
    assert_eq!(out.body["open"], json!([]), "{}", out.text);
}
