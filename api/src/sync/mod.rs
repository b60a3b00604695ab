//! The server side of the delta-sync protocol (see `sync/PROTOCOL.md`): applying pushes,
//! serving pulls from the change feed, settling conflicts, and what supervisors see of
//! devices and refused changes.

pub mod conflicts;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod first;
pub mod http;
pub mod pages;
pub mod pull;
pub mod push;
pub mod repair;
pub mod rules;
pub mod service;
pub mod supervision;
pub mod supervision_http;
pub mod workload;
