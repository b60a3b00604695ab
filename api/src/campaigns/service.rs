//! The campaign use cases (R-VISIT-5, R-DROP-6): one function each, owning its
//! transaction, taking the caller and typed input, checking it, and answering typed rows
//! or the one error.
//!
//! A campaign's clocks are derived from it by the deadlines capability, which reads
//! campaigns and so stands above this one: the use cases that start or move a campaign
//! note the move (`infra::db::moved`), and the clocks follow before the next read.

use bangfu_sync::Code;
use chrono::NaiveDate;

use crate::campaigns::queries::{self as campaigns, CampaignRow, NewCampaign};
use crate::campaigns::rules::{self as campaign, CampaignKind, Phase};
use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::db::moved::{self, Subject};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};
use crate::regions::queries as regions;

/// A campaign to start, as its planner gives it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub region_id: String,
    pub kind: CampaignKind,
    pub name: String,
    pub starts_on: NaiveDate,
    /// Dropout campaigns: the day term starts.
    pub term_starts_on: Option<NaiveDate>,
    pub phases: Vec<Phase>,
}

/// Starts a campaign over a region in the caller's scope: its dates and phases in order
/// (R-VISIT-5, R-DROP-6) and a name of 1 to 100 characters, every problem listed; its
/// clocks follow before the next read of deadlines.
pub async fn start(
    db: &Db,
    caller: &Caller,
    plan: Plan,
    once: Once<CampaignRow>,
) -> Result<Made<CampaignRow>> {
    let mut errors = campaign::check(plan.kind, plan.starts_on, plan.term_starts_on, &plan.phases);
    if plan.name.trim().is_empty() || plan.name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            Code::InvalidLength,
            Msg::fixed(
                "名称须为 1 到 100 个字。",
                "A name has 1 to 100 characters.",
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let (actor, scope) = (caller.actor(), caller.scope.clone());
    idempotency::run(db, once, move |conn| {
        // A region outside the caller's scope reads as one that does not exist, and is the
        // form's field to correct, not a missing page.
        let region = regions::find(conn, Some(&scope), &plan.region_id).map_err(|e| match e {
            Error::NotFound => Error::validation(
                "region_id",
                Code::OutOfScope,
                Msg::fixed(
                    "所选区域不存在或不在您的辖区内。",
                    "The region does not exist or lies outside your jurisdiction.",
                ),
            ),
            e => e,
        })?;
        let row = campaigns::create(
            conn,
            &actor,
            NewCampaign {
                region_id: &region.id,
                region_path: &region.path,
                kind: plan.kind.as_str(),
                name: plan.name.trim(),
                starts_on: plan.starts_on,
                term_starts_on: plan.term_starts_on,
                phases: &plan.phases,
            },
        )?;
        moved::note(conn, Subject::Campaign, &row.id)?;
        Ok(row)
    })
    .await
}

/// Campaigns in the caller's scope, newest first, before `before`, `limit` at most.
pub async fn list(
    db: &Db,
    caller: &Caller,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<CampaignRow>> {
    let scope = caller.scope.clone();
    db.read(move |c| campaigns::list(c, &scope, before.as_deref(), limit))
        .await
}

/// One campaign in the caller's scope.
pub async fn find(db: &Db, caller: &Caller, id: &str) -> Result<CampaignRow> {
    let (scope, id) = (caller.scope.clone(), id.to_owned());
    db.read(move |c| campaigns::find(c, &scope, &id)).await
}

/// Marks phase `position` of a campaign in the caller's scope done, once, read at
/// `version` (412 if it moved on since); its clocks follow before the next read of deadlines.
pub async fn complete_phase(
    db: &Db,
    caller: &Caller,
    id: &str,
    position: usize,
    version: i64,
) -> Result<CampaignRow> {
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    db.write(move |c| {
        let row = campaigns::find(c, &scope, &id)?;
        let row = campaigns::complete_phase(c, &actor, &row, position, version)?;
        moved::note(c, Subject::Campaign, &row.id)?;
        Ok(row)
    })
    .await
}
