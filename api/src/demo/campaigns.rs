//! A visit campaign (大走访) in progress over each township: started three weeks ago by the
//! township officer, its training phase done, the visiting phase running.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::campaigns::rules::{CampaignKind, Phase, PhaseKind};
use crate::campaigns::service::{self as campaigns, Plan};
use crate::demo::phones::db_at;
use crate::demo::staff;
use crate::infra::error::{Error, Result};
use crate::infra::idempotency::{Made, Once};
use crate::state::AppState;

/// (township officer, campaign over their township)
const CAMPAIGNS: &[(&str, &str)] = &[
    ("qingshan_officer", "青山镇冬季大走访"),
    ("hekou_officer", "河口乡冬季大走访"),
];

fn phase(kind: PhaseKind, name: &str, due_on: NaiveDate) -> Phase {
    Phase {
        kind,
        name: name.to_owned(),
        due_on,
    }
}

/// Starts the campaigns; answers how many.
pub async fn run(state: &AppState, now: NaiveDateTime) -> Result<usize> {
    let today = crate::infra::clock::china_date(now);
    let started = now - Duration::days(21);
    for (officer, name) in CAMPAIGNS {
        let officer = staff::caller(&state.db, officer, None).await?;
        let plan = Plan {
            region_id: officer.region_id.clone(),
            kind: CampaignKind::Visit,
            name: (*name).to_owned(),
            starts_on: today - Duration::days(21),
            term_starts_on: None,
            phases: vec![
                phase(PhaseKind::Training, "动员培训", today - Duration::days(14)),
                phase(PhaseKind::Visiting, "入户走访", today + Duration::days(10)),
                phase(
                    PhaseKind::CompletingData,
                    "完善台账",
                    today + Duration::days(20),
                ),
                phase(
                    PhaseKind::Supervision,
                    "督查验收",
                    today + Duration::days(30),
                ),
            ],
        };
        let db = db_at(state, started);
        let Made::New(row) = campaigns::start(&db, &officer, plan, Once::none()).await? else {
            return Err(Error::internal("a campaign without a key was replayed"));
        };
        campaigns::complete_phase(
            &db_at(state, now - Duration::days(14)),
            &officer,
            &row.id,
            0,
            row.version,
        )
        .await?;
    }
    Ok(CAMPAIGNS.len())
}
