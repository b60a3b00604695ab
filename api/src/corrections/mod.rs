//! Corrections to household data proposed on visits, decided level by level.

pub mod http;
pub mod pages;
pub mod service;
