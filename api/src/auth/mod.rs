//! Authentication (passwords, JWT access tokens, rotating refresh tokens) and the
//! authenticated caller that every protected handler receives.

pub mod applicant;
pub mod applicant_sessions;
pub mod browser;
pub mod caller;
pub mod context;
pub mod http;
pub mod login_limits;
pub mod pages;
pub mod rotation;
pub mod service;
pub mod sessions;
pub mod tokens;

pub use caller::{Caller, Require, perm};
