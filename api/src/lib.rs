//! bangfu: the central server for public assistance case work (帮扶).
//!
//! One folder per capability (households, applications, payments, sync, photos, dropout,
//! deadlines, supervision, ledgers, …), each with its rules, its queries and its HTTP
//! adapter. Beneath them, [`domain`] holds the pure rules several capabilities share and
//! [`infra`] the machinery none of them owns (database, clock, blob store, HTTP envelope,
//! the one error type); neither knows a capability. [`routes`] mounts every adapter,
//! [`contract`] is the OpenAPI document, [`app`] wires the server and [`cli`] is the
//! `bangfu` command.

pub mod access;
pub mod accounts;
pub mod app;
pub mod applications;
#[cfg(test)]
mod architecture;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod case_numbers;
pub mod cli;
pub mod console;
pub mod contract;
pub mod corrections;
pub mod deadlines;
pub mod demo;
pub mod devices;
pub mod domain;
pub mod dropout;
pub mod followup;
pub mod grow;
pub mod households;
pub mod infra;
pub mod ledgers;
pub mod ops;
pub mod payments;
pub mod photo_reviews;
pub mod photos;
pub mod records;
pub mod regions;
pub mod routes;
pub mod state;
pub mod supervision;
pub mod sync;
