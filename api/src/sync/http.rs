//! The delta-sync endpoints under `/v1/sync/`. The protocol is described in
//! `sync/PROTOCOL.md`; the work is done in `crate::sync`.

use actix_web::{HttpRequest, get, post, web};
use bangfu_sync::schema::{ENTITIES, FieldType, MergeRule, Writer};
use bangfu_sync::wire::{
    APP_VERSION_HEADER, DigestRequest, DigestResponse, PENDING_HEADER, PROTOCOL_HEADER,
    PullResponse, PushRequest, PushResponse, RepairRequest, RepairResponse,
};
use bangfu_sync::{Code, PROTOCOL_VERSION};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::envelope::request_lang;
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::records::store::ConflictRow;
use crate::state::AppState;
use crate::sync::service;
use crate::sync::supervision::DeviceReport;

/// The largest push body: 1000 mutations of a few kilobytes.
const PUSH_LIMIT: usize = 8 * 1024 * 1024;

fn check_protocol(req: &HttpRequest) -> Result<()> {
    let sent = req
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if sent == Some(PROTOCOL_VERSION.to_string().as_str()) {
        return Ok(());
    }
    let Some(sent) = sent else {
        return Err(Error::BadRequest {
            code: Code::SyncProtocolRequired,
            detail: Msg::new(
                format!(
                    "缺少请求头 {PROTOCOL_HEADER}：请带上客户端使用的同步协议版本（本服务器为 {PROTOCOL_VERSION}）。"
                ),
                format!(
                    "The {PROTOCOL_HEADER} header is missing: send the sync protocol version the client speaks (this server speaks {PROTOCOL_VERSION})."
                ),
            ),
        });
    };
    Err(Error::UpgradeRequired {
        detail: Msg::new(
            format!(
                "同步协议版本不兼容（服务器为 {PROTOCOL_VERSION}，客户端为 {}），请升级应用后再同步；未同步的数据仍保存在手机上。",
                sent
            ),
            format!(
                "Incompatible sync protocol (server {PROTOCOL_VERSION}, client {}): upgrade the app, then sync; unsent changes stay on the phone.",
                sent
            ),
        ),
    })
}

/// What the device says about itself: protocol, `Bangfu-App-Version`, `Bangfu-Pending`.
fn report(req: &HttpRequest) -> DeviceReport {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 40)
    };
    DeviceReport {
        protocol_version: PROTOCOL_VERSION as i32,
        app_version: header(APP_VERSION_HEADER).map(str::to_owned),
        pending: header(PENDING_HEADER)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n >= 0),
    }
}

/// Send changes captured on the device. Each mutation is answered on its own (applied,
/// merged, conflict, unchanged or rejected); the batch is written in one transaction; a
/// repeated mutation id gets its first answer again.
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    params(("Bangfu-Sync-Protocol" = String, Header, description = "Sync protocol version; must be 1")),
    request_body = PushRequest,
    responses((status = 200, body = PushResponse),
              (status = 413, description = "More than 1000 mutations, or a body over 8 MiB", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "The session has no device: register one (`POST /v1/devices`) and sign in with its `device_id` (`device_required`); or the body has invalid fields", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 400, description = "The `Bangfu-Sync-Protocol` header is missing (`sync_protocol_required`), or the request is malformed", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 426, description = "Incompatible protocol version: upgrade the app", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[post("/v1/sync/push")]
pub async fn push(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPush>,
    req: HttpRequest,
    body: ApiJson<PushRequest, PUSH_LIMIT>,
) -> Result<web::Json<PushResponse>> {
    check_protocol(&req)?;
    let answer = service::push(
        &state.db,
        &state.hlc,
        &state.data_key,
        &caller,
        report(&req),
        body.0.mutations,
    )
    .await?;
    Ok(web::Json(answer.in_lang(request_lang(&req))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// `next_cursor` of the previous pull; absent to start from the beginning.
    pub cursor: Option<String>,
    /// Changes per page, 1 to 1000 (default 500).
    pub limit: Option<i64>,
}

/// Receive what changed in the caller's scope since the cursor: synced records (tombstones
/// for deleted ones) and regions, in the order they were committed, and the ids of rows to
/// drop (no longer in scope). Without a cursor, the first page is today's work (the
/// households the caller helps with their open records, the open dropout cases they work)
/// when there is any, and the history follows from the start of the feed.
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    params(PullQuery, ("Bangfu-Sync-Protocol" = String, Header, description = "Sync protocol version; must be 1")),
    responses((status = 200, body = PullResponse),
              (status = 410, description = "The cursor is older than the tombstone horizon (`reset_required`): pull again without a cursor; unsent changes stay on the phone and are pushed as usual", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 400, description = "The `Bangfu-Sync-Protocol` header is missing (`sync_protocol_required`), or the request is malformed", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 426, description = "Incompatible protocol version: upgrade the app", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[get("/v1/sync/pull")]
pub async fn pull(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPull>,
    req: HttpRequest,
    q: Query<PullQuery>,
) -> Result<web::Json<PullResponse>> {
    check_protocol(&req)?;
    let answer = service::pull(
        &state.db,
        &state.hlc,
        &caller,
        report(&req),
        q.cursor.as_deref(),
        q.limit,
    )
    .await?;
    Ok(web::Json(answer))
}

/// The largest repair body: a device's ids in 64 buckets.
const REPAIR_LIMIT: usize = 8 * 1024 * 1024;

/// Compare what the device holds with its scope: the device sends a digest per bucket of
/// each entity's live rows and learns which buckets differ (then asks `/v1/sync/repair`
/// for those). See `sync/PROTOCOL.md`.
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    params(("Bangfu-Sync-Protocol" = String, Header, description = "Sync protocol version; must be 1")),
    request_body = DigestRequest,
    responses((status = 200, body = DigestResponse),
              (status = 422, description = "A digest is not 32 hex digits, or a bucket is not 0–255", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 400, description = "The `Bangfu-Sync-Protocol` header is missing (`sync_protocol_required`), or the request is malformed", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 426, description = "Incompatible protocol version: upgrade the app", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[post("/v1/sync/digest")]
pub async fn digest(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPull>,
    req: HttpRequest,
    body: ApiJson<DigestRequest, REPAIR_LIMIT>,
) -> Result<web::Json<DigestResponse>> {
    check_protocol(&req)?;
    Ok(web::Json(
        service::digest(&state.db, &caller, &body.0.digests).await?,
    ))
}

/// Repair the buckets that differ: the device lists the rows it holds in them and gets back
/// only the rows it lacks or holds at another version, and the ids it should drop.
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    params(("Bangfu-Sync-Protocol" = String, Header, description = "Sync protocol version; must be 1")),
    request_body = RepairRequest,
    responses((status = 200, body = RepairResponse),
              (status = 422, description = "More than 64 buckets, or an unknown entity", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 400, description = "The `Bangfu-Sync-Protocol` header is missing (`sync_protocol_required`), or the request is malformed", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 426, description = "Incompatible protocol version: upgrade the app", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[post("/v1/sync/repair")]
pub async fn repair_buckets(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPull>,
    req: HttpRequest,
    body: ApiJson<RepairRequest, REPAIR_LIMIT>,
) -> Result<web::Json<RepairResponse>> {
    check_protocol(&req)?;
    Ok(web::Json(
        service::repair(&state.db, &caller, body.0).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldSchema {
    pub name: &'static str,
    /// `text`, `id`, `instant`, `date`, `bool`, `int`, `number`, `one_of`, `set_of`, `geo`,
    /// `checklist`, `object`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// `last_writer_wins`, `forward_only`, `union` or `immutable`.
    pub merge: &'static str,
    pub required: bool,
    /// Who may set it: `device` (any device in scope), `author` (the id of the person the
    /// record is by: the pushing user, or for staff someone of their jurisdiction) or
    /// `server` (only the server's decisions; a new record may carry `initial`).
    pub set_by: &'static str,
    /// For `server` fields, the value a device may create the record with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial: Option<&'static str>,
    /// Allowed values (`one_of`, `set_of`), in forward order for `forward_only` fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<&'static str>,
    /// Items of a checklist (e.g. the basic-needs check).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntitySchema {
    pub name: &'static str,
    /// Records never changed or deleted once made.
    pub append_only: bool,
    /// Besides the region: `household_id` (the household's assigned helpers also see the
    /// record) or `school_id` (the school's staff also see it); absent when only the region
    /// decides.
    pub reached_through: Option<&'static str>,
    pub fields: Vec<FieldSchema>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncSchema {
    pub protocol_version: u32,
    pub entities: Vec<EntitySchema>,
}

fn field_schema(f: &bangfu_sync::schema::FieldDef) -> FieldSchema {
    let (type_, values, items, max_length): (
        &str,
        Vec<&'static str>,
        Vec<&'static str>,
        Option<usize>,
    ) = match f.ty {
        FieldType::Text(n) => ("text", vec![], vec![], Some(n)),
        FieldType::Id => ("id", vec![], vec![], None),
        FieldType::Instant => ("instant", vec![], vec![], None),
        FieldType::Date => ("date", vec![], vec![], None),
        FieldType::Bool => ("bool", vec![], vec![], None),
        FieldType::Int(..) => ("int", vec![], vec![], None),
        FieldType::Number(..) => ("number", vec![], vec![], None),
        FieldType::OneOf(v) => ("one_of", v.to_vec(), vec![], None),
        FieldType::SetOf(v) => ("set_of", v.to_vec(), vec![], None),
        FieldType::Geo => ("geo", vec![], vec![], None),
        FieldType::Checklist(keys, v) => ("checklist", v.to_vec(), keys.to_vec(), None),
        FieldType::Object => ("object", vec![], vec![], None),
    };
    let merge = match f.rule {
        MergeRule::LastWriterWins => "last_writer_wins",
        MergeRule::ForwardOnly(_) => "forward_only",
        MergeRule::Union => "union",
        MergeRule::Immutable => "immutable",
    };
    let (set_by, initial) = match f.writer {
        Writer::Device => ("device", None),
        Writer::Author => ("author", None),
        Writer::Server { initial } => ("server", initial),
    };
    FieldSchema {
        name: f.name,
        type_,
        merge,
        required: f.required,
        set_by,
        initial,
        values,
        items,
        max_length,
    }
}

/// The synced entities, their fields, checklists and merge rules: what an app needs to
/// build its forms and validate offline.
#[utoipa::path(tag = "sync", security(("bearer" = [])), responses((status = 200, body = SyncSchema)),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[get("/v1/sync/schema")]
pub async fn schema(_caller: Require<perm::SyncPull>) -> web::Json<SyncSchema> {
    web::Json(SyncSchema {
        protocol_version: PROTOCOL_VERSION,
        entities: ENTITIES
            .iter()
            .map(|e| EntitySchema {
                name: e.name,
                append_only: e.append_only,
                reached_through: e.reach.field(),
                fields: e.fields.iter().map(field_schema).collect(),
            })
            .collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d30", "entity": "visit", "record_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21",
    "field": "notes", "kept": "屋顶已修好", "lost": "屋顶漏雨", "kept_hlc": "000001795373004123-00000-a", "lost_hlc": "000001795373001000-00000-b",
    "lost_device_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d00", "lost_user_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d23",
    "state": "open", "resolution": null, "resolved_by": null, "resolved_at": null, "created_at": "2026-11-22T09:30:00Z"
}))]
pub struct ConflictOut {
    pub id: String,
    pub entity: String,
    pub record_id: String,
    /// The field both sides changed; empty when an edit met a delete (then `lost` holds
    /// the record's fields before the delete, or the edit's fields).
    pub field: String,
    /// The value in the record now: any JSON value of the field's type (a string, a
    /// number, an object, …), or the record's fields for an edit against a delete.
    pub kept: serde_json::Value,
    /// The value that lost, likewise.
    pub lost: serde_json::Value,
    pub kept_hlc: Option<String>,
    pub lost_hlc: String,
    /// The device and user whose change lost, when it came from a device.
    pub lost_device_id: Option<String>,
    pub lost_user_id: Option<String>,
    /// `open` or `resolved`.
    pub state: String,
    /// How it was settled: `{"keep": …, "value": …}`, once resolved.
    pub resolution: Option<serde_json::Value>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn conflict_out(c: ConflictRow) -> ConflictOut {
    let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    ConflictOut {
        kept: json(&c.kept),
        lost: json(&c.lost),
        resolution: c.resolution.as_deref().map(json),
        id: c.id,
        entity: c.entity,
        record_id: c.record_id,
        field: c.field,
        kept_hlc: c.kept_hlc,
        lost_hlc: c.lost_hlc,
        lost_device_id: c.lost_device_id,
        lost_user_id: c.lost_user_id,
        state: c.state,
        resolved_by: c.resolved_by,
        resolved_at: c.resolved_at.map(utc),
        created_at: utc(c.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// `open` (default) or `all`.
    pub state: Option<String>,
    pub entity: Option<String>,
    pub record_id: Option<Uuid>,
}

/// Conflicts in the caller's scope, oldest first.
#[utoipa::path(tag = "sync", security(("bearer" = [])), params(ConflictQuery, PageParams),
    responses((status = 200, body = Page<ConflictOut>)),
    extensions(("x-bangfu-permission" = json!("sync_pull")))
)]
#[get("/v1/sync/conflicts")]
pub async fn list_conflicts(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPull>,
    q: Query<ConflictQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<ConflictOut>>> {
    let limit = page.limit()?;
    let search = service::ConflictSearch {
        state: q.state.clone(),
        entity: q.entity.clone(),
        record_id: q.record_id.map(|u| u.to_string()),
        after_id: page.position()?,
    };
    let rows = service::conflicts(&state.db, &caller, search, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |c| c.id.clone(),
        conflict_out,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"keep": "lost"}))]
pub struct ResolveBody {
    /// `kept`: leave the record as it is; `lost`: put the losing value back (for an edit
    /// against a delete, restore the record); `value`: set `value` instead.
    pub keep: String,
    /// With `keep: value`: the value to set, any JSON value of the field's type (e.g. a
    /// string for a text field).
    pub value: Option<serde_json::Value>,
}

/// Settle a conflict. The choice is applied as a new change to the record, so every device
/// receives it on its next pull.
#[utoipa::path(tag = "sync", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = ResolveBody,
    responses((status = 200, body = ConflictOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already resolved", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("resolve_conflicts")))
)]
#[post("/v1/sync/conflicts/{id}/resolve")]
pub async fn resolve_conflict(
    state: web::Data<AppState>,
    caller: Require<perm::ResolveConflicts>,
    id: web::Path<Uuid>,
    body: ApiJson<ResolveBody>,
) -> Result<web::Json<ConflictOut>> {
    let b = body.0;
    let row = service::resolve(
        &state.db,
        &state.hlc,
        &state.data_key,
        &caller,
        &id.to_string(),
        &b.keep,
        b.value,
    )
    .await?;
    Ok(web::Json(conflict_out(row)))
}
