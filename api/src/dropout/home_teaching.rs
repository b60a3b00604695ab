//! Home teaching (送教上门, R-DROP-7): a disabled child taught at home needs an agreement
//! signed with the parents and student status, and each month at least 2 sessions of at
//! least 2 class hours, each with a lesson plan signed by a parent and photos.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::deadline::{
    Clock, Owner, Term, china_date, end_of_china_day, month_end, start_of_china_day,
};

/// Sessions a month (每月送教上门 2 次).
pub const SESSIONS_PER_MONTH: usize = 2;
/// Class hours a session (每次至少 2 个课时).
pub const MIN_CLASS_HOURS: f64 = 2.0;

/// One session as recorded (`teaching_session`) with the photos naming it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub held_at: NaiveDateTime,
    pub class_hours: f64,
    pub lesson_plan_signed: bool,
    pub photos: u32,
}

/// Why a session does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shortfall {
    TooShort,
    LessonPlanUnsigned,
    NoPhoto,
}

impl Session {
    pub fn shortfalls(&self) -> Vec<Shortfall> {
        let mut s = Vec::new();
        if self.class_hours < MIN_CLASS_HOURS {
            s.push(Shortfall::TooShort);
        }
        if !self.lesson_plan_signed {
            s.push(Shortfall::LessonPlanUnsigned);
        }
        if self.photos == 0 {
            s.push(Shortfall::NoPhoto);
        }
        s
    }

    pub fn counts(&self) -> bool {
        self.shortfalls().is_empty()
    }
}

/// A child taught at home, with everything recorded for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub id: String,
    pub name: String,
    pub region_path: String,
    pub school_path: Option<String>,
    /// The date of the signed agreement, if one is on file.
    pub agreement_on: Option<NaiveDate>,
    pub has_student_status: bool,
    pub sessions: Vec<Session>,
}

/// One child's month.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub sessions: usize,
    pub qualifying: usize,
    pub compliant: bool,
    /// For each session that does not count, why.
    pub shortfalls: Vec<SessionShortfall>,
    pub agreement_on_file: bool,
    pub student_status: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SessionShortfall {
    pub session_id: String,
    pub reasons: Vec<Shortfall>,
}

fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn in_month<'a>(c: &'a Child, first: NaiveDate) -> impl Iterator<Item = &'a Session> + 'a {
    let key = month_key(first);
    c.sessions
        .iter()
        .filter(move |s| month_key(china_date(s.held_at)) == key)
}

/// The child's record for the month starting on `first` (the 1st, local).
pub fn month(c: &Child, first: NaiveDate) -> Month {
    let mut sessions: Vec<&Session> = in_month(c, first).collect();
    sessions.sort_by(|a, b| (a.held_at, &a.id).cmp(&(b.held_at, &b.id)));
    let qualifying = sessions.iter().filter(|s| s.counts()).count();
    Month {
        month: month_key(first),
        sessions: sessions.len(),
        qualifying,
        compliant: qualifying >= SESSIONS_PER_MONTH
            && c.agreement_on.is_some()
            && c.has_student_status,
        shortfalls: sessions
            .iter()
            .filter(|s| !s.counts())
            .map(|s| SessionShortfall {
                session_id: s.id.clone(),
                reasons: s.shortfalls(),
            })
            .collect(),
        agreement_on_file: c.agreement_on.is_some(),
        student_status: c.has_student_status,
    }
}

/// The first day of each month from the one home teaching started in (the agreement, or
/// else the first session) through the month of `today`.
pub fn months(c: &Child, today: NaiveDate) -> Vec<NaiveDate> {
    let first_session = c.sessions.iter().map(|s| china_date(s.held_at)).min();
    let Some(start) = [c.agreement_on, first_session].into_iter().flatten().min() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut m = start.with_day(1).unwrap_or(start);
    while m <= today {
        out.push(m);
        m = month_end(m).succ_opt().unwrap_or(m);
        if out.len() > 240 {
            break;
        }
    }
    out
}

/// One clock per month, owned by the school's teachers (or the child's region when no
/// school is named), due at the end of the month and met when the second qualifying
/// session was held.
pub fn clocks(c: &Child, today: NaiveDate) -> Vec<Clock> {
    let office = c
        .school_path
        .clone()
        .unwrap_or_else(|| c.region_path.clone());
    months(c, today)
        .into_iter()
        .map(|first| {
            let mut counting: Vec<&Session> = in_month(c, first).filter(|s| s.counts()).collect();
            counting.sort_by(|a, b| (a.held_at, &a.id).cmp(&(b.held_at, &b.id)));
            let met_at = (c.agreement_on.is_some() && c.has_student_status)
                .then(|| counting.get(SESSIONS_PER_MONTH - 1).map(|s| s.held_at))
                .flatten();
            Clock {
                kind: "home_teaching_month",
                key: format!("home_teaching_month:{}:{}", c.id, month_key(first)),
                subject_entity: "child",
                subject_id: c.id.clone(),
                region_path: c.region_path.clone(),
                owner: Owner::Office { region_path: office.clone() },
                starts_at: start_of_china_day(first),
                due_at: end_of_china_day(month_end(first)),
                term: Term::EndOfPeriod,
                met_at,
                params: json!({"child_name": c.name, "month": month_key(first), "qualifying": counting.len(), "required": SESSIONS_PER_MONTH}),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn session(id: &str, day: &str, hours: f64, signed: bool, photos: u32) -> Session {
        Session {
            id: id.into(),
            held_at: start_of_china_day(d(day)) + Duration::hours(9),
            class_hours: hours,
            lesson_plan_signed: signed,
            photos,
        }
    }

    fn child(sessions: Vec<Session>) -> Child {
        Child {
            id: "c".into(),
            name: "小明".into(),
            region_path: "/c/t/v/".into(),
            school_path: Some("/c/t/s/".into()),
            agreement_on: Some(d("2026-10-08")),
            has_student_status: true,
            sessions,
        }
    }

    #[test]
    fn two_sessions_of_two_hours_with_signed_plans_and_photos_a_month() {
        let c = child(vec![
            session("a", "2026-11-03", 2.0, true, 1),
            session("b", "2026-11-17", 1.5, true, 2),
            session("c", "2026-11-24", 2.5, false, 1),
            session("d", "2026-11-28", 2.0, true, 0),
        ]);
        let m = month(&c, d("2026-11-01"));
        assert_eq!((m.sessions, m.qualifying, m.compliant), (4, 1, false));
        let reasons: Vec<_> = m.shortfalls.iter().map(|s| s.reasons.clone()).collect();
        assert_eq!(
            reasons,
            [
                vec![Shortfall::TooShort],
                vec![Shortfall::LessonPlanUnsigned],
                vec![Shortfall::NoPhoto]
            ]
        );
        let ok = child(vec![
            session("a", "2026-11-03", 2.0, true, 1),
            session("e", "2026-11-20", 3.0, true, 1),
        ]);
        assert!(month(&ok, d("2026-11-01")).compliant);
    }

    #[test]
    fn no_agreement_or_no_student_status_is_never_compliant() {
        let mut c = child(vec![
            session("a", "2026-11-03", 2.0, true, 1),
            session("e", "2026-11-20", 3.0, true, 1),
        ]);
        c.agreement_on = None;
        assert!(!month(&c, d("2026-11-01")).compliant);
        c.agreement_on = Some(d("2026-10-08"));
        c.has_student_status = false;
        assert!(!month(&c, d("2026-11-01")).compliant);
    }

    #[test]
    fn a_clock_for_every_month_since_the_agreement_met_by_the_second_session() {
        let c = child(vec![
            session("a", "2026-11-03", 2.0, true, 1),
            session("e", "2026-11-20", 3.0, true, 1),
        ]);
        let clocks = clocks(&c, d("2026-12-01"));
        let keys: Vec<_> = clocks.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "home_teaching_month:c:2026-10",
                "home_teaching_month:c:2026-11",
                "home_teaching_month:c:2026-12"
            ]
        );
        assert_eq!(clocks[0].met_at, None, "October had no session");
        assert_eq!(
            clocks[1].met_at,
            Some(start_of_china_day(d("2026-11-20")) + Duration::hours(9))
        );
        assert_eq!(clocks[1].due_at, end_of_china_day(d("2026-11-30")));
    }

    #[test]
    fn a_session_late_in_the_evening_counts_in_its_local_month() {
        // 30 November 17:00 UTC is 1 December 01:00 in China.
        let mut s = session("x", "2026-11-30", 2.0, true, 1);
        s.held_at = start_of_china_day(d("2026-12-01")) + Duration::hours(1);
        let c = child(vec![s]);
        assert_eq!(month(&c, d("2026-12-01")).sessions, 1);
        assert_eq!(month(&c, d("2026-11-01")).sessions, 0);
    }
}
