//! How a push refuses a mutation: the problem, and the answer carrying it.

use bangfu_sync::Code;
use bangfu_sync::merge::Rejection;
use bangfu_sync::wire::{
    Mutation, MutationFieldError, MutationProblem, MutationResult, MutationStatus,
};

pub(super) fn problem(
    code: Code,
    detail: impl Into<String>,
    errors: Vec<MutationFieldError>,
) -> MutationProblem {
    MutationProblem {
        code,
        detail: detail.into(),
        errors,
    }
}

pub(super) fn rejected(m: &Mutation, p: MutationProblem) -> MutationResult {
    MutationResult {
        mutation_id: m.mutation_id.clone(),
        entity: m.entity.clone(),
        id: m.id.clone(),
        status: MutationStatus::Rejected,
        version: None,
        conflict_ids: Vec::new(),
        problem: Some(p),
    }
}

pub(super) fn field_errors(rs: Vec<Rejection>) -> Vec<MutationFieldError> {
    rs.into_iter()
        .map(|r| MutationFieldError {
            field: r.field,
            code: r.code.to_owned(),
            message: r.message,
        })
        .collect()
}

pub(super) fn field_problem(field: &str, code: Code, message: &str) -> MutationProblem {
    problem(
        Code::ValidationFailed,
        format!("{field}: {message}"),
        vec![MutationFieldError {
            field: field.into(),
            code,
            message: message.into(),
        }],
    )
}
