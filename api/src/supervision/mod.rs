//! Supervision metrics per region and period, rolled up the tree.

pub mod charts;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod service;
