//! The audit trail: `GET /v1/audit` (auditors and admins, scoped to their jurisdiction).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::log::{EntryRow, Filter};
use crate::audit::service;
use crate::auth::caller::{Require, perm};
use crate::infra::error::Result;
use crate::infra::http::json::Query;
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "at": "2026-11-22T09:30:00.123456Z",
    "actor_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "actor_role": "county_officer",
    "device_id": null, "request_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0e",
    "action": "update", "entity": "region", "entity_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0d",
    "changes": {"dibao_fen": {"before": 72000, "after": 75000}}, "reason": null
}))]
pub struct AuditEntryOut {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `null` for the operator at the server's command line.
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub device_id: Option<String>,
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `login`, `logout`, `break_glass`, `unmask`, `revoke`, `export`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// `{field: {"before": …, "after": …}}`
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub reason: Option<String>,
}

fn out(e: EntryRow) -> AuditEntryOut {
    AuditEntryOut {
        changes: serde_json::from_str(&e.changes).unwrap_or(serde_json::Value::Null),
        id: e.id,
        at: utc(e.at),
        actor_id: e.actor_id,
        actor_role: e.actor_role,
        device_id: e.device_id,
        request_id: e.request_id,
        action: e.action,
        entity: e.entity,
        entity_id: e.entity_id,
        reason: e.reason,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `region`, `user`, `device`, `session`, `access_grant`, …
    pub entity: Option<String>,
    /// With `entity`: the history of one record.
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// Entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// Audit entries in the caller's jurisdiction, newest first. Filter by `entity` and
/// `entity_id` for one record's history.
#[utoipa::path(tag = "audit", security(("bearer" = [])), params(AuditQuery, PageParams),
    responses((status = 200, body = Page<AuditEntryOut>)),
    extensions(("x-bangfu-permission" = json!("read_audit")))
)]
#[get("/v1/audit")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadAudit>,
    q: Query<AuditQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<AuditEntryOut>>> {
    let limit = page.limit()?;
    let q = q.into_inner();
    let f = Filter {
        entity: q.entity,
        entity_id: q.entity_id,
        actor_id: q.actor_id,
        action: q.action,
        since: q.since.map(|t| t.naive_utc()),
        until: q.until.map(|t| t.naive_utc()),
        before_id: page.position()?,
    };
    let rows = service::entries(&state.db, &caller, f, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |e| e.id.clone(),
        out,
    )))
}
