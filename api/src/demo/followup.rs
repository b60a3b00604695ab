//! Follow-up work and the sync's loose ends: an employment plan with its offers, household
//! corrections proposed on visits (one accepted by the village, one waiting), conflicts
//! between the helper's and the secretary's edits of the same visits, waiting to be
//! settled, and a change an old app version sent that the server refused and quarantined.

use chrono::{Duration, NaiveDateTime};
use rand::rngs::StdRng;
use serde_json::json;

use crate::corrections::service::{self as corrections, Verdict};
use crate::demo::phones::{self, instant, new_id, record};
use crate::demo::registry::Home;
use crate::demo::staff;
use crate::demo::tables::{PHONES, SECRETARY_PHONE, VILLAGES};
use crate::domain::caller::Caller;
use crate::infra::error::{Error, Result};
use crate::state::AppState;
use bangfu_sync::wire::MutationStatus;

/// What the follow-up left waiting.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loose {
    pub corrections: usize,
    pub conflicts: usize,
    pub quarantined: usize,
}

/// The qingshan helper on their phone.
async fn helper(state: &AppState, phone: usize) -> Result<Caller> {
    staff::caller(&state.db, PHONES[phone].helper, Some(PHONES[phone].id)).await
}

/// The follow-up work of the first village's helper and secretary, and the refused change
/// of the other township's phone.
pub async fn run(
    state: &AppState,
    rng: &mut StdRng,
    homes: &[Home],
    village_ids: &[String],
    latest_visits: &[String],
    now: NaiveDateTime,
) -> Result<Loose> {
    let ago = |days: i64| now - Duration::days(days);
    let mut loose = Loose::default();
    let me = helper(state, 0).await?;
    let mine: Vec<&Home> = homes.iter().filter(|h| h.village == 0).collect();
    let village = &village_ids[0];

    // An employment plan for a family with nobody in work: two offers, one refused.
    if let Some(home) = mine.first() {
        let plan = new_id(rng, ago(42));
        phones::push(
            state,
            rng,
            &me,
            ago(41),
            0,
            vec![record(
                "employment_plan",
                plan.clone(),
                json!({
            "region_id": village, "household_id": home.id, "person_name": home.head,
            "category": "zero_employment_family", "helper_id": me.user_id,
            "agreement_signed_on": crate::infra::clock::china_date(ago(40)).to_string(),
            "opened_at": instant(ago(42))}),
            )],
        )
        .await?;
        let event = |rng: &mut StdRng, kind: &str, days: i64, employer: &str| {
            record(
                "employment_event",
                new_id(rng, ago(days)),
                json!({"region_id": village,
                "plan_id": plan, "household_id": home.id, "kind": kind, "at": instant(ago(days)),
                "by_user_id": me.user_id, "employer": employer}),
            )
        };
        let events = vec![
            event(rng, "offer_made", 35, "县城建材厂（搬运工）"),
            event(rng, "offer_refused", 30, "县城建材厂（搬运工）"),
            event(rng, "offer_made", 12, "青山镇农产品合作社（分拣员）"),
        ];
        phones::push(state, rng, &me, ago(11), 0, events).await?;
    }

    // Corrections proposed on visits: one the village accepted, one waiting.
    let secretary = staff::caller(&state.db, "qingshan_secretary", None).await?;
    for (n, home) in mine.iter().skip(1).take(2).enumerate() {
        let id = new_id(rng, ago(20));
        let proposed = if n == 0 {
            "13987650021"
        } else {
            "青山村六组 8 号"
        };
        let field = if n == 0 { "phone" } else { "address" };
        let reason = if n == 0 {
            "户主更换了手机号码"
        } else {
            "易地搬迁后新址"
        };
        let days = if n == 0 { 20 } else { 2 };
        phones::push(
            state,
            rng,
            &me,
            ago(days),
            0,
            vec![record(
                "correction",
                id.clone(),
                json!({
            "region_id": village, "household_id": home.id, "field": field,
            "proposed_value": proposed, "reason": reason}),
            )],
        )
        .await?;
        if n == 0 {
            let then = phones::Then::at(state, ago(18));
            then.run(corrections::decide(
                &then.db,
                &then.hlc,
                &state.data_key,
                &secretary,
                &id,
                Verdict::Accept,
                None,
            ))
            .await?;
        }
        loose.corrections += 1;
    }

    // The helper and the secretary both edited the notes of the same visits offline.
    let tablet = phones::register(state, &SECRETARY_PHONE, ago(60)).await?;
    // The secretary's edit was made first but reached the server second: kept as a
    // conflict to settle.
    for visit in latest_visits.iter().take(2) {
        let edit = |by: &str| {
            record(
                "visit",
                visit.clone(),
                json!({"notes": format!("{by}补记：已核实家庭收入情况。")}),
            )
        };
        let (later, earlier) = (now - Duration::minutes(25), now - Duration::minutes(40));
        let first = phones::send_batch(
            state,
            rng,
            &me,
            now - Duration::minutes(20),
            0,
            vec![edit("帮扶责任人")],
            Some((1, later)),
        )
        .await?;
        let second = phones::send_batch(
            state,
            rng,
            &tablet,
            now - Duration::minutes(10),
            SECRETARY_PHONE.pending,
            vec![edit("第一书记")],
            Some((1, earlier)),
        )
        .await?;
        if first
            .iter()
            .chain(&second)
            .any(|r| r.status == MutationStatus::Rejected)
        {
            return Err(Error::internal(format!(
                "demo visit edit refused: {first:?} {second:?}"
            )));
        }
        loose.conflicts += second.iter().map(|r| r.conflict_ids.len()).sum::<usize>();
    }

    // The other township's phone, on an old app, sent a visit kind the server does not
    // know: refused, and kept in quarantine for an officer to settle.
    let other = helper(state, 1).await?;
    if let Some(home) = homes
        .iter()
        .find(|h| VILLAGES[h.village].helper == PHONES[1].helper)
    {
        let at = ago(PHONES[1].last_sync_days);
        let odd = record(
            "visit",
            new_id(rng, at),
            json!({"region_id": village_ids[home.village],
            "household_id": home.id, "helper_id": other.user_id, "kind": "festival_greeting",
            "visited_at": instant(at - Duration::hours(5))}),
        );
        let answer =
            phones::send_batch(state, rng, &other, at, PHONES[1].pending, vec![odd], None).await?;
        loose.quarantined = answer
            .iter()
            .filter(|r| r.status == MutationStatus::Rejected)
            .count();
    }
    Ok(loose)
}
