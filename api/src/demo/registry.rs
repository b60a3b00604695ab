//! The demo county's households: drawn from the seeded generator, registered by their
//! township officer through the registry's use case (ID numbers checked, sealed and
//! hashed as for any registration, audited), each with its helper assigned.

use chrono::{NaiveDate, NaiveDateTime};
use rand::Rng;
use rand::rngs::StdRng;

use crate::demo::people;
use crate::demo::phones::db_at;
use crate::demo::tables::{VILLAGES, Village};
use crate::domain::caller::Caller;
use crate::households::rules::{Gender, ItemCategory, ItemInput, MemberInput, Relation};
use crate::households::service::{self as households, Registration, Search};
use crate::infra::error::{Error, Result};
use crate::infra::idempotency::{Made, Once};
use crate::photos::evidence_rules::Place;
use crate::state::AppState;

/// The day the demo's people's ages are counted from: fixed, so that the same seed makes
/// the same ID numbers whenever the demo is loaded.
fn reference_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default()
}

/// One planned household and where it lives.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Index into [`VILLAGES`].
    pub village: usize,
    pub registration: Registration,
    pub place: Place,
}

/// A registered household of the demo.
#[derive(Debug, Clone)]
pub struct Home {
    pub id: String,
    pub village: usize,
    pub place: Place,
    /// The head's name.
    pub head: String,
    /// The members who are children: name, birth date, whether a girl.
    pub children: Vec<(String, NaiveDate, bool)>,
}

/// Metres as degrees of latitude, roughly.
fn metres(m: f64) -> f64 {
    m / 111_195.0
}

pub fn member(
    rng: &mut StdRng,
    relation: Relation,
    female: bool,
    ages: (i64, i64),
    surname_of: Option<&str>,
) -> MemberInput {
    let born = people::birth_date(rng, reference_day(), ages.0, ages.1);
    let mut name = people::name(rng, female);
    if let Some(head) = surname_of {
        // Children and grandchildren carry the head's surname.
        let surname: String = head.chars().take(1).collect();
        name = surname + &name.chars().skip(1).collect::<String>();
    }
    MemberInput {
        id_number: people::resident_id(rng, "530123", born, female),
        name,
        relation,
        birth_date: born,
        gender: if female { Gender::Female } else { Gender::Male },
        phone: None,
    }
}

fn income(rng: &mut StdRng, category: ItemCategory, yuan: (i64, i64), year: i32) -> ItemInput {
    ItemInput {
        category,
        amount_fen: rng.random_range(yuan.0..yuan.1) * 100,
        year,
        note: None,
    }
}

/// Draws one household of village `v`, its incomes counted in `year`.
fn plan_one(rng: &mut StdRng, v: usize, village: &Village, year: i32) -> Planned {
    let head_female = rng.random_bool(0.2);
    let mut head = member(rng, Relation::Head, head_female, (28, 78), None);
    head.phone = Some(people::phone(rng));
    let head_name = head.name.clone();
    let mut members = vec![head];
    if rng.random_bool(0.75) {
        members.push(member(rng, Relation::Spouse, !head_female, (28, 75), None));
    }
    for _ in 0..rng.random_range(0..4) {
        let female = rng.random_bool(0.5);
        members.push(member(
            rng,
            Relation::Child,
            female,
            (3, 22),
            Some(&head_name),
        ));
    }
    if rng.random_bool(0.3) {
        let female = rng.random_bool(0.6);
        members.push(member(rng, Relation::Parent, female, (80, 92), None));
    }
    let mut items = vec![income(rng, ItemCategory::Farming, (3_000, 24_000), year)];
    if rng.random_bool(0.5) {
        items.push(income(rng, ItemCategory::Wages, (6_000, 30_000), year));
    }
    if rng.random_bool(0.4) {
        items.push(income(rng, ItemCategory::Transfer, (1_000, 8_000), year));
    }
    if rng.random_bool(0.3) {
        let mut it = income(rng, ItemCategory::Illness, (2_000, 40_000), year);
        it.note = Some("慢性病门诊及住院自付部分".to_owned());
        items.push(it);
    }
    if members.iter().any(|m| m.relation == Relation::Child) && rng.random_bool(0.4) {
        items.push(income(rng, ItemCategory::Schooling, (800, 6_000), year));
    }
    let place = Place {
        lat: village.lat + metres(rng.random_range(-600.0..600.0)),
        lng: village.lng + metres(rng.random_range(-600.0..600.0)),
    };
    Planned {
        village: v,
        registration: Registration {
            region_id: String::new(),
            address: people::address(rng, village.name),
            phone: members[0].phone.clone(),
            members,
            items,
            location: Some(place),
        },
        place,
    }
}

/// Every household of the demo, in the order they are registered: the same for the same
/// seed (only the year of the incomes follows today's).
pub fn plan(rng: &mut StdRng, year: i32) -> Vec<Planned> {
    let mut out = Vec::new();
    for (v, village) in VILLAGES.iter().enumerate() {
        for _ in 0..village.households {
            out.push(plan_one(rng, v, village, year));
        }
    }
    out
}

/// Whether the planned households are already registered (the demo was loaded before):
/// the first planned head is looked up by ID number, as a registry search does.
pub async fn registered(state: &AppState, county: &Caller, first: &Planned) -> Result<bool> {
    let id_number = first.registration.members[0].id_number.clone();
    let found = households::search(
        &state.db,
        &state.data_key,
        county,
        Search {
            id_number: Some(id_number),
            ..Search::default()
        },
        1,
    )
    .await?;
    Ok(!found.is_empty())
}

/// Registers the planned households at `at`, each by its township officer, and assigns
/// its village's helper.
pub async fn register(
    state: &AppState,
    at: NaiveDateTime,
    planned: Vec<Planned>,
    village_ids: &[String],
) -> Result<Vec<Home>> {
    let db = db_at(state, at);
    let mut officers = Vec::new();
    let mut helpers = Vec::new();
    for v in VILLAGES {
        officers.push(crate::demo::staff::caller(&state.db, v.officer, None).await?);
        helpers.push(crate::demo::staff::caller(&state.db, v.helper, None).await?);
    }
    let mut homes = Vec::with_capacity(planned.len());
    for mut p in planned {
        p.registration.region_id = village_ids[p.village].clone();
        let head = p.registration.members[0].name.clone();
        let children = p
            .registration
            .members
            .iter()
            .filter(|m| m.relation == Relation::Child)
            .map(|m| (m.name.clone(), m.birth_date, m.gender == Gender::Female))
            .collect();
        let officer = &officers[p.village];
        let made =
            households::register(&db, &state.data_key, officer, p.registration, Once::none())
                .await?;
        let Made::New(h) = made else {
            return Err(Error::internal("a registration without a key was replayed"));
        };
        households::set_helper(&db, officer, &h.row.id, &helpers[p.village].user_id, true).await?;
        homes.push(Home {
            id: h.row.id,
            village: p.village,
            place: p.place,
            head,
            children,
        });
    }
    Ok(homes)
}
