//! Deadlines as first-class objects: every clock the rules set (a return deadline notice's
//! week, a home-teaching month, a placement deadline, a review step, a campaign phase…) is
//! one kind of object with an owner, a start, a due time counted in working days, calendar
//! days, hours or to the end of a period, a countdown, and escalation up the region tree
//! when it is missed. The rules derive [`Clock`]s from the records; the store keeps them.
//!
//! Local time is China time (UTC+8): "by the end of the day" means the end of the local day.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::calendar::Calendar;

/// Working days an overdue clock waits at one level before it climbs to the next.
pub const ESCALATION_STEP_WORKDAYS: u32 = 5;

pub use crate::infra::clock::china_date;

pub use crate::infra::clock::end_of_china_day;

pub use crate::infra::clock::start_of_china_day;

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).map_or(d, |first| first - Duration::days(1))
}

/// The same day one calendar month later (the month's last day when it has no such day).
pub fn add_month(d: NaiveDate) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(1)).unwrap_or(d)
}

/// The same instant one calendar month later.
pub fn add_month_at(t: NaiveDateTime) -> NaiveDateTime {
    t.checked_add_months(chrono::Months::new(1)).unwrap_or(t)
}

/// The Monday of `d`'s week (weeks run Monday to Sunday).
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// How a clock's due time was counted from its start: shown to people, so they can check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// `n` working days after the start day, to the end of that day.
    WorkingDays(u32),
    /// `n` calendar days after the start day, to the end of that day.
    CalendarDays(i64),
    /// `n` hours after the start instant.
    Hours(i64),
    /// One calendar month after the start instant.
    Month,
    /// To the end of a given local day (a date the document itself set).
    EndOfDay,
    /// To the end of the period (week, month, term) the clock belongs to.
    EndOfPeriod,
}

impl Term {
    pub fn describe(self) -> String {
        match self {
            Term::WorkingDays(n) => format!("working_days:{n}"),
            Term::CalendarDays(n) => format!("calendar_days:{n}"),
            Term::Hours(n) => format!("hours:{n}"),
            Term::Month => "month:1".into(),
            Term::EndOfDay => "end_of_day".into(),
            Term::EndOfPeriod => "end_of_period".into(),
        }
    }

    /// The due instant for a clock starting at `start` (local days for day-based terms).
    /// `EndOfDay` and `EndOfPeriod` need a date: use [`end_of_china_day`] directly.
    pub fn due(self, start: NaiveDateTime, cal: &Calendar) -> NaiveDateTime {
        match self {
            Term::WorkingDays(n) => end_of_china_day(cal.add_workdays(china_date(start), n)),
            Term::CalendarDays(n) => end_of_china_day(china_date(start) + Duration::days(n)),
            Term::Hours(n) => start + Duration::hours(n),
            Term::Month => add_month_at(start),
            Term::EndOfDay | Term::EndOfPeriod => end_of_china_day(china_date(start)),
        }
    }
}

/// Who must act: a person, or the office of a region (its secretary, its officers, a
/// school's teachers) when the rule names an office rather than a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User { id: String, region_path: String },
    Office { region_path: String },
}

impl Owner {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Owner::User { id, .. } => Some(id),
            Owner::Office { .. } => None,
        }
    }

    /// The region the owner acts for: escalation climbs from here.
    pub fn region_path(&self) -> &str {
        match self {
            Owner::User { region_path, .. } | Owner::Office { region_path } => region_path,
        }
    }
}

/// One clock, as a rule derives it from the records. The key identifies it across
/// re-derivations, so deriving again from the same records gives the same clocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    pub kind: &'static str,
    pub key: String,
    pub subject_entity: &'static str,
    pub subject_id: String,
    /// Where the subject lies: who may see the clock.
    pub region_path: String,
    pub owner: Owner,
    pub starts_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub term: Term,
    /// When the obligation was fulfilled, from the records' own times (not arrival).
    pub met_at: Option<NaiveDateTime>,
    /// What a person needs to read the clock: names, counts, the rule's numbers.
    pub params: Value,
}

/// Where a clock stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not met, not yet due.
    Open,
    /// Not met and past due.
    Overdue,
    MetOnTime,
    MetLate,
    /// No longer asked for (the record it hung on changed, e.g. the child came back).
    Cancelled,
}

impl Standing {
    pub fn of(
        due_at: NaiveDateTime,
        met_at: Option<NaiveDateTime>,
        cancelled: bool,
        now: NaiveDateTime,
    ) -> Standing {
        match (cancelled, met_at) {
            (true, _) => Standing::Cancelled,
            (false, Some(m)) if m <= due_at => Standing::MetOnTime,
            (false, Some(_)) => Standing::MetLate,
            (false, None) if now > due_at => Standing::Overdue,
            (false, None) => Standing::Open,
        }
    }
}

/// Seconds left until due (negative when overdue); `None` once met or cancelled.
pub fn countdown_secs(
    standing: Standing,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Option<i64> {
    matches!(standing, Standing::Open | Standing::Overdue).then(|| (due_at - now).num_seconds())
}

/// How many levels above its owner an overdue clock has climbed: 0 while not overdue, 1 as
/// soon as it is missed (the owner's supervisor sees it), one more for every
/// [`ESCALATION_STEP_WORKDAYS`] working days it stays missed.
pub fn escalation_level(
    standing: Standing,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
    cal: &Calendar,
) -> u8 {
    if standing != Standing::Overdue {
        return 0;
    }
    let late = cal.workdays_between(china_date(due_at), china_date(now));
    let extra = late / ESCALATION_STEP_WORKDAYS;
    u8::try_from(1 + extra).unwrap_or(u8::MAX)
}

/// The region a clock has escalated to: `level` steps up from the owner's region path
/// (`/a/b/c/` → `/a/b/` at level 1), never above the root.
pub fn escalated_to(owner_path: &str, level: u8) -> String {
    let segments: Vec<&str> = owner_path.split('/').filter(|s| !s.is_empty()).collect();
    let keep = segments.len().saturating_sub(usize::from(level)).max(1);
    let mut p = String::from("/");
    for s in segments.iter().take(keep) {
        p.push_str(s);
        p.push('/');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::YearSchedule;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_default()
    }

    #[test]
    fn local_days_are_china_days() {
        // 20:00 UTC is 04:00 the next morning in China.
        assert_eq!(china_date(t("2026-11-30 20:00:00")), d("2026-12-01"));
        assert_eq!(end_of_china_day(d("2026-12-01")), t("2026-12-01 15:59:59"));
        assert_eq!(
            start_of_china_day(d("2026-12-01")),
            t("2026-11-30 16:00:00")
        );
    }

    #[test]
    fn terms_count_as_the_rules_say() {
        let mut cal = Calendar::default();
        // National Day week: 1–7 October off, Sunday 28 September and Saturday 11 October worked.
        let _ = cal.load(&YearSchedule {
            year: 2025,
            holidays: (1..=8).map(|n| d(&format!("2025-10-0{n}"))).collect(),
            makeup_workdays: vec![d("2025-09-28"), d("2025-10-11")],
        });
        // Five working days after Tuesday 30 September: 9, 10, 11 (a make-up Saturday), 13, 14.
        let start = start_of_china_day(d("2025-09-30")) + Duration::hours(10);
        assert_eq!(
            Term::WorkingDays(5).due(start, &cal),
            end_of_china_day(d("2025-10-14"))
        );
        assert_eq!(
            Term::CalendarDays(7).due(start, &cal),
            end_of_china_day(d("2025-10-07"))
        );
        assert_eq!(
            Term::Hours(24).due(start, &cal),
            start + Duration::hours(24)
        );
        assert_eq!(
            Term::Month.due(t("2026-01-31 02:00:00"), &cal),
            t("2026-02-28 02:00:00"),
            "one month from 31 January is the end of February"
        );
    }

    #[test]
    fn periods() {
        assert_eq!(month_end(d("2024-02-10")), d("2024-02-29"));
        assert_eq!(month_end(d("2026-12-31")), d("2026-12-31"));
        assert_eq!(
            week_start(d("2026-12-06")),
            d("2026-11-30"),
            "a Sunday belongs to its Monday"
        );
        assert_eq!(week_start(d("2026-11-30")), d("2026-11-30"));
    }

    #[test]
    fn standing_and_countdown() {
        let due = t("2026-12-01 15:59:59");
        let before = t("2026-12-01 10:00:00");
        let after = t("2026-12-02 10:00:00");
        assert_eq!(Standing::of(due, None, false, before), Standing::Open);
        assert_eq!(Standing::of(due, None, false, after), Standing::Overdue);
        assert_eq!(
            Standing::of(due, Some(before), false, after),
            Standing::MetOnTime
        );
        assert_eq!(
            Standing::of(due, Some(after), false, after),
            Standing::MetLate
        );
        assert_eq!(Standing::of(due, None, true, after), Standing::Cancelled);
        assert_eq!(
            countdown_secs(Standing::Open, due, before),
            Some(5 * 3600 + 3599)
        );
        assert_eq!(
            countdown_secs(Standing::Overdue, due, after),
            Some(-18 * 3600 - 1)
        );
        assert_eq!(countdown_secs(Standing::MetLate, due, after), None);
    }

    #[test]
    fn missed_clocks_climb_one_level_per_five_working_days() {
        let cal = Calendar::default();
        let due = end_of_china_day(d("2026-11-30")); // a Monday
        let at = |day: &str| start_of_china_day(d(day)) + Duration::hours(10);
        assert_eq!(
            escalation_level(Standing::Open, due, at("2026-11-30"), &cal),
            0
        );
        assert_eq!(
            escalation_level(Standing::Overdue, due, at("2026-12-01"), &cal),
            1
        );
        assert_eq!(
            escalation_level(Standing::Overdue, due, at("2026-12-04"), &cal),
            1
        );
        // Five working days late (Tue–Fri, Mon): the next level up.
        assert_eq!(
            escalation_level(Standing::Overdue, due, at("2026-12-07"), &cal),
            2
        );
        assert_eq!(
            escalation_level(Standing::Overdue, due, at("2026-12-14"), &cal),
            3
        );
        assert_eq!(
            escalation_level(Standing::MetLate, due, at("2026-12-14"), &cal),
            0
        );
    }

    #[test]
    fn escalation_climbs_the_region_tree() {
        assert_eq!(escalated_to("/p/c/t/v/", 0), "/p/c/t/v/");
        assert_eq!(escalated_to("/p/c/t/v/", 1), "/p/c/t/");
        assert_eq!(escalated_to("/p/c/t/v/", 2), "/p/c/");
        assert_eq!(escalated_to("/p/c/t/v/", 9), "/p/");
    }
}
