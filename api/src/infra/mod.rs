//! Infrastructure every feature stands on and none of which knows a feature: the clock,
//! configuration, the one error type, the database (pools, schema, migrations, the change
//! feed), sealing of personal data, idempotency records, the blob store and the HTTP
//! envelope (problem answers, JSON bodies, paging, versions, metrics).

pub mod blobs;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod sealing;
