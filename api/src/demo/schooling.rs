//! Dropout control (控辍保学) at 青山镇中心小学, from the school teacher's phone: the
//! pupils of the township's households in the registry, three dropout cases at different
//! legal steps (one closed out, one persuading, one whose guardian's week ran out and
//! climbed to the township), home teaching with its sessions and photos, and teacher–pupil
//! pairs with their talks.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use crate::demo::phones::{self, Captured, instant, new_id, record};
use crate::demo::registry::Home;
use crate::demo::tables::{TEACHER_PHONE, VILLAGES};
use crate::demo::{pictures, staff};
use crate::domain::caller::Caller;
use crate::infra::clock::china_date;
use crate::infra::error::Result;
use crate::state::AppState;

/// How dropout control went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Schooling {
    pub children: usize,
    pub cases: usize,
    pub sessions: usize,
    pub pairs: usize,
}

/// A pupil in the registry: record id, village id, and where they live.
struct Pupil {
    id: String,
    village: String,
    home: (f64, f64),
}

/// What the teacher's phone sends, and when.
struct Teacher<'a> {
    state: &'a AppState,
    me: Caller,
    school: String,
    now: NaiveDateTime,
}

impl Teacher<'_> {
    /// The moment `days` before now.
    fn ago(&self, days: i64) -> NaiveDateTime {
        self.now - Duration::days(days)
    }

    fn day(&self, days: i64) -> String {
        china_date(self.ago(days)).to_string()
    }

    fn doc(
        &self,
        rng: &mut StdRng,
        p: &Pupil,
        case: Option<&str>,
        kind: &str,
        days: i64,
    ) -> Captured {
        let issued_by = if kind == "county_approval" {
            "county"
        } else if kind == "guardian_application" {
            "guardian"
        } else {
            "school"
        };
        let mut v = json!({"region_id": p.village, "child_id": p.id, "school_id": self.school,
            "kind": kind, "issued_on": self.day(days), "issued_by": issued_by,
            "by_user_id": self.me.user_id});
        if let Some(c) = case {
            v["case_id"] = json!(c);
        }
        if kind == "return_deadline_notice" {
            v["deadline_on"] = json!(self.day(days - 7));
        }
        record("dropout_document", new_id(rng, self.ago(days)), v)
    }

    fn attempt(
        &self,
        rng: &mut StdRng,
        p: &Pupil,
        case: &str,
        days: i64,
        how: (&str, &str),
    ) -> Captured {
        record(
            "retrieval_attempt",
            new_id(rng, self.ago(days)),
            json!({"region_id": p.village, "case_id": case, "school_id": self.school,
                "method": how.0, "attempted_at": instant(self.ago(days)), "by_user_id": self.me.user_id,
                "party": "school", "result": how.1}),
        )
    }

    async fn push(&self, rng: &mut StdRng, days: i64, records: Vec<Captured>) -> Result<()> {
        phones::push(self.state, rng, &self.me, self.ago(days), 0, records).await
    }

    /// A dropout case opened `opened` days ago, with the papers before it.
    async fn open_case(
        &self,
        rng: &mut StdRng,
        p: &Pupil,
        opened: i64,
        team: &[&str],
    ) -> Result<String> {
        let case = new_id(rng, self.ago(opened));
        let records = vec![
            record(
                "dropout_case",
                case.clone(),
                json!({"region_id": p.village, "child_id": p.id,
                "school_id": self.school, "opened_at": instant(self.ago(opened)),
                "stage": "dropout_confirmed", "state": "open", "team": team}),
            ),
            self.doc(rng, p, Some(&case), "enrollment_notice", 95),
            self.doc(rng, p, Some(&case), "registration", 90),
            self.doc(rng, p, Some(&case), "dropout_confirmation", opened),
            self.attempt(rng, p, &case, opened - 1, ("phone_call", "refused")),
        ];
        self.push(rng, opened - 2, records).await?;
        Ok(case)
    }
}

/// The registry, the cases, home teaching and pairs of the township's school.
pub async fn run(
    state: &AppState,
    rng: &mut StdRng,
    homes: &[Home],
    village_ids: &[String],
    school: String,
    now: NaiveDateTime,
) -> Result<Schooling> {
    let me = phones::register(state, &TEACHER_PHONE, now - Duration::days(100)).await?;
    let t = Teacher {
        state,
        me,
        school,
        now,
    };
    let today = china_date(now);
    let mut done = Schooling::default();

    // The registry: every pupil of compulsory-school age of the township's households.
    let mut pupils = Vec::new();
    let mut records = Vec::new();
    for home in homes
        .iter()
        .filter(|h| VILLAGES[h.village].code.starts_with("530123101"))
    {
        for (name, born, girl) in &home.children {
            let age = today.years_since(*born).unwrap_or(0);
            if !(6..=15).contains(&age) {
                continue;
            }
            let n = pupils.len();
            let enrollment = match n {
                0..=2 => "not_in_school",
                3 | 4 => "home_teaching",
                _ => "in_school",
            };
            let at_risk: &[&str] = match n {
                3 | 4 => &["disabled"],
                5..=7 => &["left_behind"],
                _ if rng.random_bool(0.15) => &["poor"],
                _ => &[],
            };
            let id = new_id(rng, t.ago(60));
            records.push(record("child", id.clone(), json!({"region_id": village_ids[home.village],
                "school_id": t.school, "name": name, "gender": if *girl { "female" } else { "male" },
                "birth_date": born.to_string(), "guardian_name": home.head, "has_student_status": true,
                "enrollment": enrollment, "at_risk": at_risk})));
            pupils.push(Pupil {
                id,
                village: village_ids[home.village].clone(),
                home: (home.place.lat, home.place.lng),
            });
        }
    }
    done.children = pupils.len();
    t.push(rng, 60, records).await?;
    if pupils.len() < 8 {
        return Ok(done);
    }
    let helper = staff::caller(
        &state.db,
        VILLAGES[0].helper,
        Some(crate::demo::tables::PHONES[0].id),
    )
    .await?;
    let team = [t.me.user_id.as_str(), helper.user_id.as_str()];

    // Closed out: the child came back after a home visit.
    let closed = t.open_case(rng, &pupils[0], 50, &team).await?;
    let back = vec![t.doc(rng, &pupils[0], Some(&closed), "return_confirmation", 40)];
    t.push(rng, 40, back).await?;
    let close = record(
        "dropout_case",
        closed,
        json!({"state": "closed", "outcome": "returned",
        "closed_at": instant(t.ago(40)), "stage": "dropout_confirmed"}),
    );
    phones::send_batch(
        state,
        rng,
        &t.me,
        t.ago(40),
        0,
        vec![close],
        Some((1, t.ago(40))),
    )
    .await?;

    // Overdue: persuaded by school and village, reported, the guardian given a week that
    // ran out; the school's clock climbed to the township, whose penalty decision is due.
    let overdue = t.open_case(rng, &pupils[1], 35, &team).await?;
    let mut village_try = t.attempt(rng, &pupils[1], &overdue, 30, ("home_visit", "promised"));
    village_try.fields.insert("party".into(), json!("village"));
    village_try
        .fields
        .insert("by_user_id".into(), json!(helper.user_id));
    phones::push(state, rng, &helper, t.ago(29), 0, vec![village_try]).await?;
    let papers = vec![
        t.doc(rng, &pupils[1], Some(&overdue), "upward_report", 25),
        t.doc(
            rng,
            &pupils[1],
            Some(&overdue),
            "return_deadline_notice",
            17,
        ),
    ];
    t.push(rng, 16, papers).await?;

    // Just confirmed: the school is persuading.
    t.open_case(rng, &pupils[2], 12, &team).await?;
    done.cases = 3;

    // Home teaching for the two disabled pupils: one taught twice a month, the other
    // short this month.
    for (n, p) in pupils[3..5].iter().enumerate() {
        let papers = vec![
            t.doc(rng, p, None, "guardian_application", 100),
            t.doc(rng, p, None, "county_approval", 95),
            t.doc(rng, p, None, "home_teaching_agreement", 92),
        ];
        t.push(rng, 90, papers).await?;
        let last = if n == 0 { 2 } else { 35 };
        let mut days = 86;
        while days >= last {
            done.sessions += 1;
            session(&t, rng, p, days).await?;
            days -= 14;
        }
    }

    // Pairs (“four ones”, and a left-behind child's monthly talks).
    for (n, p) in pupils[5..8].iter().enumerate() {
        let pair = new_id(rng, t.ago(58));
        let program = if n == 2 { "left_behind" } else { "four_ones" };
        let difficulty = ["learning", "poverty", "moral"][n];
        let mut v = json!({"region_id": p.village, "school_id": t.school, "teacher_id": t.me.user_id,
            "child_id": p.id, "program": program, "difficulty": difficulty,
            "starts_on": t.day(58)});
        if program == "left_behind" {
            v["proxy_parent"] = json!(t.me.display_name);
        }
        t.push(rng, 58, vec![record("pair", pair.clone(), v)])
            .await?;
        for days in [45, 16] {
            let talk = record(
                "pair_session",
                new_id(rng, t.ago(days)),
                json!({"region_id": p.village,
                "pair_id": pair, "school_id": t.school, "kind": if days == 45 { "talk" } else { "study_check" },
                "held_at": instant(t.ago(days)), "by_user_id": t.me.user_id}),
            );
            t.push(rng, days - 1, vec![talk]).await?;
        }
        done.pairs += 1;
    }
    Ok(done)
}

/// One home-teaching session `days` ago: two class hours on a signed plan, with a photo.
async fn session(t: &Teacher<'_>, rng: &mut StdRng, p: &Pupil, days: i64) -> Result<()> {
    let held = t.ago(days) - Duration::hours(3);
    let id = new_id(rng, held);
    let sha = phones::upload(t.state, &t.me, held, pictures::jpeg(rng.random(), 75)?).await?;
    let records = vec![
        record(
            "teaching_session",
            id.clone(),
            json!({"region_id": p.village, "child_id": p.id,
            "school_id": t.school, "teacher_id": t.me.user_id, "held_at": instant(held),
            "class_hours": 2, "lesson_plan_signed": true, "notes": "语文、数学各一课时，完成康复训练。"}),
        ),
        // The school's evidence, in the school's records.
        record(
            "photo",
            new_id(rng, held),
            json!({"region_id": t.school, "sha256": sha,
            "subject_entity": "teaching_session", "subject_id": id,
            "taken_at": instant(held + Duration::minutes(40)),
            "location": phones::located(p.home.0, p.home.1, 15.0, 10.0),
            "capture_device": TEACHER_PHONE.name}),
        ),
    ];
    t.push(rng, days, records).await
}
