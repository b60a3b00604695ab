//! The sync use cases: push, pull, digest and repair, conflicts, and what supervisors see
//! of devices and refused changes. Each owns its transactions; the HTTP adapter
//! (`sync/http.rs`, `sync/supervision_http.rs`) reads the protocol headers and answers.

use std::sync::{Arc, Mutex};

use bangfu_sync::digest::{Digests, WireDigests};
use bangfu_sync::wire::{
    DigestResponse, MAX_BATCH, MAX_PULL, Mutation, PullResponse, PushResponse, RepairRequest,
    RepairResponse,
};
use bangfu_sync::{Clock, Code};

use crate::devices::queries as devices;
use crate::domain::caller::Caller;
use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, FieldError, Lang, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::records::reach;
use crate::records::store::{self as records, ConflictFilter, ConflictRow};
use crate::sync::conflicts::{self, Choice};
use crate::sync::pull::Cursor;
use crate::sync::push::{self as apply_push, Answer, Pusher, wall_ms};
use crate::sync::supervision::{self, DeviceReport, DeviceView, QuarantineRow, SyncingDevice};
use crate::sync::{first, pull as feed_pull, repair};

/// The server's hybrid logical clock, shared by every worker of the process.
pub type ServerClock = Arc<Mutex<Clock>>;

/// A stamp of the server's clock, for answers: a device moves its own clock past it.
pub fn server_hlc(clock: &ServerClock) -> Result<String> {
    let mut clock = clock
        .lock()
        .map_err(|_| Error::Internal("clock poisoned".into()))?;
    Ok(clock.tick(wall_ms()).map_err(Error::internal)?.to_string())
}

/// Syncing is done from a registered device: the session must have signed in with one.
fn device_pusher(caller: &Caller) -> Result<Pusher> {
    let device_id = caller.device_id.clone().ok_or(Error::Unprocessable {
        code: Code::DeviceRequired,
        detail: Msg::fixed(
            "同步需要已登记的设备：先调用 POST /v1/devices，再带 device_id 登录。",
            "Sync needs a registered device: POST /v1/devices, then sign in with its device_id.",
        ),
    })?;
    Ok(Pusher::device(caller, device_id))
}

/// Applies a device's batch as one unit of work: every mutation judged and written, the
/// device's last contact, and what supervisors see of the push, in one transaction. Each
/// mutation is answered on its own; a repeated mutation id gets its first answer again.
pub async fn push(
    db: &Db,
    clock: &ServerClock,
    key: &DataKey,
    caller: &Caller,
    report: DeviceReport,
    mutations: Vec<Mutation>,
) -> Result<Pushed> {
    let who = device_pusher(caller)?;
    if mutations.len() > MAX_BATCH {
        return Err(Error::BatchTooLarge { max: MAX_BATCH });
    }
    let (hlc, key, region_path) = (clock.clone(), key.clone(), caller.region_path.clone());
    let work = move |c: &mut DbConn| {
        let answers = apply_push::apply(c, &who, &hlc, &key, &mutations)?;
        devices::touch(c, &who.device_id, report.app_version.as_deref())?;
        let d = SyncingDevice {
            device_id: &who.device_id,
            user_id: &who.user_id,
            region_path: &region_path,
        };
        let results: Vec<_> = answers.iter().map(|a| a.result.clone()).collect();
        supervision::record_push(c, &d, &report, &mutations, &results)?;
        Ok(answers)
    };
    // The kill test's control run answers before committing, to prove the test notices.
    #[cfg(feature = "fault-injection")]
    let results = if crate::sync::fault::ack_before_commit() {
        crate::sync::fault::answer_then_commit(db, work).await?
    } else {
        db.write(work).await?
    };
    #[cfg(not(feature = "fault-injection"))]
    let results = db.write(work).await?;
    Ok(Pushed {
        answers: results,
        server_hlc: server_hlc(clock)?,
    })
}

/// A push's answers, each with a refusal's texts in both languages.
#[derive(Debug)]
pub struct Pushed {
    pub answers: Vec<Answer>,
    pub server_hlc: String,
}

impl Pushed {
    /// The answer as sent, in `lang`.
    pub fn in_lang(&self, lang: Lang) -> PushResponse {
        PushResponse {
            results: self.answers.iter().map(|a| a.in_lang(lang)).collect(),
            server_hlc: self.server_hlc.clone(),
        }
    }
}

/// What changed in the caller's scope since `cursor` (none: from the start, today's work
/// first), `limit` changes at most (1 to 1000, default 500). A finished pull tells the
/// device which of its photos to send; the first pull after the user lost part of their
/// scope is when the device learns of it; both are recorded after the read.
pub async fn pull(
    db: &Db,
    clock: &ServerClock,
    caller: &Caller,
    report: DeviceReport,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<PullResponse> {
    let limit = match limit {
        None => 500,
        Some(n) if (1..=MAX_PULL as i64).contains(&n) => n,
        Some(_) => {
            return Err(Error::validation(
                "limit",
                Code::OutOfRange,
                Msg::fixed(
                    "limit 须在 1 到 1000 之间。",
                    "limit must be between 1 and 1000.",
                ),
            ));
        }
    };
    let after = cursor
        .map(Cursor::decode)
        .transpose()?
        .unwrap_or(Cursor::START);
    let fresh = cursor.is_none();
    let (scope, device) = (caller.scope.clone(), caller.device_id.clone());
    let (user_id, region_id) = (caller.user_id.clone(), caller.region_id.clone());
    let rep = report.clone();
    let (page, last_mutation_id, missing_photos, record, unseen) = db
        .read(move |c| {
            // A fresh device gets today's work first, then the whole feed from its start.
            let first = if fresh {
                first::todays_work(c, &scope, &user_id, &region_id, limit as usize)?
            } else {
                Vec::new()
            };
            let page = if first.is_empty() {
                feed_pull::pull(c, &scope, &user_id, after, limit)?
            } else {
                feed_pull::Page {
                    changes: first,
                    drops: Default::default(),
                    next: Cursor::START,
                    has_more: true,
                }
            };
            let last = match &device {
                Some(d) => records::last_answered(c, d)?,
                None => None,
            };
            // Once the device is up to date, tell it which of its photos to send.
            let missing = if page.has_more {
                Vec::new()
            } else {
                crate::photos::uploads::queries::missing_for(c, &scope, &user_id, 1000)?
            };
            // A finished pull is recorded for supervisors, when it tells them something.
            let record = match &device {
                Some(d) if !page.has_more => supervision::pull_worth_recording(c, d, &rep)?,
                _ => false,
            };
            // The first pull after the user lost part of their scope is when this device
            // learns of it: what it captures there afterwards is no longer taken.
            let unseen = match &device {
                Some(d) => reach::unseen_ends(c, &user_id, d, crate::infra::clock::now())?,
                None => Vec::new(),
            };
            Ok((page, last, missing, record, unseen))
        })
        .await?;
    if let (Some(device_id), false) = (caller.device_id.clone(), unseen.is_empty()) {
        db.write(move |c| reach::mark_seen(c, &device_id, &unseen, crate::infra::clock::now()))
            .await?;
    }
    if let Some(device_id) = caller.device_id.clone().filter(|_| record) {
        let (user_id, region_path) = (caller.user_id.clone(), caller.region_path.clone());
        db.write(move |c| {
            let d = SyncingDevice {
                device_id: &device_id,
                user_id: &user_id,
                region_path: &region_path,
            };
            supervision::record_pull(c, &d, &report)
        })
        .await?;
    }
    Ok(PullResponse {
        changes: page.changes,
        drops: page.drops,
        next_cursor: page.next.encode(),
        has_more: page.has_more,
        server_hlc: server_hlc(clock)?,
        last_mutation_id,
        missing_photos,
    })
}

/// Which buckets of the caller's scope differ from the device's digests.
pub async fn digest(db: &Db, caller: &Caller, digests: &WireDigests) -> Result<DigestResponse> {
    let device = Digests::from_wire(digests).ok_or_else(|| {
        Error::validation(
            "digests",
            Code::InvalidDigest,
            Msg::fixed(
                "摘要须为 32 位十六进制数，分桶编号为 0 到 255。",
                "Digests are 32 hex digits and buckets 0 to 255.",
            ),
        )
    })?;
    let scope = caller.scope.clone();
    let server = db.read(move |c| repair::digests(c, &scope)).await?;
    Ok(DigestResponse {
        differing: server.differing(&device),
    })
}

/// The rows of the asked buckets, and the ids the device holds there that it should drop.
pub async fn repair(db: &Db, caller: &Caller, ask: RepairRequest) -> Result<RepairResponse> {
    let scope = caller.scope.clone();
    let (changes, drops) = db.read(move |c| repair::repair(c, &scope, &ask)).await?;
    Ok(RepairResponse { changes, drops })
}

/// Which conflicts to list: `state` is `open` (default) or `all`.
#[derive(Debug, Clone, Default)]
pub struct ConflictSearch {
    pub state: Option<String>,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub after_id: Option<String>,
}

/// Conflicts on records in the caller's scope, `limit` at most.
pub async fn conflicts(
    db: &Db,
    caller: &Caller,
    q: ConflictSearch,
    limit: i64,
) -> Result<Vec<ConflictRow>> {
    let open_only = match q.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(Error::validation(
                "state",
                Code::InvalidValue,
                Msg::fixed("state 须为 open 或 all。", "state is open or all."),
            ));
        }
    };
    let f = ConflictFilter {
        open_only,
        entity: q.entity,
        record_id: q.record_id,
        after_id: q.after_id,
    };
    let scope = caller.scope.clone();
    db.read(move |c| records::conflicts(c, &scope, &f, limit))
        .await
}

/// Settles a conflict: `kept` leaves the record, `lost` puts the losing value back, and
/// `value` sets `value` instead. The choice is a change made online by the person, judged
/// like a phone's, so every device receives it on its next pull.
pub async fn resolve(
    db: &Db,
    clock: &ServerClock,
    key: &DataKey,
    caller: &Caller,
    id: &str,
    keep: &str,
    value: Option<serde_json::Value>,
) -> Result<ConflictRow> {
    let choice = match (keep, value) {
        ("kept", None) => Choice::Kept,
        ("lost", None) => Choice::Lost,
        ("value", Some(v)) => Choice::Value(v),
        _ => {
            return Err(Error::validation(
                "keep",
                Code::InvalidValue,
                Msg::fixed(
                    "keep 须为 kept、lost，或 value 并同时给出 value。",
                    "keep is kept, lost, or value together with a value.",
                ),
            ));
        }
    };
    let who = Pusher::online(caller);
    let (clock, key, id) = (clock.clone(), key.clone(), id.to_owned());
    let (row, _) = db
        .write(move |c| conflicts::resolve(c, &who, &clock, &key, &id, choice))
        .await?;
    Ok(row)
}

/// Every device of the caller's scope with its last push and pull and refusals.
pub async fn devices(db: &Db, caller: &Caller) -> Result<Vec<DeviceView>> {
    let scope = caller.scope.clone();
    db.read(move |c| supervision::devices_in_scope(c, &scope))
        .await
}

/// Which quarantined mutations to list: `state` is `open` (default), `settled` or `all`;
/// `cursor` is the previous page's last `device/mutation`.
#[derive(Debug, Clone, Default)]
pub struct QuarantineSearch {
    pub state: Option<String>,
    pub device_id: Option<String>,
    pub cursor: Option<String>,
}

/// Refused mutations of devices in the caller's scope, `limit` at most.
pub async fn quarantine(
    db: &Db,
    caller: &Caller,
    q: QuarantineSearch,
    limit: i64,
) -> Result<Vec<QuarantineRow>> {
    let after = match q.cursor {
        None => None,
        Some(p) => Some(
            p.split_once('/')
                .map(|(d, m)| (d.to_owned(), m.to_owned()))
                .ok_or_else(|| {
                    Error::Validation(vec![FieldError::new(
                        "cursor",
                        Code::InvalidCursor,
                        Msg::fixed("cursor 无效。", "Invalid cursor."),
                    )])
                })?,
        ),
    };
    let filter = match q.state.as_deref() {
        None | Some("open") => Some("open"),
        Some("settled") => Some("settled"),
        Some("all") => None,
        Some(_) => {
            return Err(Error::validation(
                "state",
                Code::InvalidValue,
                Msg::fixed(
                    "state 为 open、settled 或 all。",
                    "state is open, settled or all.",
                ),
            ));
        }
    };
    let (scope, device) = (caller.scope.clone(), q.device_id);
    db.read(move |c| supervision::quarantine(c, &scope, filter, device.as_deref(), after, limit))
        .await
}

/// Settles a refused mutation, saying what was done (at least 4 characters; audited).
pub async fn settle(
    db: &Db,
    caller: &Caller,
    device_id: &str,
    mutation_id: &str,
    note: &str,
) -> Result<QuarantineRow> {
    let note = note.trim().to_owned();
    if note.chars().count() < 4 {
        return Err(Error::validation(
            "note",
            Code::Required,
            Msg::fixed(
                "请说明处理情况（至少 4 个字）。",
                "Say what was done (at least 4 characters).",
            ),
        ));
    }
    let (device, mutation) = (device_id.to_owned(), mutation_id.to_owned());
    let (actor, scope) = (caller.actor(), caller.scope.clone());
    db.write(move |c| supervision::settle(c, &actor, &scope, &device, &mutation, &note))
        .await
}
