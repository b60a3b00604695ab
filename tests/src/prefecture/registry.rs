//! The household registry as registering every household through the registry's use case
//! (`households::service::register`, then `set_helper`) would have left it: each household
//! registered by its township officer at its `registered_at`, its helper assigned a minute
//! and a half later, both audited; ID numbers hashed, sealed and masked by bangfu's own
//! functions; the likely duplicates the registration's look-up would have found.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use anyhow::{bail, ensure};
use bangfu::audit::log::diff;
use bangfu::domain::resident_id;
use bangfu::households::duplicates::address_key;
use bangfu::households::rules::ItemCategory;
use chrono::{Datelike, Duration, NaiveDateTime};
use rand::Rng;
use serde_json::{Value, json};

use crate::prefecture::copy::{Copy, F};
use crate::prefecture::plan::{Home, Person, Plan, VILLAGES};
use crate::prefecture::{Api, expect_fields};

/// Id kinds of this module (see `Plan::id`).
const MEMBER: u8 = 20;
const ITEM: u8 = 21;
const AUDIT: u8 = 22;
const REQUEST: u8 = 23;
const CANDIDATE: u8 = 24;
/// Random streams of this module (see `Plan::rng`).
const ITEMS_STREAM: u64 = 20;

/// How long after registering the officer assigns the helper.
const HELPER_AFTER: Duration = Duration::seconds(90);

/// Rows written per table.
#[derive(Debug, Default)]
pub struct Counts {
    pub households: usize,
    pub members: usize,
    pub items: usize,
    pub helpers: usize,
    pub duplicate_candidates: usize,
    pub audit: usize,
}

pub fn member_id(plan: &Plan, h: usize, position: usize) -> String {
    plan.id(
        MEMBER,
        (h * 32 + position) as u64,
        plan.homes[h].registered_at,
    )
}

/// When the helper was assigned: the household's `updated_at`.
pub fn helper_assigned_at(plan: &Plan, h: usize) -> NaiveDateTime {
    plan.homes[h].registered_at + HELPER_AFTER
}

/// The household's feed positions: one taken by the registration, one by the helper's
/// assignment (the one the row keeps). The registry takes 1 to 2 × households.
pub fn household_seq(h: usize) -> i64 {
    2 * h as i64 + 2
}

/// An income item or rigid expense as registration stores it.
pub struct Item {
    pub category: ItemCategory,
    pub amount_fen: i64,
    pub year: i32,
    pub note: Option<&'static str>,
}

fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("a unit enum serialises to its name")
}

/// The household's incomes and rigid expenses of its registration year, drawn as the demo
/// draws them (`api/src/demo/registry.rs`).
pub fn items(plan: &Plan, h: usize) -> Vec<Item> {
    let home = &plan.homes[h];
    let year = bangfu::infra::clock::china_date(home.registered_at).year();
    let mut rng = plan.rng(ITEMS_STREAM, h as u64);
    let item = |rng: &mut rand::rngs::StdRng, category, yuan: (i64, i64), note| Item {
        category,
        amount_fen: rng.random_range(yuan.0..yuan.1) * 100,
        year,
        note,
    };
    let mut out = vec![item(&mut rng, ItemCategory::Farming, (3_000, 24_000), None)];
    if rng.random_bool(0.5) {
        out.push(item(&mut rng, ItemCategory::Wages, (6_000, 30_000), None));
    }
    if rng.random_bool(0.4) {
        out.push(item(&mut rng, ItemCategory::Transfer, (1_000, 8_000), None));
    }
    if rng.random_bool(0.3) {
        let note = Some("慢性病门诊及住院自付部分");
        out.push(item(&mut rng, ItemCategory::Illness, (2_000, 40_000), note));
    }
    if home.members.iter().any(|m| m.relation == "child") && rng.random_bool(0.4) {
        out.push(item(&mut rng, ItemCategory::Schooling, (800, 6_000), None));
    }
    out
}

fn gender(p: &Person) -> &'static str {
    if p.female { "female" } else { "male" }
}

/// What the audit log keeps of a new household (`Household::audit_view`): masked numbers,
/// no helpers yet.
fn audit_view(plan: &Plan, h: usize, items: &[Item]) -> Value {
    let home = &plan.homes[h];
    json!({
        "region_id": plan.villages[home.village].id, "address": home.address.trim(),
        "phone": home.phone, "status": "active",
        "location": {"lat": home.lat, "lng": home.lng},
        "members": home.members.iter().map(|m| json!({
            "name": m.name.trim(), "relation": m.relation,
            "id_number": resident_id::mask(&m.id_number),
            "birth_date": m.birth.to_string(), "gender": gender(m),
        })).collect::<Vec<_>>(),
        "items": items.iter().map(|i| json!({
            "category": enum_name(&i.category), "amount_fen": i.amount_fen, "year": i.year,
        })).collect::<Vec<_>>(),
        "helper_ids": [],
    })
}

/// An audit entry's `changes` as `audit::log` stores them: any full ID number masked.
fn stored_changes(changes: &Value) -> String {
    resident_id::mask_in_json(changes)
        .unwrap_or_else(|| changes.clone())
        .to_string()
}

/// Chains of values under a hashed key, in insertion order reversed: an index over two
/// million people that costs a few bytes each.
#[derive(Default)]
struct Index {
    heads: HashMap<u64, u32>,
    /// (value, the entry before it under the same key).
    entries: Vec<(u32, u32)>,
}

const END: u32 = u32::MAX;

impl Index {
    fn key(parts: impl Hash) -> u64 {
        let mut s = DefaultHasher::new();
        parts.hash(&mut s);
        s.finish()
    }

    fn add(&mut self, key: u64, value: u32) {
        let before = self
            .heads
            .insert(key, self.entries.len() as u32)
            .unwrap_or(END);
        self.entries.push((value, before));
    }

    fn get(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        let mut at = self.heads.get(&key).copied().unwrap_or(END);
        std::iter::from_fn(move || {
            let (value, next) = *self.entries.get(at as usize)?;
            at = next;
            Some(value)
        })
    }
}

/// Everyone registered so far, indexed as `households::duplicates::detect` looks them up.
#[derive(Default)]
struct Registered {
    /// (household, position) of each registered person.
    people: Vec<(u32, u8)>,
    name_birth: Index,
    village_name: Index,
    member_phone: Index,
    /// Households by their phone.
    household_phone: Index,
}

impl Registered {
    fn person<'p>(&self, plan: &'p Plan, i: u32) -> (usize, usize, &'p Person) {
        let (h, p) = self.people[i as usize];
        (
            h as usize,
            p as usize,
            &plan.homes[h as usize].members[p as usize],
        )
    }

    /// The likely duplicates of household `h`'s members among those registered before:
    /// (new member, earlier member) → (earlier household, reasons), as `detect` finds them.
    fn detect(
        &self,
        plan: &Plan,
        h: usize,
    ) -> BTreeMap<(String, String), (usize, Vec<&'static str>)> {
        let home = &plan.homes[h];
        let mut found: BTreeMap<(String, String), (usize, Vec<&'static str>)> = BTreeMap::new();
        let mut note = |n: usize, (oh, op): (usize, usize), reason| {
            let e = found
                .entry((member_id(plan, h, n), member_id(plan, oh, op)))
                .or_insert_with(|| (oh, Vec::new()));
            if !e.1.contains(&reason) {
                e.1.push(reason);
            }
        };
        for (n, new) in home.members.iter().enumerate() {
            for i in self
                .name_birth
                .get(Index::key((new.name.trim(), new.birth)))
            {
                let (oh, op, old) = self.person(plan, i);
                if old.name.trim() == new.name.trim() && old.birth == new.birth {
                    note(n, (oh, op), "name_birth_date");
                }
            }
        }
        let address = address_key(&home.address);
        for (n, new) in home.members.iter().enumerate() {
            for i in self
                .village_name
                .get(Index::key((home.village, new.name.trim())))
            {
                let (oh, op, old) = self.person(plan, i);
                if old.name.trim() == new.name.trim()
                    && address_key(&plan.homes[oh].address) == address
                {
                    note(n, (oh, op), "name_address");
                }
            }
        }
        let mut phones: Vec<&str> = home
            .members
            .iter()
            .filter_map(|m| m.phone.as_deref())
            .collect();
        phones.extend(home.phone.as_deref());
        let mut by_phone: BTreeMap<(usize, usize), ()> = BTreeMap::new();
        for p in &phones {
            for i in self.member_phone.get(Index::key(p)) {
                let (oh, op, _) = self.person(plan, i);
                by_phone.insert((oh, op), ());
            }
            for oh in self.household_phone.get(Index::key(p)) {
                for op in 0..plan.homes[oh as usize].members.len() {
                    by_phone.insert((oh as usize, op), ());
                }
            }
        }
        for &(oh, op) in by_phone.keys() {
            let (old_home, old) = (&plan.homes[oh], &plan.homes[oh].members[op]);
            let theirs = [old.phone.as_deref(), old_home.phone.as_deref()];
            for (n, new) in home.members.iter().enumerate() {
                let ours = [new.phone.as_deref(), home.phone.as_deref()];
                let shared = ours.iter().flatten().any(|p| theirs.contains(&Some(p)));
                if shared
                    && (new.phone.is_some() || new.relation == "head" && old.relation == "head")
                {
                    note(n, (oh, op), "phone");
                }
            }
        }
        found
    }

    fn add(&mut self, plan: &Plan, h: usize) {
        let home = &plan.homes[h];
        for (p, m) in home.members.iter().enumerate() {
            let i = self.people.len() as u32;
            self.people.push((h as u32, p as u8));
            self.name_birth.add(Index::key((m.name.trim(), m.birth)), i);
            self.village_name
                .add(Index::key((home.village, m.name.trim())), i);
            if let Some(phone) = &m.phone {
                self.member_phone.add(Index::key(phone.as_str()), i);
            }
        }
        if let Some(phone) = &home.phone {
            self.household_phone
                .add(Index::key(phone.as_str()), h as u32);
        }
    }
}

/// Writes every household as registered, in the order of their registration.
pub fn write(plan: &Plan) -> Counts {
    let url = &plan.url;
    let mut households = Copy::start(
        url,
        "households",
        "id, region_id, path, address, phone, status, created_at, updated_at, version, seq, lat, lng",
    );
    let mut members = Copy::start(
        url,
        "household_members",
        "id, household_id, name, relation, id_hash, id_sealed, id_masked, birth_date, gender, phone, position",
    );
    let mut item_rows = Copy::start(
        url,
        "household_items",
        "id, household_id, kind, category, amount_fen, year, note",
    );
    let mut helpers = Copy::start(
        url,
        "household_helpers",
        "household_id, user_id, assigned_at",
    );
    let mut candidates = Copy::start(
        url,
        "duplicate_candidates",
        "id, member_a, member_b, household_a, household_b, path_a, path_b, reasons, status, decided_by, decided_at, created_at",
    );
    let mut audit = Copy::start(
        url,
        "audit_log",
        "id, at, actor_id, actor_role, device_id, request_id, action, entity, entity_id, region_path, changes, reason",
    );
    let mut registered = Registered::default();
    let mut candidate_n = 0u64;
    for (h, home) in plan.homes.iter().enumerate() {
        let id = plan.household_id(h);
        let village = &plan.villages[home.village];
        let path = household_path(plan, h);
        let (t0, t1) = (home.registered_at, helper_assigned_at(plan, h));
        let officer = plan.township_officer_id(Plan::township_of(home.village));
        let helper = plan.helper_id(plan.helper_of(h));
        households.row(&[
            F::T(&id),
            F::T(&village.id),
            F::T(&path),
            F::T(home.address.trim()),
            home.phone.as_deref().map_or(F::N, F::T),
            F::T("active"),
            F::Ts(t0),
            F::Ts(t1),
            F::I(2),
            F::I(household_seq(h)),
            F::F(home.lat),
            F::F(home.lng),
        ]);
        for (p, m) in home.members.iter().enumerate() {
            let sealed = plan.key.seal(&m.id_number).expect("seal an ID number");
            members.row(&[
                F::T(&member_id(plan, h, p)),
                F::T(&id),
                F::T(m.name.trim()),
                F::T(m.relation),
                F::T(&plan.key.lookup_hash(&m.id_number)),
                F::T(&sealed),
                F::T(&resident_id::mask(&m.id_number)),
                F::T(&m.birth.to_string()),
                F::T(gender(m)),
                m.phone.as_deref().map_or(F::N, F::T),
                F::I(p as i64),
            ]);
        }
        let drawn = items(plan, h);
        for (i, it) in drawn.iter().enumerate() {
            let kind = enum_name(&it.category.kind());
            item_rows.row(&[
                F::T(&plan.id(ITEM, (h * 8 + i) as u64, t0)),
                F::T(&id),
                F::T(&kind),
                F::T(&enum_name(&it.category)),
                F::I(it.amount_fen),
                F::I(it.year.into()),
                it.note.map_or(F::N, F::T),
            ]);
        }
        // The registration's own look-up, before the household joins the index.
        for ((new_member, old_member), (oh, reasons)) in registered.detect(plan, h) {
            candidates.row(&[
                F::T(&plan.id(CANDIDATE, candidate_n, t0)),
                F::T(&old_member),
                F::T(&new_member),
                F::T(&plan.household_id(oh)),
                F::T(&id),
                F::T(&household_path(plan, oh)),
                F::T(&path),
                F::T(&json!(reasons).to_string()),
                F::T("open"),
                F::N,
                F::N,
                F::Ts(t0),
            ]);
            candidate_n += 1;
        }
        registered.add(plan, h);
        helpers.row(&[F::T(&id), F::T(&helper), F::Ts(t1)]);
        let created = diff(&Value::Null, &audit_view(plan, h, &drawn));
        let assigned = diff(&json!({"helper_ids": []}), &json!({"helper_ids": [helper]}));
        for (j, (at, action, changes)) in [(t0, "create", created), (t1, "update", assigned)]
            .into_iter()
            .enumerate()
        {
            let n = (h * 2 + j) as u64;
            audit.row(&[
                F::T(&plan.id(AUDIT, n, at)),
                F::Ts(at),
                F::T(&officer),
                F::T("township_officer"),
                F::N,
                F::T(&plan.id(REQUEST, n, at)),
                F::T(action),
                F::T("household"),
                F::T(&id),
                F::T(&path),
                F::T(&stored_changes(&changes)),
                F::N,
            ]);
        }
    }
    Counts {
        households: households.finish(),
        members: members.finish(),
        items: item_rows.finish(),
        helpers: helpers.finish(),
        duplicate_candidates: candidates.finish(),
        audit: audit.finish(),
    }
}

/// The household's scope path: its village's path and its id.
pub fn household_path(plan: &Plan, h: usize) -> String {
    format!(
        "{}{}/",
        plan.villages[plan.homes[h].village].path,
        plan.household_id(h)
    )
}

/// `sample` households spread over the prefecture, the same each time.
pub fn sample_of(plan: &Plan, sample: usize) -> Vec<usize> {
    let n = plan.homes.len();
    let step = (n / sample.max(1)).max(1);
    // An odd offset walks across villages as well as across time.
    (0..sample.min(n))
        .map(|k| (k * step + k % VILLAGES) % n)
        .collect()
}

/// Fails naming the household and the field when `got` is not `want`.
fn expect_eq(h: usize, field: &str, got: &Value, want: &Value) -> anyhow::Result<()> {
    if got != want {
        bail!("household {h}: {field} is {got}, generated {want}");
    }
    Ok(())
}

/// Reads `sample` households back as their township officer: the household page (then
/// once more unmasked, with a reason, to open the sealed ID numbers) and a registry search
/// by the head's full ID number, which only the lookup hash can answer.
pub fn read_back(plan: &Plan, api: &Api, sample: usize) -> anyhow::Result<()> {
    for h in sample_of(plan, sample) {
        let home: &Home = &plan.homes[h];
        let township = Plan::township_of(home.village);
        let token = api.token(&Plan::township_officer_username(township), None)?;
        let id = plan.household_id(h);
        let got = api.get(&token, &format!("/v1/households/{id}"))?;
        let drawn = items(plan, h);
        let want = json!({
            "id": id, "region_id": plan.villages[home.village].id, "address": home.address.trim(),
            "status": "active", "version": 2,
            "helper_ids": [plan.helper_id(plan.helper_of(h))],
            "members": home.members.iter().enumerate().map(|(p, m)| json!({
                "id": member_id(plan, h, p), "name": m.name.trim(), "relation": m.relation,
                "id_number": resident_id::mask(&m.id_number),
                "birth_date": m.birth.to_string(), "gender": gender(m),
            })).collect::<Vec<_>>(),
            "items": drawn.iter().map(|i| json!({
                "kind": enum_name(&i.category.kind()), "category": enum_name(&i.category),
                "amount_fen": i.amount_fen, "year": i.year, "note": i.note,
            })).collect::<Vec<_>>(),
        });
        let mut household = want;
        let want_members = household
            .as_object_mut()
            .and_then(|o| o.remove("members"))
            .unwrap_or_default();
        expect_fields(&format!("household {h}"), &got, &household)?;
        let got_members = got["members"].as_array().cloned().unwrap_or_default();
        ensure!(
            got_members.len() == home.members.len(),
            "household {h}: {} members, generated {}",
            got_members.len(),
            home.members.len()
        );
        for (p, (g, w)) in got_members
            .iter()
            .zip(want_members.as_array().into_iter().flatten())
            .enumerate()
        {
            expect_fields(&format!("household {h}, members[{p}]"), g, w)?;
        }
        // Degrees to a nanodegree (under a millimetre): the last binary digit of a double
        // may differ between the text COPY reads and what the API answers.
        for (field, want) in [("lat", home.lat), ("lng", home.lng)] {
            let got = got["location"][field].as_f64().unwrap_or(f64::NAN);
            ensure!(
                (got - want).abs() < 1e-9,
                "household {h}: location.{field} is {got}, generated {want}"
            );
        }
        let times = [
            ("created_at", home.registered_at),
            ("updated_at", helper_assigned_at(plan, h)),
        ];
        for (field, at) in times {
            let stated = got[field].as_str().unwrap_or_default();
            let parsed = chrono::DateTime::parse_from_rfc3339(stated)
                .map(|t| t.naive_utc())
                .ok();
            // The API answers to the microsecond, as PostgreSQL keeps it.
            let want = at.and_utc().timestamp_micros();
            if parsed.map(|t| t.and_utc().timestamp_micros()) != Some(want) {
                bail!("household {h}: {field} is {stated}, generated {at}");
            }
        }
        let reason = "prefecture%20read-back%20check";
        let open = api.get(
            &token,
            &format!("/v1/households/{id}?unmask=true&reason={reason}"),
        )?;
        for (p, m) in home.members.iter().enumerate() {
            expect_eq(
                h,
                &format!("members[{p}].id_number (unmasked)"),
                &open["members"][p]["id_number"],
                &json!(m.id_number),
            )?;
        }
        expect_eq(h, "phone (unmasked)", &open["phone"], &json!(home.phone))?;
        let head = &home.members[0].id_number;
        let found = api.get(&token, &format!("/v1/households?id_number={head}"))?;
        let ids: Vec<&str> = found["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["id"].as_str())
            .collect();
        ensure!(
            ids == [id.as_str()],
            "household {h}: a search by the head's ID number found {ids:?}, not {id}"
        );
    }
    Ok(())
}
