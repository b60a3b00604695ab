//! `bangfu-field`, the phone in a terminal, driven command by command against the server.

use bangfu_e2e::{TestServer, new_id};
use bangfu_sync::client::{ClientError, cli};

fn field(s: &TestServer, store: &str, args: &[&str], input: &str) -> Result<String, ClientError> {
    let mut argv = vec!["bangfu-field", "--store", store, "--server", &s.base];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    cli::run(argv, &mut input.as_bytes(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn a_helper_captures_offline_and_syncs_from_the_command_line() {
    let s = TestServer::start();
    let county = s.login("county_officer");
    let village = s.region_id(&county.access, "530123101001");
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("phone.db");
    let store = store.to_string_lossy();
    let run = |args: &[&str]| field(&s, &store, args, "");

    let out = field(
        &s,
        &store,
        &["login", "qingshan_helper"],
        &format!("{}\n", bangfu_e2e::DEMO_PASSWORD),
    )
    .expect("login");
    assert_eq!(out.trim(), "signed in as qingshan_helper");
    assert!(run(&["pull"]).expect("pull").starts_with("received "));

    // Captured offline: it waits in the outbox and is shown already.
    let household = s.register_household(&county, &village);
    let out = run(&[
        "visit",
        "--region",
        &village,
        "--household",
        &household,
        "--not-met",
        "safe_housing",
        "--notes",
        "屋顶漏雨",
    ])
    .expect("visit");
    assert!(out.contains("recorded (1 change(s) waiting)"), "{out}");
    assert_eq!(
        run(&["status"]).expect("status").trim(),
        "1 change(s) waiting"
    );
    let shown = run(&["show", "visit"]).expect("show");
    assert!(
        shown.contains("屋顶漏雨") && shown.contains("\"pending\": 1"),
        "{shown}"
    );

    let out = run(&["sync"]).expect("sync");
    assert!(
        out.starts_with("sent 1 (applied 1, conflicts 0, refused 0)"),
        "{out}"
    );
    assert_eq!(
        run(&["status"]).expect("status").trim(),
        "0 change(s) waiting"
    );
    let shown = run(&["show", "visit"]).expect("show");
    assert!(
        shown.contains("\"version\": 1")
            && shown.contains("\"pending\": 0")
            && shown.contains("not_met"),
        "{shown}"
    );

    // The server has it, for the township officer too.
    let officer = s.device_session("qingshan_officer");
    let (changes, _) = s.pull_all(&officer, None);
    assert!(
        changes
            .iter()
            .any(|c| c["entity"] == "visit" && c["fields"]["household_id"] == household.as_str())
    );

    // Evidence cannot be changed, even before it leaves the phone.
    let case = new_id();
    let out = run(&[
        "attempt", "--region", &village, "--case", &case, "--result", "refused",
    ])
    .expect("attempt");
    let attempt = out.split_whitespace().nth(2).expect("id").to_owned();
    let err =
        run(&["edit", "retrieval_attempt", &attempt, "result=returned"]).expect_err("immutable");
    assert!(matches!(err, ClientError::Invalid(_)), "{err}");
    assert!(
        run(&["sync"])
            .expect("sync")
            .starts_with("sent 1 (applied 1")
    );
    assert_eq!(run(&["conflicts"]).expect("conflicts"), "");

    // A command line it does not understand is a usage error, not a crash.
    assert!(matches!(run(&["fly"]), Err(ClientError::Usage(_))));
}
