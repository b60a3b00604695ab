//! The lived-in demo county: loaded through the use cases beside a running server, every
//! list a console page opens has something in it for each demo account, a helper of one
//! township sees nothing of the other's, and loading it again changes nothing.

use std::path::PathBuf;

use bangfu::demo::Added;
use bangfu::infra::config::{Config, Overrides};
use bangfu_e2e::{Session, TestServer};
use serde_json::Value;

/// The system beside a running server, on its database and data folder (as the command
/// line's tools open it).
pub(crate) fn state_of(s: &TestServer) -> bangfu::state::AppState {
    let config = Config::load(&Overrides {
        addr: None,
        data_dir: Some(PathBuf::from(s.db.dir.path())),
        database_url: Some(s.db.url.clone()),
        config: None,
    })
    .expect("config");
    bangfu::app::prepare(&config).expect("prepare")
}

/// Loads the demo county into the server's database, as `bangfu demo` does.
pub(crate) fn load_county(s: &TestServer) -> Added {
    let state = state_of(s);
    actix_web::rt::System::new()
        .block_on(bangfu::demo::county(&state, bangfu::demo::SEED))
        .expect("demo county")
}

fn items(s: &TestServer, who: &Session, path: &str) -> Vec<Value> {
    let r = s.call("GET", path, Some(&who.access), None);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn some(s: &TestServer, who: &str, session: &Session, path: &str) -> Vec<Value> {
    let got = items(s, session, path);
    assert!(!got.is_empty(), "{who}: {path} is empty");
    got
}

/// Every household a caller can list, following the cursor.
fn all_households(s: &TestServer, who: &Session) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/v1/households?limit=500".to_owned();
    loop {
        let r = s.call("GET", &path, Some(&who.access), None);
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(r.body["items"].as_array().cloned().unwrap_or_default());
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/households?limit=500&cursor={c}"),
            None => return out,
        }
    }
}

fn text(s: &TestServer, who: &Session, path: &str) -> String {
    let r = s.call("GET", path, Some(&who.access), None);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.text
}

#[test]
fn the_demo_county_looks_lived_in_for_every_role_and_loads_once() {
    let s = TestServer::start();
    let started = std::time::Instant::now();
    let added = load_county(&s);
    eprintln!("demo county loaded in {:?}: {added:?}", started.elapsed());
    assert!(added.households >= 200, "{added:?}");
    assert!(
        added.visits >= 300 && added.photos >= 100 && added.reviewed > 0,
        "{added:?}"
    );

    let officer = s.login("qingshan_officer");
    let county = s.login("county_officer");
    let qingshan = s.region_id(&county.access, "530123101");

    // The registry, by every account that reads it.
    let mut seen = std::collections::HashMap::new();
    for who in [
        "admin",
        "county_officer",
        "auditor",
        "qingshan_officer",
        "hekou_officer",
        "qingshan_secretary",
        "qingshan_helper",
        "hekou_helper",
    ] {
        let session = s.login(who);
        let homes = all_households(&s, &session);
        assert!(!homes.is_empty(), "{who} sees no household");
        seen.insert(who, homes);
    }
    assert!(seen["county_officer"].len() >= 200);
    // A helper of 河口乡 sees none of 青山镇's households.
    let qingshan_ids: Vec<&Value> = seen["qingshan_officer"].iter().map(|h| &h["id"]).collect();
    assert!(
        seen["hekou_helper"]
            .iter()
            .all(|h| !qingshan_ids.contains(&&h["id"])),
        "a helper of the other township sees 青山镇's households"
    );

    // The officers' and secretaries' pages.
    for who in [
        "county_officer",
        "qingshan_officer",
        "hekou_officer",
        "qingshan_secretary",
    ] {
        let session = s.login(who);
        some(&s, who, &session, "/v1/photo-reviews?status=pending");
        some(&s, who, &session, "/v1/applications");
        some(&s, who, &session, "/v1/work-list?view=team");
    }
    for who in ["county_officer", "qingshan_officer", "hekou_officer"] {
        some(&s, who, &s.login(who), "/v1/campaigns");
    }
    let secretary = s.login("qingshan_secretary");
    some(
        &s,
        "qingshan_secretary",
        &secretary,
        "/v1/photo-reviews?status=approved",
    );
    some(
        &s,
        "qingshan_secretary",
        &secretary,
        "/v1/photo-reviews?status=rejected",
    );
    some(
        &s,
        "qingshan_secretary",
        &secretary,
        "/v1/photo-reviews?flagged=true",
    );
    for status in [
        "draft",
        "grassroots_review",
        "county_review",
        "in_notice",
        "approved",
        "returned",
        "superseded",
        "rejected",
    ] {
        let path = format!("/v1/applications?status={status}");
        if status == "draft" {
            // A draft is its applicant's until submitted.
            continue;
        }
        some(&s, "county_officer", &county, &path);
    }
    let helper = s.login("qingshan_helper");
    some(&s, "qingshan_helper", &helper, "/v1/work-list");

    // Dropout control: the overdue case climbed to the township, and is judged step by step.
    let teacher = s.login("school_teacher");
    let list = some(&s, "school_teacher", &teacher, "/v1/work-list");
    let overdue = list
        .iter()
        .find(|d| d["kind"] == "dropout_return_deadline")
        .unwrap_or_else(|| panic!("no return deadline on the teacher's list: {list:?}"));
    assert_eq!(overdue["standing"], "overdue", "{overdue}");
    assert!(overdue["escalation_level"].as_i64() >= Some(1), "{overdue}");
    let case = overdue["subject_id"].as_str().expect("case id");
    let ev = text(
        &s,
        &officer,
        &format!("/v1/dropout-cases/{case}/evaluation"),
    );
    assert!(
        ev.contains("\"steps\"") && ev.contains("\"next_step\""),
        "{ev}"
    );
    let month = chrono::Utc::now().format("%Y-%m");
    let teaching = text(
        &s,
        &officer,
        &format!("/v1/home-teaching/compliance?month={month}"),
    );
    assert!(teaching.contains("child"), "{teaching}");

    // The sync's loose ends: conflicts to settle, a quarantined change.
    some(&s, "qingshan_secretary", &secretary, "/v1/sync/conflicts");
    some(&s, "qingshan_officer", &officer, "/v1/sync/conflicts");
    let hekou = s.login("hekou_officer");
    some(&s, "hekou_officer", &hekou, "/v1/sync/quarantine");

    // Campaigns and their progress.
    let campaigns = some(&s, "qingshan_officer", &officer, "/v1/campaigns");
    let id = campaigns[0]["id"].as_str().expect("campaign id");
    let progress = s.call(
        "GET",
        &format!("/v1/campaigns/{id}/progress"),
        Some(&officer.access),
        None,
    );
    assert_eq!(progress.status, 200, "{}", progress.text);

    // The working-day calendar of this year and the next, loaded once.
    assert_eq!(added.calendar_years, 2, "{added:?}");
    let year = chrono::Datelike::year(&(chrono::Utc::now() + chrono::Duration::hours(8)));
    for y in [year, year + 1] {
        let r = s.call(
            "GET",
            &format!("/v1/calendar/{y}"),
            Some(&county.access),
            None,
        );
        assert_eq!(r.status, 200, "{y}: {}", r.text);
        assert!(
            r.body["holidays"].as_array().is_some_and(|h| h.len() >= 13),
            "{y}: {}",
            r.text
        );
    }

    // Devices: one synced today, one behind with work waiting.
    let devices = s.call("GET", "/v1/sync/devices", Some(&county.access), None);
    assert_eq!(devices.status, 200, "{}", devices.text);
    assert!(
        devices.body["items"]
            .as_array()
            .is_some_and(|d| d.len() >= 2),
        "{}",
        devices.text
    );

    // Supervision, ledgers and the audit log.
    let metrics = text(
        &s,
        &county,
        &format!(
            "/v1/supervision/metrics?region_id={qingshan}&from={}&to={}",
            (chrono::Utc::now() - chrono::Duration::days(120)).format("%Y-%m-%d"),
            chrono::Utc::now().format("%Y-%m-%d")
        ),
    );
    assert!(metrics.contains("visit"), "{metrics}");
    for ledger in [
        "households",
        "visits",
        "payments",
        "dropout",
        "home_teaching",
    ] {
        let csv = text(&s, &county, &format!("/v1/ledgers/{ledger}?format=csv"));
        assert!(csv.lines().count() > 2, "{ledger}: {csv}");
    }
    for who in ["admin", "auditor"] {
        let session = s.login(who);
        some(&s, who, &session, "/v1/audit?entity=visit");
    }

    // Loading again changes nothing.
    let admin = s.login("admin");
    let audit_before = items(&s, &admin, "/v1/audit?entity=household&limit=500").len();
    let again = load_county(&s);
    assert_eq!(again, Added::default(), "the second load added {again:?}");
    assert_eq!(
        all_households(&s, &county).len(),
        seen["county_officer"].len()
    );
    assert_eq!(
        items(&s, &admin, "/v1/audit?entity=household&limit=500").len(),
        audit_before
    );
}
