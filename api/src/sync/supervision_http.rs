//! Supervising sync: `GET /v1/sync/devices` (each device's truth: last push and pull,
//! versions, outbox, refusals) and the quarantine of refused mutations.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::state::AppState;
use crate::sync::service;
use crate::sync::supervision::{DeviceView, QuarantineRow};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "device_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d70", "device_name": "李芳的手机", "username": "qingshan_helper",
    "protocol_version": 1, "app_version": "2.3.0", "last_push_at": "2026-11-22T08:10:00Z",
    "last_pull_at": "2026-11-22T08:10:02Z", "pending_reported": 0, "pushed_total": 214, "rejected_total": 2,
    "open_rejections": 1, "synced": false, "revoked": false
}))]
pub struct DeviceStatusOut {
    pub device_id: String,
    pub device_name: String,
    pub username: String,
    pub protocol_version: i32,
    pub app_version: Option<String>,
    pub last_push_at: Option<DateTime<Utc>>,
    pub last_pull_at: Option<DateTime<Utc>>,
    /// Changes waiting on the phone, as it last reported them.
    pub pending_reported: Option<i64>,
    pub pushed_total: i64,
    pub rejected_total: i64,
    /// Refused changes nobody has settled yet.
    pub open_rejections: i64,
    /// True only when the phone reported an empty outbox and nothing of it is refused.
    pub synced: bool,
    pub revoked: bool,
}

fn device_out(v: DeviceView) -> DeviceStatusOut {
    let synced = v.synced();
    let s = v.status;
    DeviceStatusOut {
        synced,
        device_id: s.device_id,
        device_name: v.device_name,
        username: v.username,
        protocol_version: s.protocol_version,
        app_version: s.app_version,
        last_push_at: s.last_push_at.map(utc),
        last_pull_at: s.last_pull_at.map(utc),
        pending_reported: s.pending_reported,
        pushed_total: s.pushed_total,
        rejected_total: s.rejected_total,
        open_rejections: v.open_rejections,
        revoked: v.revoked,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceStatusList {
    pub items: Vec<DeviceStatusOut>,
}

/// Every syncing device of the staff in the caller's jurisdiction, with the truth about
/// it: nobody is shown "synced" while a change of theirs is refused or unsent.
#[utoipa::path(tag = "sync", security(("bearer" = [])), responses((status = 200, body = DeviceStatusList)),
    extensions(("x-bangfu-permission" = json!("supervise_sync")))
)]
#[get("/v1/sync/devices")]
pub async fn devices(
    state: web::Data<AppState>,
    caller: Require<perm::SuperviseSync>,
) -> Result<web::Json<DeviceStatusList>> {
    let rows = service::devices(&state.db, &caller).await?;
    Ok(web::Json(DeviceStatusList {
        items: rows.into_iter().map(device_out).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantinedOut {
    pub device_id: String,
    pub mutation_id: String,
    pub user_id: String,
    pub entity: String,
    pub record_id: String,
    /// The mutation as the device sent it.
    #[schema(value_type = Object)]
    pub mutation: serde_json::Value,
    /// Why it was refused: a code, a detail, and the fields at fault.
    #[schema(value_type = Object)]
    pub problem: serde_json::Value,
    /// `open` or `settled`.
    pub state: String,
    pub note: Option<String>,
    pub settled_by: Option<String>,
    pub settled_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

fn quarantined_out(r: QuarantineRow) -> Result<QuarantinedOut> {
    Ok(QuarantinedOut {
        mutation: serde_json::from_str(&r.payload).map_err(Error::internal)?,
        problem: serde_json::from_str(&r.problem).map_err(Error::internal)?,
        device_id: r.device_id,
        mutation_id: r.mutation_id,
        user_id: r.user_id,
        entity: r.entity,
        record_id: r.record_id,
        state: r.state,
        note: r.note,
        settled_by: r.settled_by,
        settled_at: r.settled_at.map(utc),
        received_at: utc(r.created_at),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// `open` (default), `settled` or `all`.
    pub state: Option<String>,
    pub device_id: Option<uuid::Uuid>,
}

/// Changes devices sent that the server refused, kept with what was sent and why, for a
/// supervisor to settle: they are neither lost nor blocking the device.
#[utoipa::path(tag = "sync", security(("bearer" = [])), params(QuarantineQuery, PageParams),
    responses((status = 200, body = Page<QuarantinedOut>)),
    extensions(("x-bangfu-permission" = json!("supervise_sync")))
)]
#[get("/v1/sync/quarantine")]
pub async fn quarantine(
    state: web::Data<AppState>,
    caller: Require<perm::SuperviseSync>,
    q: Query<QuarantineQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<QuarantinedOut>>> {
    let limit = page.limit()?;
    let search = service::QuarantineSearch {
        state: q.state.clone(),
        device_id: q.device_id.map(|d| d.to_string()),
        cursor: page.position()?,
    };
    let rows = service::quarantine(&state.db, &caller, search, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| format!("{}/{}", r.device_id, r.mutation_id),
        quarantined_out,
    );
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已电话联系帮扶责任人，走访记录改由其重新录入"}))]
pub struct SettleBody {
    /// What was done about it (at least 4 characters).
    pub note: String,
}

/// Settle a refused change with a note (audited).
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    params(("device_id" = uuid::Uuid, Path), ("mutation_id" = uuid::Uuid, Path)),
    request_body = SettleBody,
    responses((status = 200, body = QuarantinedOut),
              (status = 409, description = "Already settled", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("resolve_conflicts")))
)]
#[post("/v1/sync/quarantine/{device_id}/{mutation_id}/settle")]
pub async fn settle(
    state: web::Data<AppState>,
    caller: Require<perm::ResolveConflicts>,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
    body: ApiJson<SettleBody>,
) -> Result<web::Json<QuarantinedOut>> {
    let (device, mutation) = (path.0.to_string(), path.1.to_string());
    let row = service::settle(&state.db, &caller, &device, &mutation, &body.0.note).await?;
    Ok(web::Json(quarantined_out(row)?))
}
