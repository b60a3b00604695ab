//! Supervision metrics per region and period, rolled up the region tree (R-SUP-1/3):
//! `GET /v1/supervision/metrics`.

use actix_web::{get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::infra::error::Result;
use crate::infra::http::json::Query;
use crate::state::AppState;
use crate::supervision::metrics::Metrics;
use crate::supervision::service;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    /// A region in the caller's jurisdiction (default: the caller's own).
    pub region_id: Option<uuid::Uuid>,
    /// First local day of the period.
    pub from: NaiveDate,
    /// Last local day of the period (at most 400 days after `from`).
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionFigures {
    pub region_id: String,
    pub name: String,
    pub level: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsReport {
    pub region_id: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The whole region.
    pub totals: Metrics,
    /// Each region directly below it (and the region itself, for records filed at it),
    /// summing to the totals.
    pub children: Vec<RegionFigures>,
}

/// Visit completion, photo review backlog, dropout cases opened, closed and returned and
/// the retrieval rate, home-teaching compliance, aid paid on time, files created, adjusted
/// and exited, and deadlines met and missed, for a region and period, with each region
/// below it. Counted by the database.
#[utoipa::path(tag = "field_work", security(("bearer" = [])), params(MetricsParams),
    responses((status = 200, body = MetricsReport)),
    extensions(("x-bangfu-permission" = json!("read_metrics")))
)]
#[get("/v1/supervision/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    caller: Require<perm::ReadMetrics>,
    q: Query<MetricsParams>,
) -> Result<web::Json<MetricsReport>> {
    let q = q.into_inner();
    let region_id = q.region_id.map(|id| id.to_string());
    let r = service::metrics(&state.db, &caller, region_id, q.from, q.to).await?;
    let report = MetricsReport {
        region_id: r.region.id,
        name: r.region.name,
        from: q.from,
        to: q.to,
        totals: r.totals,
        children: r
            .children
            .into_iter()
            .map(|f| RegionFigures {
                region_id: f.region_id,
                name: f.name,
                level: f.level,
                metrics: f.metrics,
            })
            .collect(),
    };
    Ok(web::Json(report))
}
