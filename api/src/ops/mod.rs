//! Operations: health and readiness, metrics, and the hourly housekeeping.

pub mod health;
pub mod housekeeping;
