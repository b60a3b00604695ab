//! Follow-up rules: teacher–pupil pairs, employment plans and look-back visits; and the
//! use case that reads a household's visits with the clocks that follow from them.

pub mod employment;
pub mod pairing;
pub mod service;
pub mod visits;
