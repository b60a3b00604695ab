//! The synced records the server's rules read, as typed structs: the fields a derivation
//! needs, by name and type, instead of string-keyed reads of their JSON. Each struct names
//! its entity; [`load`] reads stored records of it with their typed fields.
//!
//! Pushes check every field against its declaration (`bangfu_sync::schema`), so stored
//! fields have their declared types; every field here is optional, as a phone may leave
//! it out. A record whose fields do not read as declared (which a push would have refused)
//! is left out with a warning rather than stopping whoever reads it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Map;
use serde_json::Value;

use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::records::store::{self, RecordRow};

/// A typed view of one synced entity's records.
pub trait Typed: DeserializeOwned {
    /// The entity, as the sync schema names it.
    const ENTITY: &'static str;
}

/// Stored records of `T`'s entity with these ids (deleted ones too: each row says), with
/// their fields typed.
pub fn load<T: Typed>(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(RecordRow, T)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for r in store::load(conn, T::ENTITY, chunk)? {
            match serde_json::from_str::<T>(&r.data) {
                Ok(fields) => out.push((r, fields)),
                Err(e) => tracing::warn!(entity = T::ENTITY, id = %r.id, error = %e,
                    "a stored record does not read as declared; left out"),
            }
        }
    }
    Ok(out)
}

/// An RFC 3339 instant, as a UTC timestamp.
fn instant<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<NaiveDateTime>, D::Error> {
    Ok(Option::<DateTime<Utc>>::deserialize(d)?.map(|t| t.naive_utc()))
}

macro_rules! typed {
    ($(#[$doc:meta])* $name:ident = $entity:literal { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(default)]
        pub struct $name { $($body)* }

        impl Typed for $name {
            const ENTITY: &'static str = $entity;
        }
    };
}

typed! {
    /// A child in the dropout registry.
    Child = "child" {
        pub name: Option<String>,
        /// `enrolled`, `dropped_out`, `home_teaching`, …
        pub enrollment: Option<String>,
        pub school_id: Option<String>,
        pub has_student_status: Option<bool>,
    }
}

typed! {
    /// A dropout case: a child out of school and the work of bringing them back.
    DropoutCase = "dropout_case" {
        pub child_id: Option<String>,
        pub school_id: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub opened_at: Option<NaiveDateTime>,
        /// The stage the phone declared.
        pub stage: Option<String>,
        pub state: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub closed_at: Option<NaiveDateTime>,
        pub outcome: Option<String>,
        pub team: Vec<String>,
        /// Where the child studies now, if elsewhere.
        pub studying_elsewhere: Map<String, Value>,
    }
}

typed! {
    /// A paper of a child's case: a notice, a decision, a confirmation, an agreement.
    DropoutDocument = "dropout_document" {
        pub child_id: Option<String>,
        pub case_id: Option<String>,
        pub kind: Option<String>,
        pub issued_on: Option<NaiveDate>,
        pub deadline_on: Option<NaiveDate>,
        pub issued_by: Option<String>,
    }
}

typed! {
    /// One attempt to bring a child back.
    RetrievalAttempt = "retrieval_attempt" {
        pub case_id: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub attempted_at: Option<NaiveDateTime>,
        pub method: Option<String>,
        pub party: Option<String>,
        pub result: Option<String>,
    }
}

typed! {
    /// A home-teaching session.
    TeachingSession = "teaching_session" {
        pub child_id: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub held_at: Option<NaiveDateTime>,
        pub class_hours: Option<f64>,
        pub lesson_plan_signed: Option<bool>,
    }
}

typed! {
    /// A teacher–pupil pair.
    Pair = "pair" {
        pub teacher_id: Option<String>,
        pub child_id: Option<String>,
        pub program: Option<String>,
        pub difficulty: Option<String>,
        pub starts_on: Option<NaiveDate>,
        pub ends_on: Option<NaiveDate>,
    }
}

typed! {
    /// An employment plan for a household member.
    EmploymentPlan = "employment_plan" {
        pub category: Option<String>,
        pub helper_id: Option<String>,
        pub person_name: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub opened_at: Option<NaiveDateTime>,
        pub stable_on: Option<NaiveDate>,
    }
}

typed! {
    /// A home visit.
    Visit = "visit" {
        pub household_id: Option<String>,
        pub helper_id: Option<String>,
        /// `routine`, `look_back`, …
        pub kind: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub visited_at: Option<NaiveDateTime>,
        /// Each basic need checked, and what was found (`met`, `not_met`, …).
        pub basic_needs: Map<String, Value>,
    }
}

typed! {
    /// A proposed correction of a household's registry, decided level by level.
    Correction = "correction" {
        pub household_id: Option<String>,
        /// The registry field to correct.
        pub field: Option<String>,
        pub current_value: Option<String>,
        pub proposed_value: Option<String>,
        pub reason: Option<String>,
        pub review_status: Option<String>,
        pub decision_reason: Option<String>,
        #[serde(deserialize_with = "instant")]
        pub village_decided_at: Option<NaiveDateTime>,
        #[serde(deserialize_with = "instant")]
        pub township_decided_at: Option<NaiveDateTime>,
        #[serde(deserialize_with = "instant")]
        pub county_decided_at: Option<NaiveDateTime>,
    }
}

typed! {
    /// A photo record: what a picture is evidence of, and its review.
    Photo = "photo" {
        pub subject_entity: Option<String>,
        pub subject_id: Option<String>,
        pub review_status: Option<String>,
        pub review_reason: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_by_their_declared_types() {
        let c: DropoutCase = serde_json::from_value(json!({
            "child_id": "c1", "opened_at": "2026-09-01T08:00:00+08:00",
            "team": ["u1", "u2"], "studying_elsewhere": {"school": "县一中"},
            "unknown_field": 1
        }))
        .expect("reads");
        assert_eq!(c.child_id.as_deref(), Some("c1"));
        assert_eq!(
            c.opened_at.map(|t| t.to_string()).as_deref(),
            Some("2026-09-01 00:00:00"),
            "an instant is kept in UTC"
        );
        assert_eq!(c.team, vec!["u1", "u2"]);
        assert!(
            c.closed_at.is_none() && c.outcome.is_none(),
            "absent fields are none"
        );

        let d: DropoutDocument =
            serde_json::from_value(json!({"issued_on": "2026-09-03", "deadline_on": null}))
                .expect("reads");
        assert_eq!(d.issued_on, NaiveDate::from_ymd_opt(2026, 9, 3));
        assert!(d.deadline_on.is_none());
    }

    #[test]
    fn a_field_of_another_type_does_not_read() {
        assert!(serde_json::from_value::<TeachingSession>(json!({"class_hours": "two"})).is_err());
        assert!(serde_json::from_value::<Visit>(json!({"visited_at": "yesterday"})).is_err());
    }
}
