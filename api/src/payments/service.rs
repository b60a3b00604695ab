//! Case files' use cases (payments, income, exit) and the calculations that store nothing:
//! one function each, owning its transaction, taking the caller and typed input, checking
//! it, and answering typed rows or the one error.

use bangfu_sync::Code;
use chrono::{Datelike, NaiveDate};

use crate::calendar::queries as calendar;
use crate::domain::caller::Caller;
use crate::domain::money;
use crate::domain::validate::Checks;
use crate::infra::clock::today;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::payments::aid::{self, AidKind, Decision, PaidThisYear, Proposal, Refusal, YearCap};
use crate::payments::case_files::{self, FileRow};
use crate::payments::classification::{self, AssessError, Assessment, Category, Finances};
use crate::payments::disbursements::{self, DisbursementRow, NewPayment};
use crate::payments::exit::{self, ExitStep};
use crate::regions::queries as regions;

/// A payment as the officer proposes it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub kind: AidKind,
    pub amount_fen: i64,
    /// `YYYY-MM`, `YYYY` or `YYYY-S1`/`YYYY-S2`.
    pub period: String,
    pub out_of_pocket_fen: i64,
    pub students: u32,
    pub hardship_costs_fen: i64,
    pub note: Option<String>,
    /// The household's finances as reassessed now, for multiple aid to a deep-difficulty
    /// file (R-FILE-4): this year's earlier aid is counted into the income.
    pub reassessment: Option<Finances>,
}

fn check_students(c: &mut Checks, students: u32) {
    c.rule(
        students <= 20,
        "students",
        Code::OutOfRange,
        Msg::fixed("学生人数最多 20 人。", "At most 20 students."),
    );
}

/// Pays aid against an active case file in the caller's scope: the year's caps (R-FILE-4),
/// the single-aid rule for relative difficulty and one payment per kind and period
/// (R-FILE-2), every amount within range first.
pub async fn pay(
    db: &Db,
    caller: &Caller,
    file_id: &str,
    p: Payment,
) -> Result<(DisbursementRow, Decision)> {
    let mut c = Checks::default();
    money::check(&mut c, "amount_fen", p.amount_fen, false);
    money::check(&mut c, "out_of_pocket_fen", p.out_of_pocket_fen, false);
    money::check(&mut c, "hardship_costs_fen", p.hardship_costs_fen, false);
    check_students(&mut c, p.students);
    if let Some(f) = &p.reassessment {
        check_finances(&mut c, f, "reassessment.");
    }
    c.finish()?;
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), file_id.to_owned());
    db.write(move |c| {
        disbursements::pay(
            c,
            &actor,
            &scope,
            &id,
            NewPayment {
                kind: p.kind,
                amount_fen: p.amount_fen,
                period: &p.period,
                out_of_pocket_fen: p.out_of_pocket_fen,
                students: p.students,
                hardship_costs_fen: p.hardship_costs_fen,
                note: p.note.as_deref(),
                reassessment: p.reassessment.as_ref(),
            },
        )
    })
    .await
}

/// Payments made on a case file, newest first (also through a grant naming its household).
pub async fn payments(db: &Db, caller: &Caller, file_id: &str) -> Result<Vec<DisbursementRow>> {
    let (scope, grants, id) = (
        caller.scope.clone(),
        caller.grants.clone(),
        file_id.to_owned(),
    );
    db.read(move |c| disbursements::list(c, &scope, &grants, &id))
        .await
}

/// One case file (also through a grant naming its household).
pub async fn file(db: &Db, caller: &Caller, file_id: &str) -> Result<FileRow> {
    let (scope, grants, id) = (
        caller.scope.clone(),
        caller.grants.clone(),
        file_id.to_owned(),
    );
    db.read(move |c| case_files::find_reading(c, &scope, &grants, &id))
        .await
}

/// One case file of a household, its payments and this year's totals against its caps.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub file: FileRow,
    /// Newest first.
    pub payments: Vec<DisbursementRow>,
    /// Each cap of the file's category with what was paid toward it this year.
    pub caps: Vec<(YearCap, i64)>,
}

/// A household's case files as an office reads them: the classification of its recorded
/// finances with its reasons, and each file's payments against the year's caps.
#[derive(Debug, Clone)]
pub struct HouseholdFiles {
    pub year: i32,
    /// The local dibao standard in force, fen per person per month (0: none set).
    pub dibao_fen: i64,
    /// The classification of this year's recorded income and expenses (R-FILE-3), when
    /// the household has members and its region a dibao standard.
    pub assessment: Option<Assessment>,
    pub files: Vec<FileSummary>,
}

/// The case files of a household the caller reads (404 otherwise, as the household), with
/// payments and this year's totals against the caps (R-FILE-4), and the classification of
/// the household's recorded finances with its reasons (R-FILE-3).
pub async fn household_files(
    db: &Db,
    caller: &Caller,
    household_id: &str,
) -> Result<HouseholdFiles> {
    let h = crate::households::service::get(db, caller, household_id, None).await?;
    let year = today().year();
    let (scope, grants) = (caller.scope.clone(), caller.grants.clone());
    let (id, region_id) = (h.row.id.clone(), h.row.region_id.clone());
    let (dibao, files) = db
        .read(move |c| {
            let region = regions::find(c, None, &region_id)?;
            let dibao = regions::view(c, region)?.effective_dibao_fen.unwrap_or(0);
            let mut files = Vec::new();
            for f in case_files::of_household(c, &scope, &grants, &id)? {
                let payments = disbursements::list(c, &scope, &grants, &f.id)?;
                files.push((f, payments));
            }
            Ok((dibao, files))
        })
        .await?;
    let members = u32::try_from(h.members.len()).unwrap_or(u32::MAX);
    let finances = classification::finances_of(
        members,
        h.items
            .iter()
            .filter(|i| i.year == year)
            .map(|i| (i.category.as_str(), i.amount_fen)),
    );
    let assessment = classification::assess(&finances, dibao, None).ok();
    let files = files
        .into_iter()
        .map(|(file, payments)| {
            let caps = match file.category.as_str() {
                "deep" => Some(Category::Deep),
                "relative" => Some(Category::Relative),
                "accidental" => Some(Category::Accidental),
                _ => None,
            }
            .map(|c| aid::yearly_caps(c, dibao))
            .unwrap_or_default()
            .into_iter()
            .map(|cap| {
                let paid = money::total(
                    payments
                        .iter()
                        .filter(|p| p.year == year)
                        .filter(|p| cap.kind.is_none_or(|k| kind_name(k) == p.kind))
                        .map(|p| p.amount_fen),
                );
                (cap, paid)
            })
            .collect();
            FileSummary {
                file,
                payments,
                caps,
            }
        })
        .collect();
    Ok(HouseholdFiles {
        year,
        dibao_fen: dibao,
        assessment,
        files,
    })
}

/// The name payments store an aid kind under.
fn kind_name(k: AidKind) -> &'static str {
    match k {
        AidKind::Living => "living",
        AidKind::Medical => "medical",
        AidKind::Education => "education",
    }
}

/// Records (or corrects) a month's per-capita income for a case file (R-FILE-6).
pub async fn record_income(
    db: &Db,
    caller: &Caller,
    file_id: &str,
    month: &str,
    per_capita_fen: i64,
) -> Result<()> {
    let mut checks = Checks::default();
    money::check(&mut checks, "per_capita_fen", per_capita_fen, true);
    checks.finish()?;
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), file_id.to_owned());
    let month = month.to_owned();
    db.write(move |c| case_files::record_income(c, &actor, &scope, &id, &month, per_capita_fen))
        .await
}

/// Active files in the caller's scope whose household stayed above the dibao for 6
/// consecutive recorded months up to `through` (`YYYY-MM`; none: last month), with the
/// dibao compared with: candidates for exit (R-FILE-6). Answers the month used.
pub async fn exit_candidates(
    db: &Db,
    caller: &Caller,
    through: Option<&str>,
) -> Result<(NaiveDate, Vec<(FileRow, i64)>)> {
    let through = match through {
        Some(m) => exit::parse_month(m).ok_or_else(|| {
            Error::validation(
                "through",
                Code::InvalidFormat,
                Msg::fixed("月份格式为 YYYY-MM。", "through is YYYY-MM."),
            )
        })?,
        None => {
            let t = today();
            exit::parse_month(&t.format("%Y-%m").to_string()).unwrap_or(t) - chrono::Months::new(1)
        }
    };
    let scope = caller.scope.clone();
    let found = db
        .read(move |c| case_files::exit_candidates(c, &scope, through))
        .await?;
    Ok((through, found))
}

/// A step of the exit process or a return to difficulty (R-FILE-6), audited, by the
/// calendar's working days.
pub async fn exit_step(
    db: &Db,
    caller: &Caller,
    file_id: &str,
    step: ExitStep,
    reason: &str,
) -> Result<FileRow> {
    let (actor, role, scope, id) = (
        caller.actor(),
        caller.role,
        caller.scope.clone(),
        file_id.to_owned(),
    );
    let reason = reason.to_owned();
    db.write(move |c| {
        let cal = calendar::load(c)?;
        case_files::exit_step(
            c,
            &actor,
            role,
            &scope,
            &id,
            step,
            Some(&reason),
            &cal,
            today(),
        )
    })
    .await
}

/// A household's finances as given for a calculation, with its region.
#[derive(Debug, Clone)]
pub struct HouseholdFinances {
    /// The household's region: its dibao standard applies.
    pub region_id: String,
    pub finances: Finances,
    /// The city's accidental-difficulty threshold, if it set one.
    pub city_accidental_threshold_fen: Option<i64>,
}

impl HouseholdFinances {
    /// Every amount within range (see `domain::money`), each error naming its field.
    fn check(&self, c: &mut Checks, prefix: &str) {
        check_finances(c, &self.finances, prefix);
        if let Some(t) = self.city_accidental_threshold_fen {
            money::check(
                c,
                &format!("{prefix}city_accidental_threshold_fen"),
                t,
                false,
            );
        }
    }
}

/// Every amount of a household's finances within range, and 1 to 100 members.
fn check_finances(c: &mut Checks, f: &Finances, prefix: &str) {
    for (name, fen) in [
        ("annual_income_fen", f.annual_income_fen),
        ("illness_fen", f.illness_fen),
        ("disability_fen", f.disability_fen),
        ("schooling_fen", f.schooling_fen),
        ("employment_costs_fen", f.employment_costs_fen),
        ("hardship_costs_fen", f.hardship_costs_fen),
    ] {
        money::check(c, &format!("{prefix}{name}"), fen, false);
    }
    c.rule(
        (1..=100).contains(&f.members),
        &format!("{prefix}members"),
        Code::OutOfRange,
        Msg::fixed(
            "家庭人口须在 1 到 100 人之间。",
            "A household has 1 to 100 members.",
        ),
    );
}

fn assess_error(e: AssessError) -> Error {
    let (field, text) = match e {
        AssessError::NoMembers => (
            "members",
            Msg::fixed(
                "家庭人口须至少 1 人。",
                "A household has at least one member.",
            ),
        ),
        AssessError::NegativeAmount => (
            "annual_income_fen",
            Msg::fixed("金额不能为负数。", "Amounts cannot be negative."),
        ),
        AssessError::NoDibao => (
            "region_id",
            Msg::fixed(
                "该区域尚未设定低保标准。",
                "No dibao standard is set for this region.",
            ),
        ),
        AssessError::ThresholdOutOfBand => (
            "city_accidental_threshold_fen",
            Msg::fixed(
                "市级意外致困标准须在 3 万元上下 20% 以内。",
                "The city threshold must lie within 30,000 yuan ± 20 %.",
            ),
        ),
    };
    Error::validation(field, Code::InvalidValue, text)
}

/// The effective dibao standard of a region in the caller's scope (0: none set).
async fn dibao_of(db: &Db, caller: &Caller, region_id: &str) -> Result<i64> {
    let (scope, id) = (caller.scope.clone(), region_id.to_owned());
    let view = db.read(move |c| regions::find_view(c, &scope, &id)).await?;
    Ok(view.effective_dibao_fen.unwrap_or(0))
}

/// Classifies a household (deep, relative or accidental difficulty, R-FILE-3) from its
/// finances and its region's dibao standard, answered with that standard. Stores nothing.
pub async fn assess(db: &Db, caller: &Caller, h: HouseholdFinances) -> Result<(Assessment, i64)> {
    let mut c = Checks::default();
    h.check(&mut c, "");
    c.finish()?;
    let dibao = dibao_of(db, caller, &h.region_id).await?;
    let a = classification::assess(&h.finances, dibao, h.city_accidental_threshold_fen)
        .map_err(assess_error)?;
    Ok((a, dibao))
}

/// A proposed aid payment to check.
#[derive(Debug, Clone)]
pub struct AidCheck {
    pub household: HouseholdFinances,
    pub proposal: Proposal,
    /// Aid already paid to the file this year, in the order given.
    pub paid_this_year: Vec<(AidKind, i64)>,
}

/// Checks a proposed aid payment against the standards and caps (R-FILE-4), counting this
/// year's earlier payments: the decision, or every rule it breaks. Stores nothing.
pub async fn check_aid(
    db: &Db,
    caller: &Caller,
    a: AidCheck,
) -> Result<std::result::Result<Decision, Refusal>> {
    let mut c = Checks::default();
    a.household.check(&mut c, "household.");
    money::check(&mut c, "amount_fen", a.proposal.amount_fen, false);
    money::check(
        &mut c,
        "out_of_pocket_fen",
        a.proposal.out_of_pocket_fen,
        false,
    );
    for (i, (_, fen)) in a.paid_this_year.iter().enumerate() {
        money::check(
            &mut c,
            &format!("paid_this_year[{i}].amount_fen"),
            *fen,
            false,
        );
    }
    check_students(&mut c, a.proposal.students);
    c.finish()?;
    let dibao = dibao_of(db, caller, &a.household.region_id).await?;
    if dibao <= 0 {
        return Err(assess_error(AssessError::NoDibao));
    }
    let paid = PaidThisYear {
        payments: a.paid_this_year,
    };
    Ok(aid::check(
        &a.proposal,
        dibao,
        &paid,
        a.household.finances.hardship_costs_fen,
        Some((&a.household.finances, dibao)),
    ))
}
