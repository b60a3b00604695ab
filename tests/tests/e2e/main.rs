//! End-to-end tests: one binary (links once), the real server on a socket, a real database.
//! Run against SQLite by default and PostgreSQL with `BANGFU_TEST_BACKEND=postgres`.

mod applications;
mod audit;
mod auth;
mod calculations;
mod contract;
mod convergence;
mod errors;
mod field_cli;
mod households;
mod housekeeping;
mod idempotency;
mod ledgers;
mod photos;
mod schema;
mod scope;
mod supervision;
mod sync;
