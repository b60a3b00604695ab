//! Applications, run at most once (最多跑一次): the materials checklist a program declares
//! (R-APP-1), the completeness check that names every deficiency at once (R-APP-3), and the
//! entry process as a checked state machine (R-FILE-5): grassroots review, county review,
//! public notice of the program's working days, approval, with return for correction and
//! rejection. Accidental difficulty takes the fast track (R-APP-4).

use bangfu_sync::Code;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::calendar::Calendar;
use crate::domain::role::Role;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The applicant is still filling it in.
    Draft,
    /// Submitted complete; the village or township reviews it.
    GrassrootsReview,
    CountyReview,
    /// Publicly posted (公示) until `notice_ends_on`.
    InNotice,
    /// Approved: a case file is opened.
    Approved,
    /// Sent back to the applicant with every deficiency listed; a corrected version follows.
    Returned,
    Rejected,
    Withdrawn,
    /// Replaced by a corrected version.
    Superseded,
}

impl Status {
    /// Still in progress: one such application per applicant and program (R-APP-2).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Draft
                | Status::GrassrootsReview
                | Status::CountyReview
                | Status::InNotice
                | Status::Returned
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::GrassrootsReview => "grassroots_review",
            Status::CountyReview => "county_review",
            Status::InNotice => "in_notice",
            Status::Approved => "approved",
            Status::Returned => "returned",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
            Status::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        use Status as S;
        [
            S::Draft,
            S::GrassrootsReview,
            S::CountyReview,
            S::InNotice,
            S::Approved,
            S::Returned,
            S::Rejected,
            S::Withdrawn,
            S::Superseded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// What the applicant is told comes next (R-APP-4).
    pub fn next_step(self) -> (&'static str, &'static str) {
        match self {
            Status::Draft => ("补齐材料后提交申请。", "Complete the materials and submit."),
            Status::GrassrootsReview => (
                "村（社区）和乡镇正在审核，5 个工作日内办结。",
                "The village and township are reviewing it, within 5 working days.",
            ),
            Status::CountyReview => (
                "县级部门正在审核，5 个工作日内办结。",
                "The county is reviewing it, within 5 working days.",
            ),
            Status::InNotice => (
                "正在公示，公示期满无异议后审批。",
                "It is on public notice; approval follows when the notice ends without objection.",
            ),
            Status::Approved => (
                "已审批并建档，救助金将按期发放。",
                "Approved and filed; aid will be paid on schedule.",
            ),
            Status::Returned => (
                "请按退回意见一次补正所有问题，并在期限内重新提交。",
                "Correct every listed point in one go and resubmit before the deadline.",
            ),
            Status::Rejected => (
                "申请未获批准，理由见审核意见。",
                "The application was not approved; see the stated reason.",
            ),
            Status::Withdrawn => ("申请已撤回。", "The application was withdrawn."),
            Status::Superseded => (
                "已由补正后的新版本取代。",
                "Replaced by the corrected version.",
            ),
        }
    }
}

/// What someone asks to do with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The grassroots or county reviewer passes it on.
    Pass,
    /// Send it back with every deficiency listed and a deadline.
    Return,
    Reject,
    /// After the notice period, without objection.
    Approve,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This move does not exist from this state.
    IllegalMove { from: Status, action: Action },
    /// The role may not make this move.
    NotYourStep,
    /// Approval before the notice period is over.
    NoticeNotOver { ends_on: NaiveDate },
}

/// The state a move leads to, if the role may make it now.
///
/// - grassroots review: village secretary or township officer; county review and approval:
///   county officer. Admins may do either.
/// - An accidental-difficulty case (fast track) skips the separate county pass: the
///   grassroots pass puts it straight on notice.
pub fn transition(
    from: Status,
    action: Action,
    role: Role,
    fast_track: bool,
    today: NaiveDate,
    notice_ends_on: Option<NaiveDate>,
) -> Result<Status, Refusal> {
    use Action as A;
    use Status as S;
    let grassroots = matches!(
        role,
        Role::VillageSecretary | Role::TownshipOfficer | Role::Admin
    );
    let county = matches!(role, Role::CountyOfficer | Role::Admin);
    let (allowed, to) = match (from, action) {
        (S::GrassrootsReview, A::Pass) if fast_track => (grassroots, S::InNotice),
        (S::GrassrootsReview, A::Pass) => (grassroots, S::CountyReview),
        (S::GrassrootsReview, A::Return) => (grassroots, S::Returned),
        (S::GrassrootsReview, A::Reject) => (grassroots, S::Rejected),
        (S::CountyReview, A::Pass) => (county, S::InNotice),
        (S::CountyReview, A::Return) => (county, S::Returned),
        (S::CountyReview, A::Reject) => (county, S::Rejected),
        (S::InNotice, A::Approve) => {
            let ends_on = notice_ends_on.unwrap_or(today);
            if county && today <= ends_on {
                return Err(Refusal::NoticeNotOver { ends_on });
            }
            (county, S::Approved)
        }
        // An objection during notice: the county rejects or sends back.
        (S::InNotice, A::Reject) => (county, S::Rejected),
        (S::InNotice, A::Return) => (county, S::Returned),
        _ => return Err(Refusal::IllegalMove { from, action }),
    };
    if allowed {
        Ok(to)
    } else {
        Err(Refusal::NotYourStep)
    }
}

/// The decisions `role` may offer on an application at `from`: every move the entry
/// process allows it, approval included while the notice still runs (it is refused then,
/// naming the day the notice ends).
pub fn offered(from: Status, role: Role, fast_track: bool) -> Vec<Action> {
    let day = NaiveDate::default();
    [
        Action::Pass,
        Action::Approve,
        Action::Return,
        Action::Reject,
    ]
    .into_iter()
    .filter(|a| {
        matches!(
            transition(from, *a, role, fast_track, day, Some(day)),
            Ok(_) | Err(Refusal::NoticeNotOver { .. })
        )
    })
    .collect()
}

/// The last day of a public notice of `days` working days starting on the first working day
/// after `posted_on`; approval is possible from the next day.
pub fn notice_ends_on(cal: &Calendar, posted_on: NaiveDate, days: u32) -> NaiveDate {
    cal.add_workdays(posted_on, days.max(1))
}

/// Each hand-over must be done within this many working days (R-FILE-5, 篇4).
pub const HANDOVER_WORKDAYS: u32 = 5;

/// One entry of a program's materials checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable code, e.g. `income_proof`.
    pub code: String,
    pub name: String,
    /// Required in every application, or only when the applicant states this situation
    /// (e.g. `illness`, `disability`, `student`, `unemployed`, `accident`).
    pub required_when: Option<String>,
    /// `required_when: null` and `optional: true`: welcome but never missing.
    #[serde(default)]
    pub optional: bool,
    /// Accepted kinds: `image`, `pdf`.
    pub accepts: Vec<String>,
}

impl ChecklistItem {
    pub fn required_for(&self, situations: &[String]) -> bool {
        match &self.required_when {
            Some(s) => situations.contains(s),
            None => !self.optional,
        }
    }
}

/// One deficiency found at submission: the field or material, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deficiency {
    /// A JSON path (`members[0].id_number`) or `materials.<code>`.
    pub field: String,
    pub code: Code,
    pub message: String,
}

/// The materials missing for these situations: every one, at once.
pub fn missing_materials(
    checklist: &[ChecklistItem],
    situations: &[String],
    attached: &[String],
) -> Vec<Deficiency> {
    checklist
        .iter()
        .filter(|i| i.required_for(situations) && !attached.contains(&i.code))
        .map(|i| Deficiency {
            field: format!("materials.{}", i.code),
            code: Code::MaterialMissing,
            message: format!("缺少材料：{}", i.name),
        })
        .collect()
}

/// Working days the county has to approve once the notice has run (a hand-over like any
/// other, R-FILE-5).
pub const APPROVAL_WORKDAYS: u32 = HANDOVER_WORKDAYS;

/// Where an application is reviewed: its village (the grassroots level) and its county.
pub struct ReviewOffices<'a> {
    pub region_path: &'a str,
    pub grassroots_path: &'a str,
    pub county_path: &'a str,
}

/// The clocks of an application's entry process, from its status changes in order
/// (`(when, new status)`): grassroots and county review within their hand-over deadlines,
/// the public notice counting down its working days, and the county's approval after it.
/// Each is met when the application moves on.
pub fn clocks(
    id: &str,
    transitions: &[(chrono::NaiveDateTime, Status)],
    notice_workdays: u32,
    offices: &ReviewOffices<'_>,
    cal: &Calendar,
    now: chrono::NaiveDateTime,
) -> Vec<crate::domain::deadline::Clock> {
    use crate::domain::deadline::Clock;
    use crate::domain::deadline::Owner;
    use crate::domain::deadline::Term;
    use crate::domain::deadline::china_date;
    use crate::domain::deadline::end_of_china_day;
    let mut out = Vec::new();
    let clock = |step: &str, owner: &str, start, due, term, met| Clock {
        kind: "application_step",
        key: format!("application_step:{id}:{step}:{}", out_len_key(start)),
        subject_entity: "application",
        subject_id: id.to_owned(),
        region_path: offices.region_path.to_owned(),
        owner: Owner::Office {
            region_path: owner.to_owned(),
        },
        starts_at: start,
        due_at: due,
        term,
        met_at: met,
        params: serde_json::json!({"step": step}),
    };
    for (i, (at, to)) in transitions.iter().enumerate() {
        let next = transitions.get(i + 1).map(|(t, _)| *t);
        let handover = Term::WorkingDays(HANDOVER_WORKDAYS);
        match to {
            Status::GrassrootsReview => out.push(clock(
                "grassroots_review",
                offices.grassroots_path,
                *at,
                handover.due(*at, cal),
                handover,
                next,
            )),
            Status::CountyReview => out.push(clock(
                "county_review",
                offices.county_path,
                *at,
                handover.due(*at, cal),
                handover,
                next,
            )),
            Status::InNotice => {
                let ends = end_of_china_day(notice_ends_on(cal, china_date(*at), notice_workdays));
                let term = Term::WorkingDays(notice_workdays.max(1));
                // The notice is met by running its course, unless the application moved first.
                let ran = next.map_or(now > ends, |n| n >= ends);
                out.push(clock(
                    "public_notice",
                    offices.county_path,
                    *at,
                    ends,
                    term,
                    ran.then_some(ends),
                ));
                if ran {
                    let start = ends + chrono::Duration::seconds(1);
                    let approval = Term::WorkingDays(APPROVAL_WORKDAYS);
                    out.push(clock(
                        "approval",
                        offices.county_path,
                        start,
                        approval.due(start, cal),
                        approval,
                        next,
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// A step may be passed through more than once (a returned application resubmitted):
/// each passage is its own clock, told apart by when it started.
fn out_len_key(start: chrono::NaiveDateTime) -> String {
    start.format("%Y%m%dT%H%M%S%.6f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn the_normal_path_runs_grassroots_county_notice_approval() {
        let t = d(2026, 11, 23);
        let mut s = Status::GrassrootsReview;
        s = transition(s, Action::Pass, Role::TownshipOfficer, false, t, None).unwrap_or(s);
        assert_eq!(s, Status::CountyReview);
        s = transition(s, Action::Pass, Role::CountyOfficer, false, t, None).unwrap_or(s);
        assert_eq!(s, Status::InNotice);
        let ends = d(2026, 11, 30);
        assert_eq!(
            transition(
                s,
                Action::Approve,
                Role::CountyOfficer,
                false,
                ends,
                Some(ends)
            ),
            Err(Refusal::NoticeNotOver { ends_on: ends })
        );
        assert_eq!(
            transition(
                s,
                Action::Approve,
                Role::CountyOfficer,
                false,
                d(2026, 12, 1),
                Some(ends)
            ),
            Ok(Status::Approved)
        );
    }

    #[test]
    fn each_level_is_offered_its_own_moves() {
        use Action as A;
        use Role as R;
        let grassroots = offered(Status::GrassrootsReview, R::TownshipOfficer, false);
        assert_eq!(grassroots, [A::Pass, A::Return, A::Reject]);
        assert!(offered(Status::GrassrootsReview, R::CountyOfficer, false).is_empty());
        assert!(offered(Status::CountyReview, R::TownshipOfficer, false).is_empty());
        assert_eq!(
            offered(Status::InNotice, R::CountyOfficer, false),
            [A::Approve, A::Return, A::Reject]
        );
        assert!(offered(Status::Approved, R::CountyOfficer, false).is_empty());
        assert!(offered(Status::Returned, R::TownshipOfficer, false).is_empty());
        assert!(offered(Status::GrassrootsReview, R::Auditor, false).is_empty());
    }

    #[test]
    fn accidental_cases_skip_the_separate_county_pass() {
        let t = d(2026, 11, 23);
        assert_eq!(
            transition(
                Status::GrassrootsReview,
                Action::Pass,
                Role::VillageSecretary,
                true,
                t,
                None
            ),
            Ok(Status::InNotice)
        );
    }

    #[test]
    fn each_step_belongs_to_its_level_and_illegal_moves_are_refused() {
        let t = d(2026, 11, 23);
        assert_eq!(
            transition(
                Status::CountyReview,
                Action::Pass,
                Role::TownshipOfficer,
                false,
                t,
                None
            ),
            Err(Refusal::NotYourStep)
        );
        assert_eq!(
            transition(
                Status::GrassrootsReview,
                Action::Pass,
                Role::Helper,
                false,
                t,
                None
            ),
            Err(Refusal::NotYourStep)
        );
        for from in [
            Status::Draft,
            Status::Approved,
            Status::Rejected,
            Status::Returned,
        ] {
            assert!(matches!(
                transition(from, Action::Pass, Role::Admin, false, t, None),
                Err(Refusal::IllegalMove { .. })
            ));
        }
        assert!(matches!(
            transition(
                Status::CountyReview,
                Action::Approve,
                Role::CountyOfficer,
                false,
                t,
                None
            ),
            Err(Refusal::IllegalMove { .. })
        ));
    }

    #[test]
    fn a_notice_of_five_working_days_over_the_national_day_week() {
        use crate::domain::calendar::YearSchedule;
        let mut cal = Calendar::default();
        // 2026: 1–7 October off, Sunday 27 September and Saturday 10 October worked.
        let holidays = (1..=7).map(|x| d(2026, 10, x)).collect();
        let r = cal.load(&YearSchedule {
            year: 2026,
            holidays,
            makeup_workdays: vec![d(2026, 9, 27), d(2026, 10, 10)],
        });
        assert!(r.is_ok());
        // Posted Tuesday 29 September: 30 Sep, 8, 9, 10 (Sat, make-up), 12 October.
        assert_eq!(notice_ends_on(&cal, d(2026, 9, 29), 5), d(2026, 10, 12));
    }

    #[test]
    fn every_missing_material_is_listed_by_situation() {
        let item = |code: &str, when: Option<&str>, optional: bool| ChecklistItem {
            code: code.into(),
            name: code.into(),
            required_when: when.map(str::to_owned),
            optional,
            accepts: vec!["pdf".into()],
        };
        let list = [
            item("id_card", None, false),
            item("income_proof", None, false),
            item("diagnosis", Some("illness"), false),
            item("school_cert", Some("student"), false),
            item("photo", None, true),
        ];
        let got = missing_materials(&list, &["illness".into()], &["id_card".into()]);
        let fields: Vec<&str> = got.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["materials.income_proof", "materials.diagnosis"]);
        assert!(
            missing_materials(&list, &[], &["id_card".into(), "income_proof".into()]).is_empty()
        );
    }

    #[test]
    fn open_states_are_the_ones_still_in_progress() {
        assert!(
            Status::Draft.is_open() && Status::Returned.is_open() && Status::InNotice.is_open()
        );
        assert!(!Status::Approved.is_open() && !Status::Rejected.is_open());
        assert!(!Status::Superseded.is_open() && !Status::Withdrawn.is_open());
        for s in ["draft", "in_notice", "superseded"] {
            assert_eq!(Status::parse(s).map(Status::as_str), Some(s));
        }
    }

    #[test]
    fn each_step_of_the_entry_process_has_its_clock() {
        use crate::domain::deadline::{end_of_china_day, start_of_china_day};
        let cal = Calendar::default();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let at = |s: &str| start_of_china_day(d(s)) + chrono::Duration::hours(10);
        let offices = ReviewOffices {
            region_path: "/c/t/v/",
            grassroots_path: "/c/t/v/",
            county_path: "/c/",
        };
        // Submitted Monday 2 November, passed on the 5th, to notice on the 10th (5 working
        // days to the 17th), approved on the 20th.
        let steps = [
            (at("2026-11-02"), Status::GrassrootsReview),
            (at("2026-11-05"), Status::CountyReview),
            (at("2026-11-10"), Status::InNotice),
            (at("2026-11-20"), Status::Approved),
        ];
        let c = clocks("a", &steps, 5, &offices, &cal, at("2026-11-25"));
        let shown: Vec<(&str, String, bool)> = c
            .iter()
            .map(|k| {
                (
                    k.params["step"].as_str().unwrap_or_default(),
                    k.due_at.to_string(),
                    k.met_at.is_some_and(|m| m <= k.due_at),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "grassroots_review",
                    end_of_china_day(d("2026-11-09")).to_string(),
                    true
                ),
                (
                    "county_review",
                    end_of_china_day(d("2026-11-12")).to_string(),
                    true
                ),
                (
                    "public_notice",
                    end_of_china_day(d("2026-11-17")).to_string(),
                    true
                ),
                (
                    "approval",
                    end_of_china_day(d("2026-11-25")).to_string(),
                    true
                ),
            ]
        );
        assert_eq!(
            c[1].owner,
            crate::domain::deadline::Owner::Office {
                region_path: "/c/".into()
            }
        );
        // Still on notice: the notice counts down, no approval clock yet.
        let c = clocks("a", &steps[..3], 5, &offices, &cal, at("2026-11-12"));
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].met_at, None);
    }
}
