//! How a push refuses a mutation: the problem, in both languages, and the answer carrying
//! it. An answer is kept as given (so a repeat gets it again) with the refusal's texts in
//! both languages; it is put in the caller's language as it is sent.

use bangfu_sync::Code;
use bangfu_sync::merge::Rejection;
use bangfu_sync::wire::{Mutation, MutationResult, MutationStatus};
use serde::{Deserialize, Serialize};

use crate::infra::error::{FieldError, Lang, Msg};
pub use crate::sync::rules::Refusal;

/// One mutation's answer as the server keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer as sent; a refusal's `problem` in Chinese (what answers kept before
    /// refusals had both languages hold, in whichever language they were written).
    #[serde(flatten)]
    pub result: MutationResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

impl Answer {
    pub fn taken(result: MutationResult) -> Answer {
        Answer {
            result,
            refusal: None,
        }
    }

    /// The answer in `lang`.
    pub fn in_lang(&self, lang: Lang) -> MutationResult {
        let mut out = self.result.clone();
        if let Some(r) = &self.refusal {
            out.problem = Some(r.in_lang(lang));
        }
        out
    }
}

pub(super) fn problem(code: Code, detail: Msg) -> Refusal {
    Refusal::new(code, detail)
}

pub(super) fn rejected(m: &Mutation, p: Refusal) -> Answer {
    Answer {
        result: MutationResult {
            mutation_id: m.mutation_id.clone(),
            entity: m.entity.clone(),
            id: m.id.clone(),
            status: MutationStatus::Rejected,
            version: None,
            conflict_ids: Vec::new(),
            problem: Some(p.in_lang(Lang::Zh)),
        },
        refusal: Some(p),
    }
}

pub(super) fn field_errors(rs: Vec<Rejection>) -> Vec<FieldError> {
    rs.into_iter()
        .map(|r| FieldError::new(r.field, r.code, Msg::new(r.message_zh, r.message)))
        .collect()
}

pub(super) fn field_problem(field: &str, code: Code, message: Msg) -> Refusal {
    Refusal::field(field, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bangfu_sync::wire::Op;

    #[test]
    fn a_kept_refusal_is_answered_in_the_language_asked_for() {
        let m = Mutation {
            mutation_id: "m".into(),
            entity: "visit".into(),
            id: "r".into(),
            op: Op::Upsert,
            base_version: 0,
            hlc: String::new(),
            fields: Default::default(),
        };
        let answer = rejected(
            &m,
            field_problem(
                "household_id",
                Code::NotFound,
                Msg::fixed("户籍库中没有该户。", "no such household in the registry"),
            ),
        );
        let text = serde_json::to_string(&answer).expect("kept as JSON");
        let kept: Answer = serde_json::from_str(&text).expect("read back");
        let en = kept.in_lang(Lang::En).problem.expect("a problem");
        assert_eq!(en.code, Code::ValidationFailed);
        assert_eq!(en.detail, "household_id: no such household in the registry");
        assert_eq!(en.errors[0].field, "household_id");
        assert_eq!(en.errors[0].code, Code::NotFound);
        let zh = kept.in_lang(Lang::Zh).problem.expect("a problem");
        assert_eq!(zh.detail, "household_id：户籍库中没有该户。");
        assert_eq!(zh.errors[0].message, "户籍库中没有该户。");
        // An answer kept before both languages were kept is given as it was written.
        let old: Answer = serde_json::from_value(serde_json::json!({
            "mutation_id": "m", "entity": "visit", "id": "r", "status": "rejected",
            "version": null, "problem": {"code": "out_of_scope", "detail": "outside"}
        }))
        .expect("an answer of before");
        let old = old.in_lang(Lang::En).problem.expect("a problem");
        assert_eq!(old.detail, "outside");
    }
}
