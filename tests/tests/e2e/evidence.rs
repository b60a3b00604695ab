//! Evidence integrity and review over HTTP: a picture reused for another household, a
//! photo taken 5 km from its household, a photo outside its visit's time window, each
//! flagged whichever order the record, the file, the visit and the household's location
//! arrive in; the village secretary's review queue and decision, which syncs back to the
//! phone and never moves back; audited views of originals that carry GPS.

use std::io::Cursor;
use std::time::Duration;

use bangfu_e2e::{Session, TestServer, hlc, new_id};
use serde_json::{Value, json};

use super::photos::{fetch, jpeg, photo_housekeeping, sha, upload};

const QINGSHAN: &str = "530123101001";

/// A picture of large random grey blocks (a scene with big shapes), as a JPEG of `side`
/// pixels at `quality`. The same seed at another size or quality is the same picture.
fn picture(seed: u32, side: u32, quality: u8) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    let cells: Vec<[u8; 3]> = (0..64)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let b = x.to_le_bytes();
            [b[0], b[1], b[2]]
        })
        .collect();
    let img = image::RgbImage::from_fn(side, side, |px, py| {
        image::Rgb(cells[((py * 8 / side) * 8 + px * 8 / side) as usize])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), quality)
        .encode_image(&img)
        .expect("encode");
    out
}

/// Pushes one photo record; returns its id.
fn photo(s: &TestServer, who: &Session, fields: Value) -> String {
    let id = new_id();
    let r = s.push(
        who,
        vec![
            json!({"mutation_id": new_id(), "entity": "photo", "id": id, "base_version": 0,
                    "hlc": hlc(0, "phone"), "fields": fields}),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    id
}

fn visit(s: &TestServer, who: &Session, region: &str, household: &str, at: &str) -> String {
    let id = new_id();
    let r = s.push(
        who,
        vec![json!({"mutation_id": new_id(), "entity": "visit", "id": id, "base_version": 0, "hlc": hlc(0, "phone"),
                    "fields": {"region_id": region, "household_id": household, "helper_id": who.user_id,
                               "kind": "routine", "visited_at": at}})],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    id
}

/// The photo as the review queue shows it (any status).
fn reviewed(s: &TestServer, reviewer: &Session, id: &str) -> Value {
    for status in ["pending", "approved", "rejected"] {
        let r = s.call(
            "GET",
            &format!("/v1/photo-reviews?status={status}&limit=500"),
            Some(&reviewer.access),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        if let Some(p) = r.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|p| p["id"] == id))
        {
            return p.clone();
        }
    }
    panic!("photo {id} not in the queue");
}

fn codes(p: &Value) -> Vec<String> {
    p["flags"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the photo's flags satisfy `ok` (perceptual hashes are made in the background).
fn flags_until(s: &TestServer, reviewer: &Session, id: &str, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let p = reviewed(s, reviewer, id);
        if ok(&p) {
            return p;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("photo {id}: {}", reviewed(s, reviewer, id));
}

fn reused_with(p: &Value) -> Vec<(String, bool)> {
    p["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "reused")
        .map(|f| {
            (
                f["photo_id"].as_str().unwrap_or_default().to_owned(),
                f["same_file"] == true,
            )
        })
        .collect()
}

#[test]
fn a_picture_reused_for_another_household_is_flagged_whichever_arrives_first() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let secretary = s.login("qingshan_secretary");
    let helper = s.device_session("qingshan_helper");
    let village = s.region_id(&officer.access, QINGSHAN);
    let (h1, h2) = (
        s.register_household(&officer, &village),
        s.register_household(&officer, &village),
    );
    let of = |household: &str, digest: &str| {
        json!({"region_id": village, "sha256": digest, "subject_entity": "household", "subject_id": household,
               "taken_at": "2026-11-20T02:00:00Z"})
    };
    // The original for one household: the record first, the file later.
    let original = picture(11, 640, 92);
    let first = photo(&s, &helper, of(&h1, &sha(&original)));
    assert!(codes(&reviewed(&s, &secretary, &first)).is_empty());
    assert_eq!(
        upload(&s, &helper, &original, "photo").body["state"],
        "complete"
    );
    // The same picture, smaller and recompressed (other bytes, another digest), for another
    // household: the file first, the record later.
    let copy = picture(11, 420, 60);
    assert_ne!(sha(&copy), sha(&original));
    assert_eq!(
        upload(&s, &helper, &copy, "photo").body["state"],
        "complete"
    );
    // A different picture is not confused with it.
    let other = picture(12, 640, 92);
    upload(&s, &helper, &other, "photo");
    let unrelated = photo(&s, &helper, of(&h2, &sha(&other)));
    std::thread::sleep(Duration::from_millis(300));
    let second = photo(&s, &helper, of(&h2, &sha(&copy)));

    let p = flags_until(&s, &secretary, &second, |p| !reused_with(p).is_empty());
    assert_eq!(reused_with(&p), [(first.clone(), false)], "{p}");
    let p = flags_until(&s, &secretary, &first, |p| !reused_with(p).is_empty());
    assert_eq!(reused_with(&p), [(second.clone(), false)], "{p}");
    assert_eq!(p["flags"][0]["household_id"], h2.as_str());
    assert!(
        p["flags"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&second)),
        "{p}"
    );
    // English on request.
    let en = s.call_with(
        "GET",
        "/v1/photo-reviews?flagged=true",
        Some(&secretary.access),
        None,
        &[("accept-language", "en")],
    );
    assert!(en.text.contains("nearly identical picture"), "{}", en.text);
    assert!(reused_with(&reviewed(&s, &secretary, &unrelated)).is_empty());

    // The very same file named for another household's photo: flagged as the same file.
    let third = photo(&s, &helper, of(&h2, &sha(&original)));
    let p = flags_until(&s, &secretary, &third, |p| !reused_with(p).is_empty());
    assert_eq!(reused_with(&p), [(first.clone(), true)], "{p}");
    // Another photo of the same household is no reuse of the first; of the others it is.
    let again = photo(&s, &helper, of(&h1, &sha(&original)));
    let mut p = reused_with(&flags_until(&s, &secretary, &again, |p| {
        reused_with(p).len() == 2
    }));
    p.sort();
    let mut expected = vec![(second.clone(), false), (third.clone(), true)];
    expected.sort();
    assert_eq!(p, expected);

    // Deleting the reused photo clears the flag it caused.
    let del = s.push(
        &helper,
        vec![
            json!({"mutation_id": new_id(), "entity": "photo", "id": second, "op": "delete",
                    "base_version": 1, "hlc": hlc(1, "phone"), "fields": {}}),
        ],
    );
    assert_eq!(del.body["results"][0]["status"], "applied", "{}", del.text);
    let p = reviewed(&s, &secretary, &first);
    assert!(!reused_with(&p).iter().any(|(id, _)| *id == second), "{p}");
    assert!(reused_with(&p).iter().any(|(id, _)| *id == third), "{p}");
    // The filter finds flagged photos only.
    let flagged = s.call(
        "GET",
        "/v1/photo-reviews?flagged=true",
        Some(&secretary.access),
        None,
    );
    let ids: Vec<&str> = flagged.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(ids.contains(&first.as_str()) && !ids.contains(&unrelated.as_str()));
}

/// About `m` metres north.
fn north(lat: f64, m: f64) -> f64 {
    lat + m / 111_195.0
}

#[test]
fn photos_far_from_the_household_or_outside_the_visit_window_are_flagged() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let secretary = s.login("qingshan_secretary");
    let helper = s.device_session("qingshan_helper");
    let village = s.region_id(&officer.access, QINGSHAN);
    let (lat, lng) = (25.04, 102.71);
    // A household registered with its location; it reaches the phone in pulls.
    let (id_number, birth) = bangfu_e2e::resident_id(false);
    let r = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(json!({"region_id": village, "address": "青山村五组 3 号", "location": {"lat": lat, "lng": lng},
                    "members": [{"name": "李志强", "relation": "head", "id_number": id_number,
                                 "birth_date": birth, "gender": "male"}]})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["location"], json!({"lat": lat, "lng": lng}));
    let home = r.body["id"].as_str().expect("id").to_owned();
    let (changes, _) = s.pull_all(&helper, None);
    let pulled = changes
        .iter()
        .find(|c| c["entity"] == "household" && c["id"] == home.as_str())
        .expect("household pulled");
    assert_eq!(
        pulled["fields"]["location"],
        json!({"lat": lat, "lng": lng})
    );

    let v = visit(&s, &helper, &village, &home, "2026-11-20T02:00:00Z");
    let at = |t: &str, metres: f64| {
        json!({"region_id": village, "sha256": sha(t.as_bytes()), "subject_entity": "visit", "subject_id": v,
               "household_id": home, "taken_at": t,
               "location": {"lat": north(lat, metres), "lng": lng, "accuracy_m": 10},
               "capture_device": "HUAWEI nova 12"})
    };
    let far = photo(&s, &helper, at("2026-11-20T02:10:00Z", 5_000.0));
    let late = photo(&s, &helper, at("2026-11-21T02:10:00Z", 50.0));
    let fine = photo(&s, &helper, at("2026-11-20T02:20:00Z", 50.0));
    let p = reviewed(&s, &secretary, &far);
    assert_eq!(codes(&p), ["far_from_household"], "{p}");
    let d = p["flags"][0]["distance_m"].as_u64().unwrap_or(0);
    assert!((4_950..5_050).contains(&d), "{p}");
    assert_eq!(p["capture_device"], "HUAWEI nova 12");
    assert_eq!(p["accuracy_m"], 10.0);
    // Village secretaries see distances, not coordinates.
    assert_eq!(p["location"], Value::Null);
    let seen = reviewed(&s, &officer, &far);
    assert!(seen["location"]["lat"].as_f64().is_some(), "{seen}");
    let p = reviewed(&s, &secretary, &late);
    assert_eq!(codes(&p), ["outside_subject_window"], "{p}");
    assert_eq!(p["flags"][0]["subject_at"], "2026-11-20T02:00:00Z");
    assert!(codes(&reviewed(&s, &secretary, &fine)).is_empty());

    // A photo of a visit the server does not know yet: said so, then checked when the visit
    // arrives (out of order).
    let later_visit = new_id();
    let early = photo(
        &s,
        &helper,
        json!({"region_id": village, "sha256": sha(b"early"), "subject_entity": "visit", "subject_id": later_visit,
               "household_id": home, "taken_at": "2026-11-25T09:00:00Z",
               "location": {"lat": lat, "lng": lng}}),
    );
    assert_eq!(
        codes(&reviewed(&s, &secretary, &early)),
        ["subject_missing"]
    );
    let r = s.push(
        &helper,
        vec![json!({"mutation_id": new_id(), "entity": "visit", "id": later_visit, "base_version": 0, "hlc": hlc(0, "phone"),
                    "fields": {"region_id": village, "household_id": home, "helper_id": helper.user_id,
                               "kind": "routine", "visited_at": "2026-11-22T02:00:00Z"}})],
    );
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    assert_eq!(
        codes(&reviewed(&s, &secretary, &early)),
        ["outside_subject_window"]
    );

    // The app's clock and place against EXIF (2026-11-20 09:30 local, in Kunming): a file
    // whose EXIF disagrees with the app is flagged once the file arrives.
    let with_exif = jpeg(64, 21, true);
    let mismatch = photo(
        &s,
        &helper,
        json!({"region_id": village, "sha256": sha(&with_exif), "subject_entity": "household",
               "subject_id": home, "taken_at": "2026-11-23T01:30:00Z",
               "location": {"lat": 25.04, "lng": 102.71, "accuracy_m": 5}}),
    );
    assert!(codes(&reviewed(&s, &secretary, &mismatch)).is_empty());
    upload(&s, &helper, &with_exif, "photo");
    assert_eq!(
        codes(&reviewed(&s, &secretary, &mismatch)),
        ["exif_time_mismatch"]
    );

    // A household without a location at first: its photo is checked once one is recorded.
    let elsewhere = s.register_household(&officer, &village);
    let moved = photo(
        &s,
        &helper,
        json!({"region_id": village, "sha256": sha(b"moved"), "subject_entity": "household",
               "subject_id": elsewhere, "taken_at": "2026-11-20T02:00:00Z",
               "location": {"lat": lat, "lng": lng, "accuracy_m": 10}}),
    );
    assert!(codes(&reviewed(&s, &secretary, &moved)).is_empty());
    let got = s.call(
        "GET",
        &format!("/v1/households/{elsewhere}"),
        Some(&secretary.access),
        None,
    );
    let etag = got.header("etag").expect("etag").to_owned();
    let patch = |body: Value, tag: &str| {
        s.call_with(
            "PATCH",
            &format!("/v1/households/{elsewhere}"),
            Some(&secretary.access),
            Some(body),
            &[("if-match", tag)],
        )
    };
    patch(json!({"location": {"lat": 95.0, "lng": lng}}), &etag)
        .assert_problem(422, "validation_failed");
    let r = patch(
        json!({"location": {"lat": north(lat, 5_000.0), "lng": lng}}),
        &etag,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["version"], 2);
    patch(json!({"location": null}), &etag).assert_problem(412, "version_mismatch");
    s.call(
        "PATCH",
        &format!("/v1/households/{elsewhere}"),
        Some(&secretary.access),
        Some(json!({"location": null})),
    )
    .assert_problem(428, "if_match_required");
    assert_eq!(
        codes(&reviewed(&s, &secretary, &moved)),
        ["far_from_household"]
    );
    // The helper learns of the new location in the next pull; helpers may not change it.
    let (changes, _) = s.pull_all(&helper, None);
    assert!(changes.iter().any(
        |c| c["id"] == elsewhere.as_str() && c["fields"]["location"]["lat"].as_f64().is_some()
    ));
    s.call_with(
        "PATCH",
        &format!("/v1/households/{elsewhere}"),
        Some(&helper.access),
        Some(json!({"address": "别处"})),
        &[("if-match", "\"2\"")],
    )
    .assert_problem(403, "forbidden");

    // Flags are worked out again from the records, e.g. for photos indexed by an upgrade.
    s.db.execute("UPDATE photo_evidence SET checked = FALSE, flags = '[]', flag_count = 0")
        .expect("forget flags");
    assert!(codes(&reviewed(&s, &secretary, &far)).is_empty());
    photo_housekeeping(&s);
    assert_eq!(
        codes(&reviewed(&s, &secretary, &far)),
        ["far_from_household"]
    );
    assert_eq!(
        codes(&reviewed(&s, &secretary, &early)),
        ["outside_subject_window"]
    );
}

#[test]
fn the_secretary_reviews_each_photo_and_the_decision_syncs_back() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let secretary = s.device_session("qingshan_secretary");
    let helper = s.device_session("qingshan_helper");
    let village = s.region_id(&officer.access, QINGSHAN);
    let home = s.register_household(&officer, &village);
    let roof = picture(31, 300, 90);
    let fields = |digest: &str| {
        json!({"region_id": village, "sha256": digest, "subject_entity": "household", "subject_id": home,
               "taken_at": "2026-11-20T02:00:00Z", "caption": "新修的屋顶"})
    };
    let id = photo(&s, &helper, fields(&sha(&roof)));
    let decide = |who: &Session, body: Value| {
        s.call(
            "POST",
            &format!("/v1/photo-reviews/{id}/decision"),
            Some(&who.access),
            Some(body),
        )
    };
    let reject = json!({"decision": "rejected", "reason": "看不清屋顶，请重拍。"});

    // A phone cannot review: not even its own photo, not by sync.
    let r = s.push(
        &helper,
        vec![json!({"mutation_id": new_id(), "entity": "photo", "id": id, "base_version": 1, "hlc": hlc(1, "phone"),
                    "fields": {"review_status": "approved"}})],
    );
    assert_eq!(r.body["results"][0]["status"], "rejected", "{}", r.text);
    assert_eq!(
        r.body["results"][0]["problem"]["code"],
        "review_by_reviewer"
    );
    decide(&helper, reject.clone()).assert_problem(403, "forbidden");
    decide(&officer, reject.clone()).assert_problem(403, "forbidden");
    // The queue and the backlog show it, pending; its file has not arrived.
    let p = reviewed(&s, &secretary, &id);
    assert_eq!(p["review_status"], "pending");
    assert_eq!(p["file"], Value::Null);
    assert_eq!(p["author_id"], helper.user_id.as_str());
    decide(&secretary, reject.clone()).assert_problem(409, "photo_file_missing");
    let backlog = s.call(
        "GET",
        "/v1/photo-reviews/backlog",
        Some(&officer.access),
        None,
    );
    assert_eq!(backlog.status, 200, "{}", backlog.text);
    let row = &backlog.body["items"][0];
    assert_eq!(row["region_id"], village.as_str());
    assert_eq!(row["region_name"], "青山村");
    assert_eq!(row["pending"], 1);
    assert_eq!(row["secretary_ids"], json!([secretary.user_id]));
    s.call("GET", "/v1/photo-reviews", Some(&helper.access), None)
        .assert_problem(403, "forbidden");

    upload(&s, &helper, &roof, "photo");
    assert_eq!(reviewed(&s, &secretary, &id)["file"]["sha256"], sha(&roof));
    // Rejecting needs a reason.
    decide(&secretary, json!({"decision": "rejected"})).assert_problem(422, "validation_failed");
    let r = decide(&secretary, reject.clone());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["review_status"], "rejected");
    assert_eq!(r.body["review_reason"], "看不清屋顶，请重拍。");
    assert_eq!(r.body["reviewed_by"], secretary.user_id.as_str());
    // Asking again gives the same answer; changing one's mind is refused.
    let again = decide(&secretary, reject.clone());
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["reviewed_at"], r.body["reviewed_at"]);
    decide(&secretary, json!({"decision": "approved"}))
        .assert_problem(409, "photo_already_reviewed");
    assert_eq!(
        s.call(
            "GET",
            "/v1/photo-reviews/backlog",
            Some(&officer.access),
            None
        )
        .body["items"],
        json!([])
    );

    // The decision reaches the helper's phone as a change of its photo record.
    let (changes, _) = s.pull_all(&helper, None);
    let mine = changes
        .iter()
        .find(|c| c["entity"] == "photo" && c["id"] == id.as_str())
        .expect("photo pulled");
    assert_eq!(mine["fields"]["review_status"], "rejected");
    assert_eq!(mine["fields"]["review_reason"], "看不清屋顶，请重拍。");
    assert_eq!(mine["fields"]["reviewed_by"], secretary.user_id.as_str());
    assert_eq!(mine["fields"]["caption"], "新修的屋顶");
    assert_eq!(mine["version"], 2);
    // The phone may still edit the caption, but not move the review back.
    let edit = |fields: Value| {
        s.push(
            &helper,
            vec![
                json!({"mutation_id": new_id(), "entity": "photo", "id": id, "base_version": 2,
                        "hlc": hlc(2, "phone"), "fields": fields}),
            ],
        )
    };
    // Review fields are the server's: moving the review back is refused.
    let r = edit(json!({"review_status": "pending"}));
    assert_eq!(
        r.body["results"][0]["problem"]["code"], "server_only_field",
        "{}",
        r.text
    );
    let r = edit(json!({"review_reason": null}));
    assert_eq!(
        r.body["results"][0]["problem"]["code"], "server_only_field",
        "{}",
        r.text
    );
    let r = edit(json!({"caption": "屋顶（重拍前）"}));
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let p = reviewed(&s, &secretary, &id);
    assert_eq!(
        (p["review_status"].as_str(), p["review_reason"].as_str()),
        (Some("rejected"), Some("看不清屋顶，请重拍。"))
    );

    // The decision is in the audit log, by the secretary, with the reason.
    let admin = s.login("admin");
    let log = s.call(
        "GET",
        &format!("/v1/audit?entity=photo&entity_id={id}"),
        Some(&admin.access),
        None,
    );
    assert!(
        log.body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| {
                e["actor_id"] == secretary.user_id.as_str()
                    && e["changes"]["review_status"]["after"] == "rejected"
                    && e["changes"]["review_reason"]["after"] == "看不清屋顶，请重拍。"
            })),
        "{}",
        log.text
    );

    // Not one's own photos; not photos outside one's village.
    let selfie = picture(32, 300, 90);
    let own = photo(&s, &secretary, fields(&sha(&selfie)));
    upload(&s, &secretary, &selfie, "photo");
    s.call(
        "POST",
        &format!("/v1/photo-reviews/{own}/decision"),
        Some(&secretary.access),
        Some(json!({"decision": "approved"})),
    )
    .assert_problem(403, "own_photo");
    let hekou = s.device_session("hekou_helper");
    let far_village = s.region_id(&s.login("admin").access, "530123102001");
    let theirs = photo(
        &s,
        &hekou,
        json!({"region_id": far_village, "sha256": sha(&roof), "subject_entity": "household", "subject_id": new_id(),
               "taken_at": "2026-11-20T02:00:00Z"}),
    );
    s.call(
        "POST",
        &format!("/v1/photo-reviews/{theirs}/decision"),
        Some(&secretary.access),
        Some(json!({"decision": "approved"})),
    )
    .assert_problem(404, "not_found");
    // The secretary's phone may decide a pending photo once, by sync (with a reason to
    // reject); not change it afterwards.
    let by_phone = photo(&s, &helper, fields(&sha(&roof)));
    let review = |f: Value| {
        s.push(
            &secretary,
            vec![json!({"mutation_id": new_id(), "entity": "photo", "id": by_phone, "base_version": 1,
                        "hlc": hlc(0, "s"), "fields": f})],
        )
    };
    let r = review(json!({"review_status": "rejected"}));
    assert_eq!(
        r.body["results"][0]["problem"]["code"], "review_by_reviewer",
        "{}",
        r.text
    );
    let r = review(json!({"review_status": "rejected", "review_reason": "重拍"}));
    assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.text);
    let r = review(json!({"review_status": "approved"}));
    assert_eq!(
        r.body["results"][0]["problem"]["code"], "review_by_reviewer",
        "{}",
        r.text
    );
    assert_eq!(
        reviewed(&s, &secretary, &by_phone)["review_status"],
        "rejected"
    );
    // Approving is final too.
    let second = photo(&s, &helper, fields(&sha(&roof)));
    let r = s.call(
        "POST",
        &format!("/v1/photo-reviews/{second}/decision"),
        Some(&secretary.access),
        Some(json!({"decision": "approved"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["review_status"], "approved");
    let approved = s.call(
        "GET",
        "/v1/photo-reviews?status=approved",
        Some(&secretary.access),
        None,
    );
    assert_eq!(approved.body["items"][0]["id"], second.as_str());
}

#[test]
fn viewing_an_original_that_carries_gps_is_audited() {
    let s = TestServer::start();
    let officer = s.login("qingshan_officer");
    let helper = s.device_session("qingshan_helper");
    let village = s.region_id(&officer.access, QINGSHAN);
    let with_gps = jpeg(64, 41, true);
    let without = jpeg(64, 42, false);
    for f in [&with_gps, &without] {
        upload(&s, &helper, f, "photo");
        photo(
            &s,
            &helper,
            json!({"region_id": village, "sha256": sha(f), "subject_entity": "household", "subject_id": new_id(),
                   "taken_at": "2026-11-20T02:00:00Z"}),
        );
    }
    let unmasked = |s: &TestServer| {
        let admin = s.login("admin");
        let log = s.call(
            "GET",
            "/v1/audit?entity=photo_file&action=unmask",
            Some(&admin.access),
            None,
        );
        assert_eq!(log.status, 200, "{}", log.text);
        log.body["items"].as_array().cloned().unwrap_or_default()
    };
    let (status, _, body) = fetch(&s, &officer, &format!("/v1/photos/{}", sha(&with_gps)), &[]);
    assert_eq!((status, body == with_gps), (200, true));
    let (status, _, _) = fetch(&s, &officer, &format!("/v1/photos/{}", sha(&without)), &[]);
    assert_eq!(status, 200);
    let entries = unmasked(&s);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["entity_id"], sha(&with_gps));
    assert_eq!(entries[0]["actor_id"], officer.user_id.as_str());
}
