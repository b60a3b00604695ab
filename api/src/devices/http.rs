//! Devices: `/v1/devices`. A phone registers once; signing in with its id binds the session
//! to it, and every write made with that session names it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::devices::queries::DeviceRow;
use crate::devices::service;
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::utc;
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "user_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "name": "李芳的手机", "platform": "android", "app_version": "1.4.2",
    "created_at": "2026-11-22T09:30:00Z", "last_seen_at": null, "revoked_at": null
}))]
pub struct DeviceOut {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub platform: String,
    pub app_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<DeviceRow> for DeviceOut {
    fn from(d: DeviceRow) -> Self {
        DeviceOut {
            id: d.id,
            user_id: d.user_id,
            name: d.name,
            platform: d.platform,
            app_version: d.app_version,
            created_at: utc(d.created_at),
            last_seen_at: d.last_seen_at.map(utc),
            revoked_at: d.revoked_at.map(utc),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "name": "李芳的手机", "platform": "android", "app_version": "1.4.2"}))]
pub struct NewDeviceBody {
    /// The app's install id (UUID). Registering the same id again returns the device.
    pub id: Option<Uuid>,
    pub name: String,
    /// `android`, `ios`, `wechat_mini_program`, `web`, …
    pub platform: String,
    pub app_version: Option<String>,
}

/// Register a device for the signed-in user (201), or return it if already registered (200).
#[utoipa::path(tag = "devices", security(("bearer" = [])), request_body = NewDeviceBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = DeviceOut), (status = 200, description = "Already registered", body = DeviceOut),
              (status = 409, description = "The id belongs to another account (`device_id_taken`), or the account has 10 active devices (`too_many_devices`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("register_device")))
)]
#[post("/v1/devices")]
pub async fn register(
    state: web::Data<AppState>,
    caller: Require<perm::RegisterDevice>,
    req: HttpRequest,
    body: ApiJson<NewDeviceBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |(d, created): &(DeviceRow, bool)| {
        let status = if *created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        answer(status, &DeviceOut::from(d.clone()))
    };
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    let new = service::Registration {
        id: b.id.map(|u| u.to_string()),
        name: b.name,
        platform: b.platform,
        app_version: b.app_version,
    };
    service::register(&state.db, &caller, new, once)
        .await?
        .respond(render)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// `true`: every device of staff in the caller's jurisdiction (officers and admins).
    #[serde(default)]
    pub all: bool,
}

/// The caller's devices, or with `all=true` the devices in the caller's jurisdiction.
#[utoipa::path(tag = "devices", security(("bearer" = [])), params(DeviceQuery, PageParams),
    responses((status = 200, body = Page<DeviceOut>)),
    extensions(("x-bangfu-permission" = json!("register_device")))
)]
#[get("/v1/devices")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::RegisterDevice>,
    q: Query<DeviceQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<DeviceOut>>> {
    service::may_list(&caller, q.all)?;
    let limit = page.limit()?;
    let after = page.position()?;
    let rows = service::list(&state.db, &caller, q.all, after, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |d| d.id.clone(),
        DeviceOut::from,
    )))
}

/// Revoke a lost or retired device: every session on it ends at once. Owners may revoke
/// their own devices; officers and admins any in their jurisdiction.
#[utoipa::path(tag = "devices", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DeviceOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("register_device")))
)]
#[post("/v1/devices/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Require<perm::RegisterDevice>,
    id: web::Path<Uuid>,
) -> Result<web::Json<DeviceOut>> {
    let d = service::revoke(&state.db, &caller, &id.to_string()).await?;
    Ok(web::Json(d.into()))
}
