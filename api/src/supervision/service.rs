//! The supervision use cases: the metrics of a region and period, and how far a campaign
//! has come; the clocks brought up to date first, then counted in one read transaction.

use std::collections::HashMap;

use bangfu_sync::Code;
use chrono::{Duration, NaiveDate};

use crate::campaigns::queries as campaigns;
use crate::campaigns::rules::{self as campaign, CampaignKind, Phase, Progress};
use crate::deadlines::derive;
use crate::deadlines::read_model;
use crate::domain::caller::Caller;
use crate::domain::deadline::start_of_china_day;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries::{self as regions, RegionRow};
use crate::supervision::metrics::{Metrics, Period};
use crate::supervision::{figures, recount, rollups};

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

/// How a report's figures are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Read from the rollups: the cost does not grow with the records.
    Rollups,
    /// Counted from the records themselves: the proof that the rollups are right.
    Recount,
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
    report(db, caller, region_id, from, to, Counting::Rollups).await
}

/// [`metrics`], counted the way `counting` says.
pub async fn report(
    db: &Db,
    caller: &Caller,
    region_id: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
    counting: Counting,
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
    let scope = caller.scope.clone();
    let region_id = region_id.unwrap_or_else(|| caller.region_id.clone());
    // The projector's facts and clocks first (they mark the rollups), then the rollups.
    crate::deadlines::projector::catch_up(db).await?;
    rollups::catch_up(db).await?;
    read_model::read(db, move |c, model| {
        let region = regions::find(c, Some(&scope), &region_id)?;
        let p = Period {
            path: region.path.clone(),
            from: start_of_china_day(from),
            until: start_of_china_day(to + Duration::days(1)),
            from_day: from,
            to_day: to,
            now: crate::infra::clock::now(),
        };
        let (totals, groups) = match counting {
            Counting::Rollups => figures::by_child(c, model, &p)?,
            Counting::Recount => recount::by_child(c, model, &p)?,
        };
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

/// How far a campaign has come; every list sorted by its key.
#[derive(Debug)]
pub struct CampaignProgress {
    pub campaign_id: String,
    /// Visit campaigns: per helper's user id.
    pub helpers: Vec<(String, Progress)>,
    /// Visit campaigns: per village path.
    pub villages: Vec<(String, Progress)>,
    /// Dropout campaigns: per office (school, or village) path.
    pub offices: Vec<(String, Progress)>,
    /// Dropout campaigns: the pupils not seen in the start-of-term week.
    pub unchecked_children: Vec<String>,
}

fn sorted<K: Ord, V>(m: impl IntoIterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The completion of a campaign in the caller's scope (R-VISIT-5, R-DROP-6): a visit
/// campaign's households visited in its visiting window per helper and per village; a
/// dropout campaign's compulsory-age pupils seen in the start-of-term week per office.
pub async fn campaign_progress(db: &Db, caller: &Caller, id: &str) -> Result<CampaignProgress> {
    let (scope, id) = (caller.scope.clone(), id.to_owned());
    read_model::read(db, move |c, model| {
        let row = campaigns::find(c, &scope, &id)?;
        let mut p = CampaignProgress {
            campaign_id: row.id.clone(),
            helpers: Vec::new(),
            villages: Vec::new(),
            offices: Vec::new(),
            unchecked_children: Vec::new(),
        };
        match CampaignKind::parse(&row.kind) {
            Some(CampaignKind::Visit) => {
                let phases: Vec<Phase> = row.phases()?.into_iter().map(|s| s.phase).collect();
                let window = campaign::visiting_window(row.starts_on()?, &phases);
                p.helpers = sorted(derive::helper_progress(c, model, &row, window)?);
                p.villages = sorted(recount::village_visits(c, model, &row.region_path, window)?);
            }
            Some(CampaignKind::Dropout) => {
                if let Some(term) = row.term_starts_on()? {
                    let (offices, unchecked) =
                        derive::start_of_term_progress(c, model, &row, term)?;
                    p.offices = sorted(offices);
                    p.unchecked_children = unchecked;
                }
            }
            None => {}
        }
        Ok(p)
    })
    .await
}
