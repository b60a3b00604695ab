//! Pure rules of the domain: no I/O, no HTTP, no database. Unit-tested here.

pub mod access;
pub mod aid;
pub mod application;
pub mod calendar;
pub mod classification;
pub mod exit;
pub mod household;
pub mod region;
pub mod resident_id;
pub mod role;
pub mod validate;
pub mod workload;
