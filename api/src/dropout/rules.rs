//! Dropout control (控辍保学, R-DROP-2…5): the eight legal steps as a state machine over
//! the evidence, the outcomes other than return and what each needs, close-out (销号), and
//! the clocks a return deadline notice starts.
//!
//! Cases are worked offline on several phones, so their records arrive in any order. The
//! state is therefore never "whatever the last message said": it is judged from the whole
//! set of records each time (the case, its documents, its retrieval attempts and their
//! photos). The same records give the same judgement whichever order they came in; a
//! record that arrives late (an attempt after the case was closed) is kept and shown.

use bangfu_sync::Code;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::domain::calendar::Calendar;
use crate::domain::deadline::{
    Clock, Owner, Term, china_date, end_of_china_day, start_of_china_day,
};

/// A guardian has one week after a return deadline notice (R-DROP-4: 接到通知书后一周内).
pub const NOTICE_DAYS: i64 = 7;
/// Working days the township has to issue its penalty decision once the school reports a
/// missed deadline: the hand-over deadline the entry process uses (R-FILE-5), as the seeds
/// set none of their own.
pub const PENALTY_DECISION_WORKDAYS: u32 = 5;
/// Repeated persuasion (多次动员) before a deadline notice: at least this many attempts.
pub const REPEATED_ATTEMPTS: usize = 2;
/// 三帮一: three people help one child.
pub const TEAM_SIZE: usize = 3;

/// The eight legal steps (依法控辍八种程序), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    EnrollmentNotice,
    Registration,
    DropoutConfirmed,
    Persuasion,
    Reported,
    ReturnUrged,
    Penalty,
    CourtEnforcement,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::EnrollmentNotice,
        Step::Registration,
        Step::DropoutConfirmed,
        Step::Persuasion,
        Step::Reported,
        Step::ReturnUrged,
        Step::Penalty,
        Step::CourtEnforcement,
    ];

    /// The name the synced `dropout_case.stage` field uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::EnrollmentNotice => "enrollment_notice",
            Step::Registration => "registration",
            Step::DropoutConfirmed => "dropout_confirmed",
            Step::Persuasion => "persuasion",
            Step::Reported => "reported",
            Step::ReturnUrged => "return_urged",
            Step::Penalty => "penalty",
            Step::CourtEnforcement => "court_enforcement",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A document in the child's file (`dropout_document`).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub kind: String,
    pub issued_on: NaiveDate,
    pub deadline_on: Option<NaiveDate>,
    pub issued_by: String,
    /// Photo records naming it.
    pub photos: u32,
}

/// A retrieval attempt (`retrieval_attempt`).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub id: String,
    pub at: NaiveDateTime,
    pub method: String,
    pub party: Option<String>,
    pub result: String,
    pub photos: u32,
}

/// A case with everything recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub child_id: String,
    pub region_path: String,
    /// The school's path, when the case names one: its teachers own the school's clocks.
    pub school_path: Option<String>,
    pub opened_at: NaiveDateTime,
    /// The stage the phones last said (`stage`), checked against the evidence.
    pub declared_stage: Option<String>,
    pub closed: bool,
    pub closed_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
    pub team: Vec<String>,
    pub studying_elsewhere: Map<String, Value>,
    pub has_student_status: Option<bool>,
    /// The case's documents and the child's own (a home-teaching agreement).
    pub documents: Vec<Document>,
    pub attempts: Vec<Attempt>,
}

/// Something a step or an outcome still lacks, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Missing {
    pub code: Code,
    pub message: String,
}

fn missing(code: Code, message: impl Into<String>) -> Missing {
    Missing {
        code,
        message: message.into(),
    }
}

/// One legal step: whether its evidence is complete, and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StepCheck {
    pub step: Step,
    /// Its own evidence is complete.
    pub evidenced: bool,
    /// Evidenced, and so is every step before it.
    pub done: bool,
    /// Ids of the documents and attempts it rests on.
    pub evidence: Vec<String>,
    pub missing: Vec<Missing>,
}

/// Whether the case is closed out, and whether the closing counts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CloseOut {
    Open,
    /// Closed with the evidence its outcome needs: counts as 销号.
    Confirmed {
        outcome: String,
    },
    /// Closed, but the evidence is not (yet) all there: shown, not counted.
    Unconfirmed {
        outcome: Option<String>,
        missing: Vec<Missing>,
    },
}

/// Something a person should look at; nothing is refused for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Finding {
    pub code: Code,
    pub message: String,
    /// The records concerned.
    pub records: Vec<String>,
}

/// The judgement of a case from its records.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Evaluation {
    pub steps: Vec<StepCheck>,
    /// The furthest step done (in order, with its evidence).
    pub verified_stage: Option<Step>,
    /// The first step not done: what to do next while the case is open.
    pub next_step: Option<Step>,
    pub close_out: CloseOut,
    pub findings: Vec<Finding>,
}

impl Case {
    fn docs<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Document> + 'a {
        self.documents.iter().filter(move |d| d.kind == kind)
    }

    /// The latest return deadline notice (a new notice replaces an earlier one), with its
    /// deadline: the date it sets, or a week after it was issued.
    pub fn deadline_notice(&self) -> Option<(&Document, NaiveDate)> {
        self.docs("return_deadline_notice")
            .max_by(|a, b| (a.issued_on, &a.id).cmp(&(b.issued_on, &b.id)))
            .map(|d| {
                let due = d
                    .deadline_on
                    .unwrap_or(d.issued_on + Duration::days(NOTICE_DAYS));
                (d, due)
            })
    }

    /// The first confirmation by the school that the child is back in class.
    pub fn return_confirmed_on(&self) -> Option<NaiveDate> {
        self.docs("return_confirmation")
            .filter(|d| d.issued_by == "school")
            .map(|d| d.issued_on)
            .min()
    }
}

fn ids<'a>(docs: impl Iterator<Item = &'a Document>) -> Vec<String> {
    docs.map(|d| d.id.clone()).collect()
}

fn check_step(c: &Case, step: Step) -> (Vec<String>, Vec<Missing>) {
    let doc_step = |kind: &str, by: Option<&str>, what: &str| {
        let found: Vec<&Document> = c
            .docs(kind)
            .filter(|d| by.is_none_or(|b| d.issued_by == b))
            .collect();
        if found.is_empty() {
            (
                Vec::new(),
                vec![missing(Code::DocumentMissing, format!("{what} ({kind})"))],
            )
        } else {
            (ids(found.into_iter()), Vec::new())
        }
    };
    match step {
        Step::EnrollmentNotice => doc_step("enrollment_notice", None, "enrollment notice"),
        Step::Registration => doc_step("registration", None, "registration record"),
        Step::DropoutConfirmed => doc_step(
            "dropout_confirmation",
            Some("school"),
            "the school's dropout confirmation",
        ),
        Step::Persuasion => {
            let mut gaps = Vec::new();
            let by = |p: &str| {
                c.attempts
                    .iter()
                    .filter(|a| a.party.as_deref() == Some(p))
                    .count()
            };
            if by("school") == 0 {
                gaps.push(missing(
                    Code::SchoolAttemptMissing,
                    "a persuasion attempt by the school",
                ));
            }
            if by("village") == 0 {
                gaps.push(missing(
                    Code::VillageAttemptMissing,
                    "a persuasion attempt by the village",
                ));
            }
            if c.team.len() < TEAM_SIZE {
                gaps.push(missing(
                    Code::TeamIncomplete,
                    format!(
                        "a retrieval team of {TEAM_SIZE} (三帮一); {} named",
                        c.team.len()
                    ),
                ));
            }
            for a in c
                .attempts
                .iter()
                .filter(|a| a.method == "home_visit" && a.photos == 0)
            {
                gaps.push(missing(
                    Code::AttemptPhotoMissing,
                    format!("a photo of home visit {}", a.id),
                ));
            }
            (c.attempts.iter().map(|a| a.id.clone()).collect(), gaps)
        }
        Step::Reported => doc_step("upward_report", None, "the report upward"),
        Step::ReturnUrged => {
            let mut gaps = Vec::new();
            if c.attempts.len() < REPEATED_ATTEMPTS {
                gaps.push(missing(
                    Code::RepeatedPersuasionMissing,
                    format!("at least {REPEATED_ATTEMPTS} persuasion attempts before the notice"),
                ));
            }
            match c.deadline_notice() {
                Some((d, _)) => (vec![d.id.clone()], gaps),
                None => {
                    gaps.push(missing(
                        Code::DocumentMissing,
                        "a return deadline notice (return_deadline_notice)",
                    ));
                    (Vec::new(), gaps)
                }
            }
        }
        Step::Penalty => {
            let decisions: Vec<&Document> = c
                .docs("penalty_decision")
                .filter(|d| d.issued_by == "township")
                .collect();
            let Some(first) = decisions.iter().map(|d| d.issued_on).min() else {
                return (
                    Vec::new(),
                    vec![missing(
                        Code::DocumentMissing,
                        "the township's penalty decision (penalty_decision)",
                    )],
                );
            };
            let mut gaps = Vec::new();
            match c.deadline_notice() {
                Some((_, due)) if first <= due => gaps.push(missing(
                    Code::PenaltyBeforeDeadline,
                    format!(
                        "the penalty decision ({first}) must follow the return deadline ({due})"
                    ),
                )),
                None => gaps.push(missing(
                    Code::DocumentMissing,
                    "a return deadline notice before the penalty",
                )),
                _ => {}
            }
            (ids(decisions.into_iter()), gaps)
        }
        Step::CourtEnforcement => {
            let penalty = c.docs("penalty_decision").map(|d| d.issued_on).min();
            let apps: Vec<&Document> = c.docs("court_application").collect();
            if apps.is_empty() {
                return (
                    Vec::new(),
                    vec![missing(
                        Code::DocumentMissing,
                        "the application to the court (court_application)",
                    )],
                );
            }
            let gaps = match penalty {
                Some(p) if apps.iter().all(|a| a.issued_on >= p) => Vec::new(),
                _ => vec![missing(
                    Code::CourtBeforePenalty,
                    "the court application must follow the penalty decision",
                )],
            };
            (ids(apps.into_iter()), gaps)
        }
    }
}

/// What an outcome needs before its closing counts (R-DROP-2, R-DROP-5).
pub fn outcome_missing(c: &Case, outcome: &str) -> Vec<Missing> {
    let has = |kind: &str| c.docs(kind).next().is_some();
    let need = |kind: &'static str, what: &str, gaps: &mut Vec<Missing>| {
        if !has(kind) {
            gaps.push(missing(Code::DocumentMissing, format!("{what} ({kind})")));
        }
    };
    let mut gaps = Vec::new();
    match outcome {
        "returned" => {
            if c.return_confirmed_on().is_none() {
                gaps.push(missing(
                    Code::ReturnUnconfirmed,
                    "the school's confirmation that the child is back in school (return_confirmation)",
                ));
            }
        }
        "studying_elsewhere" => {
            need(
                "elsewhere_proof",
                "proof of enrolment from the other school",
                &mut gaps,
            );
            for k in ["province", "city", "county", "school", "grade"] {
                let given = c
                    .studying_elsewhere
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty());
                if !given {
                    gaps.push(missing(
                        Code::ElsewhereDetailMissing,
                        format!("where the child studies: {k}"),
                    ));
                }
            }
        }
        "illness_deferral" | "illness_exemption" => {
            need(
                "guardian_application",
                "the guardian's written application",
                &mut gaps,
            );
            need(
                "county_approval",
                "the approval filed with the county education bureau",
                &mut gaps,
            );
        }
        "home_teaching" => {
            need(
                "home_teaching_agreement",
                "the home-teaching agreement signed with the parents",
                &mut gaps,
            );
            if c.has_student_status != Some(true) {
                gaps.push(missing(
                    Code::StudentStatusMissing,
                    "student status (学籍) registered",
                ));
            }
        }
        "whereabouts_unknown" => {
            need(
                "investigation_report",
                "the investigation report",
                &mut gaps,
            );
            need("letter_sent", "a letter sent to the family", &mut gaps);
            need(
                "upward_report",
                "the report upward, level by level",
                &mut gaps,
            );
            let photos: u32 = c.documents.iter().map(|d| d.photos).sum::<u32>()
                + c.attempts.iter().map(|a| a.photos).sum::<u32>();
            if photos == 0 {
                gaps.push(missing(
                    Code::PhotoMissing,
                    "photos supporting the investigation",
                ));
            }
        }
        other => gaps.push(missing(
            Code::UnknownOutcome,
            format!("no rule for outcome {other:?}"),
        )),
    }
    gaps
}

/// Judges a case from its records.
pub fn evaluate(c: &Case) -> Evaluation {
    let mut steps = Vec::with_capacity(Step::ALL.len());
    let mut all_before = true;
    for step in Step::ALL {
        let (mut evidence, mut missing) = check_step(c, step);
        // Stable output whatever order the records came in.
        evidence.sort();
        missing.sort_by(|a, b| (a.code, &a.message).cmp(&(b.code, &b.message)));
        let evidenced = missing.is_empty() && !evidence.is_empty();
        let done = all_before && evidenced;
        all_before = done;
        steps.push(StepCheck {
            step,
            evidenced,
            done,
            evidence,
            missing,
        });
    }
    let verified_stage = steps.iter().rev().find(|s| s.done).map(|s| s.step);
    let next_step = if c.closed {
        None
    } else {
        steps.iter().find(|s| !s.done).map(|s| s.step)
    };

    let close_out = if !c.closed {
        CloseOut::Open
    } else {
        match c.outcome.as_deref() {
            None => CloseOut::Unconfirmed {
                outcome: None,
                missing: vec![missing(
                    Code::OutcomeMissing,
                    "an outcome for the closed case",
                )],
            },
            Some(o) => {
                let gaps = outcome_missing(c, o);
                if gaps.is_empty() {
                    CloseOut::Confirmed {
                        outcome: o.to_owned(),
                    }
                } else {
                    CloseOut::Unconfirmed {
                        outcome: Some(o.to_owned()),
                        missing: gaps,
                    }
                }
            }
        }
    };

    let mut findings = Vec::new();
    if let Some(declared) = c.declared_stage.as_deref().and_then(Step::parse)
        && verified_stage.is_none_or(|v| declared > v)
    {
        findings.push(Finding {
            code: Code::StageAheadOfEvidence,
            message: format!(
                "the case says {}, the evidence supports {}",
                declared.as_str(),
                verified_stage.map_or("no step yet", Step::as_str)
            ),
            records: vec![c.id.clone()],
        });
    }
    if let Some(closed_at) = c.closed_at.filter(|_| c.closed) {
        let closed_on = china_date(closed_at);
        let mut late: Vec<String> = c
            .attempts
            .iter()
            .filter(|a| a.at > closed_at)
            .map(|a| a.id.clone())
            .chain(
                c.documents
                    .iter()
                    .filter(|d| d.issued_on > closed_on)
                    .map(|d| d.id.clone()),
            )
            .collect();
        late.sort();
        if !late.is_empty() {
            findings.push(Finding {
                code: Code::RecordedAfterClose,
                message: "records dated after the case was closed: kept and shown".into(),
                records: late,
            });
        }
    }
    if let CloseOut::Unconfirmed { .. } = close_out {
        findings.push(Finding {
            code: Code::ClosedWithoutEvidence,
            message: "the case is closed but its outcome lacks evidence: not counted as closed out"
                .into(),
            records: vec![c.id.clone()],
        });
    }
    Evaluation {
        steps,
        verified_stage,
        next_step,
        close_out,
        findings,
    }
}

/// The clocks a case runs (R-DROP-4): the guardian's week after a return deadline notice,
/// owned by the school (which reports a missed deadline to the township), and, once that
/// week has passed without the child back, the township's penalty decision.
pub fn clocks(c: &Case, now: NaiveDateTime, cal: &Calendar, township_path: &str) -> Vec<Clock> {
    let Some((notice, deadline)) = c.deadline_notice() else {
        return Vec::new();
    };
    let school_office = c
        .school_path
        .clone()
        .unwrap_or_else(|| c.region_path.clone());
    let returned = c.return_confirmed_on();
    let due = end_of_china_day(deadline);
    let met = returned.map(end_of_china_day);
    let mut out = vec![Clock {
        kind: "dropout_return_deadline",
        key: format!("dropout_return_deadline:{}", c.id),
        subject_entity: "dropout_case",
        subject_id: c.id.clone(),
        region_path: c.region_path.clone(),
        owner: Owner::Office {
            region_path: school_office,
        },
        starts_at: start_of_china_day(notice.issued_on),
        due_at: due,
        term: if notice.deadline_on.is_some() {
            Term::EndOfDay
        } else {
            Term::CalendarDays(NOTICE_DAYS)
        },
        met_at: met,
        params: json!({"notice_id": notice.id, "issued_on": notice.issued_on, "deadline_on": deadline, "child_id": c.child_id}),
    }];
    // Missed: the child was not confirmed back by the deadline.
    let missed = match returned {
        Some(r) => r > deadline,
        None => now > due,
    };
    let back_before_penalty = |penalty: Option<NaiveDate>| match (returned, penalty) {
        (Some(r), Some(p)) => r < p,
        (Some(_), None) => true,
        _ => false,
    };
    let penalty_on = c
        .docs("penalty_decision")
        .filter(|d| d.issued_by == "township" && d.issued_on > deadline)
        .map(|d| d.issued_on)
        .min();
    if missed && !back_before_penalty(penalty_on) {
        let starts = due + Duration::seconds(1);
        out.push(Clock {
            kind: "dropout_penalty_decision",
            key: format!("dropout_penalty_decision:{}", c.id),
            subject_entity: "dropout_case",
            subject_id: c.id.clone(),
            region_path: c.region_path.clone(),
            owner: Owner::Office {
                region_path: township_path.to_owned(),
            },
            starts_at: starts,
            due_at: Term::WorkingDays(PENALTY_DECISION_WORKDAYS).due(starts, cal),
            term: Term::WorkingDays(PENALTY_DECISION_WORKDAYS),
            met_at: penalty_on.map(end_of_china_day),
            params: json!({"deadline_on": deadline, "child_id": c.child_id}),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn at(s: &str) -> NaiveDateTime {
        start_of_china_day(d(s)) + Duration::hours(10)
    }

    fn doc(id: &str, kind: &str, on: &str, by: &str) -> Document {
        Document {
            id: id.into(),
            kind: kind.into(),
            issued_on: d(on),
            deadline_on: None,
            issued_by: by.into(),
            photos: 0,
        }
    }

    fn attempt(id: &str, on: &str, party: &str, method: &str, photos: u32) -> Attempt {
        Attempt {
            id: id.into(),
            at: at(on),
            method: method.into(),
            party: Some(party.into()),
            result: "refused".into(),
            photos,
        }
    }

    fn case() -> Case {
        Case {
            id: "case".into(),
            child_id: "child".into(),
            region_path: "/c/t/v/".into(),
            school_path: Some("/c/t/s/".into()),
            opened_at: at("2026-09-01"),
            declared_stage: Some("dropout_confirmed".into()),
            closed: false,
            closed_at: None,
            outcome: None,
            team: vec!["a".into(), "b".into(), "c".into()],
            studying_elsewhere: Map::new(),
            has_student_status: Some(true),
            documents: vec![
                doc("n1", "enrollment_notice", "2026-08-20", "school"),
                doc("r1", "registration", "2026-09-01", "school"),
                doc("c1", "dropout_confirmation", "2026-09-05", "school"),
            ],
            attempts: Vec::new(),
        }
    }

    fn stage(c: &Case) -> Option<Step> {
        evaluate(c).verified_stage
    }

    #[test]
    fn steps_follow_the_evidence_in_order() {
        let mut c = case();
        assert_eq!(stage(&c), Some(Step::DropoutConfirmed));
        assert_eq!(evaluate(&c).next_step, Some(Step::Persuasion));
        // Persuasion needs both sides of 双向劝学 and a photo of each home visit.
        c.attempts
            .push(attempt("a1", "2026-09-06", "school", "phone_call", 0));
        assert_eq!(stage(&c), Some(Step::DropoutConfirmed));
        c.attempts
            .push(attempt("a2", "2026-09-07", "village", "home_visit", 0));
        let ev = evaluate(&c);
        let persuasion = &ev.steps[3];
        assert_eq!(
            persuasion
                .missing
                .iter()
                .map(|m| m.code.as_str())
                .collect::<Vec<_>>(),
            ["attempt_photo_missing"]
        );
        c.attempts[1].photos = 1;
        assert_eq!(stage(&c), Some(Step::Persuasion));
        // A report upward and a deadline notice: the notice needs repeated persuasion (2).
        c.documents
            .push(doc("u1", "upward_report", "2026-09-08", "school"));
        c.documents
            .push(doc("dn", "return_deadline_notice", "2026-09-10", "school"));
        assert_eq!(stage(&c), Some(Step::ReturnUrged));
    }

    #[test]
    fn a_step_without_its_predecessors_is_evidenced_but_not_done() {
        let mut c = case();
        c.documents
            .push(doc("u1", "upward_report", "2026-09-08", "school"));
        let ev = evaluate(&c);
        assert!(ev.steps[4].evidenced && !ev.steps[4].done);
        assert_eq!(ev.verified_stage, Some(Step::DropoutConfirmed));
    }

    #[test]
    fn the_penalty_must_follow_the_week_after_the_notice() {
        let mut c = case();
        c.attempts
            .push(attempt("a1", "2026-09-06", "school", "phone_call", 0));
        c.attempts
            .push(attempt("a2", "2026-09-07", "village", "letter", 0));
        c.documents
            .push(doc("u1", "upward_report", "2026-09-08", "school"));
        c.documents
            .push(doc("dn", "return_deadline_notice", "2026-09-10", "school"));
        // Issued within the guardian's week: not a valid step.
        c.documents
            .push(doc("p1", "penalty_decision", "2026-09-15", "township"));
        let ev = evaluate(&c);
        assert_eq!(ev.steps[6].missing[0].code, Code::PenaltyBeforeDeadline);
        assert_eq!(ev.verified_stage, Some(Step::ReturnUrged));
        c.documents.pop();
        c.documents
            .push(doc("p2", "penalty_decision", "2026-09-18", "township"));
        c.documents
            .push(doc("ct", "court_application", "2026-10-08", "county"));
        assert_eq!(stage(&c), Some(Step::CourtEnforcement));
    }

    #[test]
    fn the_return_deadline_is_a_week_from_the_notice_date_and_escalates_to_the_township() {
        let cal = Calendar::default();
        let mut c = case();
        c.documents
            .push(doc("dn", "return_deadline_notice", "2026-11-16", "school"));
        // Before the deadline: one clock, owned by the school, due the 23rd (local).
        let before = clocks(&c, at("2026-11-20"), &cal, "/c/t/");
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].due_at, end_of_china_day(d("2026-11-23")));
        assert_eq!(
            before[0].owner,
            Owner::Office {
                region_path: "/c/t/s/".into()
            }
        );
        // A week later and not back: the township's penalty decision, 5 working days.
        let after = clocks(&c, at("2026-11-25"), &cal, "/c/t/");
        assert_eq!(after.len(), 2);
        assert_eq!(after[1].kind, "dropout_penalty_decision");
        assert_eq!(
            after[1].owner,
            Owner::Office {
                region_path: "/c/t/".into()
            }
        );
        // Reported on Tuesday the 24th: 25, 26, 27, 30 November and 1 December.
        assert_eq!(after[1].due_at, end_of_china_day(d("2026-12-01")));
        // Back on the deadline day: met on time, no penalty clock.
        c.documents
            .push(doc("rc", "return_confirmation", "2026-11-23", "school"));
        let back = clocks(&c, at("2026-11-25"), &cal, "/c/t/");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].met_at, Some(end_of_china_day(d("2026-11-23"))));
    }

    #[test]
    fn the_deadline_counts_from_the_notice_date_not_its_arrival() {
        let cal = Calendar::default();
        let mut c = case();
        let mut notice = doc("dn", "return_deadline_notice", "2026-11-02", "school");
        notice.deadline_on = Some(d("2026-11-06"));
        c.documents.push(notice);
        // However late "now" is when the notice reaches the server, the clock is the same.
        let early = clocks(&c, at("2026-11-03"), &cal, "/c/t/");
        let late = clocks(&c, at("2026-12-01"), &cal, "/c/t/");
        assert_eq!(early[0], late[0]);
        assert_eq!(late[0].due_at, end_of_china_day(d("2026-11-06")));
    }

    #[test]
    fn close_out_counts_only_when_the_child_is_confirmed_back() {
        let mut c = case();
        c.closed = true;
        c.closed_at = Some(at("2026-10-01"));
        c.outcome = Some("returned".into());
        let ev = evaluate(&c);
        assert!(
            matches!(ev.close_out, CloseOut::Unconfirmed { .. }),
            "{:?}",
            ev.close_out
        );
        assert!(
            ev.findings
                .iter()
                .any(|f| f.code == Code::ClosedWithoutEvidence)
        );
        assert_eq!(ev.next_step, None);
        c.documents
            .push(doc("rc", "return_confirmation", "2026-10-01", "school"));
        assert_eq!(
            evaluate(&c).close_out,
            CloseOut::Confirmed {
                outcome: "returned".into()
            }
        );
        // A village's word is not the school's confirmation.
        c.documents.pop();
        c.documents
            .push(doc("rv", "return_confirmation", "2026-10-01", "village"));
        assert!(matches!(
            evaluate(&c).close_out,
            CloseOut::Unconfirmed { .. }
        ));
    }

    #[test]
    fn every_other_outcome_has_its_evidence() {
        let c = case();
        let codes = |o: &str| {
            outcome_missing(&c, o)
                .iter()
                .map(|m| m.code.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes("studying_elsewhere").len(),
            6,
            "proof plus five details"
        );
        assert_eq!(
            codes("illness_deferral"),
            ["document_missing", "document_missing"]
        );
        assert_eq!(codes("home_teaching"), ["document_missing"]);
        assert_eq!(codes("whereabouts_unknown").len(), 4);
        let mut elsewhere = case();
        elsewhere
            .documents
            .push(doc("e", "elsewhere_proof", "2026-10-01", "other_school"));
        for (k, v) in [
            ("province", "广东省"),
            ("city", "东莞市"),
            ("county", "虎门镇"),
            ("school", "虎门三小"),
            ("grade", "五年级"),
        ] {
            elsewhere.studying_elsewhere.insert(k.into(), json!(v));
        }
        assert!(outcome_missing(&elsewhere, "studying_elsewhere").is_empty());
    }

    #[test]
    fn late_records_are_kept_and_shown() {
        let mut c = case();
        c.closed = true;
        c.closed_at = Some(at("2026-10-01"));
        c.outcome = Some("returned".into());
        c.documents
            .push(doc("rc", "return_confirmation", "2026-10-01", "school"));
        c.attempts
            .push(attempt("late", "2026-10-03", "village", "phone_call", 0));
        let ev = evaluate(&c);
        let f = ev
            .findings
            .iter()
            .find(|f| f.code == Code::RecordedAfterClose);
        assert_eq!(f.map(|f| f.records.clone()), Some(vec!["late".to_owned()]));
        assert_eq!(
            ev.close_out,
            CloseOut::Confirmed {
                outcome: "returned".into()
            }
        );
    }

    #[test]
    fn a_declared_stage_ahead_of_the_evidence_is_flagged() {
        let mut c = case();
        c.declared_stage = Some("penalty".into());
        assert!(
            evaluate(&c)
                .findings
                .iter()
                .any(|f| f.code == Code::StageAheadOfEvidence)
        );
        c.declared_stage = Some("registration".into());
        assert!(evaluate(&c).findings.is_empty());
    }

    #[test]
    fn the_judgement_does_not_depend_on_record_order() {
        let mut c = case();
        c.attempts = vec![
            attempt("a1", "2026-09-06", "school", "phone_call", 0),
            attempt("a2", "2026-09-07", "village", "home_visit", 1),
        ];
        c.documents
            .push(doc("u1", "upward_report", "2026-09-08", "school"));
        c.documents
            .push(doc("dn", "return_deadline_notice", "2026-09-10", "school"));
        c.documents
            .push(doc("dn2", "return_deadline_notice", "2026-09-20", "school"));
        let mut reversed = c.clone();
        reversed.attempts.reverse();
        reversed.documents.reverse();
        assert_eq!(evaluate(&c), evaluate(&reversed));
        let cal = Calendar::default();
        assert_eq!(
            clocks(&c, at("2026-10-01"), &cal, "/c/t/"),
            clocks(&reversed, at("2026-10-01"), &cal, "/c/t/")
        );
        assert_eq!(
            c.deadline_notice().map(|(n, _)| n.id.as_str()),
            Some("dn2"),
            "the later notice counts"
        );
    }
}
