//! The HTTP envelope every adapter shares: the request envelope (ids, logging, deadlines),
//! JSON bodies, paging, versions (`ETag`/`If-Match`), slow-body pacing, problem answers and
//! metrics. Routes live with their capabilities (`*/http.rs`), mounted in
//! [`crate::routes`]; the OpenAPI document is [`crate::contract`].

pub mod cors;
pub mod envelope;
pub mod json;
pub mod method_override;
pub mod metrics;
pub mod operations;
pub mod pace;
pub mod page;
pub mod problem;
pub mod unmask;
pub mod versioning;

/// RFC 3339 UTC instant from a stored timestamp.
pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
