//! The OpenAPI contract: the committed file is what the code generates, the server serves
//! it, and the docs UI works without internet.

use bangfu_e2e::TestServer;

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
