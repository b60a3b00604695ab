//! The working-day calendar: each year's holidays and make-up working days.

pub mod pages;
pub mod queries;
