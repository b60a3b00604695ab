//! Aid paid on the demo's case files: monthly living aid from the month after approval,
//! paid on the 10th by the county, and a medical payment against the year's cap.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::demo::phones::db_at;
use crate::demo::staff;
use crate::infra::clock::{china_date, start_of_china_day};
use crate::infra::error::Result;
use crate::payments::aid::AidKind;
use crate::payments::service::{self as payments, Payment};
use crate::state::AppState;

fn payment(kind: AidKind, amount_fen: i64, period: String, out_of_pocket_fen: i64) -> Payment {
    Payment {
        kind,
        amount_fen,
        period,
        out_of_pocket_fen,
        students: 0,
        hardship_costs_fen: 0,
        note: None,
        reassessment: None,
    }
}

/// The 10th of each month after `from`, up to `now`, at 10:00 China time.
fn paydays(from: NaiveDateTime, now: NaiveDateTime) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let start = china_date(from);
    let mut day = NaiveDate::from_ymd_opt(start.year(), start.month(), 10).unwrap_or(start);
    while day <= china_date(now) {
        let at = start_of_china_day(day) + Duration::hours(10);
        if at > from && at < now {
            out.push(at);
        }
        day = day
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(day + Duration::days(31));
    }
    out
}

/// Pays aid on each file (opened at `opened`); answers how many payments were made.
pub async fn run(
    state: &AppState,
    files: &[(String, NaiveDateTime)],
    now: NaiveDateTime,
) -> Result<usize> {
    let county = staff::caller(&state.db, "county_officer", None).await?;
    let mut made = 0;
    for (n, (file, opened)) in files.iter().enumerate() {
        let file_row = payments::file(&state.db, &county, file).await?;
        let days = paydays(*opened, now);
        if file_row.category == "accidental" {
            if let Some(at) = days.first() {
                let year = china_date(*at).year().to_string();
                let p = payment(AidKind::Medical, 300_000, year, 900_000);
                payments::pay(&db_at(state, *at), &county, file, p).await?;
                made += 1;
            }
            continue;
        }
        for at in &days {
            let d = china_date(*at);
            let period = format!("{}-{:02}", d.year(), d.month());
            let amount = 40_000 + 2_000 * i64::try_from(n % 4).unwrap_or(0);
            payments::pay(
                &db_at(state, *at),
                &county,
                file,
                payment(AidKind::Living, amount, period, 0),
            )
            .await?;
            made += 1;
        }
    }
    Ok(made)
}
