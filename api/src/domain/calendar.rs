//! Working days (R-FILE-5): public notice periods and hand-over deadlines count working
//! days, which in China follow the State Council's holiday schedule: public holidays are
//! days off even on weekdays, and some weekends become make-up working days (调休). The
//! schedule is published each year, so it is data loaded per year, never guessed.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// One year's schedule as published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"year": 2027, "holidays": ["2027-01-01", "2027-10-01"], "makeup_workdays": ["2027-09-26"]}))]
pub struct YearSchedule {
    pub year: i32,
    /// Days off that would otherwise be working days.
    pub holidays: Vec<NaiveDate>,
    /// Weekend days that are working days.
    pub makeup_workdays: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleError {
    /// A date outside the schedule's year.
    WrongYear(NaiveDate),
    /// A day listed as both a holiday and a make-up working day.
    Contradiction(NaiveDate),
}

/// The working-day calendar: Monday to Friday, less holidays, plus make-up days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    makeup: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Adds (or replaces) one year's schedule.
    pub fn load(&mut self, s: &YearSchedule) -> Result<(), ScheduleError> {
        for d in s.holidays.iter().chain(&s.makeup_workdays) {
            if d.year() != s.year {
                return Err(ScheduleError::WrongYear(*d));
            }
        }
        if let Some(d) = s.holidays.iter().find(|d| s.makeup_workdays.contains(d)) {
            return Err(ScheduleError::Contradiction(*d));
        }
        self.holidays.retain(|d| d.year() != s.year);
        self.makeup.retain(|d| d.year() != s.year);
        self.holidays.extend(s.holidays.iter().copied());
        self.makeup.extend(s.makeup_workdays.iter().copied());
        Ok(())
    }

    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if self.makeup.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`th working day after `start` (not counting `start`): a notice posted on
    /// `start` for `n` working days runs until the end of that day.
    pub fn add_workdays(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_workday(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days after `from` up to and including `to` (0 when `to` is not later).
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_workday(d) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    /// A National Day week as such schedules go: 1–8 October off, the Sunday before and the
    /// Saturday after worked.
    fn national_day() -> Calendar {
        let mut c = Calendar::default();
        let s = YearSchedule {
            year: 2025,
            holidays: (1..=8).map(|d| date(2025, 10, d)).collect(),
            makeup_workdays: vec![date(2025, 9, 28), date(2025, 10, 11)],
        };
        assert_eq!(c.load(&s), Ok(()));
        c
    }

    #[test]
    fn plain_weeks_skip_weekends() {
        let c = Calendar::default();
        // Friday 14 November 2025 + 5 working days = Friday 21 November.
        assert_eq!(c.add_workdays(date(2025, 11, 14), 5), date(2025, 11, 21));
        assert_eq!(
            c.workdays_between(date(2025, 11, 14), date(2025, 11, 21)),
            5
        );
    }

    #[test]
    fn a_notice_over_the_holiday_week_runs_past_it() {
        let c = national_day();
        // Posted Tuesday 30 September: working days are 9 Oct (Thu), 10 (Fri), 11 (Sat,
        // make-up), 13 (Mon), 14 (Tue).
        assert_eq!(c.add_workdays(date(2025, 9, 30), 5), date(2025, 10, 14));
        assert!(c.is_workday(date(2025, 9, 28)), "make-up Sunday");
        assert!(!c.is_workday(date(2025, 10, 6)), "holiday Monday");
    }

    #[test]
    fn schedules_are_checked_and_replace_their_year() {
        let mut c = national_day();
        let bad = YearSchedule {
            year: 2026,
            holidays: vec![date(2025, 12, 31)],
            makeup_workdays: vec![],
        };
        assert_eq!(
            c.load(&bad),
            Err(ScheduleError::WrongYear(date(2025, 12, 31)))
        );
        let both = YearSchedule {
            year: 2025,
            holidays: vec![date(2025, 5, 1)],
            makeup_workdays: vec![date(2025, 5, 1)],
        };
        assert_eq!(
            c.load(&both),
            Err(ScheduleError::Contradiction(date(2025, 5, 1)))
        );
        // Loading 2025 again replaces it.
        assert_eq!(
            c.load(&YearSchedule {
                year: 2025,
                ..YearSchedule::default()
            }),
            Ok(())
        );
        assert!(c.is_workday(date(2025, 10, 6)));
    }
}
