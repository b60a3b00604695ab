//! bangfu: the central server for public assistance case work (帮扶).
//!
//! - [`domain`]: the rules, pure and unit-tested;
//! - [`store`]: the database (SQLite embedded, PostgreSQL for scale), scoped queries, audit;
//! - [`auth`]: passwords, tokens, the authenticated caller and its permissions;
//! - [`http`]: routes, problem answers, the OpenAPI contract;
//! - [`ledgers`]: the spreadsheets handed upward (台账), streamed as XLSX or CSV;
//! - [`app`]: wiring it together; [`cli`]: the `bangfu` command;
//! - [`grow`]: moving an install from SQLite to PostgreSQL and S3-compatible storage.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod fieldwork;
pub mod grow;
pub mod http;
pub mod ledgers;
pub mod photos;
pub mod state;
pub mod store;
pub mod sync;
