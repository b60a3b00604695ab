//! Liveness, readiness and metrics: no authentication, no personal data.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::infra::db::leadership::Role;
use crate::infra::db::migrate;
use crate::infra::error::{Error, Result};
use crate::infra::http::metrics::Metrics;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    pub background: BackgroundRole,
}

/// Whether this instance does the background work (the projector, the hourly
/// housekeeping). Among instances on one PostgreSQL exactly one leads, the holder of an
/// advisory lock; the others stand by and take over when it goes. A SQLite install's one
/// instance leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundRole {
    Leader,
    Standby,
}

/// Liveness: the process answers; and whether it leads the background work.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        background: match state.leadership.role() {
            Role::Leader => BackgroundRole::Leader,
            Role::Standby => BackgroundRole::Standby,
        },
    })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(tag = "health", responses((status = 200, body = Readiness)))]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Readiness>> {
    let current = state.db.read(migrate::is_current).await?;
    if !current {
        return Err(Error::Unavailable("migrations pending".into()));
    }
    Ok(web::Json(Readiness {
        status: "ready",
        database: match state.db.backend() {
            crate::infra::db::Backend::Sqlite => "sqlite",
            crate::infra::db::Backend::Postgres => "postgres",
        },
    }))
}

/// Prometheus metrics: request counts and latencies by route.
#[utoipa::path(tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(m: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
