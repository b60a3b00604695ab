//! Pairing and follow-up of pupils (R-PAIR-1, R-PAIR-2).
//!
//! - Teacher–pupil pairs, "four ones" (四个一): a talk every week, a study check every
//!   week, a joint activity every month, a home visit every term; each teacher takes up to
//!   three pupils, one of each kind of difficulty (moral, learning, poverty).
//! - Left-behind children: the class teacher talks with each child every month.
//!
//! Weeks run Monday to Sunday, months are calendar months, terms are half-years (spring:
//! February–July; autumn: August–January), all in local time. A period is asked for when
//! the pair was already active on its first day and had not ended before its last.

use bangfu_sync::Code;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::deadline::{
    Clock, Owner, Term, china_date, end_of_china_day, month_end, start_of_china_day, week_start,
};

/// Pupils one teacher may take (每名老师帮扶 3 名学生).
pub const MAX_PUPILS_PER_TEACHER: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub id: String,
    pub region_path: String,
    pub teacher_id: String,
    /// The teacher's own region (their school): where their clocks escalate from.
    pub teacher_region_path: String,
    pub child_id: String,
    /// `four_ones` or `left_behind`.
    pub program: String,
    pub difficulty: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// (kind, when held) of every recorded session.
    pub sessions: Vec<(String, NaiveDateTime)>,
}

/// A period's window: first and last local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    Week,
    Month,
    Term,
}

impl Cadence {
    pub fn period(self, d: NaiveDate) -> Period {
        match self {
            Cadence::Week => {
                let first = week_start(d);
                Period {
                    first,
                    last: first + Duration::days(6),
                }
            }
            Cadence::Month => {
                let first = d.with_day(1).unwrap_or(d);
                Period {
                    first,
                    last: month_end(d),
                }
            }
            Cadence::Term => {
                let (y, m) = (d.year(), d.month());
                let ymd = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or(d);
                match m {
                    2..=7 => Period {
                        first: ymd(y, 2, 1),
                        last: ymd(y, 7, 31),
                    },
                    8..=12 => Period {
                        first: ymd(y, 8, 1),
                        last: month_end(ymd(y + 1, 1, 1)),
                    },
                    _ => Period {
                        first: ymd(y - 1, 8, 1),
                        last: month_end(ymd(y, 1, 1)),
                    },
                }
            }
        }
    }

    fn label(self, p: Period) -> String {
        match self {
            Cadence::Week => {
                let w = p.first.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Cadence::Month => format!("{:04}-{:02}", p.first.year(), p.first.month()),
            Cadence::Term => {
                if p.first.month() == 2 {
                    format!("{}-spring", p.first.year())
                } else {
                    format!("{}-autumn", p.first.year())
                }
            }
        }
    }
}

/// What a program asks for: (session kind, cadence).
pub fn requirements(program: &str) -> &'static [(&'static str, Cadence)] {
    match program {
        "four_ones" => &[
            ("talk", Cadence::Week),
            ("study_check", Cadence::Week),
            ("joint_activity", Cadence::Month),
            ("home_visit", Cadence::Term),
        ],
        "left_behind" => &[("talk", Cadence::Month)],
        _ => &[],
    }
}

/// Every period of `cadence` the pair owes up to `today`.
fn owed(p: &Pair, cadence: Cadence, today: NaiveDate) -> Vec<Period> {
    let mut out = Vec::new();
    let mut cur = cadence.period(p.starts_on);
    if cur.first < p.starts_on {
        cur = cadence.period(cur.last + Duration::days(1));
    }
    while cur.first <= today && p.ends_on.is_none_or(|e| e >= cur.last) {
        out.push(cur);
        cur = cadence.period(cur.last + Duration::days(1));
        if out.len() > 600 {
            break;
        }
    }
    out
}

/// The clocks of one pair: one per owed period and required kind, owned by the teacher,
/// due at the end of the period, met by the first session of that kind inside it.
pub fn clocks(p: &Pair, today: NaiveDate) -> Vec<Clock> {
    let mut out = Vec::new();
    for (kind, cadence) in requirements(&p.program) {
        for period in owed(p, *cadence, today) {
            let met_at = p
                .sessions
                .iter()
                .filter(|(k, at)| {
                    k == kind && (period.first..=period.last).contains(&china_date(*at))
                })
                .map(|(_, at)| *at)
                .min();
            let label = cadence.label(period);
            out.push(Clock {
                kind: if p.program == "left_behind" { "left_behind_talk" } else { "pair_session" },
                key: format!("pair:{}:{kind}:{label}", p.id),
                subject_entity: "pair",
                subject_id: p.id.clone(),
                region_path: p.region_path.clone(),
                owner: Owner::User { id: p.teacher_id.clone(), region_path: p.teacher_region_path.clone() },
                starts_at: start_of_china_day(period.first),
                due_at: end_of_china_day(period.last),
                term: Term::EndOfPeriod,
                met_at,
                params: json!({"session_kind": kind, "period": label, "child_id": p.child_id, "program": p.program}),
            });
        }
    }
    out
}

/// Something wrong with a teacher's pairs as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PairFinding {
    pub code: Code,
    pub teacher_id: String,
    pub pair_ids: Vec<String>,
}

/// The limit of three pupils per teacher and one of each difficulty, over the pairs active
/// on `today`: the pairs beyond the first three (by start date, then id) are flagged, and
/// so are pairs repeating a difficulty. Whatever order the pairs arrived in, the same pairs
/// are flagged.
pub fn check_teacher(pairs: &[Pair], today: NaiveDate) -> Vec<PairFinding> {
    let mut active: Vec<&Pair> = pairs
        .iter()
        .filter(|p| {
            p.program == "four_ones" && p.starts_on <= today && p.ends_on.is_none_or(|e| e >= today)
        })
        .collect();
    active.sort_by(|a, b| (a.starts_on, &a.id).cmp(&(b.starts_on, &b.id)));
    let mut out = Vec::new();
    let Some(teacher) = active.first().map(|p| p.teacher_id.clone()) else {
        return out;
    };
    if active.len() > MAX_PUPILS_PER_TEACHER {
        out.push(PairFinding {
            code: Code::TooManyPupils,
            teacher_id: teacher.clone(),
            pair_ids: active[MAX_PUPILS_PER_TEACHER..]
                .iter()
                .map(|p| p.id.clone())
                .collect(),
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut repeated = Vec::new();
    for p in &active {
        if let Some(d) = p.difficulty.as_deref() {
            if seen.contains(&d) {
                repeated.push(p.id.clone());
            } else {
                seen.push(d);
            }
        }
    }
    if !repeated.is_empty() {
        out.push(PairFinding {
            code: Code::DifficultyRepeated,
            teacher_id: teacher,
            pair_ids: repeated,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn at(s: &str) -> NaiveDateTime {
        start_of_china_day(d(s)) + Duration::hours(15)
    }

    fn pair(id: &str, program: &str, starts: &str, difficulty: Option<&str>) -> Pair {
        Pair {
            id: id.into(),
            region_path: "/c/t/s/".into(),
            teacher_id: "teacher".into(),
            teacher_region_path: "/c/t/s/".into(),
            child_id: format!("child-{id}"),
            program: program.into(),
            difficulty: difficulty.map(str::to_owned),
            starts_on: d(starts),
            ends_on: None,
            sessions: Vec::new(),
        }
    }

    #[test]
    fn periods_are_weeks_months_and_half_year_terms() {
        let x = d("2026-12-03");
        assert_eq!(
            Cadence::Week.period(x),
            Period {
                first: d("2026-11-30"),
                last: d("2026-12-06")
            }
        );
        assert_eq!(Cadence::Month.period(x).last, d("2026-12-31"));
        assert_eq!(
            Cadence::Term.period(x),
            Period {
                first: d("2026-08-01"),
                last: d("2027-01-31")
            }
        );
        assert_eq!(Cadence::Term.period(d("2027-01-15")).first, d("2026-08-01"));
        assert_eq!(Cadence::Term.period(d("2027-03-01")).last, d("2027-07-31"));
    }

    #[test]
    fn four_ones_owe_weekly_talks_and_checks_monthly_activities_and_a_termly_visit() {
        // Started Monday 2 November; today Wednesday 2 December.
        let mut p = pair("p", "four_ones", "2026-11-02", Some("learning"));
        p.sessions = vec![
            ("talk".into(), at("2026-11-04")),
            ("talk".into(), at("2026-11-05")),
            ("study_check".into(), at("2026-11-06")),
        ];
        let clocks = clocks(&p, d("2026-12-02"));
        let of = |kind: &str| {
            clocks
                .iter()
                .filter(|c| c.params["session_kind"] == kind)
                .collect::<Vec<_>>()
        };
        // Weeks of 2, 9, 16, 23, 30 November.
        assert_eq!(of("talk").len(), 5);
        assert_eq!(
            of("talk")[0].met_at,
            Some(at("2026-11-04")),
            "the first talk of the week meets it"
        );
        assert_eq!(of("talk")[1].met_at, None);
        assert_eq!(of("talk")[0].due_at, end_of_china_day(d("2026-11-08")));
        // November began the day before the pair did: only December is owed.
        assert_eq!(of("joint_activity").len(), 1);
        // The autumn term began before the pair: not owed.
        assert_eq!(of("home_visit").len(), 0);
        assert_eq!(of("talk")[0].key, "pair:p:talk:2026-W45");
    }

    #[test]
    fn left_behind_children_are_talked_with_monthly() {
        let mut p = pair("l", "left_behind", "2026-09-01", None);
        p.sessions = vec![("talk".into(), at("2026-10-20"))];
        let clocks = clocks(&p, d("2026-11-15"));
        let met: Vec<bool> = clocks.iter().map(|c| c.met_at.is_some()).collect();
        assert_eq!(met, [false, true, false], "September, October, November");
        assert!(clocks.iter().all(|c| c.kind == "left_behind_talk"));
    }

    #[test]
    fn an_ended_pair_owes_nothing_after_it_ended() {
        let mut p = pair("p", "left_behind", "2026-09-01", None);
        p.ends_on = Some(d("2026-10-10"));
        assert_eq!(clocks(&p, d("2026-12-01")).len(), 1, "September only");
    }

    #[test]
    fn at_most_three_pupils_one_of_each_difficulty_whatever_the_order() {
        let pairs = vec![
            pair("d", "four_ones", "2026-09-04", Some("poverty")),
            pair("a", "four_ones", "2026-09-01", Some("moral")),
            pair("c", "four_ones", "2026-09-03", Some("moral")),
            pair("b", "four_ones", "2026-09-02", Some("learning")),
            pair("l", "left_behind", "2026-09-01", None),
        ];
        let f = check_teacher(&pairs, d("2026-12-01"));
        assert_eq!(f[0].code, Code::TooManyPupils);
        assert_eq!(f[0].pair_ids, ["d"]);
        assert_eq!(f[1].code, Code::DifficultyRepeated);
        assert_eq!(f[1].pair_ids, ["c"]);
        let mut reversed = pairs.clone();
        reversed.reverse();
        assert_eq!(check_teacher(&reversed, d("2026-12-01")), f);
    }
}
