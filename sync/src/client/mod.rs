//! The reference client: what a phone app embeds. It keeps its own SQLite store, records
//! every change in an outbox while offline, pushes the outbox with retry-safe mutation
//! ids, and pulls what changed in its scope. Records shown to the user are the server's
//! state with the pending changes laid over it, so nothing captured disappears before the
//! server has it.

pub mod case_numbers;
pub mod cli;
pub mod photos;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::codes::Code;
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::digest::{self, Digests};
use crate::hlc::{Clock, Hlc};
use crate::merge::{Incoming, Rejection, Stored, validate};
use crate::schema;
use crate::wire::{
    APP_VERSION_HEADER, DigestRequest, DigestResponse, Held, MAX_REPAIR_BUCKETS, Mutation,
    MutationStatus, Op, PENDING_HEADER, PROTOCOL_HEADER, PullResponse, PushRequest, PushResponse,
    RepairRequest, RepairResponse,
};
use store::{OutboxRow, RecordRow, outbox, records, rejected};

/// How many outbox entries go in one push.
pub const PUSH_BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer from the server (offline, timeout): nothing was lost, try again later.
    #[error("server unreachable: {0}")]
    Offline(String),
    /// The server refused; `code` is the problem's code, when the answer was a problem.
    #[error("server answered {status}: {body}")]
    Server {
        status: u16,
        code: Option<Code>,
        body: String,
    },
    #[error("local store: {0}")]
    Local(String),
    /// The change does not fit the entity; nothing was recorded.
    #[error("invalid change: {0:?}")]
    Invalid(Vec<Rejection>),
    #[error("not signed in")]
    NotSignedIn,
    /// The command line could not be understood (the text is clap's help or error).
    #[error("{0}")]
    Usage(String),
}

/// The `code` of a problem answer.
fn problem_code(body: &str) -> Option<Code> {
    let v: Value = serde_json::from_str(body).ok()?;
    serde_json::from_value(v.get("code")?.clone()).ok()
}

impl From<diesel::result::Error> for ClientError {
    fn from(e: diesel::result::Error) -> Self {
        ClientError::Local(e.to_string())
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        ClientError::Offline(e.to_string())
    }
}

/// A record as the device shows it: the server's state with pending changes applied.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRecord {
    pub entity: String,
    pub id: String,
    /// The server version the pending changes are based on (0: not on the server yet).
    pub version: i64,
    pub deleted: bool,
    pub fields: Map<String, Value>,
    pub pending: usize,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushSummary {
    pub sent: usize,
    pub applied: usize,
    pub conflicts: usize,
    pub rejected: usize,
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepairSummary {
    /// Buckets whose digests differed from the server's.
    pub buckets: usize,
    /// Rows received (lacking or held at another version).
    pub received: usize,
    /// Rows dropped (not live in the scope).
    pub dropped: usize,
}

/// One field device.
pub struct Field {
    db: SqliteConnection,
    http: reqwest::blocking::Client,
    base_url: String,
    clock: Clock,
    page_size: Option<u32>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn wall_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

impl Field {
    /// Opens (or creates) the device's store at `path`, talking to `base_url`.
    pub fn open(path: &str, base_url: &str) -> Result<Field, ClientError> {
        let mut db = store::open(path)?;
        let node = match store::get_meta(&mut db, "node")? {
            Some(n) => n,
            None => {
                let n = uuid::Uuid::now_v7().to_string();
                store::set_meta(&mut db, "node", &n)?;
                n
            }
        };
        let mut clock = Clock::new(node, u64::MAX / 4);
        // The clock never runs backwards, even across restarts.
        if let Some(last) =
            store::get_meta(&mut db, "last_hlc")?.and_then(|h| h.parse::<Hlc>().ok())
        {
            clock
                .observe(&last, wall_ms())
                .map_err(|e| ClientError::Local(e.to_string()))?;
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Local(e.to_string()))?;
        Ok(Field {
            db,
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            clock,
            page_size: None,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn token(&mut self) -> Result<String, ClientError> {
        store::get_meta(&mut self.db, "access_token")?.ok_or(ClientError::NotSignedIn)
    }

    /// Signs in; registers this device on first use, then binds the session to it.
    pub fn login(&mut self, username: &str, password: &str) -> Result<(), ClientError> {
        let device = store::get_meta(&mut self.db, "device_id")?;
        self.sign_in(username, password, device.as_deref())?;
        if device.is_none() {
            let node = store::get_meta(&mut self.db, "node")?.unwrap_or_default();
            let reg = json!({"id": node, "name": format!("bangfu-field {username}"), "platform": "bangfu-field"});
            let token = self.token()?;
            self.expect_json(
                self.http
                    .post(self.url("/v1/devices"))
                    .bearer_auth(token)
                    .json(&reg)
                    .send()?,
            )?;
            store::set_meta(&mut self.db, "device_id", &node)?;
            self.sign_in(username, password, Some(&node))?;
        }
        Ok(())
    }

    fn sign_in(
        &mut self,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = json!({"username": username, "password": password, "device_id": device});
        let tokens = self.expect_json(
            self.http
                .post(self.url("/v1/auth/login"))
                .json(&body)
                .send()?,
        )?;
        self.save_tokens(&tokens)
    }

    fn save_tokens(&mut self, t: &Value) -> Result<(), ClientError> {
        for key in ["access_token", "refresh_token", "user_id"] {
            if let Some(v) = t[key].as_str() {
                store::set_meta(&mut self.db, key, v)?;
            }
        }
        Ok(())
    }

    fn expect_json(&self, r: reqwest::blocking::Response) -> Result<Value, ClientError> {
        let status = r.status().as_u16();
        let text = r.text()?;
        if !(200..300).contains(&status) {
            return Err(ClientError::Server {
                status,
                code: problem_code(&text),
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Server {
            status,
            code: None,
            body: e.to_string(),
        })
    }

    /// Sends an authenticated request; on an expired token, refreshes once and retries.
    fn send(
        &mut self,
        build: impl Fn(&reqwest::blocking::Client, &str) -> reqwest::blocking::RequestBuilder,
    ) -> Result<Value, ClientError> {
        for attempt in 0..2 {
            let token = self.token()?;
            // The server shows supervisors what waits on the phone.
            let pending = self.pending()?;
            let r = build(&self.http, &token)
                .header(PROTOCOL_HEADER, crate::PROTOCOL_VERSION.to_string())
                .header(PENDING_HEADER, pending.to_string())
                .header(APP_VERSION_HEADER, env!("CARGO_PKG_VERSION"))
                .send()?;
            if r.status().as_u16() == 401 && attempt == 0 {
                let refresh = store::get_meta(&mut self.db, "refresh_token")?
                    .ok_or(ClientError::NotSignedIn)?;
                let t = self.expect_json(
                    self.http
                        .post(self.url("/v1/auth/refresh"))
                        .json(&json!({"refresh_token": refresh}))
                        .send()?,
                )?;
                self.save_tokens(&t)?;
                continue;
            }
            return self.expect_json(r);
        }
        Err(ClientError::NotSignedIn)
    }

    /// The user this device is signed in as.
    pub fn user_id(&mut self) -> Result<String, ClientError> {
        store::get_meta(&mut self.db, "user_id")?.ok_or(ClientError::NotSignedIn)
    }

    /// This device's id, once registered.
    pub fn device_id(&mut self) -> Result<Option<String>, ClientError> {
        store::get_meta(&mut self.db, "device_id")
    }

    /// A record as the device shows it.
    pub fn record(&mut self, entity: &str, id: &str) -> Result<Option<LocalRecord>, ClientError> {
        let base = store::record(&mut self.db, entity, id)?;
        let pending: Vec<OutboxRow> = outbox::table
            .filter(outbox::entity.eq(entity))
            .filter(outbox::id.eq(id))
            .order(outbox::pos.asc())
            .select(OutboxRow::as_select())
            .load(&mut self.db)?;
        if base.is_none() && pending.is_empty() {
            return Ok(None);
        }
        let mut rec = LocalRecord {
            entity: entity.to_owned(),
            id: id.to_owned(),
            version: base.as_ref().map_or(0, |b| b.version),
            deleted: base.as_ref().is_some_and(|b| b.deleted),
            fields: match &base {
                Some(b) => store::parse_object(&b.data)?,
                None => Map::new(),
            },
            pending: pending.len(),
        };
        for p in pending {
            if p.op == "delete" {
                rec.deleted = true;
            } else {
                rec.deleted = false;
                rec.fields.extend(store::parse_object(&p.fields)?);
            }
        }
        Ok(Some(rec))
    }

    /// Every record of an entity the device holds, deleted ones left out.
    pub fn records(&mut self, entity: &str) -> Result<Vec<LocalRecord>, ClientError> {
        let mut ids: Vec<String> = records::table
            .filter(records::entity.eq(entity))
            .select(records::id)
            .load(&mut self.db)?;
        ids.extend(
            outbox::table
                .filter(outbox::entity.eq(entity))
                .select(outbox::id)
                .load::<String>(&mut self.db)?,
        );
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            if let Some(r) = self.record(entity, &id)?.filter(|r| !r.deleted) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Records a change made on the device (offline is fine). Returns the record id.
    pub fn capture(
        &mut self,
        entity: &str,
        id: Option<&str>,
        fields: Map<String, Value>,
    ) -> Result<String, ClientError> {
        self.enqueue(entity, id, Op::Upsert, fields)
    }

    /// Deletes a record on the device; the tombstone goes with the next push.
    pub fn delete(&mut self, entity: &str, id: &str) -> Result<(), ClientError> {
        self.enqueue(entity, Some(id), Op::Delete, Map::new())
            .map(|_| ())
    }

    fn enqueue(
        &mut self,
        entity: &str,
        id: Option<&str>,
        op: Op,
        fields: Map<String, Value>,
    ) -> Result<String, ClientError> {
        let def = schema::entity(entity).ok_or_else(|| {
            ClientError::Invalid(vec![Rejection {
                field: String::new(),
                code: Code::UnknownEntity,
                message: format!("no entity {entity}"),
                message_zh: format!("没有名为 {entity} 的实体。"),
            }])
        })?;
        let id = id.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        let current = self.record(entity, &id)?;
        let node = store::get_meta(&mut self.db, "node")?.unwrap_or_default();
        let hlc = self
            .clock
            .tick(wall_ms())
            .map_err(|e| ClientError::Local(e.to_string()))?;
        let stored = current.as_ref().map(|c| Stored {
            version: c.version,
            deleted: c.deleted,
            data: c.fields.clone(),
            stamps: BTreeMap::new(),
        });
        let errors = validate(
            def,
            stored.as_ref(),
            &Incoming {
                device: &node,
                base_version: current.as_ref().map_or(0, |c| c.version),
                hlc: &hlc,
                delete: op == Op::Delete,
                fields: &fields,
            },
        );
        if !errors.is_empty() {
            return Err(ClientError::Invalid(errors));
        }
        let base_version = store::record(&mut self.db, entity, &id)?.map_or(0, |r| r.version);
        self.db.transaction(|c| {
            diesel::insert_into(outbox::table)
                .values((
                    outbox::mutation_id.eq(uuid::Uuid::now_v7().to_string()),
                    outbox::entity.eq(entity),
                    outbox::id.eq(&id),
                    outbox::op.eq(if op == Op::Delete { "delete" } else { "upsert" }),
                    outbox::base_version.eq(base_version),
                    outbox::hlc.eq(hlc.to_string()),
                    outbox::fields.eq(Value::Object(fields.clone()).to_string()),
                ))
                .execute(c)?;
            store::set_meta(c, "last_hlc", &hlc.to_string())
        })?;
        Ok(id)
    }

    /// Changes waiting to be pushed.
    pub fn pending(&mut self) -> Result<i64, ClientError> {
        Ok(outbox::table.count().get_result(&mut self.db)?)
    }

    /// The outbox in the order it is pushed: (mutation id, entity, id).
    pub fn outbox(&mut self) -> Result<Vec<(String, String, String)>, ClientError> {
        Ok(outbox::table
            .order(outbox::pos.asc())
            .select((outbox::mutation_id, outbox::entity, outbox::id))
            .load(&mut self.db)?)
    }

    /// Changes the server refused: (mutation id, entity, id, problem).
    pub fn refused(&mut self) -> Result<Vec<(String, String, String, Value)>, ClientError> {
        let rows: Vec<(String, String, String, String)> = rejected::table
            .select((
                rejected::mutation_id,
                rejected::entity,
                rejected::id,
                rejected::problem,
            ))
            .load(&mut self.db)?;
        Ok(rows
            .into_iter()
            .map(|(m, e, i, p)| (m, e, i, serde_json::from_str(&p).unwrap_or(Value::Null)))
            .collect())
    }

    /// Pushes the whole outbox, in batches. A batch whose answer is lost is sent again with
    /// the same mutation ids, and the server answers it from the first time.
    pub fn push(&mut self) -> Result<PushSummary, ClientError> {
        let mut summary = PushSummary::default();
        loop {
            let rows: Vec<OutboxRow> = outbox::table
                .order(outbox::pos.asc())
                .limit(PUSH_BATCH)
                .select(OutboxRow::as_select())
                .load(&mut self.db)?;
            if rows.is_empty() {
                return Ok(summary);
            }
            let mutations = rows
                .iter()
                .map(|r| {
                    Ok(Mutation {
                        mutation_id: r.mutation_id.clone(),
                        entity: r.entity.clone(),
                        id: r.id.clone(),
                        op: if r.op == "delete" {
                            Op::Delete
                        } else {
                            Op::Upsert
                        },
                        base_version: r.base_version,
                        hlc: r.hlc.clone(),
                        fields: store::parse_object(&r.fields)?,
                    })
                })
                .collect::<Result<Vec<_>, ClientError>>()?;
            let body = PushRequest { mutations };
            let url = self.url("/v1/sync/push");
            let answer = self.send(|http, token| http.post(&url).bearer_auth(token).json(&body))?;
            let answer: PushResponse =
                serde_json::from_value(answer).map_err(|e| ClientError::Local(e.to_string()))?;
            if let Ok(h) = answer.server_hlc.parse::<Hlc>() {
                let _ = self.clock.observe(&h, wall_ms());
            }
            self.db.transaction(|c| {
                for (row, result) in rows.iter().zip(&answer.results) {
                    summary.sent += 1;
                    match result.status {
                        MutationStatus::Rejected => {
                            summary.rejected += 1;
                            diesel::replace_into(rejected::table)
                                .values((
                                    rejected::mutation_id.eq(&row.mutation_id),
                                    rejected::entity.eq(&row.entity),
                                    rejected::id.eq(&row.id),
                                    rejected::fields.eq(&row.fields),
                                    rejected::problem
                                        .eq(serde_json::to_string(&result.problem)
                                            .unwrap_or_default()),
                                ))
                                .execute(c)?;
                        }
                        MutationStatus::Applied | MutationStatus::Merged => {
                            summary.applied += 1;
                            // Every field sent was taken: show them until the next pull. When
                            // merged, others' changes are missing here, so the version stays
                            // behind and the pull brings the whole record.
                            let mut base =
                                store::record(c, &row.entity, &row.id)?.unwrap_or(RecordRow {
                                    entity: row.entity.clone(),
                                    id: row.id.clone(),
                                    version: 0,
                                    deleted: false,
                                    data: "{}".into(),
                                });
                            if row.op == "delete" {
                                base.deleted = true;
                            } else {
                                let mut data = store::parse_object(&base.data)?;
                                data.extend(store::parse_object(&row.fields)?);
                                base.data = Value::Object(data).to_string();
                                base.deleted = false;
                            }
                            if result.status == MutationStatus::Applied {
                                base.version = base.version.max(result.version.unwrap_or(0));
                            }
                            store::put_record(c, &base)?;
                        }
                        // Some field lost to a change this device has not seen: the record is
                        // whatever the server holds, and a pull brings it if it changed.
                        // Guessing here would make the device diverge.
                        MutationStatus::Conflict => summary.conflicts += 1,
                        MutationStatus::Unchanged => summary.applied += 1,
                    }
                    diesel::delete(outbox::table.find(row.pos)).execute(c)?;
                }
                store::finish_drops(c)
            })?;
        }
    }

    /// Pulls every change in scope since the last pull; the cursor is saved page by page,
    /// so an interrupted pull resumes where it stopped. Returns the number of changes.
    pub fn pull(&mut self) -> Result<usize, ClientError> {
        let mut total = 0;
        let mut reset = false;
        loop {
            match self.pull_page() {
                Ok((n, more)) => {
                    total += n;
                    if !more {
                        return Ok(total);
                    }
                }
                // Offline longer than the server keeps deletions: start over, once.
                Err(ClientError::Server {
                    code: Some(Code::ResetRequired),
                    ..
                }) if !reset => {
                    reset = true;
                    self.reset()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks for at most `n` changes per pull page (the server's default otherwise).
    pub fn set_page_size(&mut self, n: Option<u32>) {
        self.page_size = n;
    }

    /// Pulls one page and saves its cursor with it; returns the changes received and
    /// whether more are waiting. A fresh store's first page is today's work.
    pub fn pull_page(&mut self) -> Result<(usize, bool), ClientError> {
        let cursor = store::get_meta(&mut self.db, "cursor")?;
        let mut query: Vec<String> = Vec::new();
        if let Some(c) = &cursor {
            query.push(format!("cursor={c}"));
        }
        if let Some(n) = self.page_size {
            query.push(format!("limit={n}"));
        }
        let url = self.url(&format!("/v1/sync/pull?{}", query.join("&")));
        let page = self.send(|http, token| http.get(&url).bearer_auth(token))?;
        let page: PullResponse =
            serde_json::from_value(page).map_err(|e| ClientError::Local(e.to_string()))?;
        if let Ok(h) = page.server_hlc.parse::<Hlc>() {
            let _ = self.clock.observe(&h, wall_ms());
        }
        self.db.transaction(|c| {
            for ch in &page.changes {
                let local = store::record(c, &ch.entity, &ch.id)?;
                if local.as_ref().is_none_or(|l| l.version <= ch.version) {
                    store::put_record(
                        c,
                        &RecordRow {
                            entity: ch.entity.clone(),
                            id: ch.id.clone(),
                            version: ch.version,
                            deleted: ch.deleted,
                            data: Value::Object(ch.fields.clone()).to_string(),
                        },
                    )?;
                }
            }
            // Out of scope now (a case handed over, a move): drop, keeping unsent work.
            for (entity, ids) in &page.drops {
                store::drop_records(c, entity, ids)?;
            }
            store::set_meta(c, "cursor", &page.next_cursor)
        })?;
        Ok((page.changes.len(), page.has_more))
    }

    /// Forgets what was pulled, keeping every record with unsent changes and the outbox
    /// itself, so the next pull starts from the beginning and loses nothing of the user's.
    pub fn reset(&mut self) -> Result<(), ClientError> {
        self.db.transaction(|c| {
            let pending: Vec<(String, String)> =
                outbox::table.select((outbox::entity, outbox::id)).load(c)?;
            let held: Vec<(String, String)> = records::table
                .select((records::entity, records::id))
                .load(c)?;
            for (entity, id) in held {
                if !pending.iter().any(|(e, i)| *e == entity && *i == id) {
                    diesel::delete(records::table.find((&entity, &id))).execute(c)?;
                }
            }
            diesel::delete(store::meta::table.find("cursor")).execute(c)?;
            Ok::<_, ClientError>(())
        })
    }

    /// Repairs the store without a full restore: compares bucket digests of what it holds
    /// with the server's for its scope, then fetches only the rows of the buckets that
    /// differ that it lacks or holds at another version, and drops what it should not hold.
    /// Unsent changes are kept; the pull cursor is untouched.
    pub fn repair(&mut self) -> Result<RepairSummary, ClientError> {
        let held: Vec<(String, String, i64)> = records::table
            .filter(records::deleted.eq(false))
            .select((records::entity, records::id, records::version))
            .load(&mut self.db)?;
        let mut mine = Digests::default();
        for (entity, id, version) in &held {
            mine.add(entity, id, *version);
        }
        let url = self.url("/v1/sync/digest");
        let body = DigestRequest {
            digests: mine.to_wire(),
        };
        let answer = self.send(|http, token| http.post(&url).bearer_auth(token).json(&body))?;
        let answer: DigestResponse =
            serde_json::from_value(answer).map_err(|e| ClientError::Local(e.to_string()))?;
        let differing: Vec<(String, u16)> = answer
            .differing
            .into_iter()
            .flat_map(|(e, bs)| bs.into_iter().map(move |b| (e.clone(), b)))
            .collect();
        let mut summary = RepairSummary {
            buckets: differing.len(),
            ..RepairSummary::default()
        };
        for chunk in differing.chunks(MAX_REPAIR_BUCKETS) {
            let mut req = RepairRequest {
                buckets: BTreeMap::new(),
                held: BTreeMap::new(),
            };
            for (e, b) in chunk {
                req.buckets.entry(e.clone()).or_default().push(*b);
            }
            for (entity, id, version) in &held {
                if chunk.contains(&(entity.clone(), digest::bucket(id))) {
                    req.held.entry(entity.clone()).or_default().push(Held {
                        id: id.clone(),
                        version: *version,
                    });
                }
            }
            let url = self.url("/v1/sync/repair");
            let answer = self.send(|http, token| http.post(&url).bearer_auth(token).json(&req))?;
            let answer: RepairResponse =
                serde_json::from_value(answer).map_err(|e| ClientError::Local(e.to_string()))?;
            summary.received += answer.changes.len();
            summary.dropped += answer.drops.values().map(Vec::len).sum::<usize>();
            self.db.transaction(|c| {
                // The server's state is the truth here, whatever version the store held.
                for ch in &answer.changes {
                    store::put_record(
                        c,
                        &RecordRow {
                            entity: ch.entity.clone(),
                            id: ch.id.clone(),
                            version: ch.version,
                            deleted: ch.deleted,
                            data: Value::Object(ch.fields.clone()).to_string(),
                        },
                    )?;
                }
                for (entity, ids) in &answer.drops {
                    store::drop_records(c, entity, ids)?;
                }
                Ok::<_, ClientError>(())
            })?;
        }
        Ok(summary)
    }

    /// Push, then pull.
    pub fn sync(&mut self) -> Result<(PushSummary, usize), ClientError> {
        let pushed = self.push()?;
        let pulled = self.pull()?;
        Ok((pushed, pulled))
    }

    /// Open conflicts in the user's scope, as the server lists them.
    pub fn conflicts(&mut self) -> Result<Vec<Value>, ClientError> {
        let url = self.url("/v1/sync/conflicts?limit=500");
        let v = self.send(|http, token| http.get(&url).bearer_auth(token))?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }
}
