//! The village secretary's review of evidence photos, and the backlog per village.

pub mod http;
pub mod pages;
pub mod queries;
pub mod service;
