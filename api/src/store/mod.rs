//! Storage: diesel schema, rows, and every query the server makes. Queries on scoped data
//! take the caller's [`Scope`](crate::domain::access::Scope), so a handler cannot read or
//! write outside the caller's jurisdiction by forgetting a filter.

pub mod applications;
pub mod audit;
pub mod calendar;
pub mod campaigns;
pub mod case_files;
pub mod db;
pub mod deadlines;
pub mod devices;
pub mod disbursements;
pub mod duplicates;
pub mod evidence;
pub mod feed;
pub mod grants;
pub mod group_commit;
pub mod households;
pub mod housekeeping;
pub mod idempotency;
pub mod login_limits;
pub mod metrics;
pub mod migrate;
pub mod photo_reviews;
pub mod photos;
pub mod programs;
pub mod reach;
pub mod regions;
pub mod schema;
pub mod scoped;
pub mod sealing;
pub mod sessions;
pub mod users;

pub(crate) use db::insert_all;
pub use db::{Backend, Db, DbConn};

pub use crate::clock::{now, today};

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
