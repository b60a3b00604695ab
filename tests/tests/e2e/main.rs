//! End-to-end tests: one binary (links once), the real server on a socket, a real database.
//! Run against SQLite by default and PostgreSQL with `BANGFU_TEST_BACKEND=postgres`.

mod applications;
mod audit;
mod auth;
mod auth_probe;
mod calculations;
mod contract;
mod convergence;
mod demo;
mod errors;
mod evidence;
mod faults;
mod field_cli;
mod field_work;
mod first_sync;
mod grow;
mod households;
mod housekeeping;
mod idempotency;
mod kill;
mod ledgers;
mod pg_restart;
mod pg_tls;
mod photos;
mod repair;
mod scale_out;
mod schema;
mod scope;
mod scope_changes;
mod slow_clients;
mod supervision;
mod sync;
mod trust;
mod tus;
