//! Follow-up's use cases for an office reading one household: its visits (routine and
//! look-back, with the basic-needs check each made) and the clocks that follow from them
//! (renewed help, R-VISIT-2).

use chrono::NaiveDateTime;

use crate::calendar::queries as calendar;
use crate::deadlines::queries::{self as deadlines, DeadlineRow, Filter};
use crate::deadlines::{derive, facts, read_model};
use crate::domain::access::Scope;
use crate::domain::calendar::Calendar;
use crate::domain::caller::Caller;
use crate::followup::visits::Visit;
use crate::infra::db::Db;
use crate::infra::error::Result;
use crate::records::typed;

/// Visits shown on a household's page, newest first.
pub const VISITS_SHOWN: usize = 50;

/// A household's visits and the clocks about it.
#[derive(Debug)]
pub struct HouseholdVisits {
    /// Newest first, [`VISITS_SHOWN`] at most.
    pub visits: Vec<Visit>,
    /// How many visits the household has in all.
    pub total: usize,
    /// The clocks whose subject is the household (renewed help after a look-back).
    pub deadlines: Vec<DeadlineRow>,
    pub calendar: Calendar,
    /// When the clocks were read.
    pub now: NaiveDateTime,
}

/// The visits of a household the caller reads (404 otherwise, as the household), with the
/// clocks about it, from the read model brought up to date first.
pub async fn household_visits(
    db: &Db,
    caller: &Caller,
    household_id: &str,
) -> Result<HouseholdVisits> {
    let h = crate::households::service::get(db, caller, household_id, None).await?;
    let (id, path) = (h.row.id.clone(), h.row.path.clone());
    read_model::read(db, move |c, model| {
        let ids: Vec<String> = facts::of_subjects(c, "visit", std::slice::from_ref(&id))?
            .into_iter()
            .map(|f| f.id)
            .collect();
        let mut visits: Vec<Visit> = typed::load::<typed::Visit>(c, &ids)?
            .iter()
            .filter_map(|(r, d)| derive::visit_of(r, d))
            .collect();
        visits.sort_by(|a, b| (b.visited_at, &b.id).cmp(&(a.visited_at, &a.id)));
        let total = visits.len();
        visits.truncate(VISITS_SHOWN);
        let f = Filter {
            subject_entity: Some("household".into()),
            subject_id: Some(id.clone()),
            ..Default::default()
        };
        let deadlines = deadlines::list(c, model, &Scope::new(vec![path]), &f, None, 50)?;
        Ok(HouseholdVisits {
            visits,
            total,
            deadlines,
            calendar: calendar::load(c)?,
            now: crate::infra::clock::now(),
        })
    })
    .await
}
