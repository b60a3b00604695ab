//! Slow clients on a real socket: a client trickling its headers or its body one byte a
//! second is cut off (headers by actix's request timeout, bodies by the pace floor) while
//! everyone else is served as usual, and an upload cut off for its pace keeps what arrived.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bangfu::infra::http::pace::BodyPace;
use bangfu_e2e::{TestDb, TestServer, backend};

use crate::photos::{jpeg, start_upload};

/// Connects and sends `head` whole, then `trickle` one byte a second until the server
/// answers or closes; returns (seconds until then, what it answered).
fn trickler(addr: String, head: Vec<u8>, trickle: Vec<u8>) -> (f64, String) {
    let mut sock = TcpStream::connect(&addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_millis(1000)))
        .expect("timeout");
    let t = Instant::now();
    sock.write_all(&head).expect("head");
    let mut answer = Vec::new();
    for b in trickle.iter().cycle() {
        if sock.write_all(&[*b]).is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                // Read the rest of the answer; the server closes after it.
                let _ = sock.read_to_end(&mut answer);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        assert!(t.elapsed() < Duration::from_secs(60), "never cut off");
    }
    (
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&answer).into_owned(),
    )
}

#[test]
fn trickling_clients_are_cut_off_while_others_are_served() {
    let pace = BodyPace {
        grace: Duration::from_secs(2),
        min_rate: 1_000,
    };
    let s = TestServer::start_configured(TestDb::new(backend()), |c| c.body_pace = pace);
    let helper = s.device_session("qingshan_helper");
    let addr = s.base.trim_start_matches("http://").to_owned();

    // An upload whose chunk stops after 3,000 bytes: cut off once its allowance (2 s plus
    // 3 s earned) runs out, keeping the 3,000 bytes.
    let photo = jpeg(96, 41, false);
    assert!(photo.len() > 3_000);
    let up = start_upload(&s, &helper, &photo, "photo");
    assert_eq!(up.status, 201, "{}", up.text);
    let up_id = up.body["id"].as_str().expect("id").to_owned();
    let patch_head = format!(
        "PATCH /v1/uploads/{up_id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        helper.access,
        photo.len()
    );

    let mut threads = Vec::new();
    for _ in 0..10 {
        // Headers, one byte a second, never finished.
        let head = Vec::new();
        let trickle = format!("GET /v1/me HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").into_bytes();
        let a = addr.clone();
        threads.push((
            "headers",
            std::thread::spawn(move || trickler(a, head, trickle)),
        ));
    }
    for _ in 0..10 {
        // A push whose body comes one byte a second.
        let head = format!(
            "POST /v1/sync/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Bangfu-Sync-Protocol: 1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            helper.access
        )
        .into_bytes();
        let a = addr.clone();
        threads.push((
            "body",
            std::thread::spawn(move || trickler(a, head, b"{\"mutations\":[".to_vec())),
        ));
    }
    {
        // The first 3,000 bytes go at once with the head; the rest trickles.
        let mut head = patch_head.into_bytes();
        head.extend_from_slice(&photo[..3_000]);
        let (a, rest) = (addr.clone(), photo[3_000..].to_vec());
        threads.push((
            "upload",
            std::thread::spawn(move || trickler(a, head, rest)),
        ));
    }

    // Meanwhile everyone else is served at once.
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    while t.elapsed() < Duration::from_secs(4) {
        let one = Instant::now();
        let r = s.call("GET", "/v1/me", Some(&helper.access), None);
        assert_eq!(r.status, 200, "{}", r.text);
        slowest = slowest.max(one.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a request waited {slowest:?} behind the slow clients"
    );

    let mut cut = Vec::new();
    for (kind, t) in threads {
        let (secs, answer) = t.join().expect("trickler");
        cut.push(format!("{kind} {secs:.1} s"));
        match kind {
            // actix's request timeout (10 s) answers 408 and closes.
            "headers" => assert!(
                secs < 15.0 && (answer.is_empty() || answer.starts_with("HTTP/1.1 408")),
                "header trickler: {secs:.1} s, {answer:?}"
            ),
            "body" => {
                assert!(secs < 6.0, "body trickler held for {secs:.1} s");
                assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
                assert!(answer.contains("application/problem+json"), "{answer}");
                assert!(answer.contains("\"code\":\"body_too_slow\""), "{answer}");
            }
            _ => {
                assert!(secs < 10.0, "upload trickler held for {secs:.1} s");
                assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
                assert!(answer.contains("\"code\":\"body_too_slow\""), "{answer}");
            }
        }
    }
    // The cut-off upload kept the bytes that arrived in time, and resumes from them.
    let st = s.call(
        "GET",
        &format!("/v1/uploads/{up_id}"),
        Some(&helper.access),
        None,
    );
    let kept = st.body["offset"].as_u64().expect("offset") as usize;
    assert!(
        (3_000..photo.len()).contains(&kept),
        "kept {kept} of {}",
        photo.len()
    );
    let done = crate::photos::patch(&s, &helper, &up_id, kept, &photo[kept..]);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["state"], "complete");
    eprintln!(
        "slow clients: cut off after {}; slowest other request {slowest:?}; upload kept {kept} of {} bytes",
        cut.join(", "),
        photo.len()
    );
}
