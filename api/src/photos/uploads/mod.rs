//! Resumable uploads of photos and documents: receiving, resuming, verifying and
//! storing the bytes.

pub mod form_http;
pub mod http;
pub mod model;
pub mod queries;
pub mod service;
pub mod tus;
pub mod uploading;
