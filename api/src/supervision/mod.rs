//! Supervision metrics per region and period, rolled up the tree: kept per region and day
//! by the rollups, read from them, and proved right by a recount from the records.

pub mod charts;
pub mod figures;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod recount;
pub mod rollups;
pub mod service;
pub mod sql;
