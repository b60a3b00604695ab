//! Applicants' sign-ins refresh as staff sessions do: a refresh token works once, the
//! rotated one carries on, and a used one presented again ends the sign-in, its access
//! tokens included.

use serde_json::json;

use crate::applications::start;

#[test]
fn an_applicants_refresh_token_rotates_and_its_reuse_ends_the_sign_in() {
    let s = start();
    let first = s.call(
        "POST",
        "/v1/auth/wechat",
        None,
        Some(json!({"code": "ok-rotate-li"})),
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let token = |r: &bangfu_e2e::Reply, k: &str| r.body[k].as_str().unwrap_or_default().to_owned();
    let (access, refresh) = (
        token(&first, "access_token"),
        token(&first, "refresh_token"),
    );
    assert!(!refresh.is_empty(), "{}", first.text);

    let refresh_with = |t: &str| {
        s.call(
            "POST",
            "/v1/auth/wechat/refresh",
            None,
            Some(json!({"refresh_token": t})),
        )
    };
    let second = refresh_with(&refresh);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["applicant_id"], first.body["applicant_id"]);
    let (access2, refresh2) = (
        token(&second, "access_token"),
        token(&second, "refresh_token"),
    );
    assert_ne!(refresh2, refresh);
    for t in [&access, &access2] {
        let r = s.call("GET", "/v1/applications", Some(t), None);
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // A staff refresh token is no applicant's, and the other way round.
    let staff = s.login("county_officer");
    refresh_with(&staff.refresh).assert_problem(401, "refresh_token_invalid");
    s.call(
        "POST",
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh2})),
    )
    .assert_problem(401, "refresh_token_invalid");

    // The first refresh token again: copied, so the whole sign-in ends.
    refresh_with(&refresh).assert_problem(401, "refresh_token_reused");
    refresh_with(&refresh2).assert_problem(401, "session_ended");
    s.call("GET", "/v1/applications", Some(&access2), None)
        .assert_problem(401, "session_ended");
    // A new login code is a new sign-in.
    let again = s.call(
        "POST",
        "/v1/auth/wechat",
        None,
        Some(json!({"code": "ok-rotate-li"})),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["applicant_id"], first.body["applicant_id"]);
    let r = s.call(
        "GET",
        "/v1/applications",
        Some(&token(&again, "access_token")),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
}
