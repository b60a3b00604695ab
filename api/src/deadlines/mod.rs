//! Deadlines and work lists: the projector that turns synced records into facts
//! ([`projections`] declares each entity's fact and what its changes move) and clocks
//! ([`derive`], one derivation per kind of [`source`]), and what the work list reads.

pub mod current;
pub mod derive;
pub mod facts;
pub mod http;
pub mod pages;
pub mod places;
pub mod projections;
pub mod projector;
pub mod queries;
pub mod read_model;
pub mod service;
pub mod source;
pub mod view;
