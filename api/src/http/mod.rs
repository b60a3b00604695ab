//! The HTTP layer: routes, extractors, problem answers, the request envelope and the
//! OpenAPI document.

pub mod envelope;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod pace;
pub mod page;
pub mod problem;
pub mod routes;
pub mod tus;
pub mod unmask;
pub mod versioning;
