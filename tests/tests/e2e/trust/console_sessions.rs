//! The console's cookie and the API's refresh token are different kinds of sign-in, and
//! neither is taken for the other: a cookie exchanged at `/v1/auth/refresh` would give its
//! holder bearer tokens that outlive the console's idle timeout, and a bearer sign-in's
//! token used as a cookie would be a console session that never idles out.

use bangfu_e2e::{DEMO_PASSWORD, TestServer};
use serde_json::json;

fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in at the console's form; answers the session cookie's value.
fn console_sign_in(s: &TestServer, username: &str) -> String {
    let r = no_redirects()
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={username}&password={DEMO_PASSWORD}&next=%2F"
        ))
        .send()
        .expect("sign in");
    assert_eq!(r.status().as_u16(), 303, "console sign-in of {username}");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.strip_prefix("bangfu_console="))
        .find(|v| !v.is_empty())
        .map(str::to_owned)
        .expect("a session cookie")
}

/// The status of the work list for a browser holding `cookie`: 200 when it is a session,
/// a 303 to the sign-in page when not.
fn work_list(s: &TestServer, cookie: &str) -> (u16, String) {
    let r = no_redirects()
        .get(s.url("/"))
        .header("cookie", format!("bangfu_console={cookie}"))
        .send()
        .expect("work list");
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status().as_u16(), to)
}

#[test]
fn a_console_cookie_is_not_an_api_refresh_token() {
    let s = TestServer::start();
    let cookie = console_sign_in(&s, "qingshan_officer");
    assert_eq!(work_list(&s, &cookie).0, 200);

    let r = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": cookie})),
    );
    r.assert_problem(401, "refresh_token_invalid");
    // Refused without being spent: the browser stays signed in.
    assert_eq!(work_list(&s, &cookie).0, 200);
}

#[test]
fn an_api_refresh_token_is_not_a_console_cookie() {
    let s = TestServer::start();
    let api = s.login("qingshan_officer");
    let (status, to) = work_list(&s, &api.refresh);
    assert_eq!(status, 303);
    assert!(to.starts_with("/login"), "sent to {to}");

    // The API's sign-in is untouched: its refresh token still works, once.
    let r = s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": api.refresh})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}
