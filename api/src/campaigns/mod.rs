//! Visit and dropout campaigns over a region, with phases, deadlines and progress.

pub mod http;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
