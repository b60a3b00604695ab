//! Human-readable case numbers minted offline from blocks reserved online.

pub mod blocks;
pub mod http;
pub mod rules;
pub mod service;
