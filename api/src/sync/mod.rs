//! The server side of the delta-sync protocol (see `sync/PROTOCOL.md`): applying pushes,
//! serving pulls from the change feed, and settling conflicts.

pub mod conflicts;
pub mod pull;
pub mod push;
pub mod records;
