//! The append-only audit log: written by every feature in the transaction of its change
//! ([`log`]), read by auditors ([`http`]).

pub mod http;
pub mod log;
pub mod service;
