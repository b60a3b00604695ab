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

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// A small client of a running server, for reading the loaded data back.
pub struct Api {
    pub base: String,
    http: Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: Client::builder()
                .timeout(Duration::from_secs(300))
                .build()
                .expect("client"),
        }
    }

    /// Signs `username` in (every generated account has the demo password); the token.
    pub fn login(&self, username: &str) -> anyhow::Result<String> {
        self.login_with(username, None)
    }

    /// Signs `username` in on one of their registered phones, as the app does to sync.
    pub fn login_on_device(&self, username: &str, device: &str) -> anyhow::Result<String> {
        self.login_with(username, Some(device))
    }

    fn login_with(&self, username: &str, device: Option<&str>) -> anyhow::Result<String> {
        let body = json!({"username": username, "password": bangfu::demo::DEMO_PASSWORD,
                          "device_id": device});
        let t = self.send(
            self.http
                .post(format!("{}/v1/auth/login", self.base))
                .json(&body),
        )?;
        t["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no token for {username} ({device:?}): {t}"))
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
            r = r.header("Bangfu-Sync-Protocol", "1");
        }
        self.send(r)
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

/// Reads `sample` of each kind of generated row back through the API.
pub fn read_back(plan: &plan::Plan, api: &Api, sample: usize) -> anyhow::Result<()> {
    registry::read_back(plan, api, sample).context("registry")?;
    files::read_back(plan, api, sample).context("case files")?;
    field::read_back(plan, api, sample).context("field records")?;
    Ok(())
}
