//! The jurisdiction tree: regions, their dibao standards, and who sees which.

pub mod http;
pub mod queries;
