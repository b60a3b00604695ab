//! Pure rules of the domain: no I/O, no HTTP, no database. Unit-tested here.

pub mod access;
pub mod region;
pub mod role;
pub mod validate;
