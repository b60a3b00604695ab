//! The work list and deadline use cases: one function each, bringing the clocks up to date
//! with what was recorded, then reading in one transaction, answering typed rows.

use bangfu_sync::Code;
use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::calendar::queries as calendar;
use crate::deadlines::queries::{self as deadlines, Compliance, DeadlineRow, Filter, View, Worker};
use crate::deadlines::read_model;
use crate::domain::calendar::Calendar;
use crate::domain::caller::Caller;
use crate::domain::deadline::{end_of_china_day, start_of_china_day};
use crate::domain::role::Role;
use crate::infra::db::Db;
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::regions::queries as regions;

/// Whether the caller acts for their region's office: a school's teachers (helpers whose
/// region is the school), a village's secretary, a township's or county's officers.
fn acts_for_office(c: &Caller, region_level: &str) -> bool {
    match c.role {
        Role::Auditor | Role::Admin => false,
        Role::Helper => region_level == "school",
        _ => true,
    }
}

/// A page of the work list, with what it is read against.
#[derive(Debug)]
pub struct Due {
    /// Not met, due by the end of the horizon's last day: overdue first, by due time.
    pub rows: Vec<DeadlineRow>,
    pub calendar: Calendar,
    /// Evidence photos waiting for review in the caller's scope (R-VISIT-3); 0 for
    /// helpers, who do not review.
    pub photo_reviews_pending: i64,
    /// The moment and the local day the list was read at.
    pub now: NaiveDateTime,
    pub today: NaiveDate,
}

/// What is due for the caller (their own clocks and those of the office they act for) or,
/// `View::Team`, for everyone else in their scope, through `horizon_days` days from today.
pub async fn work_list(
    db: &Db,
    caller: &Caller,
    view: View,
    horizon_days: i64,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Due> {
    let mut worker = Worker {
        user_id: caller.user_id.clone(),
        region_path: caller.region_path.clone(),
        acts_for_office: false,
        scope: caller.scope.clone(),
    };
    let (role_caller, region_id): (Caller, String) = (caller.clone(), caller.region_id.clone());
    let now = crate::infra::clock::now();
    let today = crate::infra::clock::today();
    let until = end_of_china_day(today + Duration::days(horizon_days));
    let (rows, calendar, photo_reviews_pending) = read_model::read(db, move |c, model| {
        let level = regions::find(c, None, &region_id)?.level;
        worker.acts_for_office = acts_for_office(&role_caller, &level);
        let backlog = if role_caller.role == Role::Helper {
            0
        } else {
            crate::deadlines::facts::pending_photos(c, model, &role_caller.scope)?
        };
        Ok((
            deadlines::open_due(c, model, &worker, view, until, after, limit)?,
            calendar::load(c)?,
            backlog,
        ))
    })
    .await?;
    Ok(Due {
        rows,
        calendar,
        photo_reviews_pending,
        now,
        today,
    })
}

/// Every deadline in the caller's scope matching `filter` (cancelled ones left out), in due
/// order, with the calendar they escalate by and the moment they were read at.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: Filter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<(Vec<DeadlineRow>, Calendar, NaiveDateTime)> {
    let scope = caller.scope.clone();
    let now = crate::infra::clock::now();
    let (rows, cal) = read_model::read(db, move |c, model| {
        Ok((
            deadlines::list(c, model, &scope, &filter, after, limit)?,
            calendar::load(c)?,
        ))
    })
    .await?;
    Ok((rows, cal, now))
}

/// How the clocks due in a period fared in a region.
#[derive(Debug)]
pub struct Fared {
    /// The region asked for (the caller's own by default).
    pub region_id: String,
    pub kinds: Vec<Compliance>,
}

/// How the clocks due from `from` to `to` (1 to 800 local days) fared in a region inside
/// the caller's scope (default: their own), per kind.
pub async fn compliance(
    db: &Db,
    caller: &Caller,
    region_id: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Fared> {
    if to < from || to - from > Duration::days(800) {
        return Err(Error::Validation(vec![FieldError::new(
            "to",
            Code::OutOfRange,
            Msg::fixed(
                "期间须为 1 到 800 天，且结束不早于开始。",
                "The period runs 1 to 800 days, ending on or after its start.",
            ),
        )]));
    }
    let scope = caller.scope.clone();
    let region_id = region_id.unwrap_or_else(|| caller.region_id.clone());
    let (from, to) = (start_of_china_day(from), end_of_china_day(to));
    let rid = region_id.clone();
    let kinds = read_model::read(db, move |c, model| {
        let region = regions::find(c, Some(&scope), &rid)?;
        let inner = crate::domain::access::Scope::new(vec![region.path]);
        deadlines::compliance(c, model, &inner, from, to, crate::infra::clock::now())
    })
    .await?;
    Ok(Fared { region_id, kinds })
}
