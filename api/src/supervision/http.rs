//! Supervision metrics per region and period, rolled up the region tree (R-SUP-1/3):
//! `GET /v1/supervision/metrics`.

use actix_web::{get, web};
use bangfu_sync::Code;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::domain::access::Scope;
use crate::domain::deadline::{end_of_china_day, start_of_china_day};
use crate::infra::db::schema::regions as regions_t;
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries as regions;
use crate::state::AppState;
use crate::supervision::metrics::{Metrics, Period, by_child};

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
    q: web::Query<MetricsParams>,
) -> Result<web::Json<MetricsReport>> {
    let q = q.into_inner();
    if q.to < q.from || q.to - q.from > Duration::days(400) {
        return Err(Error::validation(
            "to",
            Code::OutOfRange,
            Msg::fixed(
                "期间须为 1 到 400 天，且结束不早于开始。",
                "The period runs 1 to 400 days, ending on or after its start.",
            ),
        ));
    }
    crate::deadlines::projector::catch_up(&state.db).await?;
    let scope: Scope = caller.scope.clone();
    let region_id = q
        .region_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| caller.region_id.clone());
    let report = state
        .db
        .read(move |c| {
            let region = regions::find(c, Some(&scope), &region_id)?;
            let p = Period {
                path: region.path.clone(),
                from: start_of_china_day(q.from),
                to: end_of_china_day(q.to),
                from_day: q.from,
                to_day: q.to,
                now: crate::infra::clock::now(),
            };
            let (totals, groups) = by_child(c, &p)?;
            let ids: Vec<String> = groups
                .keys()
                .map(|g| {
                    g.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let names: std::collections::HashMap<String, (String, String)> = regions_t::table
                .filter(regions_t::id.eq_any(&ids))
                .select((regions_t::id, regions_t::name, regions_t::level))
                .load::<(String, String, String)>(c)?
                .into_iter()
                .map(|(id, n, l)| (id, (n, l)))
                .collect();
            let children = groups
                .into_iter()
                .map(|(g, m)| {
                    let id = g
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let (name, level) = names.get(&id).cloned().unwrap_or_default();
                    RegionFigures {
                        region_id: id,
                        name,
                        level,
                        metrics: m,
                    }
                })
                .collect();
            Ok(MetricsReport {
                region_id: region.id,
                name: region.name,
                from: q.from,
                to: q.to,
                totals,
                children,
            })
        })
        .await?;
    Ok(web::Json(report))
}
