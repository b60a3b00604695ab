//! Phones and other devices bound to a user, so that every write names its device.

pub mod http;
pub mod queries;
pub mod service;
