//! Sign-in: `POST /v1/auth/login`, `/refresh`, `/logout`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::auth::service;
use crate::auth::service::{Issued, LoginRequest};
use crate::infra::error::Result;
use crate::infra::http::envelope::request_id;
use crate::infra::http::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "qingshan_helper", "password": "correct horse battery", "device_id": null}))]
pub struct LoginBody {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
    /// A device registered with `POST /v1/devices`: tokens then name it in every write.
    pub device_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d30.qL8vYkz3TnR2mX5cW1eJ"}))]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "q3Rk…", "refresh_expires_in": 2592000,
    "user_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "session_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d11"
}))]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Use once with `POST /v1/auth/refresh`; a used token presented again ends the session.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub user_id: String,
    pub session_id: String,
}

impl From<Issued> for TokenOut {
    fn from(i: Issued) -> Self {
        TokenOut {
            access_token: i.access_token,
            token_type: "Bearer",
            expires_in: i.access_expires_in,
            refresh_token: i.refresh_token,
            refresh_expires_in: i.refresh_expires_in,
            user_id: i.user_id,
            session_id: i.session_id,
        }
    }
}

/// Sign in with username and password. Failures are limited per user and per address
/// (429 with `Retry-After` past the limit).
#[utoipa::path(
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "Wrong username or password", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginBody>,
) -> Result<web::Json<TokenOut>> {
    let b = body.0;
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let issued = service::login(
        &state,
        LoginRequest {
            username: b.username,
            password: b.password,
            device_id: b.device_id,
            address,
            request_id: request_id(&req),
        },
        crate::auth::sessions::SessionKind::Api,
    )
    .await?;
    Ok(web::Json(issued.into()))
}

/// Exchange a refresh token for new tokens. The old refresh token stops working.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "Invalid, expired or reused refresh token", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshBody>,
) -> Result<web::Json<TokenOut>> {
    Ok(web::Json(
        service::refresh(&state, body.0.refresh_token).await?.into(),
    ))
}

/// End the current session: its access and refresh tokens stop working.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Signed out")),
    extensions(("x-bangfu-permission" = json!("signed_in")))
)]
#[post("/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse> {
    service::logout(&state, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
