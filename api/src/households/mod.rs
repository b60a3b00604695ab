//! The household registry (一户一档): households, members, income and expense items, their
//! helpers, likely duplicates and referrals of people registered elsewhere.

pub mod duplicates;
pub mod http;
pub mod pages;
pub mod queries;
pub mod rules;
pub mod service;
