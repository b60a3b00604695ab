//! Staff accounts: `/v1/me`, `/v1/users`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::accounts::queries::{ListFilter, UserWithRegion};
use crate::accounts::service;
use crate::auth::caller::{Caller, Require, perm};
use crate::domain::role::{Permission, Role};
use crate::domain::validate::mask_phone;
use crate::infra::error::Result;
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::unmask::UnmaskQuery;
use crate::infra::http::utc;
use crate::infra::http::versioning::{etag, if_match};
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "username": "qingshan_helper", "display_name": "李芳",
    "role": "helper", "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "region_name": "青山村",
    "phone": "138****5678", "active": true, "version": 1,
    "created_at": "2026-11-22T09:30:00Z", "updated_at": "2026-11-22T09:30:00Z"
}))]
pub struct UserOut {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_id: String,
    pub region_name: String,
    /// Masked (`138****5678`) except for the user themself, or when an officer asks for it
    /// with `unmask=true` (audited).
    pub phone: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user as `viewer` sees them: personal data masked unless `unmask` (already checked and
/// audited) or it is the viewer's own.
pub fn out(u: UserWithRegion, viewer: &Caller, unmask: bool) -> Result<UserOut> {
    let unmasked = unmask || viewer.user_id == u.user.id;
    Ok(UserOut {
        role: u.user.role()?,
        phone: u
            .user
            .phone
            .map(|p| if unmasked { p } else { mask_phone(&p) }),
        id: u.user.id,
        username: u.user.username,
        display_name: u.user.display_name,
        region_id: u.user.region_id,
        region_name: u.region.name,
        active: u.user.active,
        version: u.user.version,
        created_at: utc(u.user.created_at),
        updated_at: utc(u.user.updated_at),
    })
}

/// The signed-in user, with what their role permits.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    #[serde(flatten)]
    pub user: UserOut,
    /// The permissions of the user's role, as operations name them in
    /// `x-bangfu-permission`: an app shows only what the user may do.
    #[schema(example = json!(["read_households", "sync_pull", "sync_push"]))]
    pub permissions: Vec<String>,
}

/// The signed-in user, with the permissions of their role.
#[utoipa::path(tag = "users", security(("bearer" = [])), responses((status = 200, body = MeOut)),
    extensions(("x-bangfu-permission" = json!("read_own_account")))
)]
#[get("/v1/me")]
pub async fn me(
    state: web::Data<AppState>,
    caller: Require<perm::ReadOwnAccount>,
) -> Result<web::Json<MeOut>> {
    let u = service::me(&state.db, &caller).await?;
    let permissions = Permission::ALL
        .into_iter()
        .filter(|p| caller.role.has(*p))
        .map(Permission::name)
        .collect();
    Ok(web::Json(MeOut {
        user: out(u, &caller, false)?,
        permissions,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub region_id: Option<Uuid>,
    /// `true`: accounts that may sign in; `false`: disabled ones.
    pub active: Option<bool>,
}

/// Staff inside the caller's jurisdiction.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(UserQuery, PageParams),
    responses((status = 200, body = Page<UserOut>)),
    extensions(("x-bangfu-permission" = json!("read_users")))
)]
#[get("/v1/users")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadUsers>,
    q: Query<UserQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<UserOut>>> {
    let limit = page.limit()?;
    let filter = ListFilter {
        role: q.role,
        region_id: q.region_id.map(|u| u.to_string()),
        active: q.active,
        after_id: page.position()?,
    };
    let rows = service::list(&state.db, &caller, filter, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |u| u.user.id.clone(),
        |u| out(u, &caller, false),
    );
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// One user, with `ETag`.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path), UnmaskQuery),
    responses((status = 200, body = UserOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_users")))
)]
#[get("/v1/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadUsers>,
    id: web::Path<Uuid>,
    q: Query<UnmaskQuery>,
) -> Result<HttpResponse> {
    let u = service::get(&state.db, &caller, &id.to_string(), q.stated()).await?;
    let body = out(u, &caller, q.unmask)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "shiqiao_helper", "display_name": "王强", "password": "a long passphrase",
    "role": "helper", "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "phone": "13812345678"
}))]
pub struct NewUserBody {
    pub username: String,
    pub display_name: String,
    /// 10 to 128 characters. Stored only as an Argon2id hash.
    #[schema(format = Password)]
    pub password: String,
    pub role: Role,
    pub region_id: Uuid,
    pub phone: Option<String>,
}

/// Create a staff account inside the caller's jurisdiction, with a role below the caller's.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = NewUserBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = UserOut),
              (status = 409, description = "Username taken", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_users")))
)]
#[post("/v1/users")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::ManageUsers>,
    req: HttpRequest,
    body: ApiJson<NewUserBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    // The request hash for idempotency must not keep the password: hash a copy without it.
    let fingerprint = serde_json::json!({
        "username": b.username, "display_name": b.display_name, "role": b.role,
        "region_id": b.region_id, "phone": b.phone,
    });
    let viewer = caller.0.clone();
    let render =
        move |u: &UserWithRegion| answer(StatusCode::CREATED, &out(u.clone(), &viewer, false)?);
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render.clone())?;
    let new = service::NewAccount {
        username: b.username,
        display_name: b.display_name,
        password: b.password,
        role: b.role,
        region_id: b.region_id.to_string(),
        phone: b.phone,
    };
    service::create(&state.db, &caller, new, once)
        .await?
        .respond(render)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub region_id: Option<Uuid>,
    #[serde(default, with = "crate::infra::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `false` deactivates the account and ends its sessions.
    pub active: Option<bool>,
    /// Sets a new password and ends the account's sessions (admins only).
    #[schema(format = Password)]
    pub password: Option<String>,
}

/// Change a staff account inside the caller's own region, of a role below the caller's.
/// Only an admin sets another's password (`password_by_admin`). Needs `If-Match`.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(("id" = Uuid, Path), ("If-Match" = String, Header)),
    request_body = UserPatch,
    responses((status = 200, body = UserOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 412, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 428, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_users")))
)]
#[patch("/v1/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Require<perm::ManageUsers>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<UserPatch>,
) -> Result<HttpResponse> {
    let b = body.0;
    let version = if_match(&req)?;
    let change = service::AccountChange {
        display_name: b.display_name,
        role: b.role,
        region_id: b.region_id.map(|r| r.to_string()),
        phone: b.phone,
        active: b.active,
        password: b.password,
    };
    let u = service::update(&state.db, &caller, &id.to_string(), version, change).await?;
    let body = out(u, &caller, false)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}
