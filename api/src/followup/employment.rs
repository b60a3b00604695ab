//! One-on-one employment help (R-PAIR-3, seed 001 篇4): placement deadlines by category
//! (zero-employment family within 24 hours, "4050" persons within one week, college
//! graduates within one month; three refused offers count as employed), and the follow-up
//! after placement until stable employment (zero-employment family: daily in the first
//! week, then weekly; "4050": once in the first week; graduates: once in the first month).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::domain::deadline::{
    Clock, Owner, Term, add_month_at, china_date, end_of_china_day, start_of_china_day,
};

/// Offers refused that count as employment (三次就业岗位拒不接受者视同就业).
pub const REFUSALS_COUNTING_AS_EMPLOYED: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    ZeroEmploymentFamily,
    Age4050,
    CollegeGraduate,
}

impl Category {
    pub fn parse(s: &str) -> Option<Category> {
        match s {
            "zero_employment_family" => Some(Category::ZeroEmploymentFamily),
            "age_4050" => Some(Category::Age4050),
            "college_graduate" => Some(Category::CollegeGraduate),
            _ => None,
        }
    }

    /// How long placement may take.
    pub fn placement_term(self) -> Term {
        match self {
            Category::ZeroEmploymentFamily => Term::Hours(24),
            Category::Age4050 => Term::Hours(7 * 24),
            Category::CollegeGraduate => Term::Month,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: String,
    pub region_path: String,
    pub category: Category,
    pub helper_id: String,
    pub helper_region_path: String,
    pub person_name: String,
    pub opened_at: NaiveDateTime,
    pub stable_on: Option<NaiveDate>,
    /// (kind, when) of every event: offer_made, offer_refused, placed, follow_up.
    pub events: Vec<(String, NaiveDateTime)>,
}

impl Plan {
    fn times(&self, kind: &str) -> Vec<NaiveDateTime> {
        let mut t: Vec<NaiveDateTime> = self
            .events
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, at)| *at)
            .collect();
        t.sort();
        t
    }

    /// When the person counts as employed: placed, or the third refusal.
    pub fn employed_at(&self) -> Option<NaiveDateTime> {
        let placed = self.times("placed").first().copied();
        let third_refusal = self
            .times("offer_refused")
            .get(REFUSALS_COUNTING_AS_EMPLOYED - 1)
            .copied();
        [placed, third_refusal].into_iter().flatten().min()
    }
}

fn clock(
    p: &Plan,
    kind: &'static str,
    key: String,
    starts_at: NaiveDateTime,
    due_at: NaiveDateTime,
    term: Term,
    met_at: Option<NaiveDateTime>,
) -> Clock {
    Clock {
        kind,
        key,
        subject_entity: "employment_plan",
        subject_id: p.id.clone(),
        region_path: p.region_path.clone(),
        owner: Owner::User {
            id: p.helper_id.clone(),
            region_path: p.helper_region_path.clone(),
        },
        starts_at,
        due_at,
        term,
        met_at,
        params: json!({"person_name": p.person_name}),
    }
}

/// The placement clock and the follow-up clocks owed up to `now`.
pub fn clocks(p: &Plan, now: NaiveDateTime, cal: &crate::domain::calendar::Calendar) -> Vec<Clock> {
    let term = p.category.placement_term();
    let mut out = vec![clock(
        p,
        "employment_placement",
        format!("employment_placement:{}", p.id),
        p.opened_at,
        term.due(p.opened_at, cal),
        term,
        p.employed_at(),
    )];
    // Follow-ups come after a placement, not after refusals that merely count as one.
    let Some(placed) = p.times("placed").first().copied() else {
        return out;
    };
    let follow_ups = p.times("follow_up");
    let first_in = |from: NaiveDateTime, to: NaiveDateTime| {
        follow_ups.iter().copied().find(|t| *t > from && *t <= to)
    };
    // A one-off follow-up done late still meets its clock, late; a daily or weekly one
    // counts only inside its own day or week.
    let first_after = |from: NaiveDateTime| follow_ups.iter().copied().find(|t| *t > from);
    let placed_on = china_date(placed);
    let stable_before = |day: NaiveDate| p.stable_on.is_some_and(|s| s < day);
    match p.category {
        Category::ZeroEmploymentFamily => {
            for n in 1..=7 {
                let day = placed_on + Duration::days(n);
                if start_of_china_day(day) > now || stable_before(day) {
                    break;
                }
                let met = first_in(
                    start_of_china_day(day) - Duration::seconds(1),
                    end_of_china_day(day),
                );
                out.push(clock(
                    p,
                    "employment_follow_up",
                    format!("employment_follow_up:{}:day{n}", p.id),
                    start_of_china_day(day),
                    end_of_china_day(day),
                    Term::EndOfPeriod,
                    met,
                ));
            }
            // Then weekly until stable: week k covers days 8+7(k-1) … 7+7k after placement.
            for k in 1..=520 {
                let first = placed_on + Duration::days(1 + 7 * k);
                let last = first + Duration::days(6);
                if start_of_china_day(first) > now || stable_before(first) {
                    break;
                }
                let met = first_in(
                    start_of_china_day(first) - Duration::seconds(1),
                    end_of_china_day(last),
                );
                out.push(clock(
                    p,
                    "employment_follow_up",
                    format!("employment_follow_up:{}:week{k}", p.id),
                    start_of_china_day(first),
                    end_of_china_day(last),
                    Term::EndOfPeriod,
                    met,
                ));
            }
        }
        Category::Age4050 => {
            let due = Term::CalendarDays(7).due(placed, cal);
            out.push(clock(
                p,
                "employment_follow_up",
                format!("employment_follow_up:{}:first_week", p.id),
                placed,
                due,
                Term::CalendarDays(7),
                first_after(placed),
            ));
        }
        Category::CollegeGraduate => {
            let due = add_month_at(placed);
            out.push(clock(
                p,
                "employment_follow_up",
                format!("employment_follow_up:{}:first_month", p.id),
                placed,
                due,
                Term::Month,
                first_after(placed),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Calendar;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
            - crate::infra::clock::CHINA_OFFSET
    }

    fn plan(category: Category, events: Vec<(&str, &str)>) -> Plan {
        Plan {
            id: "p".into(),
            region_path: "/c/t/v/".into(),
            category,
            helper_id: "h".into(),
            helper_region_path: "/c/t/v/".into(),
            person_name: "王大山".into(),
            opened_at: at("2026-11-02 09:00"),
            stable_on: None,
            events: events
                .into_iter()
                .map(|(k, t)| (k.to_owned(), at(t)))
                .collect(),
        }
    }

    #[test]
    fn placement_deadlines_by_category() {
        let cal = Calendar::default();
        let now = at("2026-11-02 10:00");
        let due = |c| clocks(&plan(c, vec![]), now, &cal)[0].due_at;
        assert_eq!(
            due(Category::ZeroEmploymentFamily),
            at("2026-11-03 09:00"),
            "24 hours"
        );
        assert_eq!(due(Category::Age4050), at("2026-11-09 09:00"), "one week");
        assert_eq!(
            due(Category::CollegeGraduate),
            at("2026-12-02 09:00"),
            "one month"
        );
    }

    #[test]
    fn three_refused_offers_count_as_employed() {
        let cal = Calendar::default();
        let p = plan(
            Category::Age4050,
            vec![
                ("offer_refused", "2026-11-03 10:00"),
                ("offer_refused", "2026-11-04 10:00"),
            ],
        );
        assert_eq!(clocks(&p, at("2026-11-10 10:00"), &cal)[0].met_at, None);
        let p = plan(
            Category::Age4050,
            vec![
                ("offer_refused", "2026-11-03 10:00"),
                ("offer_refused", "2026-11-05 10:00"),
                ("offer_refused", "2026-11-04 10:00"),
            ],
        );
        let c = clocks(&p, at("2026-11-10 10:00"), &cal);
        assert_eq!(c[0].met_at, Some(at("2026-11-05 10:00")));
        assert_eq!(c.len(), 1, "no follow-up without a placement");
    }

    #[test]
    fn zero_employment_families_are_followed_daily_for_a_week_then_weekly() {
        let cal = Calendar::default();
        let mut p = plan(
            Category::ZeroEmploymentFamily,
            vec![
                ("placed", "2026-11-02 20:00"),
                ("follow_up", "2026-11-03 09:00"),
                ("follow_up", "2026-11-05 18:00"),
                ("follow_up", "2026-11-12 09:00"),
            ],
        );
        let c = clocks(&p, at("2026-11-20 12:00"), &cal);
        assert_eq!(
            c[0].met_at,
            Some(at("2026-11-02 20:00")),
            "placed within 24 hours"
        );
        let days: Vec<bool> = c
            .iter()
            .filter(|k| k.key.contains(":day"))
            .map(|k| k.met_at.is_some())
            .collect();
        assert_eq!(
            days,
            [true, false, true, false, false, false, false],
            "3–9 November"
        );
        let weeks: Vec<_> = c.iter().filter(|k| k.key.contains(":week")).collect();
        // Week 1 is 10–16 November, week 2 17–23 November (begun by the 20th).
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].met_at, Some(at("2026-11-12 09:00")));
        assert_eq!(
            weeks[0].due_at,
            super::end_of_china_day(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default())
        );
        // Stable employment ends the follow-ups.
        p.stable_on = NaiveDate::from_ymd_opt(2026, 11, 15);
        assert_eq!(
            clocks(&p, at("2026-11-20 12:00"), &cal)
                .iter()
                .filter(|k| k.key.contains(":week"))
                .count(),
            1
        );
    }

    #[test]
    fn others_are_followed_once() {
        let cal = Calendar::default();
        let p = plan(
            Category::Age4050,
            vec![
                ("placed", "2026-11-04 10:00"),
                ("follow_up", "2026-11-12 10:00"),
            ],
        );
        let c = clocks(&p, at("2026-11-20 12:00"), &cal);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[1].due_at,
            super::end_of_china_day(NaiveDate::from_ymd_opt(2026, 11, 11).unwrap_or_default())
        );
        assert_eq!(c[1].met_at, Some(at("2026-11-12 10:00")), "met, but late");
        let g = plan(
            Category::CollegeGraduate,
            vec![
                ("placed", "2026-11-04 10:00"),
                ("follow_up", "2026-11-30 10:00"),
            ],
        );
        let c = clocks(&g, at("2026-12-20 12:00"), &cal);
        assert_eq!(c[1].due_at, at("2026-12-04 10:00"));
        assert_eq!(c[1].met_at, Some(at("2026-11-30 10:00")));
    }
}
