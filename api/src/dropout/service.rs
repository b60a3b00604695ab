//! Dropout control's use cases: one function each, owning its transactions, taking the
//! caller and typed input, and answering typed rows or the error.

use std::sync::{Arc, Mutex};

use bangfu_sync::{Clock, Code};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

use crate::calendar::queries as calendar;
use crate::deadlines::queries::DeadlineRow;
use crate::deadlines::read_model::{self, Current};
use crate::deadlines::{derive, facts, queries as deadlines};
use crate::domain::access;
use crate::domain::access::{Scope, Subject, Via};
use crate::domain::calendar::Calendar;
use crate::domain::caller::Caller;
use crate::domain::role::Role;
use crate::dropout::home_teaching::Month;
use crate::dropout::rules::{Evaluation, Step, StepCheck};
use crate::dropout::{home_teaching, rules as dropout};
use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::records::store as records;
use crate::records::typed::{self, Child};
use crate::sync::push;
use crate::sync::push::Pusher;

/// A case judged from its records, with its clocks and what renders them.
#[derive(Debug)]
pub struct Judged {
    pub case: dropout::Case,
    /// The child's name, as the registry holds it.
    pub child_name: String,
    pub evaluation: Evaluation,
    /// The case's clocks (the return deadline, the penalty decision).
    pub deadlines: Vec<DeadlineRow>,
    pub calendar: Calendar,
    /// When the clocks were read.
    pub now: NaiveDateTime,
}

/// The case if the caller reaches it (by region, or through the school), and how.
fn reachable_case(
    conn: &mut DbConn,
    model: Current,
    caller: &Caller,
    id: &str,
) -> Result<(dropout::Case, Via)> {
    let row = records::load(conn, "dropout_case", &[id.to_owned()])?
        .pop()
        .ok_or(Error::NotFound)?;
    if row.deleted {
        return Err(Error::NotFound);
    }
    let through_school = !row.reach_path.is_empty() && caller.scope.contains(&row.reach_path);
    let (mut cases, _) = derive::load_cases(conn, model, &[row.id])?;
    let case = cases.pop().ok_or(Error::NotFound)?;
    let via = if through_school {
        Some(Via::Standing)
    } else {
        access::reach(
            &caller.scope,
            &caller.grants,
            &row.region_path,
            &[(Subject::DropoutCase, id), (Subject::Child, &case.child_id)],
        )
    };
    via.map(|v| (case, v)).ok_or(Error::NotFound)
}

/// The judgement and clocks of a case the caller was found to reach.
fn judge(conn: &mut DbConn, model: Current, case: dropout::Case) -> Result<Judged> {
    let evaluation = dropout::evaluate(&case);
    let f = deadlines::Filter {
        subject_entity: Some("dropout_case".into()),
        subject_id: Some(case.id.clone()),
        ..Default::default()
    };
    let rows = deadlines::list(
        conn,
        model,
        &Scope::new(vec![case.region_path.clone()]),
        &f,
        None,
        50,
    )?;
    let calendar = calendar::load(conn)?;
    let now = crate::infra::clock::now();
    let child_name = typed::load::<Child>(conn, std::slice::from_ref(&case.child_id))?
        .pop()
        .and_then(|(_, c)| c.name)
        .unwrap_or_default();
    Ok(Judged {
        child_name,
        case,
        evaluation,
        deadlines: rows,
        calendar,
        now,
    })
}

/// A dropout case the caller reaches (by region, through the school, or by a grant),
/// judged from its records against the eight legal steps, with its clocks (brought up to
/// date first).
pub async fn evaluate(db: &Db, caller: &Caller, id: &str) -> Result<Judged> {
    let (caller, id) = (caller.clone(), id.to_owned());
    read_model::read(db, move |c, model| {
        let (case, _) = reachable_case(c, model, &caller, &id)?;
        judge(c, model, case)
    })
    .await
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// `true`: the open ones; `false`: the closed ones; none: both.
    pub open: Option<bool>,
    pub after_id: Option<String>,
}

/// The dropout cases of the caller's jurisdiction (their region, or their school, in the
/// caller's scope), by id, `limit` at most, each judged against the eight legal steps with
/// its clocks (brought up to date first), as [`evaluate`] judges one.
pub async fn cases(db: &Db, caller: &Caller, f: CaseFilter, limit: i64) -> Result<Vec<Judged>> {
    let scope = caller.scope.clone();
    read_model::read(db, move |c, model| {
        let ids = facts::cases_in(c, model, &scope, f.open, f.after_id.as_deref(), limit)?;
        let (mut loaded, _) = derive::load_cases(c, model, &ids)?;
        loaded.sort_by(|a, b| a.id.cmp(&b.id));
        loaded
            .into_iter()
            .map(|case| judge(c, model, case))
            .collect()
    })
    .await
}

/// A document of a case, as the office that issued it records it.
#[derive(Debug, Clone)]
pub struct Paper {
    /// One of the document kinds of `dropout_document`.
    pub kind: String,
    pub issued_on: NaiveDate,
    /// A return deadline notice: the day the child must be back.
    pub deadline_on: Option<NaiveDate>,
    pub issued_by: String,
    pub document_no: Option<String>,
    pub notes: Option<String>,
}

/// The legal step a document is the paper of.
fn step_of(kind: &str) -> Option<Step> {
    Some(match kind {
        "enrollment_notice" => Step::EnrollmentNotice,
        "registration" => Step::Registration,
        "dropout_confirmation" => Step::DropoutConfirmed,
        "upward_report" => Step::Reported,
        "return_deadline_notice" => Step::ReturnUrged,
        "penalty_decision" => Step::Penalty,
        "court_application" => Step::CourtEnforcement,
        _ => return None,
    })
}

/// Who may issue what: the township decides penalties, the county approves deferrals and
/// exemptions; a school's staff confirm a return.
fn may_issue(role: Role, issued_by: &str) -> bool {
    match issued_by {
        "township" => role == Role::TownshipOfficer,
        "county" => role == Role::CountyOfficer,
        "court" => matches!(role, Role::TownshipOfficer | Role::CountyOfficer),
        _ => role != Role::Auditor,
    }
}

fn problems(missing: &[dropout::Missing], field: &str) -> Error {
    Error::Validation(
        missing
            .iter()
            .map(|m| {
                FieldError::new(
                    field,
                    m.code,
                    Msg::new(m.message.clone(), m.message.clone()),
                )
            })
            .collect(),
    )
}

/// Records a document of a case online, as the office that issues it (403
/// `not_the_issuer` otherwise). A legal step's paper is accepted only when every step
/// before it is done (`step_out_of_order`) and its own evidence holds, every lack listed at
/// once. A grant reads, never writes. The document is a server change, so it syncs to the
/// phones; the case is judged again once the clocks caught up.
pub async fn record_document(
    db: &Db,
    clock: &Arc<Mutex<Clock>>,
    key: &DataKey,
    caller: &Caller,
    id: &str,
    paper: Paper,
) -> Result<Judged> {
    if !bangfu_sync::schema::DROPOUT_DOCUMENT_KINDS.contains(&paper.kind.as_str()) {
        return Err(Error::validation(
            "kind",
            Code::InvalidValue,
            Msg::fixed("未知的文书种类。", "Unknown kind of document."),
        ));
    }
    if !may_issue(caller.role, &paper.issued_by) {
        return Err(Error::Forbidden {
            code: Code::NotTheIssuer,
            detail: Msg::fixed(
                "该文书须由签发机关（乡镇或县）的工作人员登记。",
                "This document is recorded by staff of the body that issues it (township, county).",
            ),
        });
    }
    let caller = caller.clone();
    let (clock, key, id) = (clock.clone(), key.clone(), id.to_owned());
    let b = paper;
    let recorded = read_model::write(db, move |c, model| {
        // Recording a paper is a change: a grant reads, it never writes.
        let case = match reachable_case(c, model, &caller, &id)? {
            (case, Via::Standing) => case,
            (_, Via::Grant) => return Err(Error::NotFound),
        };
        let doc_id = crate::infra::db::new_id();
        let mut candidate = case.clone();
        candidate.documents.push(dropout::Document {
            id: doc_id.clone(),
            kind: b.kind.clone(),
            issued_on: b.issued_on,
            deadline_on: b.deadline_on,
            issued_by: b.issued_by.clone(),
            photos: 0,
        });
        if let Some(step) = step_of(&b.kind) {
            let now_ev = dropout::evaluate(&case);
            let before: Vec<&StepCheck> = now_ev.steps.iter().filter(|s| s.step < step).collect();
            if let Some(undone) = before.iter().find(|s| !s.done) {
                return Err(Error::Unprocessable {
                    code: Code::StepOutOfOrder,
                    detail: Msg::new(
                        format!("须先完成“{}”这一步。", undone.step.as_str()),
                        format!("The step {} must be done first.", undone.step.as_str()),
                    ),
                });
            }
            let after = dropout::evaluate(&candidate);
            if let Some(check) = after.steps.iter().find(|s| s.step == step)
                && !check.missing.is_empty()
            {
                return Err(problems(&check.missing, "issued_on"));
            }
        }
        let mut fields = Map::new();
        let school = records::load(c, "dropout_case", std::slice::from_ref(&case.id))?
            .pop()
            .and_then(|r| serde_json::from_str::<Value>(&r.data).ok())
            .and_then(|d| d.get("school_id").cloned());
        let region_id = case
            .region_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        for (k, v) in [
            ("region_id", json!(region_id)),
            ("child_id", json!(case.child_id)),
            ("case_id", json!(case.id)),
            ("kind", json!(b.kind)),
            ("issued_on", json!(b.issued_on)),
            ("issued_by", json!(b.issued_by)),
            ("by_user_id", json!(caller.user_id)),
        ] {
            fields.insert(k.into(), v);
        }
        if let Some(s) = school.filter(|s| !s.is_null()) {
            fields.insert("school_id".into(), s);
        }
        for (k, v) in [
            ("deadline_on", b.deadline_on.map(|d| json!(d))),
            ("document_no", b.document_no.map(|s| json!(s))),
            ("notes", b.notes.map(|s| json!(s))),
        ] {
            if let Some(v) = v {
                fields.insert(k.into(), v);
            }
        }
        let who = Pusher::online(&caller);
        let m = push::server_mutation(&clock, "dropout_document", &doc_id, 0, fields)?;
        push::apply_one(c, &who, &clock, &key, m)?;
        Ok(candidate)
    })
    .await?;
    read_model::read(db, move |c, model| judge(c, model, recorded)).await
}

/// One child's month of home teaching.
#[derive(Debug, Clone)]
pub struct ChildMonth {
    pub child_id: String,
    pub name: String,
    pub month: Month,
}

/// A month of home teaching across the caller's scope.
#[derive(Debug, Clone)]
pub struct Compliance {
    /// `YYYY-MM`.
    pub month: String,
    /// Children taught at home.
    pub children: usize,
    /// Of them, those who met the rule.
    pub compliant: usize,
    /// By child id; only those short of the rule when asked so.
    pub items: Vec<ChildMonth>,
}

/// Home teaching (R-DROP-7) for the month `month` (`YYYY-MM`; none: this month): every
/// child taught at home in the caller's scope, their month judged (2 qualifying sessions),
/// with `short_only` just the children short of it.
pub async fn home_teaching(
    db: &Db,
    caller: &Caller,
    month: Option<&str>,
    short_only: bool,
) -> Result<Compliance> {
    let first = match month {
        None => crate::infra::clock::today().with_day(1).unwrap_or_default(),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
            Error::validation(
                "month",
                Code::InvalidFormat,
                Msg::fixed("month 格式为 YYYY-MM。", "month is YYYY-MM."),
            )
        })?,
    };
    let scope = caller.scope.clone();
    read_model::read(db, move |c, model| {
        let ids = facts::taught_at_home(c, model, &scope)?;
        let children = derive::load_home_teaching(c, model, &ids)?;
        let mut items: Vec<ChildMonth> = children
            .iter()
            .map(|ch| ChildMonth {
                child_id: ch.id.clone(),
                name: ch.name.clone(),
                month: home_teaching::month(ch, first),
            })
            .collect();
        items.sort_by(|a, b| a.child_id.cmp(&b.child_id));
        let compliant = items.iter().filter(|i| i.month.compliant).count();
        let total = items.len();
        if short_only {
            items.retain(|i| !i.month.compliant);
        }
        Ok(Compliance {
            month: format!("{:04}-{:02}", first.year(), first.month()),
            children: total,
            compliant,
            items,
        })
    })
    .await
}
