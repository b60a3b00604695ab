//! Storage: diesel schema, rows, and every query the server makes. Queries on scoped data
//! take the caller's [`Scope`](crate::domain::access::Scope), so a handler cannot read or
//! write outside the caller's jurisdiction by forgetting a filter.

pub mod audit;
pub mod db;
pub mod devices;
pub mod feed;
pub mod grants;
pub mod housekeeping;
pub mod idempotency;
pub mod login_limits;
pub mod migrate;
pub mod photos;
pub mod regions;
pub mod schema;
pub mod scoped;
pub mod sessions;
pub mod users;

pub use db::{Backend, Db, DbConn};

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current instant in UTC, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
