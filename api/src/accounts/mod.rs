//! Staff accounts: who may create and change whom, inside their own jurisdiction.

pub mod http;
pub mod pages;
pub mod password;
pub mod queries;
pub mod service;
