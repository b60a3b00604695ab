//! Applying a push, in three steps: [`context`] loads everything the batch is judged
//! against, once; [`judge`] answers each mutation on its own, a pure function of the
//! mutation and that context, staging what it changes; [`write`] writes all of it in the
//! caller's transaction, with each answer stored so that a repeat gets it again. What is
//! particular to an entity (review decisions from a reviewer's phone, case numbers from a
//! reserved block) is declared in [`hooks`]; which fields only the server writes, and who
//! a record may name as its author, are declared with the entity's fields in
//! `bangfu_sync::schema`.

mod context;
pub mod hooks;
mod judge;
mod refusal;
mod write;

pub use refusal::{Answer, Refusal};

use bangfu_sync::wire::{Mutation, MutationResult, MutationStatus, Op};
use bangfu_sync::{Clock, Code};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::audit::log::Actor;
use crate::domain::access::Scope;
use crate::domain::role::Role;
use crate::infra::db::{DbConn, feed};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::records::store::MutationRow;
use crate::sync::rules::Origin;

/// Who pushes: the caller, on a registered device or through the server.
#[derive(Debug, Clone)]
pub struct Pusher {
    pub actor: Actor,
    pub user_id: String,
    pub role: Option<Role>,
    pub origin: Origin,
    /// The name its changes are stamped and answered under (see [`Origin::device_name`]).
    pub device_id: String,
    pub scope: Scope,
}

impl Pusher {
    fn new(caller: &crate::domain::caller::Caller, origin: Origin) -> Pusher {
        Pusher {
            actor: caller.actor(),
            user_id: caller.user_id.clone(),
            role: Some(caller.role),
            device_id: origin.device_name(&caller.user_id),
            origin,
            scope: caller.scope.clone(),
        }
    }

    /// The caller's phone, pushing what it captured.
    pub fn device(caller: &crate::domain::caller::Caller, device_id: String) -> Pusher {
        Pusher::new(caller, Origin::Device(device_id))
    }

    /// A change a person makes online (a resolution, a paper recorded on the web): theirs
    /// in the audit log, judged like a phone's.
    pub fn online(caller: &crate::domain::caller::Caller) -> Pusher {
        Pusher::new(caller, Origin::Online)
    }

    /// One of the server's decisions, made by the caller through a decision endpoint.
    pub fn deciding(caller: &crate::domain::caller::Caller) -> Pusher {
        Pusher::new(caller, Origin::Decision)
    }

    /// Whether the pusher may name `user` (whose region lies at `path`) as the person a
    /// record is by: staff above the field record for those of their jurisdiction.
    pub(crate) fn records_for(&self, path: Option<&String>) -> bool {
        !matches!(self.role, Some(Role::Helper) | None)
            && path.is_some_and(|p| self.scope.contains(p))
    }
}

/// The wall clock in milliseconds.
pub fn wall_ms() -> u64 {
    crate::infra::clock::current().wall_ms()
}

/// The digest of a mutation as sent, to tell a repeat from a reused id.
fn hash(m: &Mutation) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hashing(Sha256::new());
    let _ = serde_json::to_writer(&mut h, m);
    hex::encode(h.0.finalize())
}

fn status_name(s: MutationStatus) -> &'static str {
    match s {
        MutationStatus::Applied => "applied",
        MutationStatus::Merged => "merged",
        MutationStatus::Conflict => "conflict",
        MutationStatus::Unchanged => "unchanged",
        MutationStatus::Rejected => "rejected",
    }
}

/// Applies a batch inside the caller's write transaction and returns one answer per
/// mutation, in order: the context is loaded once, each mutation judged on its own, and
/// everything staged written together.
pub fn apply(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &std::sync::Mutex<Clock>,
    key: &DataKey,
    batch: &[Mutation],
) -> Result<Vec<Answer>> {
    // Take the feed lock first: concurrent pushes then apply one after the other, so no
    // merge works from a stale read and feed positions commit in order.
    feed::take(conn, 0)?;
    let (ctx, mut staging, mut answered) = context::load(conn, who, clock, batch)?;
    let now = ctx.now;
    let mut results = Vec::with_capacity(batch.len());
    let mut answers: Vec<MutationRow> = Vec::new();
    for m in batch {
        let h = hash(m);
        if let Some((prev_hash, prev)) = answered.get(&m.mutation_id) {
            results.push(if *prev_hash == h {
                prev.clone()
            } else {
                refusal::rejected(
                    m,
                    refusal::problem(
                        Code::MutationIdReused,
                        Msg::fixed(
                            "该变更 id 已用于另一项修改：每项修改须有自己的 id。",
                            "this mutation id was already used for a different change; give every change its own id",
                        ),
                    ),
                )
            });
            continue;
        }
        let result = judge::judge(m, &ctx, &mut staging)?;
        answers.push(MutationRow {
            device_id: who.device_id.clone(),
            mutation_id: m.mutation_id.clone(),
            user_id: who.user_id.clone(),
            entity: m.entity.clone(),
            record_id: m.id.clone(),
            request_hash: h.clone(),
            status: status_name(result.result.status).to_owned(),
            result: serde_json::to_string(&result).map_err(Error::internal)?,
            received_at: now,
        });
        answered.insert(m.mutation_id.clone(), (h, result.clone()));
        results.push(result);
    }
    write::write(conn, who, key, now, staging, &answers)?;
    Ok(results)
}

/// Applies one change made on the server (a decision, a resolution, a document recorded
/// online) like any pushed change, so it reaches every device; a change the rules refuse
/// is an error naming why.
pub fn apply_one(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &std::sync::Mutex<Clock>,
    key: &DataKey,
    m: Mutation,
) -> Result<MutationResult> {
    let answer = apply(conn, who, clock, key, std::slice::from_ref(&m))?
        .pop()
        .ok_or_else(|| Error::Internal("no result".into()))?;
    if answer.result.status == MutationStatus::Rejected {
        let p = answer
            .refusal
            .unwrap_or(Refusal::new(Code::ChangeRejected, Msg::fixed("", "")));
        if !p.errors.is_empty() {
            return Err(Error::Validation(p.errors));
        }
        return Err(Error::Unprocessable {
            code: Code::ChangeRejected,
            detail: Msg::new(
                format!("该修改无法写入：{}", p.detail.zh),
                format!("The change cannot be applied: {}", p.detail.en),
            ),
        });
    }
    Ok(answer.result)
}

/// A server-made change of `entity` record `id`: fields set now, by the server's clock.
pub fn server_mutation(
    clock: &std::sync::Mutex<Clock>,
    entity: &str,
    id: &str,
    base_version: i64,
    fields: Map<String, Value>,
) -> Result<Mutation> {
    let hlc = clock
        .lock()
        .map_err(|_| Error::Internal("clock poisoned".into()))?
        .tick(wall_ms())
        .map_err(Error::internal)?;
    Ok(Mutation {
        mutation_id: crate::infra::db::new_id(),
        entity: entity.to_owned(),
        id: id.to_owned(),
        op: Op::Upsert,
        base_version,
        hlc: hlc.to_string(),
        fields,
    })
}
