//! A prefecture-level city for the benchmarks at scale: 10 counties, 100 townships, 1,000
//! villages and as many households as asked (50,000 to 500,000), with their people, five
//! years of aid case files and monthly payments, the field workers' synced records and the
//! audit log, drawn from one seed and loaded into PostgreSQL with `COPY`.
//!
//! The loader bypasses the API for speed, so each table's writer builds the rows the use
//! cases would have written (bangfu's own functions seal and hash the ID numbers), and
//! [`read_back`] then reads a sample of them through the API and compares.

pub mod bench;
pub mod copy;
pub mod field;
pub mod files;
pub mod frame;
pub mod lag;
pub mod plan;
pub mod registry;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// A small client of a running server, for reading the loaded data back and timing it.
pub struct Api {
    pub base: String,
    http: Client,
    /// Tokens by (username, device): signing in is slow on purpose, so once each.
    tokens: Mutex<HashMap<(String, Option<String>), String>>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: Client::builder()
                .timeout(Duration::from_secs(300))
                .build()
                .expect("client"),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// A token of `username` (every generated account has the demo password), signed in on
    /// one of their registered phones when `device` is given, as the app does to sync.
    pub fn token(&self, username: &str, device: Option<&str>) -> anyhow::Result<String> {
        let key = (username.to_owned(), device.map(str::to_owned));
        if let Some(t) = self.tokens.lock().expect("tokens").get(&key) {
            return Ok(t.clone());
        }
        let body = json!({"username": username, "password": bangfu::demo::DEMO_PASSWORD,
                          "device_id": device});
        let t = self.send(
            self.http
                .post(format!("{}/v1/auth/login", self.base))
                .json(&body),
        )?;
        let token = t["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no token for {username} ({device:?}): {t}"))?;
        self.tokens
            .lock()
            .expect("tokens")
            .insert(key, token.clone());
        Ok(token)
    }

    pub fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        self.get_with(token, path, false)
    }

    /// A GET; `sync` adds the sync protocol's header, as the phones send it.
    pub fn get_with(&self, token: &str, path: &str, sync: bool) -> anyhow::Result<Value> {
        let mut r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        if sync {
            r = r.header(
                bangfu_sync::wire::PROTOCOL_HEADER,
                bangfu_sync::PROTOCOL_VERSION.to_string(),
            );
        }
        self.send(r)
    }

    /// Everything a phone's scope holds, pulled page by page from the start: the changes,
    /// and the cursor to pull what changes next.
    pub fn pull_all(&self, token: &str) -> anyhow::Result<(Vec<Value>, String)> {
        let mut changes = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/sync/pull?limit=1000&cursor={c}"),
                None => "/v1/sync/pull?limit=1000".to_owned(),
            };
            let page = self.get_with(token, &path, true)?;
            changes.extend(page["changes"].as_array().context("changes")?.clone());
            cursor = Some(
                page["next_cursor"]
                    .as_str()
                    .context("next_cursor")?
                    .to_owned(),
            );
            if page["has_more"].as_bool() != Some(true) {
                return Ok((changes, cursor.unwrap_or_default()));
            }
        }
    }

    pub fn post(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body),
        )
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> anyhow::Result<Value> {
        let r = request.send()?;
        let status = r.status();
        let text = r.text()?;
        if !status.is_success() {
            bail!("{status}: {text}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }
}

/// Fails naming `what` and the field when a field of `want` (an object) is not the same in
/// `got`.
pub fn expect_fields(what: &str, got: &Value, want: &Value) -> anyhow::Result<()> {
    for (field, value) in want.as_object().context("an object")? {
        if &got[field] != value {
            bail!("{what}: {field} is {}, generated {value}", got[field]);
        }
    }
    Ok(())
}

/// Reads `sample` of each kind of generated row back through the API.
pub fn read_back(plan: &plan::Plan, api: &Api, sample: usize) -> anyhow::Result<()> {
    registry::read_back(plan, api, sample).context("registry")?;
    files::read_back(plan, api, sample).context("case files")?;
    field::read_back(plan, api, sample).context("field records")?;
    Ok(())
}
