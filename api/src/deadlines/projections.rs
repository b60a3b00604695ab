//! How each synced entity is projected into the read models, declared once per entity:
//! the fact its records become (what the fact concerns, who acted, when, until when, its
//! state), and the sources whose clocks a change of it moves. The projector reads this
//! table for every page of the feed; nothing about an entity is written anywhere else.

use crate::deadlines::source::Source;

/// What a change of a record moves, besides its own fact.
#[derive(Debug, Clone, Copy)]
pub enum Moves {
    /// The record's own clocks.
    Own(fn(String) -> Source),
    /// The clocks of what it belongs to (its fact's subject), when its fact's state is the
    /// one given (`None`: in any state).
    Subject(fn(String) -> Source, Option<&'static str>),
    /// The dropout cases of the child the record is.
    CasesOfOwnChild,
    /// The dropout cases of the child the record concerns (its subject).
    CasesOfSubjectChild,
    /// The campaigns covering the record's region (their progress counts it).
    Campaigns,
}

/// One synced entity's projection.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    pub entity: &'static str,
    /// The fields of its fact; `""` where it has none (the actor is then its creator).
    pub subject: &'static str,
    pub actor: &'static str,
    pub time: &'static str,
    pub end: &'static str,
    pub state: &'static str,
    pub moves: &'static [Moves],
    /// Whether a photo of one of its records is evidence for what the record belongs to,
    /// moving that as a change of the record would.
    pub photos_are_evidence: bool,
}

const fn p(
    entity: &'static str,
    [subject, actor, time, end, state]: [&'static str; 5],
    moves: &'static [Moves],
) -> Projection {
    Projection {
        entity,
        subject,
        actor,
        time,
        end,
        state,
        moves,
        photos_are_evidence: false,
    }
}

const fn evidenced(p: Projection) -> Projection {
    Projection {
        photos_are_evidence: true,
        ..p
    }
}

use Moves::*;

/// Every projected entity; the others have no fact and move nothing.
pub const PROJECTIONS: &[Projection] = &[
    p(
        "visit",
        ["household_id", "helper_id", "visited_at", "", "kind"],
        &[Subject(Source::LookBacks, None), Campaigns],
    ),
    p(
        "photo",
        ["subject_id", "", "taken_at", "", "review_status"],
        &[Subject(Source::PhotoSubject, None)],
    ),
    p(
        "child",
        ["school_id", "", "birth_date", "", "enrollment"],
        &[Own(Source::HomeTeaching), CasesOfOwnChild, Campaigns],
    ),
    p(
        "dropout_case",
        ["child_id", "", "opened_at", "closed_at", "state"],
        &[Own(Source::Case)],
    ),
    evidenced(p(
        "retrieval_attempt",
        ["case_id", "by_user_id", "attempted_at", "", "result"],
        &[Subject(Source::Case, None)],
    )),
    evidenced(p(
        "teaching_session",
        ["child_id", "teacher_id", "held_at", "", ""],
        &[Subject(Source::HomeTeaching, None)],
    )),
    p(
        "correction",
        ["household_id", "", "", "", "review_status"],
        &[Own(Source::Correction)],
    ),
    evidenced(p(
        "dropout_document",
        ["child_id", "by_user_id", "issued_on", "", "kind"],
        &[
            Subject(Source::HomeTeaching, Some("home_teaching_agreement")),
            CasesOfSubjectChild,
        ],
    )),
    p(
        "pupil_check",
        ["child_id", "by_user_id", "checked_at", "", "finding"],
        &[Campaigns],
    ),
    p(
        "pair",
        ["child_id", "teacher_id", "starts_on", "ends_on", "program"],
        &[Own(Source::Pair)],
    ),
    p(
        "pair_session",
        ["pair_id", "by_user_id", "held_at", "", "kind"],
        &[Subject(Source::Pair, None)],
    ),
    p(
        "employment_plan",
        ["household_id", "helper_id", "opened_at", "", "category"],
        &[Own(Source::Plan)],
    ),
    p(
        "employment_event",
        ["plan_id", "by_user_id", "at", "", "kind"],
        &[Subject(Source::Plan, None)],
    ),
];

/// The projection of `entity`, if it has one.
pub fn of(entity: &str) -> Option<&'static Projection> {
    PROJECTIONS.iter().find(|p| p.entity == entity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_projection_names_a_synced_entity_and_its_fields() {
        for p in PROJECTIONS {
            let def = bangfu_sync::schema::entity(p.entity)
                .unwrap_or_else(|| panic!("{} is not a synced entity", p.entity));
            for f in [p.subject, p.actor, p.time, p.end, p.state] {
                assert!(
                    f.is_empty() || def.fields.iter().any(|d| d.name == f),
                    "{} has no field {f}",
                    p.entity
                );
            }
            assert_eq!(of(p.entity).map(|q| q.entity), Some(p.entity));
        }
        assert!(of("household").is_none());
    }

    #[test]
    fn photos_are_evidence_only_for_what_has_a_subject_to_move() {
        for p in PROJECTIONS.iter().filter(|p| p.photos_are_evidence) {
            assert!(
                p.moves
                    .iter()
                    .any(|m| matches!(m, Subject(_, None) | CasesOfSubjectChild)),
                "{}",
                p.entity
            );
        }
    }
}
