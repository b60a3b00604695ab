//! Dropout control (控辍保学): a case's eight legal steps judged from its evidence, the
//! papers offices record, and monthly home teaching.

pub mod home_teaching;
pub mod http;
pub mod pages;
pub mod rules;
pub mod service;
