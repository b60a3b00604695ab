//! What the phones capture for one household, change by change: its helper's visits with
//! their photos, and from the township school teacher's phone its school-age children, their
//! dropout cases (papers, retrieval attempts, close-out) and home teaching (papers,
//! sessions, photos). A pure function of the plan and the household, so that the loader
//! and the read-back draw the same records.

use bangfu::infra::clock::{china_date, start_of_china_day};
use bangfu::photos::evidence_rules::{Place, Window};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::prefecture::plan::Plan;

/// Id kinds (the plan's `id`) of the field records, and the plan's random streams.
pub const VISIT: u8 = 40;
pub const PHOTO: u8 = 41;
pub const CHILD: u8 = 42;
pub const CASE: u8 = 43;
pub const ATTEMPT: u8 = 44;
pub const DOCUMENT: u8 = 45;
pub const SESSION: u8 = 46;

/// Share of households under regular visits (about 4 a year from their registration):
/// with their photos and the children's records, about 10 records a household.
const VISITED_SHARE: f64 = 0.5;
const DAYS_BETWEEN_VISITS: i64 = 91;
const PHOTO_CHANCE: f64 = 0.5;
/// A school-age child's chance of a dropout case over the five years (R-DROP-2), and of
/// being taught at home (R-DROP-7).
const CASE_CHANCE: f64 = 0.01;
const HOME_TEACHING_CHANCE: f64 = 0.005;
const ATTEMPTS_PER_CASE: u64 = 4;
/// A home-teaching session's class hours (R-DROP-7: at least two).
const CLASS_HOURS: f64 = 2.0;
/// Share of cases closed out by the child's return; the rest are still open.
const RETURNED_SHARE: f64 = 0.85;
/// The phones' name and app version, as the frame registers them.
const CAPTURE_DEVICE: &str = "华为 nova 12";
pub const APP_VERSION: &str = "1.4.0";

const NOTES: &[&str] = &[
    "家中情况稳定，粮食充足。",
    "户主腰椎病复发，已联系村医上门。",
    "屋顶有漏雨，已报村委安排修缮。",
    "核对了低保金到账情况。",
    "老人独居，叮嘱儿女按时回家探望。",
    "宣传了医保缴费政策。",
];
const CAPTIONS: &[&str] = &["房屋外景", "与户主合影", "厨房与粮食储备", "屋顶", "院落"];

/// Whose phone made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phone {
    Helper(usize),
    Teacher(usize),
}

impl Phone {
    pub fn device(self, plan: &Plan) -> String {
        match self {
            Phone::Helper(i) => plan.device_of_helper(i),
            Phone::Teacher(s) => plan.device_of_teacher(s),
        }
    }

    pub fn user(self, plan: &Plan) -> String {
        match self {
            Phone::Helper(i) => plan.helper_id(i),
            Phone::Teacher(s) => plan.teacher_id(s),
        }
    }

    /// The path of the user's region (the pusher's `region_path`).
    pub fn region_path(self, plan: &Plan) -> &str {
        match self {
            Phone::Helper(i) => &plan.villages[plan.village_of_helper(i)].path,
            Phone::Teacher(s) => &plan.schools[s].path,
        }
    }

    /// A number of its own among all phones.
    pub fn ordinal(self, plan: &Plan) -> usize {
        match self {
            Phone::Helper(i) => i,
            Phone::Teacher(s) => plan.helpers() + s,
        }
    }

    /// When what it captured at `made_at` reaches the server: its user syncs in the
    /// evening (20:00 China time, a few minutes apart phone by phone), or now.
    pub fn pushed_at(self, plan: &Plan, made_at: NaiveDateTime) -> NaiveDateTime {
        let minutes = (self.ordinal(plan) % 120) as i64;
        let evening = start_of_china_day(china_date(made_at))
            + Duration::hours(20)
            + Duration::minutes(minutes);
        evening.min(plan.now)
    }
}

/// One change of a record as its phone sends it.
#[derive(Debug, Clone)]
pub struct Change {
    pub made_at: NaiveDateTime,
    pub fields: Map<String, Value>,
}

/// A record as one phone captured it, change by change.
#[derive(Debug, Clone)]
pub struct Captured {
    pub entity: &'static str,
    pub id: String,
    pub phone: Phone,
    pub region_path: String,
    /// The household's or school's path it is also reached through, or empty.
    pub reach_path: String,
    pub changes: Vec<Change>,
    /// For a photo: what it is evidence of.
    pub proof: Option<Proof>,
}

/// What a photo proves, as the evidence rules read it: its subject's window, and the
/// place of the household it concerns (if it names one).
#[derive(Debug, Clone)]
pub struct Proof {
    pub window: Window,
    pub home: Option<Place>,
}

/// A household's records, and the sources of the clocks they start.
#[derive(Debug, Default)]
pub struct Household {
    pub records: Vec<Captured>,
    /// Dropout cases and children taught at home, whose clocks are derived after the load.
    pub cases: Vec<String>,
    pub taught_at_home: Vec<String>,
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// An RFC 3339 instant, as the phones send it.
pub fn instant(at: NaiveDateTime) -> Value {
    json!(
        at.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// A point `north` metres north of (`lat`, `lng`), with the fix's accuracy.
fn located(lat: f64, lng: f64, north: f64, accuracy_m: f64) -> Value {
    json!({"lat": lat + north / 111_195.0, "lng": lng, "accuracy_m": accuracy_m})
}

/// Working hours (9:00–17:00 China time) of the day of `at`.
fn working_hours(rng: &mut StdRng, at: NaiveDateTime) -> NaiveDateTime {
    start_of_china_day(china_date(at)) + Duration::minutes(rng.random_range(9 * 60..17 * 60))
}

/// Working hours of a day some `days` after `from`.
fn days_later(rng: &mut StdRng, from: NaiveDateTime, days: std::ops::Range<i64>) -> NaiveDateTime {
    let d = rng.random_range(days);
    working_hours(rng, from + Duration::days(d))
}

/// The digest of a picture no other photo shares (no file is written).
fn picture(rng: &mut StdRng) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    hex::encode(Sha256::digest(bytes))
}

/// Everything the phones captured for household `h` up to a day before now.
pub fn household(plan: &Plan, h: usize) -> Household {
    let mut out = Household::default();
    visits(plan, h, &mut out);
    children(plan, h, &mut out);
    out
}

fn visits(plan: &Plan, h: usize, out: &mut Household) {
    let mut rng = plan.rng(u64::from(VISIT), h as u64);
    if !rng.random_bool(VISITED_SHARE) {
        return;
    }
    let home = &plan.homes[h];
    let (phone, household_id) = (Phone::Helper(plan.helper_of(h)), plan.household_id(h));
    let village = &plan.villages[home.village];
    let reach = format!("{}{household_id}/", village.path);
    let last = plan.now - Duration::days(1);
    for k in 0u64.. {
        let day = home.registered_at
            + Duration::days(30 + k as i64 * DAYS_BETWEEN_VISITS + rng.random_range(-10..=10));
        let visited = working_hours(&mut rng, day);
        if visited > last {
            break;
        }
        let n = h as u64 * 64 + k;
        let id = plan.id(VISIT, n, visited);
        let need = |rng: &mut StdRng, p| if rng.random_bool(p) { "met" } else { "not_met" };
        let mut v = json!({
            "region_id": village.id, "household_id": household_id, "helper_id": phone.user(plan),
            "kind": "routine", "visited_at": instant(visited),
            "location": located(home.lat, home.lng, rng.random_range(5.0..60.0), 12.0),
            "basic_needs": {"food": "met", "clothing": "met",
                "compulsory_education": need(&mut rng, 0.97), "basic_medical": need(&mut rng, 0.9),
                "safe_housing": need(&mut rng, 0.92)},
        });
        if rng.random_bool(0.7) {
            v["notes"] = json!(NOTES.choose(&mut rng).expect("notes"));
        }
        out.records.push(Captured {
            entity: "visit",
            id: id.clone(),
            phone,
            region_path: village.path.clone(),
            reach_path: reach.clone(),
            changes: vec![Change {
                made_at: visited,
                fields: object(v),
            }],
            proof: None,
        });
        if rng.random_bool(PHOTO_CHANCE) {
            let taken = visited + Duration::minutes(rng.random_range(5..50));
            let v = json!({
                "region_id": village.id, "sha256": picture(&mut rng), "subject_entity": "visit",
                "subject_id": id, "household_id": household_id, "taken_at": instant(taken),
                "location": located(home.lat, home.lng, rng.random_range(10.0..120.0), 8.0),
                "capture_device": CAPTURE_DEVICE,
                "caption": CAPTIONS.choose(&mut rng).expect("captions"),
            });
            out.records.push(Captured {
                entity: "photo",
                id: plan.id(PHOTO, n, taken),
                phone,
                region_path: village.path.clone(),
                reach_path: reach.clone(),
                changes: vec![Change {
                    made_at: taken,
                    fields: object(v),
                }],
                proof: Some(Proof {
                    window: Window::around("visit", visited.and_utc(), None),
                    home: Some(Place {
                        lat: home.lat,
                        lng: home.lng,
                    }),
                }),
            });
        }
    }
}

/// The 1st of September after a child born on `birth` turns six: when school takes them.
fn school_start(birth: NaiveDate) -> NaiveDate {
    let year = birth.year() + if birth.month() < 9 { 6 } else { 7 };
    NaiveDate::from_ymd_opt(year, 9, 1).expect("a date")
}

/// The teacher's records of one child: its school, village and home.
struct Pupil<'a> {
    plan: &'a Plan,
    phone: Phone,
    child_id: String,
    village_id: &'a str,
    village_path: &'a str,
    school_id: &'a str,
    school_path: &'a str,
    home: (f64, f64),
    /// The base of the numbers of its records' ids.
    n: u64,
}

impl Pupil<'_> {
    fn record(
        &self,
        entity: &'static str,
        id: String,
        made_at: NaiveDateTime,
        v: Value,
    ) -> Captured {
        Captured {
            entity,
            id,
            phone: self.phone,
            region_path: self.village_path.to_owned(),
            reach_path: self.school_path.to_owned(),
            changes: vec![Change {
                made_at,
                fields: object(v),
            }],
            proof: None,
        }
    }

    fn document(&self, j: u64, case: Option<&str>, kind: &str, at: NaiveDateTime) -> Captured {
        let issued_by = match kind {
            "county_approval" => "county",
            "guardian_application" => "guardian",
            _ => "school",
        };
        let mut v = json!({"region_id": self.village_id, "child_id": self.child_id,
            "school_id": self.school_id, "kind": kind, "issued_on": china_date(at).to_string(),
            "issued_by": issued_by, "by_user_id": self.phone.user(self.plan)});
        if let Some(c) = case {
            v["case_id"] = json!(c);
        }
        self.record(
            "dropout_document",
            self.plan.id(DOCUMENT, self.n * 16 + j, at),
            at,
            v,
        )
    }

    /// A photo of a session held at `held` for `hours`.
    fn photo(
        &self,
        rng: &mut StdRng,
        session: &str,
        n: u64,
        held: NaiveDateTime,
        hours: f64,
    ) -> Captured {
        let taken = held + Duration::minutes(40);
        // The school's evidence, filed under the school.
        let v = json!({"region_id": self.school_id, "sha256": picture(rng),
            "subject_entity": "teaching_session", "subject_id": session, "taken_at": instant(taken),
            "location": located(self.home.0, self.home.1, rng.random_range(5.0..60.0), 10.0),
            "capture_device": CAPTURE_DEVICE});
        Captured {
            region_path: self.school_path.to_owned(),
            reach_path: String::new(),
            proof: Some(Proof {
                window: Window::around(
                    "teaching_session",
                    held.and_utc(),
                    Some(Duration::minutes((hours * 60.0).round() as i64)),
                ),
                home: None,
            }),
            ..self.record("photo", self.plan.id(PHOTO, n, taken), taken, v)
        }
    }
}

fn children(plan: &Plan, h: usize, out: &mut Household) {
    let home = &plan.homes[h];
    let today = china_date(plan.now);
    let village = &plan.villages[home.village];
    let school = &plan.schools[home.village / 10];
    let head = &home.members[0];
    for (m, person) in home.members.iter().enumerate() {
        let age = today.years_since(person.birth).unwrap_or(0);
        if person.relation != "child" || !(6..=15).contains(&age) {
            continue;
        }
        let n = h as u64 * 8 + m as u64;
        let mut rng = plan.rng(u64::from(CHILD), n);
        let from = home
            .registered_at
            .max(start_of_china_day(school_start(person.birth)));
        let registered = days_later(&mut rng, from, 7..30);
        if registered > plan.now - Duration::days(1) {
            continue;
        }
        let phone = Phone::Teacher(Plan::township_of(home.village));
        let pupil = Pupil {
            plan,
            phone,
            child_id: plan.id(CHILD, n, registered),
            village_id: &village.id,
            village_path: &village.path,
            school_id: &school.id,
            school_path: &school.path,
            home: (home.lat, home.lng),
            n,
        };
        let at_home = rng.random_bool(HOME_TEACHING_CHANCE);
        let mut v = json!({"region_id": village.id, "school_id": school.id, "name": person.name,
            "gender": if person.female { "female" } else { "male" },
            "birth_date": person.birth.to_string(), "guardian_name": head.name,
            "has_student_status": true,
            "enrollment": if at_home { "home_teaching" } else { "in_school" },
            "at_risk": if at_home { json!(["disabled"]) } else { json!([]) }});
        if let Some(phone) = &head.phone {
            v["guardian_phone"] = json!(phone);
        }
        let child = out.records.len();
        out.records
            .push(pupil.record("child", pupil.child_id.clone(), registered, v));
        if at_home {
            home_teaching(&pupil, &mut rng, registered, out);
        } else if rng.random_bool(CASE_CHANCE) {
            case(&pupil, &mut rng, registered, child, out);
        }
    }
}

/// A dropout case: confirmed, the child marked out of school, attempts by the school,
/// and (mostly) the return confirmed and the case closed out (销号).
fn case(
    p: &Pupil<'_>,
    rng: &mut StdRng,
    registered: NaiveDateTime,
    child: usize,
    out: &mut Household,
) {
    let plan = p.plan;
    let last = plan.now - Duration::days(1);
    let span = (last - registered).num_days();
    if span < 60 {
        return;
    }
    let opened = days_later(rng, registered, 30..span);
    let id = plan.id(CASE, p.n, opened);
    let helper = plan.helper_id(plan.helper_of(p.n as usize / 8));
    let teacher = p.phone.user(plan);
    let mut team = vec![teacher.clone(), helper];
    team.sort();
    out.cases.push(id.clone());
    let mut case = p.record(
        "dropout_case",
        id.clone(),
        opened,
        json!({"region_id": p.village_id,
        "child_id": p.child_id, "school_id": p.school_id, "opened_at": instant(opened),
        "stage": "dropout_confirmed", "state": "open", "team": team}),
    );
    out.records
        .push(p.document(0, Some(&id), "dropout_confirmation", opened));
    out.records[child].changes.push(Change {
        made_at: opened + Duration::minutes(5),
        fields: object(json!({"enrollment": "not_in_school"})),
    });
    let returns = rng.random_bool(RETURNED_SHARE);
    let mut at = opened;
    for j in 0..ATTEMPTS_PER_CASE {
        at = days_later(rng, at, 3..10);
        if at > last {
            break;
        }
        let result = match (j + 1 == ATTEMPTS_PER_CASE, returns) {
            (true, true) => "returned",
            _ => *["no_contact", "refused", "promised"]
                .choose(rng)
                .expect("results"),
        };
        let method = *["phone_call", "letter", "home_visit"]
            .choose(rng)
            .expect("methods");
        let mut v = json!({"region_id": p.village_id, "case_id": id, "school_id": p.school_id,
            "method": method, "attempted_at": instant(at), "by_user_id": teacher,
            "party": "school", "result": result});
        if method == "home_visit" {
            v["location"] = located(p.home.0, p.home.1, rng.random_range(5.0..60.0), 10.0);
        }
        out.records.push(p.record(
            "retrieval_attempt",
            plan.id(ATTEMPT, p.n * 16 + j, at),
            at,
            v,
        ));
        if result == "returned" {
            let back = at + Duration::days(2);
            if back > last {
                break;
            }
            out.records
                .push(p.document(1, Some(&id), "return_confirmation", back));
            case.changes.push(Change {
                made_at: back,
                fields: object(json!({"stage": "persuasion", "state": "closed",
                    "outcome": "returned", "closed_at": instant(back)})),
            });
            out.records[child].changes.push(Change {
                made_at: back + Duration::minutes(5),
                fields: object(json!({"enrollment": "in_school"})),
            });
        }
    }
    out.records.push(case);
}

/// Home teaching: the guardian's application, the county's approval and the signed
/// agreement, then two sessions a month of two class hours, each with a photo.
fn home_teaching(p: &Pupil<'_>, rng: &mut StdRng, registered: NaiveDateTime, out: &mut Household) {
    let plan = p.plan;
    out.taught_at_home.push(p.child_id.clone());
    let papers = [
        "guardian_application",
        "county_approval",
        "home_teaching_agreement",
    ];
    for (j, kind) in papers.iter().enumerate() {
        out.records.push(p.document(
            2 + j as u64,
            None,
            kind,
            registered + Duration::days(j as i64),
        ));
    }
    let last = plan.now - Duration::days(1);
    let mut held = registered + Duration::days(7);
    for j in 0u64.. {
        held = days_later(rng, held, 13..16);
        if held > last {
            break;
        }
        let n = p.n * 256 + j;
        let id = plan.id(SESSION, n, held);
        out.records.push(p.record(
            "teaching_session",
            id.clone(),
            held,
            json!({
            "region_id": p.village_id, "child_id": p.child_id, "school_id": p.school_id,
            "teacher_id": p.phone.user(plan), "held_at": instant(held), "class_hours": CLASS_HOURS,
            "lesson_plan_signed": true, "notes": "语文、数学各一课时，完成康复训练。"}),
        ));
        out.records
            .push(p.photo(rng, &id, (1 << 40) + n, held, CLASS_HOURS));
    }
}
