//! Case files (建档立卡) and what is paid against them: classification, aid standards and
//! caps, disbursements, monthly income and the exit process.

pub mod aid;
pub mod calculations_http;
pub mod case_files;
pub mod classification;
pub mod disbursements;
pub mod exit;
pub mod http;
pub mod service;
