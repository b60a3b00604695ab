//! The working-day calendar of this year and the next, loaded by the county officer when
//! no schedule of that year is there yet: the State Council's published schedule for the
//! years this table knows, otherwise one drawn for the demo (New Year's Day, the Spring
//! Festival week, Labour Day and National Day weeks, no make-up days). A real county loads
//! the published schedule on the 工作日历 page or through `PUT /v1/calendar/{year}`.

use bangfu_sync::Code;
use chrono::{Datelike, Duration, NaiveDate};

use crate::applications::service as applications;
use crate::demo::staff;
use crate::domain::calendar::YearSchedule;
use crate::infra::error::{Error, Result};
use crate::state::AppState;

/// Published schedules: (year, holidays as (month, first day, last day), make-up days as
/// (month, day)).
type Published = (i32, &'static [(u32, u32, u32)], &'static [(u32, u32)]);

const PUBLISHED: &[Published] = &[
    (
        2025,
        &[
            (1, 1, 1),
            (1, 28, 31),
            (2, 1, 4),
            (4, 4, 6),
            (5, 1, 5),
            (5, 31, 31),
            (6, 1, 2),
            (10, 1, 8),
        ],
        &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)],
    ),
    (
        2026,
        &[
            (1, 1, 3),
            (2, 15, 23),
            (4, 4, 6),
            (5, 1, 5),
            (6, 19, 21),
            (9, 25, 27),
            (10, 1, 7),
        ],
        &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)],
    ),
];

/// The first day of the lunar year (正月初一), for drawing the Spring Festival week.
const SPRING_FESTIVAL: &[(i32, u32, u32)] = &[
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
];

fn day(year: i32, month: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, d)
        .ok_or_else(|| Error::Internal(format!("no day {year}-{month}-{d}")))
}

/// The schedule the demo loads for `year`.
pub fn schedule(year: i32) -> Result<YearSchedule> {
    if let Some((_, holidays, makeup)) = PUBLISHED.iter().find(|(y, _, _)| *y == year) {
        let mut days = Vec::new();
        for (m, from, to) in *holidays {
            for d in *from..=*to {
                days.push(day(year, *m, d)?);
            }
        }
        return Ok(YearSchedule {
            year,
            holidays: days,
            makeup_workdays: makeup
                .iter()
                .map(|(m, d)| day(year, *m, *d))
                .collect::<Result<_>>()?,
        });
    }
    let mut days = vec![day(year, 1, 1)?];
    if let Some((_, m, d)) = SPRING_FESTIVAL.iter().find(|(y, _, _)| *y == year) {
        let first = day(year, *m, *d)?;
        // New Year's Eve to the sixth day of the first month.
        days.extend((-1..=6).map(|n| first + Duration::days(n)));
    }
    days.extend(
        (1..=5)
            .map(|d| day(year, 5, d))
            .collect::<Result<Vec<_>>>()?,
    );
    days.extend(
        (1..=7)
            .map(|d| day(year, 10, d))
            .collect::<Result<Vec<_>>>()?,
    );
    days.retain(|d| d.year() == year);
    Ok(YearSchedule {
        year,
        holidays: days,
        makeup_workdays: Vec::new(),
    })
}

/// Loads this year's and next year's schedule where none is loaded; answers how many were.
/// An install whose calendar the county may not change (it serves more than the demo
/// county) keeps the calendar it has.
pub async fn run(state: &AppState, today: NaiveDate) -> Result<usize> {
    let county = staff::caller(&state.db, "county_officer", None).await?;
    let mut loaded = 0;
    for year in [today.year(), today.year() + 1] {
        match applications::calendar_year(&state.db, year).await {
            Ok(_) => continue,
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
        match applications::save_calendar(&state.db, &county, year, schedule(year)?).await {
            Ok(_) => loaded += 1,
            Err(Error::Forbidden {
                code: Code::InstallWideData,
                ..
            }) => return Ok(loaded),
            Err(e) => return Err(e),
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Calendar;

    #[test]
    fn every_schedule_is_consistent() {
        for year in 2024..=2040 {
            let s = schedule(year);
            assert!(s.is_ok(), "{year}: {s:?}");
            if let Ok(s) = s {
                assert_eq!(Calendar::default().load(&s), Ok(()), "{year}");
            }
        }
    }

    #[test]
    fn the_published_2026_schedule_is_as_announced() {
        let mut c = Calendar::default();
        let s = schedule(2026).unwrap_or_default();
        assert_eq!(c.load(&s), Ok(()));
        let d = |m, dd| NaiveDate::from_ymd_opt(2026, m, dd).unwrap_or_default();
        assert!(!c.is_workday(d(2, 16)), "Spring Festival Monday");
        assert!(c.is_workday(d(2, 14)), "make-up Saturday");
        assert!(c.is_workday(d(9, 20)), "make-up Sunday before National Day");
        assert_eq!(s.holidays.len(), 33);
    }
}
