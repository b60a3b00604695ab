//! The working-day calendar as loaded, one published year at a time.

use diesel::prelude::*;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::calendar::{Calendar, YearSchedule};
use crate::infra::clock::now;
use crate::infra::db::DbConn;
use crate::infra::db::schema::calendar_years;
use crate::infra::error::{Error, Result};

/// Every loaded year, as one calendar.
pub fn load(conn: &mut DbConn) -> Result<Calendar> {
    let mut cal = Calendar::default();
    for text in calendar_years::table
        .select(calendar_years::schedule)
        .load::<String>(conn)?
    {
        let year: YearSchedule = serde_json::from_str(&text).map_err(Error::internal)?;
        cal.load(&year)
            .map_err(|e| Error::Internal(format!("stored schedule: {e:?}")))?;
    }
    Ok(cal)
}

pub fn year(conn: &mut DbConn, year: i32) -> Result<YearSchedule> {
    let text: String = calendar_years::table
        .find(year)
        .select(calendar_years::schedule)
        .first(conn)?;
    serde_json::from_str(&text).map_err(Error::internal)
}

/// Loads (or replaces) a year's schedule; it must already be consistent. The audit entry
/// is filed under `region_path`, the jurisdiction of whoever loaded it.
pub fn save(conn: &mut DbConn, actor: &Actor, region_path: &str, s: &YearSchedule) -> Result<()> {
    let text = serde_json::to_string(s).map_err(Error::internal)?;
    let before = year(conn, s.year).ok();
    // Replaced inside the caller's write transaction.
    diesel::delete(calendar_years::table.find(s.year)).execute(conn)?;
    diesel::insert_into(calendar_years::table)
        .values((
            calendar_years::year.eq(s.year),
            calendar_years::schedule.eq(&text),
            calendar_years::updated_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: if before.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            entity: "calendar_year",
            entity_id: &s.year.to_string(),
            region_path,
            changes: audit::diff(
                &serde_json::to_value(&before).map_err(Error::internal)?,
                &serde_json::to_value(s).map_err(Error::internal)?,
            ),
            reason: None,
        },
    )
}
