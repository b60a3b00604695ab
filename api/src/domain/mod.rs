//! Pure rules of the domain: no I/O, no HTTP, no database. Unit-tested here.

pub mod access;
pub mod calendar;
pub mod caller;
pub mod deadline;
pub mod money;
pub mod region;
pub mod resident_id;
pub mod role;
pub mod username;
pub mod validate;
