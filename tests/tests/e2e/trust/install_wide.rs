//! Data every jurisdiction of the install shares (the working-day calendar that notice
//! periods and deadlines count, and the assistance programs applicants choose from) is
//! changed only by someone whose jurisdiction covers the whole install. An officer of one
//! county of a multi-county install must not move another county's deadlines.

use std::io::Write;
use std::process::{Command, Stdio};

use bangfu_e2e::TestServer;
use serde_json::{Value, json};

const PASSWORD: &str = "Neighbour-County-2027";

/// Runs the command line on the running server's install.
fn cli(s: &TestServer, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bangfu-e2e-server"))
        .args(args)
        .env("BANGFU_DATA_DIR", s.db.dir.path())
        .env("DATABASE_URL", &s.db.url)
        .env("BANGFU_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bangfu");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("bangfu ran");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A second county beside the demo one, each a root of the region tree, with its officer.
fn neighbour_county(s: &TestServer) -> String {
    cli(
        s,
        &[
            "region", "add", "--level", "county", "--code", "530124", "--name", "邻县",
        ],
        None,
    );
    cli(
        s,
        &[
            "user",
            "add",
            "--username",
            "neighbour_officer",
            "--role",
            "county_officer",
            "--region",
            "530124",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    let r = s.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"username": "neighbour_officer", "password": PASSWORD})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().expect("token").to_owned()
}

fn year_schedule(holidays: &[&str]) -> Value {
    json!({"year": 2027, "holidays": holidays, "makeup_workdays": []})
}

fn program(code: &str) -> Value {
    json!({
        "code": code, "name": "邻县专项救助", "category": "any", "aid_kinds": ["living"],
        "checklist": [{"code": "id_cards", "name": "家庭成员身份证", "required_when": null,
                       "optional": false, "accepts": ["image", "pdf"]}],
        "notice_workdays": 5
    })
}

#[test]
fn only_a_jurisdiction_over_the_whole_install_changes_the_calendar_and_programs() {
    let s = TestServer::start();
    let own = s.login("county_officer");

    // While the demo county is the install's only root, its officer keeps the calendar.
    let r = s.call(
        "PUT",
        "/v1/calendar/2027",
        Some(&own.access),
        Some(year_schedule(&["2027-01-01"])),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // A second county joins the install: neither county's officer speaks for the other.
    let neighbour = neighbour_county(&s);
    let every_day_off: Vec<String> = (1..=31).map(|d| format!("2027-03-{d:02}")).collect();
    let days: Vec<&str> = every_day_off.iter().map(String::as_str).collect();
    for token in [&neighbour, &own.access] {
        let r = s.call(
            "PUT",
            "/v1/calendar/2027",
            Some(token),
            Some(year_schedule(&days)),
        );
        r.assert_problem(403, "install_wide_data");
        let r = s.call(
            "POST",
            "/v1/programs",
            Some(token),
            Some(program("neighbour_aid")),
        );
        r.assert_problem(403, "install_wide_data");
    }

    // Nothing was half-written: the calendar is the one the demo county's officer loaded,
    // and no program appeared.
    let r = s.call("GET", "/v1/calendar/2027", Some(&neighbour), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["holidays"], json!(["2027-01-01"]), "{}", r.text);
    let r = s.call("GET", "/v1/programs", None, None);
    assert!(!r.text.contains("neighbour_aid"), "{}", r.text);
}
