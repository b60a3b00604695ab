//! The jurisdiction tree: regions, their dibao standards, and who sees which.

pub mod http;
pub mod names;
pub mod queries;
pub mod service;

/// Scoped queries filter by the subtrees a jurisdiction covers.
impl crate::infra::db::scoped::Subtrees for crate::domain::access::Scope {
    fn subtrees(&self) -> &[String] {
        self.paths()
    }
}
