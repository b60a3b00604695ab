//! Operations: health and readiness, metrics, the background work and the hourly
//! housekeeping.

pub mod background;
pub mod health;
pub mod housekeeping;
