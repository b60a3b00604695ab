//! What an entity adds to the common judgement of a change, declared here once per entity
//! rather than as branches in the judge. (Which fields only the server writes and which
//! name an author are declared with the fields themselves, in `bangfu_sync::schema`.)

/// An entity's additions to the judgement of its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hooks {
    pub entity: &'static str,
    /// A reviewer's phone may decide the record's review, as the decision endpoint does;
    /// `Some(true)`: the server then stamps who decided and when (R-VISIT-3).
    pub review_on_device: Option<bool>,
    /// The field holding a case number: whenever a change sets it, it must come from a
    /// block the device reserved and be no other record's.
    pub case_number: Option<&'static str>,
}

const NONE: Hooks = Hooks {
    entity: "",
    review_on_device: None,
    case_number: None,
};

/// Every entity with additions; the others have none.
pub const HOOKS: &[Hooks] = &[
    Hooks {
        entity: "photo",
        review_on_device: Some(true),
        ..NONE
    },
    Hooks {
        entity: "visit",
        review_on_device: Some(false),
        ..NONE
    },
    Hooks {
        entity: "dropout_case",
        case_number: Some("case_no"),
        ..NONE
    },
    Hooks {
        entity: "employment_plan",
        case_number: Some("case_no"),
        ..NONE
    },
];

/// The additions of `entity` (none for most).
pub fn of(entity: &str) -> Hooks {
    HOOKS
        .iter()
        .copied()
        .find(|h| h.entity == entity)
        .unwrap_or(NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_names_a_synced_entity_and_its_fields() {
        for h in HOOKS {
            let def = bangfu_sync::schema::entity(h.entity)
                .unwrap_or_else(|| panic!("{} is not a synced entity", h.entity));
            let has = |f: &str| def.fields.iter().any(|d| d.name == f);
            if let Some(f) = h.case_number {
                assert!(has(f), "{} has no field {f}", h.entity);
            }
            if h.review_on_device.is_some() {
                assert!(has("review_status"), "{} has no review", h.entity);
            }
        }
        assert_eq!(of("child"), NONE);
    }

    #[test]
    fn every_entity_numbering_cases_declares_it() {
        for def in bangfu_sync::schema::ENTITIES {
            if def.fields.iter().any(|f| f.name == "case_no") {
                assert_eq!(of(def.name).case_number, Some("case_no"), "{}", def.name);
            }
        }
    }
}
