//! Months of home visits: each helper's phone syncs every few weeks, sending the visits
//! made since with their photos (some far from the household, some taken outside the
//! visit's window, some a picture already used), and the village secretary reviews the
//! photos of all but the latest weeks.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::json;

use crate::demo::phones::{self, Captured, Then, instant, located, new_id, record, working_hours};
use crate::demo::registry::Home;
use crate::demo::tables::{PHONES, Phone, VILLAGES};
use crate::demo::{pictures, staff};
use crate::domain::caller::Caller;
use crate::infra::error::Result;
use crate::photo_reviews::queries::Verdict;
use crate::state::AppState;

/// How many days back the field work begins.
const HISTORY_DAYS: i64 = 135;
/// Days before today on which the phones synced, oldest first (each phone also syncs on
/// its last day of contact).
const ROUNDS: &[i64] = &[105, 76, 48, 27, 14];
/// Photos of rounds at least this many days old have been reviewed.
const REVIEWED_AFTER_DAYS: i64 = 12;

const NOTES: &[&str] = &[
    "家中情况稳定，粮食充足。",
    "户主腰椎病复发，已联系村医上门。",
    "屋顶有漏雨，已报村委安排修缮。",
    "孩子在镇中心小学就读，学习正常。",
    "核对了低保金到账情况。",
    "老人独居，叮嘱儿女按时回家探望。",
    "养殖的 20 只鸡长势良好。",
    "宣传了医保缴费政策。",
    "外出务工人员春节前返乡。",
    "",
];
const CAPTIONS: &[&str] = &["房屋外景", "与户主合影", "厨房与粮食储备", "屋顶", "院落"];

/// How the demo's field work went.
#[derive(Debug, Default, Clone)]
pub struct Done {
    pub visits: usize,
    pub photos: usize,
    pub reviewed: usize,
    /// The visits of the first village sent in its helper's latest sync.
    pub latest: Vec<String>,
}

/// A photo to review after its round, and whether it is one of the flawed ones.
struct Taken {
    id: String,
    village: usize,
    flawed: bool,
}

/// The evening (20:00 China time) `days` before `now`; today's round is an hour ago.
fn evening(now: NaiveDateTime, days: i64) -> NaiveDateTime {
    if days == 0 {
        return now - Duration::hours(1);
    }
    let day = crate::infra::clock::china_date(now) - Duration::days(days);
    crate::infra::clock::start_of_china_day(day) + Duration::hours(20)
}

/// The field work of every phone, from the start of the history to today.
pub async fn run(
    state: &AppState,
    rng: &mut StdRng,
    homes: &[Home],
    village_ids: &[String],
    now: NaiveDateTime,
) -> Result<Done> {
    let mut done = Done::default();
    for phone in PHONES {
        let helper = phones::register(state, phone, evening(now, HISTORY_DAYS)).await?;
        let mine: Vec<&Home> = homes
            .iter()
            .filter(|h| VILLAGES[h.village].helper == phone.helper)
            .collect();
        let mut rounds: Vec<i64> = ROUNDS
            .iter()
            .copied()
            .filter(|d| *d > phone.last_sync_days + 2)
            .collect();
        rounds.push(phone.last_sync_days);
        let mut since = HISTORY_DAYS;
        let mut last_picture = None;
        for days in rounds {
            let at = evening(now, days);
            let pending = if days == phone.last_sync_days {
                phone.pending
            } else {
                0
            };
            let mut round = Round {
                state,
                helper: &helper,
                phone,
                at,
                records: Vec::new(),
                taken: Vec::new(),
                last_picture: &mut last_picture,
                done: &mut done,
            };
            for home in &mine {
                let chance = ((since - days) as f64 / 30.0 * 0.5).min(0.9);
                if since - days > 3 && rng.random_bool(chance) {
                    let back = rng.random_range(days + 2..since);
                    let visited = working_hours(rng, now, back).min(at - Duration::days(2));
                    round
                        .visit(rng, home, &village_ids[home.village], visited)
                        .await?;
                }
            }
            let (records, taken) = (round.records, round.taken);
            if days == phone.last_sync_days && phone.helper == VILLAGES[0].helper {
                done.latest = records
                    .iter()
                    .filter(|r| {
                        r.entity == "visit" && r.fields["region_id"] == village_ids[0].as_str()
                    })
                    .map(|r| r.id.clone())
                    .collect();
            }
            phones::push(state, rng, &helper, at, pending, records).await?;
            if days >= REVIEWED_AFTER_DAYS {
                done.reviewed += review(state, rng, at + Duration::days(1), &taken).await?;
            }
            since = days;
        }
    }
    Ok(done)
}

/// One sync of one phone: what it captured since the last.
struct Round<'a> {
    state: &'a AppState,
    helper: &'a Caller,
    phone: &'a Phone,
    at: NaiveDateTime,
    records: Vec<Captured>,
    taken: Vec<Taken>,
    /// The seed of the previous picture, for a reused one.
    last_picture: &'a mut Option<u64>,
    done: &'a mut Done,
}

impl Round<'_> {
    async fn visit(
        &mut self,
        rng: &mut StdRng,
        home: &Home,
        village_id: &str,
        visited: NaiveDateTime,
    ) -> Result<()> {
        let id = new_id(rng, visited);
        let need = |rng: &mut StdRng, p| if rng.random_bool(p) { "met" } else { "not_met" };
        let basic_needs = json!({
            "food": "met", "clothing": "met", "compulsory_education": need(rng, 0.97),
            "basic_medical": need(rng, 0.9), "safe_housing": need(rng, 0.92),
        });
        let note = *NOTES.choose(rng).unwrap_or(&"");
        let mut v = json!({
            "region_id": village_id, "household_id": home.id, "helper_id": self.helper.user_id,
            "kind": "routine", "visited_at": instant(visited),
            "location": located(home.place.lat, home.place.lng, rng.random_range(5.0..60.0), 12.0),
            "basic_needs": basic_needs,
        });
        if !note.is_empty() {
            v["notes"] = json!(note);
        }
        self.records.push(record("visit", id.clone(), v));
        self.done.visits += 1;
        if rng.random_bool(0.4) {
            self.photo(rng, home, village_id, &id, visited).await?;
        }
        Ok(())
    }

    async fn photo(
        &mut self,
        rng: &mut StdRng,
        home: &Home,
        village_id: &str,
        visit_id: &str,
        visited: NaiveDateTime,
    ) -> Result<()> {
        self.done.photos += 1;
        let n = self.done.photos;
        // Every so often a flawed one: far from the home, a day late, or a picture reused.
        let (far, late, reused) = (n % 23 == 5, n % 29 == 11, n % 31 == 17);
        let seed = match (*self.last_picture, reused) {
            (Some(previous), true) => previous,
            _ => rng.random(),
        };
        let bytes = pictures::jpeg(seed, if reused { 62 } else { 80 })?;
        *self.last_picture = Some(seed);
        let sha = phones::upload(self.state, self.helper, self.at, bytes).await?;
        let mut taken = visited + Duration::minutes(rng.random_range(5..50));
        if late {
            taken += Duration::hours(26);
        }
        let north = if far {
            4_800.0
        } else {
            rng.random_range(10.0..120.0)
        };
        let id = new_id(rng, taken);
        self.records.push(record(
            "photo",
            id.clone(),
            json!({
                "region_id": village_id, "sha256": sha, "subject_entity": "visit",
                "subject_id": visit_id, "household_id": home.id, "taken_at": instant(taken),
                "location": located(home.place.lat, home.place.lng, north, 8.0),
                "capture_device": self.phone.name,
                "caption": *CAPTIONS.choose(rng).unwrap_or(&"房屋外景"),
            }),
        ));
        self.taken.push(Taken {
            id,
            village: home.village,
            flawed: far || late || reused,
        });
        Ok(())
    }
}

/// The village secretaries' review of a round's photos, a day after it: most approved,
/// the flawed ones and a few others sent back. Answers how many were decided.
async fn review(
    state: &AppState,
    rng: &mut StdRng,
    at: NaiveDateTime,
    taken: &[Taken],
) -> Result<usize> {
    let mut decided = 0;
    for t in taken {
        let Some(reviewer) = VILLAGES[t.village].reviewer else {
            continue;
        };
        let secretary = staff::caller(&state.db, reviewer, None).await?;
        let (verdict, reason) = if t.flawed || rng.random_bool(0.05) {
            (
                Verdict::Rejected,
                Some("照片与走访记录不符，请补拍并注明拍摄地点。".to_owned()),
            )
        } else {
            (Verdict::Approved, None)
        };
        let then = Then::at(state, at);
        then.run(crate::photo_reviews::service::decide(
            &then.db,
            &then.hlc,
            &state.data_key,
            &secretary,
            &t.id,
            verdict,
            reason,
        ))
        .await?;
        decided += 1;
    }
    Ok(decided)
}
