//! What travels between a device and the server under `/v1/sync/`. See `sync/PROTOCOL.md`.

use std::collections::BTreeMap;

use crate::codes::Code;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Header naming the protocol version the client speaks; required on sync requests.
pub const PROTOCOL_HEADER: &str = "Bangfu-Sync-Protocol";
/// The app's version, as the device states it (shown to supervisors).
pub const APP_VERSION_HEADER: &str = "Bangfu-App-Version";
/// How many changes wait in the device's outbox (shown to supervisors).
pub const PENDING_HEADER: &str = "Bangfu-Pending";

/// The most mutations one push may carry.
pub const MAX_BATCH: usize = 1000;

/// The most changes one pull answers with.
pub const MAX_PULL: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create the record or change the fields sent.
    #[default]
    Upsert,
    /// Delete the record (a tombstone travels to every device).
    Delete,
}

/// One change a device made to one record while offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mutation_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d20",
    "entity": "visit", "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21", "op": "upsert", "base_version": 0,
    "hlc": "000001795373004123-00000-0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d00",
    "fields": {"region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d22",
               "helper_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d23", "kind": "routine", "visited_at": "2026-11-22T09:30:00Z",
               "basic_needs": {"food": "met", "safe_housing": "not_met"}, "notes": "屋顶漏雨"}
}))]
pub struct Mutation {
    /// Made by the device (UUIDv7), unique per device: a repeated id is answered from the
    /// first time, never applied twice.
    pub mutation_id: String,
    pub entity: String,
    /// The record's id, made by the device that created it (UUIDv7).
    pub id: String,
    #[serde(default)]
    pub op: Op,
    /// The record version the device last saw; 0 for a record it created.
    pub base_version: i64,
    /// Hybrid-clock time of the edit on the device.
    pub hlc: String,
    /// The fields changed (all required ones when creating).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mutations": [{
    "mutation_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d20",
    "entity": "visit", "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21", "op": "upsert", "base_version": 0,
    "hlc": "000001795373004123-00000-0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d00",
    "fields": {"region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d22",
               "helper_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d23", "kind": "routine", "visited_at": "2026-11-22T09:30:00Z",
               "basic_needs": {"food": "met", "safe_housing": "not_met"}, "notes": "屋顶漏雨"}
}]}))]
pub struct PushRequest {
    /// At most 1000, applied in order in one transaction.
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    /// Taken as sent.
    Applied,
    /// Taken, merged with changes the device had not seen yet; pull to get them.
    Merged,
    /// A field was also changed elsewhere; one value was kept, the other is in a conflict
    /// record (see `conflict_ids`).
    Conflict,
    /// The record already held these values.
    Unchanged,
    /// Not taken; `problem` says why. The rest of the batch is judged on its own.
    Rejected,
}

/// Why a mutation was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MutationProblem {
    /// Why, from the one vocabulary of codes: `validation_failed`, `out_of_scope`,
    /// `clock_ahead`, `server_only_field`, …
    pub code: Code,
    /// In Chinese unless `Accept-Language` prefers English (a repeat too).
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<MutationFieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MutationFieldError {
    pub field: String,
    pub code: Code,
    /// In Chinese unless `Accept-Language` prefers English.
    pub message: String,
}

/// The answer to one mutation; a repeat of the mutation gets the same answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MutationResult {
    pub mutation_id: String,
    pub entity: String,
    pub id: String,
    pub status: MutationStatus,
    /// The record's version after the mutation (absent when rejected).
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict_ids: Vec<String>,
    pub problem: Option<MutationProblem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    /// One per mutation, in the order sent.
    pub results: Vec<MutationResult>,
    /// The server's hybrid-clock time: devices fold it into their clocks.
    pub server_hlc: String,
}

/// The current state of one record that changed after the pull cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// A synced entity, or `region` for reference data.
    pub entity: String,
    pub id: String,
    pub version: i64,
    /// A tombstone: the device drops the record.
    pub deleted: bool,
    /// Every field of the record (empty for a tombstone).
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// Pass back as `cursor` on the next pull. Opaque.
    pub next_cursor: String,
    /// More changes are waiting: pull again at once.
    pub has_more: bool,
    pub server_hlc: String,
    /// The latest mutation of this device the server has answered: everything up to it
    /// can leave the device's outbox.
    pub last_mutation_id: Option<String>,
    /// Per entity (`household`, `region` or a synced entity), the ids of rows the device
    /// holds that are no longer in its user's scope: a case handed over, a move to another
    /// region, a record moved away. Drop them, but keep any unsent change to them in the
    /// outbox: edits made before the scope was lost are still accepted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(example = json!({"visit": ["0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21"], "household": ["0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d22"]}))]
    pub drops: BTreeMap<String, Vec<String>>,
    /// On the last page: SHA-256 digests that the user's photo records name and of which
    /// the server holds no complete copy from them. Upload these files (again).
    #[serde(default)]
    pub missing_photos: Vec<String>,
}

/// The most buckets one repair request may ask for.
pub const MAX_REPAIR_BUCKETS: usize = 64;

/// What a device holds for its scope, as bucket digests (see `bangfu_sync::digest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"digests": {"visit": {"33": "5f0c0e7a1d2b4c6e8f90a1b2c3d4e5f6"}, "household": {"1": "00c0ffee00c0ffee00c0ffee00c0ffee"}}}))]
pub struct DigestRequest {
    /// Entity (`region`, `household` or a synced entity) -> bucket (0–255, the last two hex
    /// digits of the id) -> 32 hex digits: the XOR of the first 16 bytes of
    /// `sha256("<id>:<version>")` of every live row held. Empty buckets are left out; an
    /// entity left out holds nothing.
    #[schema(value_type = Object)]
    pub digests: BTreeMap<String, BTreeMap<u16, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"differing": {"visit": [33, 140]}}))]
pub struct DigestResponse {
    /// Per entity, the buckets whose content differs from the server's for this scope.
    #[schema(value_type = Object)]
    pub differing: BTreeMap<String, Vec<u16>>,
}

/// One row a device holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Held {
    pub id: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"buckets": {"visit": [33]}, "held": {"visit": [{"id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21", "version": 2}]}}))]
pub struct RepairRequest {
    /// Per entity, the buckets to repair (at most 64 in all).
    #[schema(value_type = Object)]
    pub buckets: BTreeMap<String, Vec<u16>>,
    /// Per entity, every live row the device holds in those buckets.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub held: BTreeMap<String, Vec<Held>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RepairResponse {
    /// The current state of the rows in those buckets the device lacks or holds at another
    /// version: store them as they are.
    pub changes: Vec<Change>,
    /// Per entity, ids the device holds in those buckets that are not live in its scope:
    /// drop them (keeping unsent changes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub drops: BTreeMap<String, Vec<String>>,
}

/// Record ids a device must drop, by entity.
pub type Drops = std::collections::BTreeMap<String, Vec<String>>;
