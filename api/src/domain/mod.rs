//! Pure rules of the domain: no I/O, no HTTP, no database. Unit-tested here.

pub mod access;
pub mod aid;
pub mod application;
pub mod calendar;
pub mod campaign;
pub mod case_number;
pub mod classification;
pub mod deadline;
pub mod dropout;
pub mod employment;
pub mod evidence;
pub mod exit;
pub mod home_teaching;
pub mod household;
pub mod money;
pub mod pairing;
pub mod region;
pub mod resident_id;
pub mod role;
pub mod username;
pub mod validate;
pub mod visits;
pub mod workload;
