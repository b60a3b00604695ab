//! The authorisation probe: every operation of the served contract is tried with no token,
//! an expired token, forged tokens, the other kind of token, the token of every role that
//! lacks the operation's permission (`x-bangfu-permission`), the token of an officer of
//! another township aimed at this township's records, the same officer holding a
//! break-the-glass grant for one of them (which reads it, masked, and nothing else), and
//! every operation serving stored bytes with a digest the caller may not reach. A new
//! endpoint is probed as soon as it is in the contract; one that names no permission fails
//! the contract's own test.

use bangfu::domain::role::{Permission, Role};
use bangfu_e2e::{Reply, Session, TestServer};
use serde_json::{Value, json};

use crate::applications;

/// One demo account of every role; the probe's "another region" is 河口乡, its target 青山.
const ACCOUNTS: &[(Role, &str)] = &[
    (Role::Helper, "qingshan_helper"),
    (Role::VillageSecretary, "qingshan_secretary"),
    (Role::TownshipOfficer, "qingshan_officer"),
    (Role::CountyOfficer, "county_officer"),
    (Role::Auditor, "auditor"),
    (Role::Admin, "admin"),
];

#[derive(Debug)]
struct Operation {
    method: String,
    template: String,
    staff: bool,
    applicant: bool,
    permission: Option<String>,
    body_type: Option<String>,
    op: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.template)
    }

    fn may(&self, role: Role) -> bool {
        match self.permission.as_deref() {
            Some("signed_in") => true,
            Some(p) => role.has(
                Permission::parse(p)
                    .unwrap_or_else(|| panic!("{}: unknown permission {p}", self.name())),
            ),
            None => false,
        }
    }
}

fn operations(contract: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in contract["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_object())
                .flat_map(|r| r.keys().map(String::as_str))
                .collect();
            if schemes.is_empty() {
                continue;
            }
            let body_type = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.keys().next().cloned());
            out.push(Operation {
                method: method.clone(),
                template: template.clone(),
                staff: schemes.contains(&"bearer"),
                applicant: schemes.contains(&"applicant"),
                permission: op["x-bangfu-permission"].as_str().map(str::to_owned),
                body_type,
                op: op.clone(),
            });
        }
    }
    out
}

/// The path with its parameters filled: from `ids` where the probe holds a record of the
/// target township, else a well-formed value of the parameter's schema.
fn fill(op: &Operation, ids: &[(&str, String)]) -> String {
    let mut path = op.template.clone();
    for p in op.op["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "path" {
            continue;
        }
        let name = p["name"].as_str().expect("name");
        let key = format!("{}#{name}", op.template);
        let value = ids
            .iter()
            .find(|(k, _)| *k == key || *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| well_formed(&p["schema"], name));
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

fn well_formed(schema: &Value, name: &str) -> String {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first
            .as_str()
            .map(str::to_owned)
            .unwrap_or(first.to_string());
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer"), _) => "2026".into(),
        (_, Some("uuid")) => bangfu_e2e::new_id(),
        _ if name == "sha256" => "ab".repeat(32),
        _ => bangfu_e2e::new_id(),
    }
}

/// Sends the operation with `token`: an empty JSON object (or no bytes) as its body, so
/// that only the credentials can be judged before the body is.
fn send(s: &TestServer, op: &Operation, path: &str, token: Option<&str>) -> Reply {
    let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).expect("m");
    let mut req = s.client.request(method, s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req = match op.body_type.as_deref() {
        Some("application/json") => req.json(&json!({})),
        Some(other) => req
            .header("content-type", other)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", "0")
            .body(Vec::new()),
        None => req,
    };
    Reply::from(req.send().expect("request"))
}

fn assert_refused(r: &Reply, op: &Operation, status: u16, code: &str, case: &str) {
    let content_type = r.header("content-type").unwrap_or_default();
    // A HEAD answer carries no body: its status and type tell.
    let coded = op.method == "head" || r.body["code"] == code;
    assert!(
        r.status == status && coded && content_type == "application/problem+json",
        "{} with {case}: expected {status} {code} as problem+json, got {} {content_type} {}",
        op.name(),
        r.status,
        r.text
    );
}

fn sign(secret: &[u8], claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("claims")
}

/// Tokens that must not pass, by the name the failure report gives them.
fn bad_tokens(s: &TestServer, session: &Session) -> Vec<(&'static str, String, &'static str)> {
    let secret = std::fs::read_to_string(s.db.dir.path().join("jwt_secret")).expect("secret");
    let secret = secret.trim().as_bytes();
    let now = chrono::Utc::now().timestamp();
    let mut claims = claims_of(&session.access);
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let forged = sign(b"a guess at the signing key", claims.clone());
    // A real signature with the subject changed afterwards.
    let real = session.access.clone();
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    claims["sub"] = json!(bangfu_e2e::new_id());
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    // The unsigned algorithm.
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    let unsigned = format!("{header}.{}.", real.split('.').nth(1).expect("payload"));
    vec![
        ("an expired token", sign(secret, expired), "token_expired"),
        ("a token signed with another key", forged, "token_invalid"),
        ("a token altered after signing", tampered, "token_invalid"),
        ("an unsigned token", unsigned, "token_invalid"),
        ("garbage", "not-a-token".into(), "token_invalid"),
    ]
}

/// Records of 青山 that an officer of 河口乡 must neither reach nor see listed.
struct Target {
    ids: Vec<(&'static str, String)>,
    secrets: Vec<String>,
    household: String,
    /// The full ID number of the household's member: never in any answer of the probe.
    id_number: String,
}

fn target(s: &TestServer, officer: &Session, helper: &Session) -> Target {
    let village = s.region_id(&officer.access, "530123101001");
    let township = s.region_id(&officer.access, "530123101");
    let (id_number, birth) = bangfu_e2e::resident_id(true);
    let r = s.call(
        "POST",
        "/v1/households",
        Some(&officer.access),
        Some(json!({"region_id": village, "address": "三组 12 号",
                    "members": [{"name": "张秀英", "relation": "head", "id_number": id_number,
                                 "birth_date": birth, "gender": "female"}]})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let household = r.body["id"].as_str().expect("id").to_owned();
    let ids = vec![
        ("/v1/households/{id}#id", household.clone()),
        (
            "/v1/households/{id}/helpers/{user_id}#id",
            household.clone(),
        ),
        (
            "/v1/households/{id}/helpers/{user_id}#user_id",
            helper.user_id.clone(),
        ),
        ("/v1/regions/{id}#id", village.clone()),
        ("/v1/users/{id}#id", helper.user_id.clone()),
        ("region_id", village.clone()),
    ];
    Target {
        ids,
        secrets: vec![village, township, household.clone(), helper.user_id.clone()],
        household,
        id_number,
    }
}

#[test]
fn every_operation_refuses_whoever_may_not_call_it() {
    let s = applications::start();
    let contract = s.call("GET", "/openapi.json", None, None).body;
    let mut ops = operations(&contract);
    // Signing out ends the session it is called with: probe it last.
    ops.sort_by_key(|o| o.op["operationId"] == "auth_logout");
    assert!(
        ops.len() > 50,
        "the contract lists {} secured operations",
        ops.len()
    );

    let sessions: Vec<(Role, Session)> = ACCOUNTS.iter().map(|(r, u)| (*r, s.login(u))).collect();
    let session_of = |role: Role| &sessions.iter().find(|(r, _)| *r == role).expect("role").1;
    let applicant = {
        let r = s.call(
            "POST",
            "/v1/auth/wechat",
            None,
            Some(json!({"code": "ok-probe"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["access_token"].as_str().expect("token").to_owned()
    };
    let bad = bad_tokens(&s, session_of(Role::CountyOfficer));
    let township = session_of(Role::TownshipOfficer);
    let target = target(&s, township, session_of(Role::Helper));
    let strangers = [s.login("hekou_officer"), s.login("hekou_helper")];
    // A second officer of 河口乡, holding a grant for the 青山 household (a grant is the
    // person's, in every session of theirs, so the stranger above holds none).
    let grantee = {
        let admin = session_of(Role::Admin);
        let hekou = s.region_id(&admin.access, "530123102");
        let r = s.call(
            "POST",
            "/v1/users",
            Some(&admin.access),
            Some(json!({"username": "hekou_officer_2", "display_name": "河口乡 第二位", "password": "probe passphrase 2026",
                        "role": "township_officer", "region_id": hekou})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = s.call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": "hekou_officer_2", "password": "probe passphrase 2026"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        Session {
            access: r.body["access_token"].as_str().expect("token").to_owned(),
            refresh: r.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            user_id: r.body["user_id"].as_str().unwrap_or_default().to_owned(),
        }
    };
    let r = s.call(
        "POST",
        "/v1/access-grants",
        Some(&grantee.access),
        Some(json!({"subject": "household", "subject_id": target.household, "reason": "授权探测：核查重复登记"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let mut probed = 0;

    for op in &ops {
        let path = fill(op, &[]);
        assert_refused(
            &send(&s, op, &path, None),
            op,
            401,
            "token_missing",
            "no token",
        );
        for (case, token, code) in &bad {
            assert_refused(&send(&s, op, &path, Some(token)), op, 401, code, case);
        }
        if !op.applicant {
            let r = send(&s, op, &path, Some(&applicant));
            assert_refused(&r, op, 401, "token_invalid", "an applicant's token");
        }
        if !op.staff {
            let r = send(&s, op, &path, Some(&township.access));
            assert_refused(&r, op, 401, "token_invalid", "a staff token");
            probed += 1;
            continue;
        }
        for (role, session) in &sessions {
            let r = send(&s, op, &path, Some(&session.access));
            assert!(
                r.status < 500,
                "{} as {role:?}: {} {}",
                op.name(),
                r.status,
                r.text
            );
            if op.may(*role) {
                assert!(
                    r.status != 401 && r.body["code"] != "forbidden",
                    "{} as {role:?}, whose role has {:?}: {} {}",
                    op.name(),
                    op.permission,
                    r.status,
                    r.text
                );
            } else {
                assert_refused(&r, op, 403, "forbidden", &format!("the role {role:?}"));
            }
        }
        probe_other_region(&s, op, &strangers, &target);
        probe_grantee(&s, op, &grantee, &target);
        probed += 1;
    }
    assert_eq!(probed, ops.len());
    // The probe signed everyone out on its way (`auth_logout`): a new session.
    probe_bytes(&s, &ops, &applicant, &s.login("hekou_officer"));
}

/// A grant names one record for reading: the probe's grantee reads that household,
/// masked, through the one operation that reads it, and every other operation aimed at 青山
/// is refused as for anyone of 河口乡. No answer holds the member's full ID number.
fn probe_grantee(s: &TestServer, op: &Operation, grantee: &Session, target: &Target) {
    if !op.may(Role::TownshipOfficer) || op.template == "/v1/auth/logout" {
        return;
    }
    let path = fill(op, &target.ids);
    let who = format!("{} as a grantee of 河口乡 on {path}", op.name());
    let r = send(s, op, &path, Some(&grantee.access));
    assert!(r.status < 500, "{who}: {} {}", r.status, r.text);
    assert!(
        !r.text.contains(&target.id_number),
        "{who} shows the full ID number: {}",
        r.text
    );
    let reads_the_grant = op.method == "get" && op.template == "/v1/households/{id}";
    if reads_the_grant {
        assert_eq!(r.status, 200, "{who}: {}", r.text);
        let unmasked = send(
            s,
            op,
            &format!("{path}?unmask=true&reason=核对身份信息"),
            Some(&grantee.access),
        );
        assert_refused(
            &unmasked,
            op,
            403,
            "unmask_outside_jurisdiction",
            "a grantee unmasking",
        );
        return;
    }
    let aimed = path != op.template && target.ids.iter().any(|(_, id)| path.contains(id));
    if aimed {
        assert!(
            (400..500).contains(&r.status) && r.status != 401,
            "{who}: expected a refusal, got {} {}",
            r.status,
            r.text
        );
    }
    // The grant itself names the household in the grantee's own list of grants.
    let secrets = secrets_for(op, target)
        .filter(|x| !(op.template.starts_with("/v1/access-grants") && **x == target.household));
    for secret in secrets {
        assert!(
            !r.text.contains(secret.as_str()),
            "{who} shows {secret}: {}",
            r.text
        );
    }
}

/// Every operation that serves stored bytes (a `sha256` in its path), asked for a file the
/// caller may not reach: a 青山 evidence photo, named in a 河口 application by an applicant
/// who never sent it. Refused to the applicant and to 河口乡's officer alike.
fn probe_bytes(s: &TestServer, ops: &[Operation], applicant: &str, hekou_officer: &Session) {
    use crate::photos::{jpeg, link, sha, upload};
    let helper = s.device_session("qingshan_helper");
    let photo = jpeg(120, 77, true);
    let digest = sha(&photo);
    assert_eq!(upload(s, &helper, &photo, "photo").status, 200);
    link(s, &helper, "530123101001", &digest);
    let p = applications::program(s, "worker_hardship");
    let village = s.region_id(&hekou_officer.access, "530123102001");
    let named = json!({"code": "id_cards", "sha256": digest, "file_name": "x.jpg"});
    let body = applications::body(&p, &village, &bangfu_e2e::resident_id(true), vec![named]);
    let r = s.call("POST", "/v1/applications", Some(applicant), Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    let application = r.body["id"].as_str().expect("id").to_owned();
    let serving: Vec<&Operation> = ops
        .iter()
        .filter(|o| {
            o.op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["in"] == "path" && p["name"] == "sha256")
        })
        .collect();
    assert!(
        serving.len() >= 2,
        "byte-serving operations: {}",
        serving.len()
    );
    let ids = [("sha256", digest.clone()), ("id", application)];
    for op in serving {
        let path = fill(op, &ids);
        for (who, token) in [
            ("the applicant", applicant),
            ("河口乡's officer", hekou_officer.access.as_str()),
        ] {
            let r = send(s, op, &path, Some(token));
            assert!(
                r.status == 404 || r.status == 401 || r.status == 403,
                "{} as {who} on {path}: got {} with {} bytes",
                op.name(),
                r.status,
                r.text.len()
            );
        }
    }
}

/// What of 青山 must not appear in an answer of `op` to an outsider. The directory of
/// divisions names every township and village on purpose (names and codes, what an
/// applicant picks from): 青山's region ids (the first two secrets) are in it; its
/// household and helper must not be.
fn secrets_for<'a>(op: &Operation, target: &'a Target) -> impl Iterator<Item = &'a String> {
    let skip = if op.name() == "GET /v1/divisions" {
        2
    } else {
        0
    };
    target.secrets.iter().skip(skip)
}

/// An officer (or helper) of 河口乡 aims the operation at 青山's records and filters lists
/// by 青山: a read or write of one of its records is refused, and nothing of 青山 appears
/// in any answer.
fn probe_other_region(s: &TestServer, op: &Operation, strangers: &[Session], target: &Target) {
    let roles = [Role::TownshipOfficer, Role::Helper];
    let Some((role, stranger)) = roles.iter().zip(strangers).find(|(role, _)| op.may(**role))
    else {
        return;
    };
    let path = fill(op, &target.ids);
    let aimed = path != op.template && target.ids.iter().any(|(_, id)| path.contains(id));
    let query = if op.op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["in"] == "query" && p["name"] == "region_id")
    {
        format!(
            "?region_id={}",
            target
                .ids
                .iter()
                .find(|(k, _)| *k == "region_id")
                .expect("r")
                .1
        )
    } else {
        String::new()
    };
    let r = send(s, op, &format!("{path}{query}"), Some(&stranger.access));
    let who = format!("{} as {role:?} of 河口乡 on {path}{query}", op.name());
    assert!(r.status < 500, "{who}: {} {}", r.status, r.text);
    // Aimed at one of 青山's records, the request is refused; a list filtered by 青山's
    // region may answer, with nothing of it (checked below).
    if aimed {
        assert!(
            (400..500).contains(&r.status) && r.status != 401,
            "{who}: expected a refusal, got {} {}",
            r.status,
            r.text
        );
    }
    for secret in secrets_for(op, target) {
        assert!(
            !r.text.contains(secret.as_str()),
            "{who} shows {secret}: {}",
            r.text
        );
    }
}
