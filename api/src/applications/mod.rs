//! Applications filed once online (最多跑一次): programs and their checklists, drafts,
//! materials, submission with every deficiency at once, and the entry process.

pub mod changes;
pub mod http;
pub mod pages;
pub mod programs;
pub mod programs_http;
pub mod queries;
pub mod rules;
pub mod service;
