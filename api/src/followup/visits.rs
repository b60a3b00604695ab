//! Visits and what follows from them (R-VISIT-2…4): a look-back visit (回头看) that finds a
//! basic need (两不愁三保障) not met opens renewed help (回头帮) until a later visit finds it
//! met; a correction proposed on a visit climbs village → township → county, each level
//! deciding within its hand-over deadline; a rejected evidence photo sends its author back
//! to take it again.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::domain::calendar::Calendar;
use crate::domain::deadline::{Clock, Owner, Term};

/// Working days for renewed help to bring a failing item back to "met" (the seeds set no
/// figure; this is the hand-over deadline the entry process uses, doubled for field work).
pub const RENEWED_HELP_WORKDAYS: u32 = 10;
/// Working days each level has to decide on a correction (as each hand-over in R-FILE-5).
pub const CORRECTION_REVIEW_WORKDAYS: u32 = 5;
/// Working days to take a rejected evidence photo again.
pub const PHOTO_REWORK_WORKDAYS: u32 = 3;

/// A visit as recorded, with its basic-needs check.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub id: String,
    pub household_id: String,
    pub helper_id: String,
    pub kind: String,
    pub visited_at: NaiveDateTime,
    /// (item, "met" | "not_met" | "unknown")
    pub basic_needs: Vec<(String, String)>,
}

impl Visit {
    pub fn failing(&self) -> Vec<&str> {
        let mut f: Vec<&str> = self
            .basic_needs
            .iter()
            .filter(|(_, v)| v == "not_met")
            .map(|(k, _)| k.as_str())
            .collect();
        f.sort_unstable();
        f
    }

    fn finds_met(&self, item: &str) -> bool {
        self.basic_needs
            .iter()
            .any(|(k, v)| k == item && v == "met")
    }

    /// Whether this visit meets the renewed help a look-back opened for its `failing` items:
    /// a later visit to the same household that finds every one of them met.
    pub fn meets(&self, look_back: &Visit, failing: &[&str]) -> bool {
        self.visited_at > look_back.visited_at
            && self.household_id == look_back.household_id
            && failing.iter().all(|item| self.finds_met(item))
    }
}

/// Renewed help for every look-back visit of a household that found an item not met: owned
/// by the visiting helper, met by the first later visit that finds every failing item met.
pub fn renewed_help(
    visits: &[Visit],
    region_path: &str,
    helper_region_path: impl Fn(&str) -> String,
    cal: &Calendar,
) -> Vec<Clock> {
    let mut out = Vec::new();
    for v in visits.iter().filter(|v| v.kind == "look_back") {
        let failing = v.failing();
        if failing.is_empty() {
            continue;
        }
        let met_at = visits
            .iter()
            .filter(|later| later.meets(v, &failing))
            .map(|later| later.visited_at)
            .min();
        let term = Term::WorkingDays(RENEWED_HELP_WORKDAYS);
        out.push(Clock {
            kind: "renewed_help",
            key: format!("renewed_help:{}", v.id),
            subject_entity: "household",
            subject_id: v.household_id.clone(),
            region_path: region_path.to_owned(),
            owner: Owner::User {
                id: v.helper_id.clone(),
                region_path: helper_region_path(&v.helper_id),
            },
            starts_at: v.visited_at,
            due_at: term.due(v.visited_at, cal),
            term,
            met_at,
            params: json!({"visit_id": v.id, "failing": failing}),
        });
    }
    out
}

/// A correction's review so far: when it was proposed and when each level accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub id: String,
    pub region_path: String,
    /// The village, township and county paths above the household.
    pub village_path: String,
    pub township_path: String,
    pub county_path: String,
    pub proposed_at: NaiveDateTime,
    pub status: String,
    pub village_decided_at: Option<NaiveDateTime>,
    pub township_decided_at: Option<NaiveDateTime>,
    pub county_decided_at: Option<NaiveDateTime>,
}

/// One review clock per level reached: the village from the proposal, the township from
/// the village's acceptance, the county from the township's. A rejection ends the ladder:
/// the level that rejected has met its clock.
pub fn correction_clocks(c: &Correction, cal: &Calendar) -> Vec<Clock> {
    let term = Term::WorkingDays(CORRECTION_REVIEW_WORKDAYS);
    let levels = [
        (
            "village",
            &c.village_path,
            Some(c.proposed_at),
            c.village_decided_at,
        ),
        (
            "township",
            &c.township_path,
            c.village_decided_at
                .filter(|_| c.status != "rejected" || c.township_decided_at.is_some()),
            c.township_decided_at,
        ),
        (
            "county",
            &c.county_path,
            c.township_decided_at
                .filter(|_| c.status != "rejected" || c.county_decided_at.is_some()),
            c.county_decided_at,
        ),
    ];
    let mut out = Vec::new();
    for (level, office, start, decided) in levels {
        let Some(start) = start else { break };
        out.push(Clock {
            kind: "correction_review",
            key: format!("correction_review:{}:{level}", c.id),
            subject_entity: "correction",
            subject_id: c.id.clone(),
            region_path: c.region_path.clone(),
            owner: Owner::Office {
                region_path: office.clone(),
            },
            starts_at: start,
            due_at: term.due(start, cal),
            term,
            met_at: decided,
            params: json!({"level": level}),
        });
        if decided.is_none() {
            break;
        }
    }
    out
}

/// An evidence photo a reviewer rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedPhoto<'a> {
    pub photo_id: &'a str,
    pub region_path: &'a str,
    pub author: Owner,
    /// (entity, id) of what the photo was to prove.
    pub subject: (&'a str, &'a str),
    pub rejected_at: NaiveDateTime,
    pub reason: Option<&'a str>,
}

/// A rejected evidence photo: its author takes the picture again. Met by the first photo of
/// the same subject taken after the rejection that has not itself been rejected
/// (`replacements`: when the other photos of the subject were taken).
pub fn photo_rework(p: RejectedPhoto<'_>, replacements: &[NaiveDateTime], cal: &Calendar) -> Clock {
    let term = Term::WorkingDays(PHOTO_REWORK_WORKDAYS);
    Clock {
        kind: "photo_rework",
        key: format!("photo_rework:{}", p.photo_id),
        subject_entity: "photo",
        subject_id: p.photo_id.to_owned(),
        region_path: p.region_path.to_owned(),
        owner: p.author,
        starts_at: p.rejected_at,
        due_at: term.due(p.rejected_at, cal),
        term,
        met_at: replacements
            .iter()
            .copied()
            .filter(|t| *t > p.rejected_at)
            .min(),
        params: json!({"reason": p.reason, "subject_entity": p.subject.0, "subject_id": p.subject.1}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::{end_of_china_day, start_of_china_day};
    use chrono::{Duration, NaiveDate};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn at(s: &str) -> NaiveDateTime {
        start_of_china_day(d(s)) + Duration::hours(10)
    }

    fn visit(id: &str, kind: &str, day: &str, needs: &[(&str, &str)]) -> Visit {
        Visit {
            id: id.into(),
            household_id: "h".into(),
            helper_id: "helper".into(),
            kind: kind.into(),
            visited_at: at(day),
            basic_needs: needs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_failing_look_back_opens_renewed_help_until_a_later_visit_finds_it_met() {
        let cal = Calendar::default();
        let look = visit(
            "lb",
            "look_back",
            "2026-11-02",
            &[
                ("food", "met"),
                ("safe_housing", "not_met"),
                ("basic_medical", "not_met"),
            ],
        );
        let partial = visit("v2", "routine", "2026-11-05", &[("safe_housing", "met")]);
        let full = visit(
            "v3",
            "routine",
            "2026-11-09",
            &[("safe_housing", "met"), ("basic_medical", "met")],
        );
        let region = |_: &str| "/c/t/v/".to_owned();
        let open = renewed_help(&[look.clone(), partial.clone()], "/c/t/v/", region, &cal);
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].met_at, None);
        assert_eq!(
            open[0].due_at,
            end_of_china_day(d("2026-11-16")),
            "10 working days"
        );
        assert_eq!(
            open[0].params["failing"],
            json!(["basic_medical", "safe_housing"])
        );
        let closed = renewed_help(&[full.clone(), partial, look], "/c/t/v/", region, &cal);
        assert_eq!(closed[0].met_at, Some(full.visited_at));
        // A look-back where everything is met opens nothing; routine visits never do.
        let fine = visit("ok", "look_back", "2026-11-02", &[("food", "met")]);
        assert!(
            renewed_help(
                &[
                    fine,
                    visit("r", "routine", "2026-11-02", &[("food", "not_met")])
                ],
                "/x/",
                region,
                &cal
            )
            .is_empty()
        );
    }

    #[test]
    fn corrections_climb_one_level_at_a_time() {
        let cal = Calendar::default();
        let mut c = Correction {
            id: "c".into(),
            region_path: "/p/c/t/v/h/".into(),
            village_path: "/p/c/t/v/".into(),
            township_path: "/p/c/t/".into(),
            county_path: "/p/c/".into(),
            proposed_at: at("2026-11-02"),
            status: "pending".into(),
            village_decided_at: None,
            township_decided_at: None,
            county_decided_at: None,
        };
        let k = correction_clocks(&c, &cal);
        assert_eq!(k.len(), 1);
        assert_eq!(
            k[0].owner,
            Owner::Office {
                region_path: "/p/c/t/v/".into()
            }
        );
        assert_eq!(k[0].due_at, end_of_china_day(d("2026-11-09")));
        c.status = "village_accepted".into();
        c.village_decided_at = Some(at("2026-11-04"));
        let k = correction_clocks(&c, &cal);
        assert_eq!(k.len(), 2);
        assert_eq!(k[1].starts_at, at("2026-11-04"));
        assert_eq!(
            k[1].owner,
            Owner::Office {
                region_path: "/p/c/t/".into()
            }
        );
        // The township rejects: its clock is met and nothing reaches the county.
        c.status = "rejected".into();
        c.township_decided_at = Some(at("2026-11-06"));
        let k = correction_clocks(&c, &cal);
        assert_eq!(k.len(), 2);
        assert_eq!(k[1].met_at, Some(at("2026-11-06")));
    }

    #[test]
    fn a_rejected_photo_is_met_by_a_later_picture_of_the_same_subject() {
        let cal = Calendar::default();
        let owner = Owner::User {
            id: "h".into(),
            region_path: "/c/t/v/".into(),
        };
        let rejected = |reason| RejectedPhoto {
            photo_id: "p",
            region_path: "/c/t/v/",
            author: owner.clone(),
            subject: ("visit", "v"),
            rejected_at: at("2026-11-02"),
            reason,
        };
        let k = photo_rework(rejected(Some("模糊")), &[at("2026-11-01")], &cal);
        assert_eq!(
            k.met_at, None,
            "an earlier picture does not answer the rejection"
        );
        assert_eq!(k.due_at, end_of_china_day(d("2026-11-05")));
        assert_eq!(k.params["reason"], "模糊");
        let k = photo_rework(rejected(None), &[at("2026-11-01"), at("2026-11-04")], &cal);
        assert_eq!(k.met_at, Some(at("2026-11-04")));
    }
}
