//! Supervision metrics per region and period, rolled up the tree.

pub mod http;
pub mod metrics;
pub mod service;
