//! The demo county (示范县), for trying bangfu out and for the console, the contract fuzzer
//! and the clients' tests to run against.
//!
//! [`load`] lays its frame: regions, one account of every role and two aid programs.
//! [`county`] makes it look lived in: a seeded generator (the same seed, the same county)
//! draws a few hundred households, months of home visits with photos and their review, the
//! helpers' phones, a visit campaign and this year's and next year's working-day calendar,
//! and writes every one of them through the use cases (the phones' records through the
//! sync push), with the server's clock moved back to when each happened; dates count back
//! from today, so the demo always looks current. Loading either twice changes nothing: the
//! generator first looks up the first household it would register.

mod applications;
mod base;
mod calendar;
mod campaigns;
mod followup;
mod payments;
pub mod people;
mod phones;
mod pictures;
mod registry;
mod schooling;
mod staff;
mod tables;
mod visits;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::infra::error::{Error, Result};
use crate::state::AppState;

pub use base::{DEMO_PASSWORD, load};

/// The seed of the demo county the server loads.
pub const SEED: u64 = 20_261_206;

/// What loading the demo county added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    pub regions: usize,
    pub users: usize,
    pub households: usize,
    pub visits: usize,
    pub photos: usize,
    pub reviewed: usize,
    pub applications: usize,
    pub payments: usize,
    pub children: usize,
    pub dropout_cases: usize,
    pub teaching_sessions: usize,
    pub pairs: usize,
    pub corrections: usize,
    pub conflicts: usize,
    pub quarantined: usize,
    pub campaigns: usize,
    /// Years of the working-day calendar loaded (none when every year shown was there).
    pub calendar_years: usize,
}

/// Loads the demo county drawn from `seed`: the frame, then the lived-in part unless it
/// is there already.
pub async fn county(state: &AppState, seed: u64) -> Result<Added> {
    let db = state.db.clone();
    let (regions, users) = actix_web::web::block(move || load(&db))
        .await
        .map_err(Error::internal)??;
    let mut added = Added {
        regions,
        users,
        ..Added::default()
    };
    let now = state.db.clock().now();
    // The calendar first: every working-day deadline the county then draws counts by it.
    added.calendar_years = calendar::run(state, crate::infra::clock::china_date(now)).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let year = chrono::Datelike::year(&crate::infra::clock::china_date(now));
    let planned = registry::plan(&mut rng, year);
    let county = staff::caller(&state.db, "county_officer", None).await?;
    let Some(first) = planned.first() else {
        return Ok(added);
    };
    if registry::registered(state, &county, first).await? {
        return Ok(added);
    }
    let mut village_ids = Vec::new();
    for v in tables::VILLAGES {
        let code = v.code.to_owned();
        let r = state
            .db
            .read(move |c| crate::regions::queries::find_by_code(c, &code))
            .await?;
        village_ids.push(r.id);
    }
    let homes = registry::register(
        state,
        now - chrono::Duration::days(150),
        planned,
        &village_ids,
    )
    .await?;
    added.households = homes.len();
    let done = visits::run(state, &mut rng, &homes, &village_ids, now).await?;
    added.visits = done.visits;
    added.photos = done.photos;
    added.reviewed = done.reviewed;
    let school = state
        .db
        .read(|c| crate::regions::queries::find_by_code(c, tables::SCHOOL))
        .await?
        .id;
    let schooling = schooling::run(state, &mut rng, &homes, &village_ids, school, now).await?;
    added.children = schooling.children;
    added.dropout_cases = schooling.cases;
    added.teaching_sessions = schooling.sessions;
    added.pairs = schooling.pairs;
    let loose = followup::run(state, &mut rng, &homes, &village_ids, &done.latest, now).await?;
    added.corrections = loose.corrections;
    added.conflicts = loose.conflicts;
    added.quarantined = loose.quarantined;
    let filed = applications::run(state, &mut rng, &village_ids, now).await?;
    added.applications = filed.applications;
    added.payments = payments::run(state, &filed.files, now).await?;
    added.campaigns = campaigns::run(state, now).await?;
    Ok(added)
}
