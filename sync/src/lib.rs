//! bangfu's delta-sync protocol, shared by the server and the clients that embed it.
//!
//! Phones capture records offline for days; when they reconnect, their changes are merged
//! into the central database. Ordering concurrent edits needs a clock that every device
//! can keep without a network: the [hybrid logical clock](hlc) here.

#[cfg(feature = "client")]
pub mod client;
pub mod codes;
pub mod digest;
pub mod hlc;
pub mod merge;
pub mod schema;
pub mod wire;

pub use codes::Code;
pub use hlc::{Clock, ClockError, Hlc};

/// The protocol version this crate speaks. A server refuses clients of an incompatible
/// version with an upgrade problem instead of guessing at their data.
pub const PROTOCOL_VERSION: u32 = 1;
