//! The supervision use case: the metrics of a region and period, the clocks brought up to
//! date first, then counted in one read transaction.

use std::collections::HashMap;

use bangfu_sync::Code;
use chrono::{Duration, NaiveDate};

use crate::domain::caller::Caller;
use crate::domain::deadline::{end_of_china_day, start_of_china_day};
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries::{self as regions, RegionRow};
use crate::supervision::metrics::{Metrics, Period, by_child};

/// One region directly below the one asked for (or that region itself, for records filed
/// at it), with its figures.
#[derive(Debug)]
pub struct Figures {
    pub region_id: String,
    /// Empty when the region is not found.
    pub name: String,
    pub level: String,
    pub metrics: Metrics,
}

/// A region's metrics for a period, with each region below it.
#[derive(Debug)]
pub struct Report {
    pub region: RegionRow,
    pub totals: Metrics,
    pub children: Vec<Figures>,
}

/// The last id of a region path (`/a/b/` → `b`).
fn last_id(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The supervision metrics (R-SUP-1, R-SUP-3) of a region in the caller's scope (default:
/// their own) from `from` to `to` (1 to 400 local days), rolled up from the regions
/// directly below it.
pub async fn metrics(
    db: &Db,
    caller: &Caller,
    region_id: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report> {
    if to < from || to - from > Duration::days(400) {
        return Err(Error::validation(
            "to",
            Code::OutOfRange,
            Msg::fixed(
                "期间须为 1 到 400 天，且结束不早于开始。",
                "The period runs 1 to 400 days, ending on or after its start.",
            ),
        ));
    }
    crate::deadlines::projector::catch_up(db).await?;
    let scope = caller.scope.clone();
    let region_id = region_id.unwrap_or_else(|| caller.region_id.clone());
    db.read(move |c| {
        let region = regions::find(c, Some(&scope), &region_id)?;
        let p = Period {
            path: region.path.clone(),
            from: start_of_china_day(from),
            to: end_of_china_day(to),
            from_day: from,
            to_day: to,
            now: crate::infra::clock::now(),
        };
        let (totals, groups) = by_child(c, &p)?;
        let ids: Vec<String> = groups.keys().map(|g| last_id(g)).collect();
        let names: HashMap<String, (String, String)> = regions::with_ids(c, &ids)?
            .into_iter()
            .map(|r| (r.id, (r.name, r.level)))
            .collect();
        let children = groups
            .into_iter()
            .map(|(g, m)| {
                let id = last_id(&g);
                let (name, level) = names.get(&id).cloned().unwrap_or_default();
                Figures {
                    region_id: id,
                    name,
                    level,
                    metrics: m,
                }
            })
            .collect();
        Ok(Report {
            region,
            totals,
            children,
        })
    })
    .await
}
