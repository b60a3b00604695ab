//! The append-only audit log: written by every feature in the transaction of its change
//! ([`log`]), read by auditors ([`http`]); and reads of personal data in full, which are
//! recorded in it ([`unmask`]).

pub mod http;
pub mod log;
pub mod pages;
pub mod service;
pub mod unmask;
