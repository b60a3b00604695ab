//! Break-the-glass: read access to one named record outside one's jurisdiction, for a
//! while, with a reason, reviewed afterwards.

pub mod http;
pub mod queries;
pub mod service;
