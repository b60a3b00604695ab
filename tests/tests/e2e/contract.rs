//! The OpenAPI contract: the committed file is what the code generates, the server serves
//! it, and the docs UI works without internet.

use bangfu_e2e::TestServer;
use serde_json::json;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");

#[test]
fn committed_contract_matches_the_code() {
    let generated = bangfu::contract::document_json();
    if std::env::var("BANGFU_UPDATE_OPENAPI").is_ok() {
        std::fs::write(COMMITTED, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -p bangfu -- openapi > openapi/openapi.json` \
         (or this test with BANGFU_UPDATE_OPENAPI=1)"
    );
}

#[test]
fn server_serves_contract_docs_health_and_metrics() {
    let s = TestServer::start();
    let served = s.call("GET", "/openapi.json", None, None);
    assert_eq!(served.status, 200);
    let generated: serde_json::Value =
        serde_json::from_str(&bangfu::contract::document_json()).expect("json");
    assert_eq!(served.body, generated);
    // Every operation that needs a token says so.
    for (path, item) in served.body["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let open = path.starts_with("/health")
                || path == "/ready"
                || path == "/metrics"
                || path == "/v1/auth/login"
                || path == "/v1/auth/refresh"
                || path == "/v1/auth/wechat"
                || path == "/v1/auth/wechat/refresh"
                || (method == "get" && path.starts_with("/v1/programs"))
                // tus discovery.
                || (method == "options" && path.starts_with("/v1/uploads"));
            assert_eq!(op.get("security").is_none(), open, "{method} {path}");
        }
    }

    let docs = s.client.get(s.url("/docs/")).send().expect("docs");
    assert_eq!(docs.status().as_u16(), 200);
    let html = docs.text().expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "docs page loads something from outside"
    );
    let init = s
        .client
        .get(s.url("/docs/swagger-initializer.js"))
        .send()
        .expect("init")
        .text()
        .expect("js");
    assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
    assert!(
        init.contains("\"validatorUrl\": \"none\""),
        "the outside validator must be off: {init}"
    );

    // Metrics are per instance (each is scraped): ask the instance that answered.
    let ready = s
        .client
        .get(format!("{}/ready", s.base))
        .send()
        .expect("ready");
    assert_eq!(ready.status(), 200);
    let metrics = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics
            .contains("bangfu_http_requests_total{method=\"GET\",route=\"/ready\",status=\"200\"}"),
        "{metrics}"
    );
}

/// The schema a component reference names, from the served contract.
fn component<'a>(
    doc: &'a serde_json::Value,
    reference: &serde_json::Value,
) -> &'a serde_json::Value {
    let name = reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("not a component reference: {reference}"));
    &doc["components"]["schemas"][name]
}

/// The documented JSON request body of an operation.
fn request_schema<'a>(
    doc: &'a serde_json::Value,
    method: &str,
    path: &str,
) -> &'a serde_json::Value {
    let r =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    component(doc, r)
}

#[test]
fn each_decision_and_payment_documents_its_own_body() {
    let doc: serde_json::Value =
        serde_json::from_str(&bangfu::contract::document_json()).expect("json");
    let props = |method: &str, path: &str| {
        let s = request_schema(&doc, method, path);
        let mut p: Vec<String> = s["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        p.sort();
        (p, s["required"].clone())
    };
    let (app, required) = props("post", "/v1/applications/{id}/decisions");
    assert!(app.contains(&"action".to_owned()), "{app:?}");
    assert_eq!(required, json!(["action"]));
    let (photo, _) = props("post", "/v1/photo-reviews/{id}/decision");
    assert_eq!(photo, ["decision", "reason"]);
    let photo_choices =
        &request_schema(&doc, "post", "/v1/photo-reviews/{id}/decision")["properties"]["decision"];
    assert_eq!(
        component(&doc, &photo_choices["$ref"])["enum"],
        json!(["approved", "rejected"])
    );
    let correction =
        &request_schema(&doc, "post", "/v1/corrections/{id}/decision")["properties"]["decision"];
    assert_eq!(
        component(&doc, &correction["$ref"])["enum"],
        json!(["accept", "reject"])
    );
    let (_, required) = props("post", "/v1/case-files/{id}/disbursements");
    let required: Vec<&str> = required
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    for field in ["kind", "amount_fen", "period"] {
        assert!(required.contains(&field), "{required:?}");
    }
}

#[test]
fn conflict_values_are_any_json_value() {
    let doc: serde_json::Value =
        serde_json::from_str(&bangfu::contract::document_json()).expect("json");
    let conflict = &doc["components"]["schemas"]["ConflictOut"]["properties"];
    for field in ["kept", "lost"] {
        assert!(
            conflict[field].get("type").is_none(),
            "{field}: {}",
            conflict[field]
        );
    }
    let value = &doc["components"]["schemas"]["ResolveBody"]["properties"]["value"];
    assert!(
        value.get("type").is_none() || value["type"] == json!("null"),
        "value: {value}"
    );
}

#[test]
fn a_missing_or_malformed_query_parameter_is_named_in_both_languages() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let r = s.call(
        "GET",
        "/v1/deadlines/compliance",
        Some(&officer.access),
        None,
    );
    r.assert_problem(422, "validation_failed");
    let errors = &r.body["errors"];
    assert_eq!(errors[0]["field"], "from", "{}", r.text);
    assert_eq!(errors[0]["code"], "required", "{}", r.text);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("缺少查询参数 from")),
        "{}",
        r.text
    );
    let r = s.call_with(
        "GET",
        "/v1/deadlines/compliance?from=2026-01-01&to=soon",
        Some(&officer.access),
        None,
        &[("accept-language", "en")],
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "to", "{}", r.text);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`to`") && m.contains("`soon`")),
        "{}",
        r.text
    );
    // Every list, not only one: a page size that is not a number.
    let r = s.call("GET", "/v1/regions?limit=many", Some(&officer.access), None);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "limit", "{}", r.text);
    assert_eq!(
        r.body["errors"][0]["code"], "invalid_parameter",
        "{}",
        r.text
    );
}

#[test]
fn sync_without_the_protocol_header_or_a_device_says_what_is_missing() {
    let s = TestServer::start();
    let phone = s.device_session("qingshan_helper");
    let body = json!({"mutations": []});
    let r = s.call(
        "POST",
        "/v1/sync/push",
        Some(&phone.access),
        Some(body.clone()),
    );
    r.assert_problem(400, "sync_protocol_required");
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Bangfu-Sync-Protocol")),
        "{}",
        r.text
    );
    let r = s.call("GET", "/v1/sync/pull", Some(&phone.access), None);
    r.assert_problem(400, "sync_protocol_required");
    // A session without a device: refused as documented.
    let web = s.login("qingshan_helper");
    let r = s.call_with(
        "POST",
        "/v1/sync/push",
        Some(&web.access),
        Some(body),
        &[bangfu_e2e::SYNC_HEADER],
    );
    r.assert_problem(422, "device_required");
    let doc: serde_json::Value =
        serde_json::from_str(&bangfu::contract::document_json()).expect("json");
    let push = &doc["paths"]["/v1/sync/push"]["post"]["responses"];
    assert!(
        push["422"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("device_required")),
        "{}",
        push["422"]
    );
    assert!(push["400"].is_object(), "{push}");
}

#[test]
fn an_aid_check_refused_over_the_cap_names_the_rule_and_its_figures() {
    let s = TestServer::start();
    let officer = s.login("county_officer");
    let village = s.region_id(&officer.access, "530123101001");
    let r = s.call(
        "POST",
        "/v1/aid-checks",
        Some(&officer.access),
        Some(json!({
            "household": {"region_id": village, "members": 3, "annual_income_fen": 2_000_000},
            "category": "deep", "kind": "living", "amount_fen": 900_000
        })),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["allowed"], false, "{}", r.text);
    let v = &r.body["violations"][0];
    assert_eq!(
        (v["rule"].as_str(), v["code"].as_str()),
        (Some("R-FILE-4"), Some("over_cap")),
        "{}",
        r.text
    );
    assert!(
        v["text"]
            .as_str()
            .is_some_and(|t| t.contains("12 个月") && t.contains("8640.00")),
        "{}",
        r.text
    );
    assert!(
        r.body["lines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["rule"] == "R-FILE-4")),
        "the reasoning is kept on refusal: {}",
        r.text
    );
}

#[test]
fn a_deep_file_is_paid_monthly_and_multiple_aid_comes_with_its_reassessment() {
    let s = crate::applications::start();
    let (file, county) = crate::applications::approved_file(&s, "monthly");
    let pay = |body: serde_json::Value| {
        s.call(
            "POST",
            &format!("/v1/case-files/{file}/disbursements"),
            Some(&county.access),
            Some(body),
        )
    };
    for period in ["2026-11", "2026-12"] {
        let r = pay(json!({"kind": "living", "amount_fen": 72000, "period": period}));
        assert_eq!(r.status, 201, "{period}: {}", r.text);
    }
    // The body without its period names the field.
    let r = pay(json!({"kind": "living", "amount_fen": 72000}));
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "period", "{}", r.text);
    assert_eq!(r.body["errors"][0]["code"], "required", "{}", r.text);
    // Another kind of aid the same year: multiple aid, after a reassessment.
    let medical = json!({"kind": "medical", "amount_fen": 100000, "period": "2026", "out_of_pocket_fen": 500000});
    let r = pay(medical.clone());
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "reassessment", "{}", r.text);
    assert_eq!(
        r.body["errors"][0]["code"], "reassessment_required",
        "{}",
        r.text
    );
    let mut with = medical;
    with["reassessment"] = json!({"members": 3, "annual_income_fen": 1_800_000});
    let r = pay(with);
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        r.body["lines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["text"]
                .as_str()
                .is_some_and(|t| t.contains("仍符合建档条件")))),
        "{}",
        r.text
    );
    let id = r.body["disbursement"]["id"].as_str().expect("id");
    let audit = s.call(
        "GET",
        &format!("/v1/audit?entity=disbursement&entity_id={id}"),
        Some(&s.login("auditor").access),
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(
        audit.body["items"][0]["changes"]["reassessment"]["after"]["annual_income_fen"], 1_800_000,
        "{}",
        audit.text
    );
}

/// The example of an operation's JSON request body: the media type's own, or its schema's.
fn request_example(doc: &serde_json::Value, op: &serde_json::Value) -> Option<serde_json::Value> {
    let media = op["requestBody"]["content"].get("application/json")?;
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    let schema = bangfu_e2e::contract::resolve(doc, &media["schema"]);
    schema.get("example").cloned()
}

/// Every documented request example, sent to a real server: the server takes it as well
/// formed (no 400, 415, or 422 for a wrong or missing field), and answers with a status,
/// type and body its contract documents (the harness checks every answer).
#[test]
fn every_documented_request_example_is_taken_as_documented() {
    let s = crate::applications::start();
    let doc = bangfu_e2e::contract::document();
    let (file, county) = crate::applications::approved_file(&s, "examples");
    let village = s.region_id(&county.access, "530123101001");
    let household = s.register_household(&county, &village);
    let phone = s.device_session("qingshan_helper");
    let applicant = crate::applications::applicant(&s, "example");
    let tokens: Vec<(&str, String)> = ["county_officer", "admin", "qingshan_secretary"]
        .into_iter()
        .map(|u| (u, s.login(u).access))
        .collect();
    let ids = [
        ("{id}", "/v1/case-files/", file.as_str()),
        ("{id}", "/v1/households/", household.as_str()),
        ("{id}", "/v1/regions/", village.as_str()),
        ("{id}", "/v1/users/", county.user_id.as_str()),
        ("{year}", "/v1/calendar/", "2027"),
    ];
    let mut failures = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op.get("requestBody").is_none() {
                continue;
            }
            let Some(example) = request_example(doc, op) else {
                if op["requestBody"]["content"]
                    .get("application/json")
                    .is_some()
                {
                    failures.push(format!("{method} {template}: no example"));
                }
                continue;
            };
            let mut path = template.clone();
            for (param, prefix, id) in ids {
                if template.starts_with(prefix) {
                    path = path.replacen(param, id, 1);
                }
            }
            while let Some(start) = path.find('{') {
                let end = path[start..]
                    .find('}')
                    .map_or(path.len(), |e| start + e + 1);
                path.replace_range(start..end, &bangfu_e2e::new_id());
            }
            let applicant_op = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r.get("applicant").is_some());
            let sync = template.starts_with("/v1/sync/");
            let candidates: Vec<Option<&str>> = if op.get("security").is_none() {
                vec![None]
            } else if applicant_op {
                vec![Some(applicant.as_str())]
            } else if sync {
                vec![Some(phone.access.as_str())]
            } else {
                tokens.iter().map(|(_, t)| Some(t.as_str())).collect()
            };
            let headers: &[(&str, &str)] = if sync {
                &[bangfu_e2e::SYNC_HEADER]
            } else {
                &[]
            };
            let mut reply = None;
            for token in candidates {
                let r = s.call_with(
                    &method.to_uppercase(),
                    &path,
                    token,
                    Some(example.clone()),
                    headers,
                );
                let refused = r.status == 403;
                reply = Some(r);
                if !refused {
                    break;
                }
            }
            let r = reply.expect("an answer");
            let shape = r.body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["code"] == "invalid_value" || e["code"] == "required");
            if matches!(r.status, 400 | 415) || (r.status == 422 && shape) {
                failures.push(format!("{method} {template}: {} {}", r.status, r.text));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "examples the server does not take:\n{}",
        failures.join("\n")
    );
}
