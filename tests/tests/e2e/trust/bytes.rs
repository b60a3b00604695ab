//! One reach rule for stored bytes: a file is served only through a record the caller may
//! see that names it, attached by someone entitled to attach it.

use serde_json::json;

use crate::applications::{self, applicant, body, material, program};
use crate::photos::{fetch, jpeg, link, sha, upload};

/// An applicant names a 青山 evidence photo (GPS and all) as a material of an application
/// filed in 河口村: neither the applicant nor 河口乡's officer gets its bytes, while the
/// applicant's own uploads are served to both.
#[test]
fn an_application_serves_only_what_its_applicant_uploaded() {
    let s = applications::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(200, 41, true);
    let digest = sha(&photo);
    assert_eq!(upload(&s, &helper, &photo, "photo").status, 200);
    link(&s, &helper, "530123101001", &digest);

    let me = applicant(&s, "bytes");
    let p = program(&s, "worker_hardship");
    let hekou = s.login("hekou_officer");
    let village = s.region_id(&hekou.access, "530123102001");
    let own = material(&s, &me, "id_cards");
    let foreign =
        json!({"code": "household_register", "sha256": digest, "file_name": "户口簿.jpg"});
    let r = s.call(
        "POST",
        "/v1/applications",
        Some(&me),
        Some(body(
            &p,
            &village,
            &bangfu_e2e::resident_id(true),
            vec![own.clone(), foreign],
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();

    let foreign_path = format!("/v1/applications/{id}/materials/{digest}");
    let r = s.call("GET", &foreign_path, Some(&me), None);
    r.assert_problem(404, "not_found");
    let (status, _, got) = fetch(&s, &hekou, &foreign_path, &[]);
    assert_eq!(
        status, 404,
        "河口乡's officer got a 青山 photo through an application"
    );
    assert_ne!(got, photo);

    // What the applicant sent is theirs to see, and the officer's whose region holds it.
    let own_path = format!(
        "/v1/applications/{id}/materials/{}",
        own["sha256"].as_str().expect("sha")
    );
    assert_eq!(s.call("GET", &own_path, Some(&me), None).status, 200);
    assert_eq!(fetch(&s, &hekou, &own_path, &[]).0, 200);
    // Not to an officer of another township.
    let qingshan = s.login("qingshan_officer");
    assert_eq!(fetch(&s, &qingshan, &own_path, &[]).0, 404);
}

/// The photo of a 青山 helper named in a photo record of a 河口 helper: the record shows,
/// the bytes do not (the record's author never sent them).
#[test]
fn naming_someone_elses_digest_in_a_photo_record_reaches_nothing() {
    let s = bangfu_e2e::TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(200, 42, true);
    let digest = sha(&photo);
    assert_eq!(upload(&s, &helper, &photo, "photo").status, 200);
    link(&s, &helper, "530123101001", &digest);
    let other = s.device_session("hekou_helper");
    link(&s, &other, "530123102001", &digest);
    for size in ["original", "medium", "thumb"] {
        let (status, _, _) = fetch(&s, &other, &format!("/v1/photos/{digest}?size={size}"), &[]);
        assert_eq!(status, 404, "{size}");
    }
}
