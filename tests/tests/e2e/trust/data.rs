//! Personal data sealed wherever it is stored, money that cannot overflow, files that are
//! what they claim and no larger than they may be, and limits per account.

use bangfu_e2e::{Session, TestServer, hlc, new_id, resident_id};
use serde_json::json;

use crate::photos::{start_upload, upload};

#[test]
fn id_numbers_in_corrections_are_sealed_and_shown_masked() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = s.register_household(&officer, &village);
    let helper = s.device_session("qingshan_helper");
    let (current, _) = resident_id(true);
    let (proposed, _) = resident_id(true);
    let id = new_id();
    let r = s.push(
        &helper,
        vec![json!({"mutation_id": new_id(), "entity": "correction", "id": id, "base_version": 0, "hlc": hlc(0, "h"),
            "fields": {"region_id": village, "household_id": household, "field": "members.0.id_number",
                       "current_value": current, "proposed_value": proposed,
                       "reason": format!("身份证号 {proposed} 为新证")}})],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);

    let secretary = s.device_session("qingshan_secretary");
    for who in [&helper, &secretary] {
        let (changes, _) = s.pull_all(who, None);
        let text = serde_json::to_string(&changes).expect("json");
        assert!(text.contains(&id), "the correction is pulled");
        assert!(
            !text.contains(&current) && !text.contains(&proposed),
            "full ID number in a pull"
        );
    }
    let audit = s.call(
        "GET",
        "/v1/audit?limit=500",
        Some(&s.login("auditor").access),
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(
        !audit.text.contains(&current) && !audit.text.contains(&proposed),
        "full ID number in the audit log"
    );

    // Masked for whoever reads it; open only to an officer who asks, and that is recorded.
    let masked = s.call(
        "GET",
        &format!("/v1/corrections/{id}"),
        Some(&officer.access),
        None,
    );
    assert_eq!(masked.status, 200, "{}", masked.text);
    assert!(!masked.text.contains(&proposed));
    s.call(
        "GET",
        &format!("/v1/corrections/{id}?unmask=true&reason=核对身份信息"),
        Some(&secretary.access),
        None,
    )
    .assert_problem(403, "forbidden");
    let open = s.call(
        "GET",
        &format!("/v1/corrections/{id}?unmask=true&reason=核对身份信息"),
        Some(&officer.access),
        None,
    );
    assert_eq!(open.status, 200, "{}", open.text);
    assert_eq!(open.body["proposed_value"], proposed.as_str());
    assert_eq!(open.body["current_value"], current.as_str());
    let audit = s.call(
        "GET",
        &format!("/v1/audit?entity_id={id}"),
        Some(&s.login("auditor").access),
        None,
    );
    assert!(audit.text.contains("unmask"), "{}", audit.text);
}

#[test]
fn money_out_of_range_is_refused_not_wrapped() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let household = json!({"region_id": village, "members": 3, "annual_income_fen": 2_400_000});
    let r = s.call(
        "POST",
        "/v1/aid-checks",
        Some(&officer.access),
        Some(
            json!({"household": household, "category": "deep", "kind": "living", "amount_fen": 100,
                    "paid_this_year": [{"kind": "living", "amount_fen": i64::MAX},
                                       {"kind": "living", "amount_fen": i64::MAX}]}),
        ),
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        r.body["errors"][0]["field"], "paid_this_year[0].amount_fen",
        "{}",
        r.text
    );
    assert_eq!(r.body["errors"][0]["code"], "out_of_range");
    // The server is still there.
    assert_eq!(s.call("GET", "/health", None, None).status, 200);
}

/// A 16,000 × 16,000 PNG of zeros compresses to well under a megabyte.
fn png_bomb(side: u32) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; side as usize + 1];
    for _ in 0..side {
        z.write_all(&row).expect("deflate");
    }
    let data = z.finish().expect("deflate");
    let chunk = |out: &mut Vec<u8>, kind: &[u8], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn pictures_too_large_to_decode_and_files_that_hide_a_page_are_refused() {
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let bomb = png_bomb(16_000);
    assert!(bomb.len() < 1_000_000, "{}", bomb.len());
    let r = upload(&s, &helper, &bomb, "photo");
    r.assert_problem(422, "image_too_large");

    let page = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(page);
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend_from_slice(page);
    for (bytes, kind) in [(heic, "photo"), (pdf, "document")] {
        let r = upload(&s, &helper, &bytes, kind);
        r.assert_problem(422, "unsupported_file_type");
    }
}

#[test]
fn open_uploads_and_devices_are_limited_per_account() {
    let s = TestServer::start();
    let mut phones: Vec<Session> = Vec::new();
    for _ in 0..3 {
        phones.push(s.device_session("qingshan_helper"));
    }
    let mut open = 0;
    let mut refused = None;
    'outer: for phone in &phones {
        for i in 0..8 {
            let bytes = format!("photo {i} of {} {}", phone.access.len(), new_id()).into_bytes();
            let r = start_upload(&s, phone, &bytes, "photo");
            if r.status == 201 {
                open += 1;
            } else {
                refused = Some(r);
                break 'outer;
            }
        }
    }
    let r = refused.expect("an account's open uploads are bounded");
    r.assert_problem(409, "too_many_open_uploads");
    assert_eq!(open, 16);

    // Devices too: a few phones an account may hold at once.
    let first = s.login("hekou_helper");
    let mut last = None;
    for i in 0..11 {
        let r = s.call(
            "POST",
            "/v1/devices",
            Some(&first.access),
            Some(json!({"name": format!("phone {i}"), "platform": "android"})),
        );
        last = Some(r);
        if last.as_ref().is_some_and(|r| r.status != 201) {
            break;
        }
    }
    last.expect("answer")
        .assert_problem(409, "too_many_devices");
}
