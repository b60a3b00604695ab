//! Follow-up rules: teacher–pupil pairs, employment plans and look-back visits.

pub mod employment;
pub mod pairing;
pub mod visits;
