//! The prefecture's plan: its regions, staff and households with their people, drawn from
//! one seed, so that every table's writer (and the read-back) agrees on who is where.

use std::collections::HashSet;

use bangfu::demo::people;
use bangfu::infra::sealing::DataKey;
use chrono::{NaiveDate, NaiveDateTime, SubsecRound};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const COUNTIES: usize = 10;
pub const TOWNSHIPS_PER_COUNTY: usize = 10;
pub const VILLAGES_PER_TOWNSHIP: usize = 10;
pub const VILLAGES: usize = COUNTIES * TOWNSHIPS_PER_COUNTY * VILLAGES_PER_TOWNSHIP;
/// Households a helper (帮扶责任人) looks after, at most.
pub const HOUSEHOLDS_PER_HELPER: usize = 25;
/// The city's region code; its counties' are this and two digits.
pub const CITY_CODE: &str = "5325";
/// Every county's minimum living standard (低保标准), fen a person a month.
pub const DIBAO_FEN: i64 = 72_000;
/// The years of records before `now`.
pub const YEARS: i64 = 5;

/// One node of the region tree, as `regions` holds it.
#[derive(Debug, Clone)]
pub struct Region {
    pub id: String,
    pub code: String,
    pub name: String,
    pub path: String,
    pub level: &'static str,
    pub parent: Option<String>,
}

/// A member of a household, as registration takes them.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    /// A valid GB 11643 number, unique in the prefecture.
    pub id_number: String,
    pub birth: NaiveDate,
    pub female: bool,
    /// `head`, `spouse`, `child` or `parent`, as `households::rules::Relation` spells them.
    pub relation: &'static str,
    pub phone: Option<String>,
}

/// A household and when its township officer registered it.
#[derive(Debug, Clone)]
pub struct Home {
    pub village: usize,
    pub registered_at: NaiveDateTime,
    pub address: String,
    pub phone: Option<String>,
    pub members: Vec<Person>,
    pub lat: f64,
    pub lng: f64,
}

/// Everything drawn from the seed.
pub struct Plan {
    pub seed: u64,
    pub households: usize,
    pub now: NaiveDateTime,
    /// `YEARS` before `now`: where the records begin.
    pub start: NaiveDateTime,
    pub key: DataKey,
    pub url: String,
    pub city: Region,
    pub counties: Vec<Region>,
    pub townships: Vec<Region>,
    pub villages: Vec<Region>,
    /// One central school per township.
    pub schools: Vec<Region>,
    pub homes: Vec<Home>,
}

/// Id kinds of the frame (the table writers use their own, 20 and up).
const REGION: u8 = 1;
const USER: u8 = 2;
const DEVICE: u8 = 3;
const HOUSEHOLD: u8 = 4;

impl Plan {
    /// Draws the prefecture: `households` households over the villages (household `h` in
    /// village `h % VILLAGES`, so a village's households are registered over the years,
    /// interleaved with everyone else's, as they are in life).
    pub fn draw(seed: u64, households: usize, now: NaiveDateTime, key: DataKey, url: &str) -> Plan {
        // Whole milliseconds: what the database keeps, and what ids carry.
        let now = now.trunc_subsecs(3);
        let start = now - chrono::Duration::days(365 * YEARS);
        let mut plan = Plan {
            seed,
            households,
            now,
            start,
            key,
            url: url.to_owned(),
            city: Region {
                id: String::new(),
                code: CITY_CODE.into(),
                name: "示范市".into(),
                path: String::new(),
                level: "city",
                parent: None,
            },
            counties: Vec::new(),
            townships: Vec::new(),
            villages: Vec::new(),
            schools: Vec::new(),
            homes: Vec::with_capacity(households),
        };
        plan.city.id = plan.id(REGION, 0, start);
        plan.city.path = format!("/{}/", plan.city.id);
        let under = |plan: &Plan, parent: &Region, n: u64, level, code: String, name: String| {
            let id = plan.id(REGION, n, start);
            Region {
                path: format!("{}{id}/", parent.path),
                id,
                code,
                name,
                level,
                parent: Some(parent.id.clone()),
            }
        };
        for c in 0..COUNTIES {
            let county = under(
                &plan,
                &plan.city,
                1 + c as u64,
                "county",
                format!("{CITY_CODE}{:02}", c + 1),
                format!("第{}县", c + 1),
            );
            for t in 0..TOWNSHIPS_PER_COUNTY {
                let n = (c * TOWNSHIPS_PER_COUNTY + t) as u64;
                let township = under(
                    &plan,
                    &county,
                    100 + n,
                    "township",
                    format!("{}{:03}", county.code, 101 + t),
                    format!("{}第{}镇", county.name, t + 1),
                );
                let school = under(
                    &plan,
                    &township,
                    10_000 + n,
                    "school",
                    format!("21{}{:02}", county.code, t + 1),
                    format!("{}中心小学", township.name),
                );
                for v in 0..VILLAGES_PER_TOWNSHIP {
                    let n = n * VILLAGES_PER_TOWNSHIP as u64 + v as u64;
                    plan.villages.push(under(
                        &plan,
                        &township,
                        1_000 + n,
                        "village",
                        format!("{}{:03}", township.code, v + 1),
                        format!("{}{}村", township.name, v + 1),
                    ));
                }
                plan.townships.push(township);
                plan.schools.push(school);
            }
            plan.counties.push(county);
        }
        plan.draw_homes();
        plan
    }

    fn draw_homes(&mut self) {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut taken: HashSet<String> = HashSet::with_capacity(self.households * 5);
        // Registered over the first four and a half years, so every household has a past.
        let span = (self.now - self.start).num_seconds() * 9 / 10;
        for h in 0..self.households {
            let village = h % VILLAGES;
            let registered_at = self.start
                + chrono::Duration::seconds(span * h as i64 / self.households.max(1) as i64);
            // Ages as registration saw them: nobody is born after being registered.
            let registered_on = registered_at.date();
            let area = self.counties[Plan::county_of(village)].code.clone();
            let mut person =
                |rng: &mut StdRng, relation, female, ages: (i64, i64), surname: Option<&str>| {
                    let birth = people::birth_date(rng, registered_on, ages.0, ages.1);
                    let mut name = people::name(rng, female);
                    if let Some(s) = surname {
                        name = s.to_owned() + &name.chars().skip(1).collect::<String>();
                    }
                    let mut id_number = people::resident_id(rng, &area, birth, female);
                    while !taken.insert(id_number.clone()) {
                        id_number = people::resident_id(rng, &area, birth, female);
                    }
                    Person {
                        name,
                        id_number,
                        birth,
                        female,
                        relation,
                        phone: None,
                    }
                };
            let head_female = rng.random_bool(0.2);
            let mut head = person(&mut rng, "head", head_female, (28, 78), None);
            if rng.random_bool(0.7) {
                head.phone = Some(people::phone(&mut rng));
            }
            let surname: String = head.name.chars().take(1).collect();
            let mut members = vec![head];
            if rng.random_bool(0.75) {
                members.push(person(&mut rng, "spouse", !head_female, (28, 75), None));
            }
            for _ in 0..rng.random_range(0..5) {
                let female = rng.random_bool(0.5);
                members.push(person(&mut rng, "child", female, (1, 20), Some(&surname)));
            }
            if rng.random_bool(0.3) {
                let female = rng.random_bool(0.6);
                members.push(person(&mut rng, "parent", female, (80, 92), None));
            }
            let (lat, lng) = self.village_centre(village);
            self.homes.push(Home {
                village,
                registered_at,
                address: people::address(&mut rng, &self.villages[village].name),
                phone: members[0].phone.clone(),
                lat: lat + rng.random_range(-0.005..0.005),
                lng: lng + rng.random_range(-0.005..0.005),
                members,
            });
        }
    }

    /// The township village `v` lies in (its school is the township's too).
    pub fn township_of(v: usize) -> usize {
        v / VILLAGES_PER_TOWNSHIP
    }

    /// The county village `v` lies in.
    pub fn county_of(v: usize) -> usize {
        v / (VILLAGES_PER_TOWNSHIP * TOWNSHIPS_PER_COUNTY)
    }

    /// A village's centre (WGS 84): the counties in a row across the prefecture.
    pub fn village_centre(&self, v: usize) -> (f64, f64) {
        let (c, t, i) = (
            Plan::county_of(v),
            Plan::township_of(v) % TOWNSHIPS_PER_COUNTY,
            v % VILLAGES_PER_TOWNSHIP,
        );
        (
            23.0 + t as f64 * 0.05 + i as f64 * 0.005,
            102.0 + c as f64 * 0.2 + i as f64 * 0.01,
        )
    }

    /// A deterministic UUIDv7 of `kind`, the `n`-th of its kind, made at `at`: ids sort by
    /// time as the server's own do.
    pub fn id(&self, kind: u8, n: u64, at: NaiveDateTime) -> String {
        let millis = at.and_utc().timestamp_millis().max(0) as u64;
        let mut tail = [0u8; 10];
        tail[0] = kind;
        tail[2..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(millis, &tail)
            .into_uuid()
            .to_string()
    }

    /// A generator for the `n`-th thing of a `stream`, the same for the same seed whatever
    /// else was drawn before.
    pub fn rng(&self, stream: u64, n: u64) -> StdRng {
        StdRng::seed_from_u64(
            self.seed
                ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03),
        )
    }

    pub fn household_id(&self, h: usize) -> String {
        self.id(HOUSEHOLD, h as u64, self.homes[h].registered_at)
    }

    /// Households of one village (the most any village has).
    pub fn households_per_village(&self) -> usize {
        self.households.div_ceil(VILLAGES)
    }

    /// Helpers a village has: one per `HOUSEHOLDS_PER_HELPER` of its households.
    pub fn helpers_per_village(&self) -> usize {
        self.households_per_village()
            .div_ceil(HOUSEHOLDS_PER_HELPER)
            .max(1)
    }

    pub fn helpers(&self) -> usize {
        VILLAGES * self.helpers_per_village()
    }

    /// The helper looking after household `h`.
    pub fn helper_of(&self, h: usize) -> usize {
        let (village, k) = (h % VILLAGES, h / VILLAGES);
        village * self.helpers_per_village() + k / HOUSEHOLDS_PER_HELPER
    }

    /// The village a helper works in.
    pub fn village_of_helper(&self, i: usize) -> usize {
        i / self.helpers_per_village()
    }

    /// The households a helper looks after.
    pub fn households_of_helper(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let (village, nth) = (
            i / self.helpers_per_village(),
            i % self.helpers_per_village(),
        );
        (nth * HOUSEHOLDS_PER_HELPER..(nth + 1) * HOUSEHOLDS_PER_HELPER)
            .map(move |k| k * VILLAGES + village)
            .filter(|h| *h < self.households)
    }

    // The staff: ids and usernames. Every account has the demo's password. The city has
    // an auditor (supervision reads the whole city); officers sit in counties and townships.

    pub fn city_auditor_id(&self) -> String {
        self.id(USER, 1, self.start)
    }
    pub fn county_officer_id(&self, c: usize) -> String {
        self.id(USER, 100 + c as u64, self.start)
    }
    pub fn county_auditor_id(&self, c: usize) -> String {
        self.id(USER, 200 + c as u64, self.start)
    }
    pub fn township_officer_id(&self, t: usize) -> String {
        self.id(USER, 1_000 + t as u64, self.start)
    }
    pub fn secretary_id(&self, v: usize) -> String {
        self.id(USER, 10_000 + v as u64, self.start)
    }
    pub fn teacher_id(&self, school: usize) -> String {
        self.id(USER, 20_000 + school as u64, self.start)
    }
    pub fn helper_id(&self, i: usize) -> String {
        self.id(USER, 1_000_000 + i as u64, self.start)
    }
    pub fn device_of_helper(&self, i: usize) -> String {
        self.id(DEVICE, i as u64, self.start)
    }
    pub fn device_of_teacher(&self, school: usize) -> String {
        self.id(DEVICE, 1_000_000 + school as u64, self.start)
    }
    pub fn county_officer_username(c: usize) -> String {
        format!("county_officer_{c}")
    }
    pub fn county_auditor_username(c: usize) -> String {
        format!("county_auditor_{c}")
    }
    pub fn township_officer_username(t: usize) -> String {
        format!("township_officer_{t}")
    }
    pub fn secretary_username(v: usize) -> String {
        format!("secretary_{v}")
    }
    pub fn teacher_username(school: usize) -> String {
        format!("teacher_{school}")
    }
    pub fn helper_username(i: usize) -> String {
        format!("helper_{i}")
    }
}

pub const CITY_AUDITOR: &str = "city_auditor";
