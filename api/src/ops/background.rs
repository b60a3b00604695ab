//! The background work of `bangfu serve`, done by whichever instance leads it
//! ([`crate::infra::db::leadership`]), so that N instances on one database do it once:
//!
//! - the field-work projector follows the change feed every [`PROJECTOR_EVERY`] and derives
//!   the time-driven clocks again hourly ([`crate::deadlines::projector`]); reads of
//!   deadlines catch it up first on every instance, leader or not, so nobody waits on it;
//!   then the supervision rollups count what changed ([`crate::supervision::rollups`]);
//! - the hourly housekeeping: used tokens, ended sessions, old sign-in failures, idempotency
//!   records and sync tombstones ([`crate::ops::housekeeping`]); abandoned uploads with their
//!   kept chunks, resized photo copies a restart left waiting, and photos indexed without
//!   their flags ([`crate::photos::uploads::service::housekeeping`]).
//!
//! Every instance, leading or not, makes the resized copies of the photos uploaded to it as
//! they arrive, and sweeps its own scratch folder hourly (the folder is its own).
//!
//! Each loop asks the lock session whether this instance still leads right before each
//! round ([`Leadership::confirm`]); a third loop tries for the lead, or checks it, every
//! `retry` ([`Leadership::campaign`]).
//!
//! [`Leadership::confirm`]: crate::infra::db::leadership::Leadership::confirm
//! [`Leadership::campaign`]: crate::infra::db::leadership::Leadership::campaign

use std::time::{Duration, Instant};

use actix_web::rt::time::sleep;

use crate::state::AppState;

/// How often the leader's projector follows the change feed.
pub const PROJECTOR_EVERY: Duration = Duration::from_secs(5);
/// How often the housekeeping runs on the leader (and the scratch sweep everywhere).
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// Starts the background loops on the running system; they run until it stops.
pub fn start(state: &AppState) {
    let leadership = state.leadership.clone();
    let campaign = leadership.clone();
    actix_web::rt::spawn(async move {
        loop {
            campaign.campaign().await;
            sleep(campaign.retry()).await;
        }
    });

    let (db, lead) = (state.db.clone(), leadership.clone());
    actix_web::rt::spawn(async move {
        loop {
            sleep(PROJECTOR_EVERY).await;
            if !lead.confirm().await {
                continue;
            }
            if let Err(e) = crate::deadlines::projector::catch_up(&db).await {
                tracing::warn!(error = %e, "field-work projector failed");
            }
            if let Err(e) = crate::supervision::rollups::catch_up(&db).await {
                tracing::warn!(error = %e, "supervision rollups failed");
            }
        }
    });

    let (db, photos) = (state.db.clone(), state.photos.clone());
    actix_web::rt::spawn(async move {
        // Due at once: the first pass runs as soon as this instance leads (at start, or
        // when it takes over from a leader that died).
        let mut last_pass: Option<Instant> = None;
        let mut last_sweep: Option<Instant> = None;
        let due = |last: Option<Instant>| last.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY);
        loop {
            if due(last_sweep) {
                last_sweep = Some(Instant::now());
                // Directory work off the runtime's threads.
                let folder = photos.clone();
                let n = actix_web::web::block(move || {
                    crate::photos::uploads::service::sweep_scratch(&folder)
                })
                .await
                .unwrap_or(0);
                if n > 0 {
                    tracing::info!(removed = n, "scratch files left by a crash removed");
                }
            }
            if due(last_pass) && leadership.confirm().await {
                last_pass = Some(Instant::now());
                match db
                    .write(|c| crate::ops::housekeeping::prune(c, crate::infra::clock::now()))
                    .await
                {
                    Ok(p) => tracing::info!(?p, "housekeeping"),
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                }
                match crate::photos::uploads::service::housekeeping(&db, &photos).await {
                    Ok(n) => tracing::info!(expired_uploads = n, "upload housekeeping"),
                    Err(e) => tracing::warn!(error = %e, "upload housekeeping failed"),
                }
            }
            sleep(leadership.retry()).await;
        }
    });
}
