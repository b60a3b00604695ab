//! Campaigns (R-VISIT-5, R-DROP-6): a visit campaign or a term's dropout campaign over a
//! region, in phases with deadlines (training, visiting, completing the data, supervision);
//! completion is tracked per helper and per village. A dropout campaign also runs the
//! start-of-term check: within one week of the start of term every compulsory-education
//! pupil in the jurisdiction has been seen and entered in the ledger.

use bangfu_sync::Code;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::domain::deadline::{Clock, Owner, Term, end_of_china_day, start_of_china_day};
use crate::infra::error::{FieldError, Msg};

/// The start-of-term check runs one week (开学一周内).
pub const START_OF_TERM_DAYS: i64 = 7;
/// Compulsory education: children aged 6 to 15 (R-DROP-1).
pub const COMPULSORY_AGES: std::ops::RangeInclusive<i32> = 6..=15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// Home visits to every filed household (大走访).
    Visit,
    /// A term's dropout control: start-of-term check, retrieval, close-out.
    Dropout,
}

impl CampaignKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::Visit => "visit",
            CampaignKind::Dropout => "dropout",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignKind> {
        match s {
            "visit" => Some(CampaignKind::Visit),
            "dropout" => Some(CampaignKind::Dropout),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Training,
    /// Households are visited (or pupils checked) by this phase's deadline.
    Visiting,
    CompletingData,
    Supervision,
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Training => "training",
            PhaseKind::Visiting => "visiting",
            PhaseKind::CompletingData => "completing_data",
            PhaseKind::Supervision => "supervision",
        }
    }

    pub fn parse(s: &str) -> Option<PhaseKind> {
        [
            PhaseKind::Training,
            PhaseKind::Visiting,
            PhaseKind::CompletingData,
            PhaseKind::Supervision,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Phase {
    pub kind: PhaseKind,
    pub name: String,
    /// The phase ends with this local day.
    pub due_on: NaiveDate,
}

/// Checks a campaign's dates: phases in order, each with a later deadline than the one
/// before, all on or after the start, exactly one visiting phase; a dropout campaign names
/// the day term starts. Every problem is listed.
pub fn check(
    kind: CampaignKind,
    starts_on: NaiveDate,
    term_starts_on: Option<NaiveDate>,
    phases: &[Phase],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if phases.is_empty() || phases.len() > 10 {
        errors.push(FieldError::new(
            "phases",
            Code::InvalidCount,
            Msg::fixed(
                "活动须有 1 到 10 个阶段。",
                "A campaign has 1 to 10 phases.",
            ),
        ));
    }
    let visiting = phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Visiting)
        .count();
    if visiting != 1 {
        errors.push(FieldError::new(
            "phases",
            Code::VisitingPhase,
            Msg::fixed(
                "活动须有且只有一个入户走访阶段。",
                "A campaign has exactly one visiting phase.",
            ),
        ));
    }
    let mut previous: Option<NaiveDate> = None;
    for (i, p) in phases.iter().enumerate() {
        if p.name.trim().is_empty() || p.name.chars().count() > 100 {
            errors.push(FieldError::new(
                format!("phases[{i}].name"),
                Code::InvalidLength,
                Msg::fixed(
                    "阶段名称须为 1 到 100 个字。",
                    "A phase name has 1 to 100 characters.",
                ),
            ));
        }
        if p.due_on < starts_on || previous.is_some_and(|prev| p.due_on < prev) {
            errors.push(FieldError::new(
                format!("phases[{i}].due_on"),
                Code::OutOfOrder,
                Msg::fixed(
                    "阶段截止日期须不早于活动开始日和上一阶段。",
                    "A phase ends no earlier than the start and the phase before it.",
                ),
            ));
        }
        previous = Some(p.due_on);
    }
    match (kind, term_starts_on) {
        (CampaignKind::Dropout, None) => errors.push(FieldError::new(
            "term_starts_on",
            Code::Required,
            Msg::fixed(
                "控辍保学活动须填写开学日期。",
                "A dropout campaign needs the day term starts.",
            ),
        )),
        (CampaignKind::Visit, Some(_)) => errors.push(FieldError::new(
            "term_starts_on",
            Code::NotAllowed,
            Msg::fixed(
                "走访活动不填开学日期。",
                "A visit campaign has no term start.",
            ),
        )),
        (CampaignKind::Dropout, Some(t)) if t < starts_on => errors.push(FieldError::new(
            "term_starts_on",
            Code::OutOfOrder,
            Msg::fixed(
                "开学日期不得早于活动开始日。",
                "Term cannot start before the campaign.",
            ),
        )),
        _ => {}
    }
    errors
}

/// The visiting window: from the start to the end of the visiting phase.
pub fn visiting_window(starts_on: NaiveDate, phases: &[Phase]) -> (NaiveDateTime, NaiveDateTime) {
    let due = phases
        .iter()
        .find(|p| p.kind == PhaseKind::Visiting)
        .map_or(starts_on, |p| p.due_on);
    (start_of_china_day(starts_on), end_of_china_day(due))
}

/// The start-of-term window: the day term starts and the six after it.
pub fn start_of_term_window(term_starts_on: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    (
        start_of_china_day(term_starts_on),
        end_of_china_day(term_starts_on + Duration::days(START_OF_TERM_DAYS - 1)),
    )
}

/// Born on `birth`, is the child of compulsory-education age on `day`?
pub fn compulsory_age(birth: NaiveDate, day: NaiveDate) -> bool {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    COMPULSORY_AGES.contains(&age)
}

/// The birth dates of children of compulsory-education age on `day`: born after
/// `earliest` and on or before `latest`.
pub fn compulsory_birth_range(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let years_ago = |n: i32| {
        day.with_year(day.year() - n)
            .unwrap_or_else(|| day - Duration::days(i64::from(n) * 365))
    };
    (
        years_ago(*COMPULSORY_AGES.end() + 1),
        years_ago(*COMPULSORY_AGES.start()),
    )
}

/// A phase's clock, owned by the office of the campaign's region; met when an officer
/// marks the phase done.
pub fn phase_clock(
    campaign_id: &str,
    region_path: &str,
    position: usize,
    p: &Phase,
    starts_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
) -> Clock {
    Clock {
        kind: "campaign_phase",
        key: format!("campaign_phase:{campaign_id}:{position}"),
        subject_entity: "campaign",
        subject_id: campaign_id.to_owned(),
        region_path: region_path.to_owned(),
        owner: Owner::Office {
            region_path: region_path.to_owned(),
        },
        starts_at,
        due_at: end_of_china_day(p.due_on),
        term: Term::EndOfDay,
        met_at: completed_at,
        params: json!({"phase": p.kind.as_str(), "name": p.name}),
    }
}

/// Counts behind a progress clock: how many are to be visited, how many were, and when
/// the last of them first was (the moment the obligation was met, if all were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Progress {
    pub total: i64,
    pub done: i64,
    #[schema(value_type = Option<String>)]
    pub completed_at: Option<NaiveDateTime>,
}

impl Progress {
    pub fn met_at(&self) -> Option<NaiveDateTime> {
        (self.total > 0 && self.done >= self.total)
            .then_some(self.completed_at)
            .flatten()
    }
}

/// A helper's share of a visit campaign: every household assigned to them visited by the
/// end of the visiting phase.
pub fn helper_visits_clock(
    campaign_id: &str,
    owner: Owner,
    region_path: &str,
    window: (NaiveDateTime, NaiveDateTime),
    progress: &Progress,
) -> Clock {
    let helper = owner.user_id().unwrap_or_default().to_owned();
    Clock {
        kind: "campaign_visits",
        key: format!("campaign_visits:{campaign_id}:{helper}"),
        subject_entity: "campaign",
        subject_id: campaign_id.to_owned(),
        region_path: region_path.to_owned(),
        owner,
        starts_at: window.0,
        due_at: window.1,
        term: Term::EndOfDay,
        met_at: progress.met_at(),
        params: json!({"households": progress.total, "visited": progress.done}),
    }
}

/// The start-of-term check of one school (or one village's children without a school).
pub fn start_of_term_clock(
    campaign_id: &str,
    office_path: &str,
    term_starts_on: NaiveDate,
    progress: &Progress,
) -> Clock {
    let (start, due) = start_of_term_window(term_starts_on);
    Clock {
        kind: "start_of_term_check",
        key: format!("start_of_term_check:{campaign_id}:{office_path}"),
        subject_entity: "campaign",
        subject_id: campaign_id.to_owned(),
        region_path: office_path.to_owned(),
        owner: Owner::Office {
            region_path: office_path.to_owned(),
        },
        starts_at: start,
        due_at: due,
        term: Term::CalendarDays(START_OF_TERM_DAYS - 1),
        met_at: progress.met_at(),
        params: json!({"pupils": progress.total, "checked": progress.done, "term_starts_on": term_starts_on}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn phase(kind: PhaseKind, due: &str) -> Phase {
        Phase {
            kind,
            name: kind.as_str().into(),
            due_on: d(due),
        }
    }

    #[test]
    fn phases_are_checked_together() {
        // The seed's 大走访: training by 10 April, visits by end of April, data by mid-June.
        let ok = [
            phase(PhaseKind::Training, "2027-04-10"),
            phase(PhaseKind::Visiting, "2027-04-30"),
            phase(PhaseKind::CompletingData, "2027-06-15"),
            phase(PhaseKind::Supervision, "2027-07-31"),
        ];
        assert!(check(CampaignKind::Visit, d("2027-04-01"), None, &ok).is_empty());
        let bad = [
            phase(PhaseKind::Training, "2027-03-10"),
            phase(PhaseKind::CompletingData, "2027-03-01"),
        ];
        let codes: Vec<_> = check(CampaignKind::Dropout, d("2027-04-01"), None, &bad)
            .iter()
            .map(|e| (e.field.clone(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("phases".to_owned(), "visiting_phase"),
                ("phases[0].due_on".into(), "out_of_order"),
                ("phases[1].due_on".into(), "out_of_order"),
                ("term_starts_on".into(), "required")
            ]
        );
    }

    #[test]
    fn compulsory_age_is_six_to_fifteen() {
        let day = d("2026-09-01");
        assert!(compulsory_age(d("2020-09-01"), day), "six today");
        assert!(!compulsory_age(d("2020-09-02"), day), "six tomorrow");
        assert!(compulsory_age(d("2010-09-02"), day), "fifteen");
        assert!(!compulsory_age(d("2010-09-01"), day), "sixteen today");
        let (earliest, latest) = compulsory_birth_range(day);
        assert_eq!((earliest, latest), (d("2010-09-01"), d("2020-09-01")));
    }

    #[test]
    fn the_start_of_term_check_runs_a_week_from_term_start() {
        let (s, e) = start_of_term_window(d("2026-09-01"));
        assert_eq!(s, start_of_china_day(d("2026-09-01")));
        assert_eq!(e, end_of_china_day(d("2026-09-07")));
        let p = Progress {
            total: 3,
            done: 3,
            completed_at: Some(s),
        };
        assert_eq!(
            start_of_term_clock("c", "/s/", d("2026-09-01"), &p).met_at,
            Some(s)
        );
        let p = Progress {
            total: 3,
            done: 2,
            completed_at: Some(s),
        };
        assert_eq!(
            start_of_term_clock("c", "/s/", d("2026-09-01"), &p).met_at,
            None
        );
        let none = Progress {
            total: 0,
            done: 0,
            completed_at: None,
        };
        assert_eq!(none.met_at(), None, "nothing to check is not a met check");
    }
}
