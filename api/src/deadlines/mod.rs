//! Deadlines and work lists: the projector that turns synced records into facts and
//! clocks, and what the work list reads.

pub mod derive;
pub mod facts;
pub mod http;
pub mod places;
pub mod projector;
pub mod queries;
pub mod service;
pub mod view;
