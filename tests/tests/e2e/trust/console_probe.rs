//! The console's authorisation probe, the pages' twin of `auth_probe`: every route of the
//! console's table (`bangfu::routes::console_table`, which reads each route's gate from
//! its handler) is tried without a session, by every role, and, with the addresses and
//! forms 青山镇's own staff reach by following the pages' links, by staff of 河口乡. A role
//! without the route's permission gets the 403 page; a form without its token, or from
//! another site, is refused; 河口乡 opens none of 青山's records and sees none of their ids;
//! and no refused form writes anything (the audit log, which every write feeds, has no new
//! entry).

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::Method;
use bangfu::console::routes::{Gate, Route};
use bangfu::domain::role::{Permission, Role};
use bangfu::routes::console_table as table;
use bangfu_e2e::{DEMO_PASSWORD, TestServer};
use reqwest::blocking::Client;
use serde_json::json;

/// One demo account of every role, all of 青山 or the county.
const ACCOUNTS: &[(Role, &str)] = &[
    (Role::Helper, "qingshan_helper"),
    (Role::VillageSecretary, "qingshan_secretary"),
    (Role::TownshipOfficer, "qingshan_officer"),
    (Role::CountyOfficer, "county_officer"),
    (Role::Auditor, "auditor"),
    (Role::Admin, "admin"),
];

/// Ends the session it is posted with; probed by the session tests.
const SIGN_OUT: &str = "/logout";

const FORM: &str = "application/x-www-form-urlencoded";

/// A form's fields as a browser encodes them.
fn encode(fields: &[(String, String)]) -> String {
    let part = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", part(k), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A signed-in browser: its cookie and its form token.
struct Browser {
    who: String,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: u16,
    html: bool,
    location: String,
    body: String,
}

fn answer(r: reqwest::blocking::Response) -> Answer {
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (html, location) = (
        header("content-type").starts_with("text/html"),
        header("location"),
    );
    Answer {
        status: r.status().as_u16(),
        html,
        location,
        body: r.text().unwrap_or_default(),
    }
}

fn sign_in(s: &TestServer, username: &str, password: &str) -> Browser {
    let r = client()
        .post(s.url("/login"))
        .header("content-type", FORM)
        .body(encode(&[
            ("username".into(), username.into()),
            ("password".into(), password.into()),
            ("next".into(), "/".into()),
        ]))
        .send()
        .expect("sign in");
    assert_eq!(r.status().as_u16(), 303, "console sign-in of {username}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.strip_prefix("bangfu_console="))
        .find(|v| !v.is_empty())
        .expect("a session cookie")
        .to_owned();
    let mut b = Browser {
        who: username.to_owned(),
        cookie,
        csrf: String::new(),
    };
    let home = get(s, Some(&b), "/");
    b.csrf =
        attr_after(&home.body, "name=\"csrf\"", "value").expect("a form token on the work list");
    b
}

fn get(s: &TestServer, b: Option<&Browser>, path: &str) -> Answer {
    let mut req = client().get(s.url(path)).header("accept", "text/html");
    if let Some(b) = b {
        req = req.header("cookie", format!("bangfu_console={}", b.cookie));
    }
    answer(req.send().expect("get"))
}

/// Posts `fields` as a browser would from the page, with the session's form token unless
/// `csrf` says otherwise, from `origin` (the site itself unless given).
fn post(
    s: &TestServer,
    b: Option<&Browser>,
    path: &str,
    fields: &[(String, String)],
    csrf: Option<&str>,
    origin: Option<&str>,
) -> Answer {
    let mut form: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    if let Some(t) = csrf {
        form.push(("csrf".into(), t.into()));
    }
    // The origin of the instance the request goes to (with several instances, each has its
    // own address, and a page's form posts back to the one that served it).
    let url = s.url(path);
    let own = url.strip_suffix(path).unwrap_or(&s.base).to_owned();
    let mut req = client()
        .post(&url)
        .header("accept", "text/html")
        .header("origin", origin.unwrap_or(&own))
        .header("content-type", FORM)
        .body(encode(&form));
    if let Some(b) = b {
        req = req.header("cookie", format!("bangfu_console={}", b.cookie));
    }
    answer(req.send().expect("post"))
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

/// The value of attribute `name` in the tag holding `marker`.
fn attr_after(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    attr(&html[start..end], name)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(unescape(&tag[from..from + len]))
}

/// Every tag named `name` in `html`, as its text from `<` to `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let tail = &rest[at..];
        let Some(end) = tail.find('>') else { break };
        let next = tail.as_bytes().get(open.len()).copied().unwrap_or(b' ');
        if next == b' ' || next == b'>' || next == b'\n' {
            out.push(&tail[..=end]);
        }
        rest = &tail[end..];
    }
    out
}

/// A form of a page: where it posts and what a browser would send, filled as an officer
/// would fill it (a reason where text is asked for, the first choice of each list).
#[derive(Debug, Clone)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

fn forms(html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let chunk = chunk.split("</form>").next().unwrap_or_default();
        let head = format!("<form{}", &chunk[..chunk.find('>').unwrap_or(0)]);
        if attr(&head, "method").as_deref() != Some("post") {
            continue;
        }
        let Some(action) = attr(&head, "action") else {
            continue;
        };
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        for input in tags(chunk, "input") {
            let Some(name) = attr(input, "name") else {
                continue;
            };
            let kind = attr(input, "type").unwrap_or_else(|| "text".into());
            let value = attr(input, "value").unwrap_or_default();
            let value = match kind.as_str() {
                "date" if value.is_empty() => "2026-12-31".into(),
                "number" if value.is_empty() => "1".into(),
                "text" | "search" if value.is_empty() => "越权探测：核查他乡记录".into(),
                _ => value,
            };
            fields.entry(name).or_insert(value);
        }
        for (i, select) in chunk.split("<select").enumerate().skip(1) {
            let head = format!("<select{}", &select[..select.find('>').unwrap_or(0)]);
            let _ = i;
            let (Some(name), Some(first)) = (
                attr(&head, "name"),
                tags(select, "option")
                    .first()
                    .and_then(|o| attr(o, "value")),
            ) else {
                continue;
            };
            fields.entry(name).or_insert(first);
        }
        for area in chunk.split("<textarea").skip(1) {
            let head = format!("<textarea{}", &area[..area.find('>').unwrap_or(0)]);
            if let Some(name) = attr(&head, "name") {
                fields
                    .entry(name)
                    .or_insert_with(|| "越权探测：核查他乡记录".into());
            }
        }
        out.push(Form {
            action,
            fields: fields.into_iter().collect(),
        });
    }
    out
}

/// The route of the table a concrete address belongs to.
fn route_of<'a>(routes: &'a [Route], method: &Method, address: &str) -> Option<&'a Route> {
    let path = address.split(['?', '#']).next().unwrap_or_default();
    let parts: Vec<&str> = path.split('/').collect();
    routes.iter().find(|r| {
        let want: Vec<&str> = r.path.split('/').collect();
        r.method == *method
            && want.len() == parts.len()
            && want
                .iter()
                .zip(&parts)
                .all(|(w, p)| (w.starts_with('{') && !p.is_empty()) || w == p)
    })
}

/// The values an address gives its route's parameters.
fn parameters(route: &Route, address: &str) -> Vec<String> {
    let path = address.split(['?', '#']).next().unwrap_or_default();
    route
        .path
        .split('/')
        .zip(path.split('/'))
        .filter(|(w, _)| w.starts_with('{'))
        .map(|(_, p)| p.to_owned())
        .collect()
}

/// What 青山's own staff reach by following the pages' links from every page without
/// parameters: up to three addresses per route, and one form per form route.
struct Reached {
    addresses: BTreeMap<&'static str, Vec<String>>,
    forms: BTreeMap<&'static str, Form>,
}

fn crawl(s: &TestServer, routes: &[Route], browsers: &[&Browser]) -> Reached {
    let mut reached = Reached {
        addresses: BTreeMap::new(),
        forms: BTreeMap::new(),
    };
    let mut seen = BTreeSet::new();
    for b in browsers {
        let mut queue: Vec<String> = routes
            .iter()
            .filter(|r| r.method == Method::GET && !r.path.contains('{') && r.gate != Gate::Open)
            .map(|r| r.path.to_owned())
            .collect();
        // Each browser follows up to three links of each route.
        let mut followed: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        while let Some(address) = queue.pop() {
            if !seen.insert((b.who.clone(), address.clone())) {
                continue;
            }
            let a = get(s, Some(b), &address);
            if a.status != 200 || !a.html {
                continue;
            }
            for f in forms(&a.body) {
                if let Some(r) = route_of(routes, &Method::POST, &f.action)
                    && r.path != SIGN_OUT
                {
                    reached.forms.entry(r.path).or_insert(f);
                }
            }
            let links = tags(&a.body, "a")
                .into_iter()
                .chain(tags(&a.body, "img"))
                .filter_map(|t| attr(t, "href").or_else(|| attr(t, "src")))
                .filter(|l| l.starts_with('/') && !l.starts_with("//"));
            for link in links {
                let Some(r) = route_of(routes, &Method::GET, &link) else {
                    continue;
                };
                if r.path.contains('{') {
                    let mine = followed.entry(r.path).or_default();
                    if mine.len() >= 3 || mine.contains(&link) {
                        continue;
                    }
                    mine.insert(link.clone());
                    let known = reached.addresses.entry(r.path).or_default();
                    if !known.contains(&link) {
                        known.push(link.clone());
                    }
                    queue.push(link);
                }
            }
        }
    }
    reached
}

/// A well-formed address for a route the crawl did not reach.
fn filled(route: &Route) -> String {
    route
        .path
        .split('/')
        .map(|p| {
            if p == "{sha256}" {
                "ab".repeat(32)
            } else if p == "{year}" {
                "2027".to_owned()
            } else if p == "{position}" {
                "0".to_owned()
            } else if p.starts_with('{') {
                bangfu_e2e::new_id()
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The audit log's entries newer than entry `id`, newest first.
fn audited_since(s: &TestServer, auditor: &str, id: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/audit?limit=200&cursor={c}"),
            None => "/v1/audit?limit=200".to_owned(),
        };
        let r = s.call("GET", &path, Some(auditor), None);
        assert_eq!(r.status, 200, "{}", r.text);
        for e in r.body["items"].as_array().cloned().unwrap_or_default() {
            if e["id"] == id {
                return out;
            }
            out.push(e);
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// The newest entry of the audit log, which every write feeds.
fn newest_audit(s: &TestServer, auditor: &str) -> String {
    let r = s.call("GET", "/v1/audit?limit=1", Some(auditor), None);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn refused_page(a: &Answer, status: u16, who: &str) {
    assert!(
        a.status == status && a.html,
        "{who}: expected the {status} page, got {} (html: {}) {}",
        a.status,
        a.html,
        &a.body[..a.body.len().min(300)]
    );
}

/// Who may use each route, as decided: each page needs what its JSON twin needs (the
/// contract's `x-bangfu-permission`). The probe holds the table read from the handlers to
/// this, so a page whose permission is loosened, or a new page nobody decided on, fails
/// here first.
const POLICY: &[(&str, &str, Option<Permission>)] = &[
    ("GET", "/assets/{name}", None),
    ("GET", "/login", None),
    ("POST", "/login", None),
    ("POST", "/logout", Some(Permission::ReadOwnAccount)),
    ("GET", "/", Some(Permission::ReadFieldWork)),
    ("GET", "/applications", Some(Permission::ReadApplications)),
    (
        "GET",
        "/applications/{id}",
        Some(Permission::ReadApplications),
    ),
    (
        "POST",
        "/applications/{id}/decision",
        Some(Permission::ReviewApplications),
    ),
    (
        "GET",
        "/applications/{id}/materials/{sha256}",
        Some(Permission::ReadApplications),
    ),
    ("GET", "/corrections", Some(Permission::ReadFieldWork)),
    ("GET", "/corrections/{id}", Some(Permission::ReadFieldWork)),
    (
        "POST",
        "/corrections/{id}/decision",
        Some(Permission::DecideCorrections),
    ),
    ("GET", "/households", Some(Permission::ReadHouseholds)),
    ("GET", "/households/{id}", Some(Permission::ReadHouseholds)),
    (
        "POST",
        "/households/{id}/unmask",
        Some(Permission::UnmaskPersonalData),
    ),
    ("GET", "/dropout", Some(Permission::ReadFieldWork)),
    ("GET", "/dropout/{id}", Some(Permission::ReadFieldWork)),
    ("GET", "/photo-reviews", Some(Permission::ReadPhotoReviews)),
    (
        "GET",
        "/photo-reviews/{id}",
        Some(Permission::ReadPhotoReviews),
    ),
    (
        "POST",
        "/photo-reviews/{id}/decision",
        Some(Permission::ReviewPhotos),
    ),
    ("GET", "/files/{sha256}", Some(Permission::SyncPull)),
    ("GET", "/sync/conflicts", Some(Permission::SyncPull)),
    (
        "POST",
        "/sync/conflicts/{id}/resolve",
        Some(Permission::ResolveConflicts),
    ),
    ("GET", "/sync/quarantine", Some(Permission::SuperviseSync)),
    (
        "POST",
        "/sync/quarantine/{device}/{mutation}/settle",
        Some(Permission::ResolveConflicts),
    ),
    ("GET", "/sync/devices", Some(Permission::SuperviseSync)),
    ("GET", "/campaigns", Some(Permission::ReadFieldWork)),
    ("POST", "/campaigns", Some(Permission::ManageCampaigns)),
    ("GET", "/campaigns/new", Some(Permission::ManageCampaigns)),
    ("GET", "/campaigns/{id}", Some(Permission::ReadFieldWork)),
    (
        "POST",
        "/campaigns/{id}/phases/{position}/complete",
        Some(Permission::ManageCampaigns),
    ),
    ("GET", "/users", Some(Permission::ReadUsers)),
    ("POST", "/users", Some(Permission::ManageUsers)),
    ("GET", "/users/new", Some(Permission::ManageUsers)),
    ("GET", "/users/{id}", Some(Permission::ReadUsers)),
    ("POST", "/users/{id}/active", Some(Permission::ManageUsers)),
    ("GET", "/calendar", Some(Permission::ReadRegions)),
    ("POST", "/calendar/{year}", Some(Permission::ManagePrograms)),
    ("GET", "/supervision", Some(Permission::ReadMetrics)),
    ("GET", "/ledgers", Some(Permission::ReadLedgers)),
    ("GET", "/ledgers/download", Some(Permission::ReadLedgers)),
    ("GET", "/audit", Some(Permission::ReadAudit)),
    (
        "GET",
        "/audit/history/{entity}/{id}",
        Some(Permission::ReadAudit),
    ),
];

#[test]
fn every_console_route_has_the_permission_the_office_decided() {
    let mut read: Vec<String> = table()
        .iter()
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.gate))
        .collect();
    let mut decided: Vec<String> = POLICY
        .iter()
        .map(|(m, p, need)| {
            let gate = need.map_or(Gate::Open, Gate::Needs);
            format!("{m} {p} {gate:?}")
        })
        .collect();
    read.sort();
    decided.sort();
    assert_eq!(read, decided);
}

#[test]
fn every_console_route_refuses_whoever_may_not_use_it() {
    let s = TestServer::start();
    // The lived-in county: every page has records to link to.
    crate::demo::load_county(&s);
    let routes = table();
    assert!(routes.len() > 25, "the console has {} routes", routes.len());
    let browsers: Vec<(Role, Browser)> = ACCOUNTS
        .iter()
        .map(|(role, u)| (*role, sign_in(&s, u, DEMO_PASSWORD)))
        .collect();
    let browser = |role: Role| &browsers.iter().find(|(r, _)| *r == role).expect("role").1;

    // 河口乡's staff, one of each field role (the demo has no secretary there: one is made).
    let admin = s.login("admin");
    let hekou_village = s.region_id(&admin.access, "530123102001");
    let r = s.call(
        "POST",
        "/v1/users",
        Some(&admin.access),
        Some(json!({"username": "hekou_secretary", "display_name": "河口村 书记", "password": "probe passphrase 2026",
                    "role": "village_secretary", "region_id": hekou_village})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let strangers = [
        sign_in(&s, "hekou_officer", DEMO_PASSWORD),
        sign_in(&s, "hekou_helper", DEMO_PASSWORD),
        sign_in(&s, "hekou_secretary", "probe passphrase 2026"),
    ];

    let reached = crawl(
        &s,
        &routes,
        &[
            browser(Role::TownshipOfficer),
            browser(Role::VillageSecretary),
        ],
    );
    // The crawl must reach the records the probe aims at, or it proves nothing.
    for must in [
        "/applications/{id}",
        "/households/{id}",
        "/dropout/{id}",
        "/photo-reviews/{id}",
        "/files/{sha256}",
    ] {
        assert!(
            reached.addresses.contains_key(must),
            "the crawl reached no {must}"
        );
    }
    for must in [
        "/applications/{id}/decision",
        "/households/{id}/unmask",
        "/photo-reviews/{id}/decision",
    ] {
        assert!(
            reached.forms.contains_key(must),
            "the crawl found no form for {must}"
        );
    }
    // Ids of 青山's records, which no answer to 河口乡 may hold.
    let secrets: BTreeSet<String> = reached
        .addresses
        .iter()
        .flat_map(|(path, addresses)| {
            let r = routes.iter().find(|r| r.path == *path).expect("route");
            addresses.iter().flat_map(|a| parameters(r, a))
        })
        .filter(|v| v.len() >= 16)
        .collect();
    assert!(secrets.len() >= 5, "{secrets:?}");

    let auditor = s.login("auditor");
    let before = newest_audit(&s, &auditor.access);
    // Requests of 河口乡's staff aimed at 青山's records.
    let mut aimed = 0;

    for route in routes.iter().filter(|r| r.gate != Gate::Open) {
        let Gate::Needs(permission) = route.gate else {
            // Signed in is enough: the probe's roles all are.
            continue;
        };
        let addresses = reached
            .addresses
            .get(route.path)
            .cloned()
            .unwrap_or_else(|| vec![filled(route)]);
        let address = &addresses[0];
        let form = reached.forms.get(route.path);
        let action = form.map_or_else(|| filled(route), |f| f.action.clone());
        let fields = form.map(|f| f.fields.clone()).unwrap_or_default();

        if route.method == Method::GET {
            let a = get(&s, None, address);
            assert!(
                a.status == 303 && a.location.starts_with("/login"),
                "{address} without a session: {} {}",
                a.status,
                a.location
            );
            for (role, b) in &browsers {
                let a = get(&s, Some(b), address);
                let who = format!("GET {address} as {role:?}");
                if role.has(permission) {
                    assert!(
                        a.status != 403 && a.status < 500 && a.status != 303,
                        "{who}, whose role has {permission:?}: {}",
                        a.status
                    );
                } else {
                    refused_page(&a, 403, &who);
                }
            }
            for b in &strangers {
                for address in &addresses {
                    let a = get(&s, Some(b), address);
                    let who = format!("GET {address} as {} of 河口乡", b.who);
                    if route.path.contains('{') && reached.addresses.contains_key(route.path) {
                        aimed += 1;
                        assert!(
                            matches!(a.status, 403 | 404),
                            "{who}: expected 403 or 404, got {}",
                            a.status
                        );
                    }
                    for secret in &secrets {
                        assert!(!a.body.contains(secret.as_str()), "{who} shows {secret}");
                    }
                }
            }
            continue;
        }
        if route.path == SIGN_OUT {
            continue;
        }
        let a = post(&s, None, &action, &fields, Some("no-session"), None);
        assert!(
            (a.status == 303 && a.location.starts_with("/login")) || a.status == 403,
            "POST {action} without a session: {} {}",
            a.status,
            a.location
        );
        for (role, b) in &browsers {
            let who = format!("POST {action} as {role:?}");
            if role.has(permission) {
                // Refused without the session's form token, and from another site.
                refused_page(&post(&s, Some(b), &action, &fields, None, None), 403, &who);
                let forged = post(
                    &s,
                    Some(b),
                    &action,
                    &fields,
                    Some("0".repeat(43).as_str()),
                    None,
                );
                refused_page(&forged, 403, &format!("{who} with a wrong token"));
                let elsewhere = post(
                    &s,
                    Some(b),
                    &action,
                    &fields,
                    Some(&b.csrf),
                    Some("https://elsewhere.example"),
                );
                refused_page(&elsewhere, 403, &format!("{who} from another site"));
            } else {
                let a = post(&s, Some(b), &action, &fields, Some(&b.csrf), None);
                refused_page(&a, 403, &who);
            }
        }
        if form.is_some() {
            for b in &strangers {
                let a = post(&s, Some(b), &action, &fields, Some(&b.csrf), None);
                aimed += 1;
                let who = format!("POST {action} as {} of 河口乡", b.who);
                assert!(
                    (400..500).contains(&a.status),
                    "{who}: expected a refusal, got {}",
                    a.status
                );
                for secret in &secrets {
                    assert!(!a.body.contains(secret.as_str()), "{who} shows {secret}");
                }
            }
        }
    }
    assert!(aimed >= 40, "only {aimed} requests aimed at 青山's records");
    // An address whose parameters are not what the route reads answers a page too, never
    // the API's problem document.
    let county = browser(Role::CountyOfficer);
    for (method, address) in [
        ("POST", "/calendar/not-a-year"),
        ("POST", "/campaigns/x/phases/first/complete"),
    ] {
        let a = match method {
            "GET" => get(&s, Some(county), address),
            _ => post(&s, Some(county), address, &[], Some(&county.csrf), None),
        };
        assert!(
            a.html && a.status == 404,
            "{method} {address}: {} {}",
            a.status,
            a.body
        );
    }
    // Nothing the probe sent was written.
    assert!(aimed >= 40, "only {aimed} requests aimed at 青山's records");
    // Nothing the probe sent was written: since it began, the audit log records only the
    // ledger downloads it was allowed (exports are audited reads).
    let since = audited_since(&s, &auditor.access, &before);
    let writes: Vec<&serde_json::Value> =
        since.iter().filter(|e| e["action"] != "export").collect();
    assert!(writes.is_empty(), "a refused request wrote: {writes:?}");
    assert!(
        !since.is_empty(),
        "the probe's permitted downloads are audited"
    );
}
