//! The HTTP layer: routes, extractors, problem answers, the request envelope and the
//! OpenAPI document.

pub mod envelope;
pub mod json;
pub mod metrics;
pub mod operations;
pub mod pace;
pub mod page;
pub mod problem;
pub mod versioning;

/// RFC 3339 UTC instant from a stored timestamp.
pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
