//! 工作日历: one year of the working-day calendar (R-FILE-5) as twelve month grids, with its
//! public holidays (休) and make-up working days (班) marked in words, and the list of both;
//! a year not loaded says so, and that deadlines then count Monday to Friday only. Those
//! who load calendars replace a year's holidays and make-up days, one date a line. The same
//! use cases as `GET` and `PUT /v1/calendar/{year}`.

use std::collections::{BTreeSet, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;

use crate::applications::service as applications;
use crate::auth::caller::perm;
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::domain::calendar::YearSchedule;
use crate::infra::clock::china_date;
use crate::infra::error::Error;
use crate::state::AppState;

/// The years the page moves between (the calendar is published one year at a time).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn weekday_words(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "星期一",
        Weekday::Tue => "星期二",
        Weekday::Wed => "星期三",
        Weekday::Thu => "星期四",
        Weekday::Fri => "星期五",
        Weekday::Sat => "星期六",
        Weekday::Sun => "星期日",
    }
}

/// `10 月 1 日`
fn day_words(d: NaiveDate) -> String {
    format!("{} 月 {} 日", d.month(), d.day())
}

/// One day of a month's grid.
struct Day {
    day: u32,
    weekend: bool,
    /// `休` (a holiday) or `班` (a make-up working day), with its style.
    mark: Option<(&'static str, &'static str)>,
    today: bool,
}

/// One month: its weeks from Monday, blank before the first day and after the last.
struct Month {
    number: u32,
    weeks: Vec<Vec<Option<Day>>>,
}

fn months(s: &YearSchedule, today: NaiveDate) -> Vec<Month> {
    let holidays: BTreeSet<NaiveDate> = s.holidays.iter().copied().collect();
    let makeup: BTreeSet<NaiveDate> = s.makeup_workdays.iter().copied().collect();
    (1..=12)
        .filter_map(|m| {
            let first = NaiveDate::from_ymd_opt(s.year, m, 1)?;
            let mut weeks = Vec::new();
            let mut week: Vec<Option<Day>> = (0..first.weekday().num_days_from_monday())
                .map(|_| None)
                .collect();
            let mut d = first;
            while d.month() == m {
                week.push(Some(Day {
                    day: d.day(),
                    weekend: matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
                    mark: if makeup.contains(&d) {
                        Some(("班", "mark-work"))
                    } else if holidays.contains(&d) {
                        Some(("休", "mark-off"))
                    } else {
                        None
                    },
                    today: d == today,
                }));
                if week.len() == 7 {
                    weeks.push(std::mem::take(&mut week));
                }
                d += Duration::days(1);
            }
            if !week.is_empty() {
                week.resize_with(7, || None);
                weeks.push(week);
            }
            Some(Month { number: m, weeks })
        })
        .collect()
}

/// Holidays as runs of consecutive days: `10 月 1 日至 10 月 7 日（7 天）`.
fn holiday_runs(days: &[NaiveDate]) -> Vec<String> {
    let days: BTreeSet<NaiveDate> = days.iter().copied().collect();
    let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in days {
        match runs.last_mut() {
            Some((_, end)) if *end + Duration::days(1) == d => *end = d,
            _ => runs.push((d, d)),
        }
    }
    runs.into_iter()
        .map(|(a, b)| {
            if a == b {
                format!("{}（{}）", day_words(a), weekday_words(a.weekday()))
            } else {
                let n = (b - a).num_days() + 1;
                format!("{}至 {}（{n} 天）", day_words(a), day_words(b))
            }
        })
        .collect()
}

fn lines_of(days: &[NaiveDate]) -> String {
    let mut days = days.to_vec();
    days.sort();
    days.iter()
        .map(NaiveDate::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The replace form as typed.
#[derive(Debug, Default, Deserialize)]
struct ScheduleForm {
    #[serde(default)]
    holidays: String,
    #[serde(default)]
    makeup_workdays: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    year: i32,
    prev: Option<i32>,
    next: Option<i32>,
    loaded: bool,
    months: Vec<Month>,
    holidays: Vec<String>,
    holiday_days: usize,
    makeup: Vec<String>,
    may_edit: bool,
    form: ScheduleForm,
    errors: HashMap<String, String>,
    done: bool,
    problem: Option<(String, String)>,
}

impl CalendarPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

struct Shown {
    status: StatusCode,
    /// What was typed into a refused form (none: the year's schedule as loaded).
    typed: Option<ScheduleForm>,
    errors: HashMap<String, String>,
    problem: Option<(String, String)>,
    done: bool,
}

async fn calendar_page(
    state: &AppState,
    s: &Signed,
    year: i32,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let loaded = match applications::calendar_year(&state.db, year).await {
        Ok(y) => Some(y),
        Err(Error::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let today = china_date(crate::infra::clock::now());
    let form = shown.typed.unwrap_or_else(|| ScheduleForm {
        holidays: loaded
            .as_ref()
            .map(|y| lines_of(&y.holidays))
            .unwrap_or_default(),
        makeup_workdays: loaded
            .as_ref()
            .map(|y| lines_of(&y.makeup_workdays))
            .unwrap_or_default(),
    });
    let body = CalendarPage {
        layout: Layout::new(state, s, "工作日历", "/calendar").await,
        year,
        prev: Some(year - 1).filter(|y| YEARS.contains(y)),
        next: Some(year + 1).filter(|y| YEARS.contains(y)),
        loaded: loaded.is_some(),
        months: loaded
            .as_ref()
            .map(|y| months(y, today))
            .unwrap_or_default(),
        holidays: loaded
            .as_ref()
            .map(|y| holiday_runs(&y.holidays))
            .unwrap_or_default(),
        holiday_days: loaded.as_ref().map_or(0, |y| {
            y.holidays
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        }),
        makeup: loaded
            .as_ref()
            .map(|y| {
                let mut d = y.makeup_workdays.clone();
                d.sort();
                d.into_iter()
                    .map(|d| format!("{}（{}）", day_words(d), weekday_words(d.weekday())))
                    .collect()
            })
            .unwrap_or_default(),
        may_edit: applications::may_change_install_wide(&state.db, &s.caller).await?,
        form,
        errors: shown.errors,
        done: shown.done,
        problem: shown.problem,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(shown.status, body))
}

#[derive(Debug, Deserialize)]
struct YearQuery {
    year: Option<String>,
    done: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    page: Page<perm::ReadRegions>,
    q: web::Query<YearQuery>,
) -> Result<HttpResponse, PageError> {
    let this_year = china_date(crate::infra::clock::now()).year();
    let year = q
        .year
        .as_deref()
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| YEARS.contains(y))
        .unwrap_or(this_year);
    let shown = Shown {
        status: StatusCode::OK,
        typed: None,
        errors: HashMap::new(),
        problem: None,
        done: q.done.is_some(),
    };
    calendar_page(&state, &page, year, shown).await
}

/// The dates of a field, one a line; a line that is no date is refused beside the field.
fn dates_of(text: &str) -> Result<Vec<NaiveDate>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match NaiveDate::parse_from_str(line, "%Y-%m-%d") {
            Ok(d) => out.push(d),
            Err(_) => {
                return Err(format!(
                    "第 {} 行“{line}”不是日期：每行写一个日期，如 2026-10-01。",
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

async fn save(
    state: web::Data<AppState>,
    posted: Posted<perm::ManagePrograms, ScheduleForm>,
    year: web::Path<i32>,
) -> Result<HttpResponse, PageError> {
    let year = *year;
    if !YEARS.contains(&year) {
        return Err(Error::NotFound.into());
    }
    let f = &posted.form;
    let (holidays, makeup) = (dates_of(&f.holidays), dates_of(&f.makeup_workdays));
    let refused = |errors: HashMap<String, String>, status, problem| Shown {
        status,
        typed: Some(ScheduleForm {
            holidays: f.holidays.clone(),
            makeup_workdays: f.makeup_workdays.clone(),
        }),
        errors,
        problem,
        done: false,
    };
    let (holidays, makeup_workdays) = match (holidays, makeup) {
        (Ok(h), Ok(m)) => (h, m),
        (h, m) => {
            let errors = [("holidays", h.err()), ("makeup_workdays", m.err())]
                .into_iter()
                .filter_map(|(k, e)| e.map(|e| (k.to_owned(), e)))
                .collect();
            let shown = refused(errors, StatusCode::UNPROCESSABLE_ENTITY, None);
            return calendar_page(&state, &posted, year, shown).await;
        }
    };
    let schedule = YearSchedule {
        year,
        holidays,
        makeup_workdays,
    };
    match applications::save_calendar(&state.db, &posted.caller, year, schedule).await {
        Ok(_) => Ok(see_other(&format!("/calendar?year={year}&done=1"))),
        Err(e) => {
            let shown = errors::in_form(e, &["holidays", "makeup_workdays"])?;
            let shown = refused(shown.at, shown.status, shown.problem);
            calendar_page(&state, &posted, year, shown).await
        }
    }
}

pub fn configure(r: &mut impl Register) {
    r.get("/calendar", show).post("/calendar/{year}", save);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn months_start_on_monday_and_mark_days_in_words() {
        let s = YearSchedule {
            year: 2026,
            holidays: vec![d("2026-10-01"), d("2026-10-02")],
            makeup_workdays: vec![d("2026-09-20")],
        };
        let m = months(&s, d("2026-10-02"));
        assert_eq!(m.len(), 12);
        // 1 October 2026 is a Thursday: three blanks before it.
        let oct = &m[9].weeks[0];
        assert!(oct[..3].iter().all(Option::is_none));
        let first = oct[3].as_ref().map(|d| (d.day, d.mark, d.weekend));
        assert_eq!(first, Some((1, Some(("休", "mark-off")), false)));
        assert!(oct[4].as_ref().is_some_and(|d| d.today));
        // 20 September 2026 is a Sunday worked.
        let sep: Vec<&Day> = m[8].weeks.iter().flatten().flatten().collect();
        let sunday = sep.iter().find(|d| d.day == 20);
        assert_eq!(
            sunday.map(|d| (d.mark, d.weekend)),
            Some((Some(("班", "mark-work")), true))
        );
        assert!(m.iter().all(|m| m.weeks.iter().all(|w| w.len() == 7)));
    }

    #[test]
    fn holidays_read_as_runs() {
        let days = [
            d("2026-10-03"),
            d("2026-10-01"),
            d("2026-10-02"),
            d("2026-01-01"),
        ];
        assert_eq!(
            holiday_runs(&days),
            ["1 月 1 日（星期四）", "10 月 1 日至 10 月 3 日（3 天）"]
        );
    }

    #[test]
    fn dates_are_read_one_a_line() {
        assert_eq!(
            dates_of("2026-10-01\n\n 2026-10-02 \n"),
            Ok(vec![d("2026-10-01"), d("2026-10-02")])
        );
        let refused = dates_of("2026-10-01\n10月2日").err().unwrap_or_default();
        assert!(refused.contains("第 2 行"), "{refused}");
    }
}
