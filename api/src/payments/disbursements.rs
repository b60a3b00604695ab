//! Aid payments against a case file (R-FILE-1, R-FILE-4). The rules are checked in code
//! with the reasons given; the database holds the line as well: payments of one file are
//! serialised by a lock on the file's row, a period is paid once per kind (unique), and a
//! year's total per kind cannot pass the cap stored beside it (CHECK), so two officers
//! paying at the same moment cannot both succeed.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::infra::clock::now;
use crate::infra::db::schema::{aid_totals, case_files as case_files_t, disbursements};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::payments::aid::{AidKind, Decision, PaidThisYear, Proposal};
use crate::payments::classification::{Category, Finances};
use crate::payments::{aid, case_files};
use crate::regions::queries as regions;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = disbursements)]
pub struct DisbursementRow {
    pub id: String,
    pub file_id: String,
    pub kind: String,
    pub year: i32,
    pub period: String,
    pub amount_fen: i64,
    pub approval: String,
    pub note: Option<String>,
    pub region_path: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    /// The last day (local) a payment for its period is on time.
    pub due_on: Option<String>,
    /// Made by the end of that day.
    pub on_time: bool,
}

/// A payment as proposed by an officer.
pub struct NewPayment<'a> {
    pub kind: AidKind,
    pub amount_fen: i64,
    /// `YYYY-MM` for monthly living aid, `YYYY` or `YYYY-Sn` (term) for others: the period
    /// the payment covers, paid once per kind.
    pub period: &'a str,
    pub out_of_pocket_fen: i64,
    pub students: u32,
    pub hardship_costs_fen: i64,
    pub note: Option<&'a str>,
    /// The household's finances as reassessed for multiple aid to a deep-difficulty file.
    pub reassessment: Option<&'a Finances>,
}

fn kind_str(k: AidKind) -> &'static str {
    match k {
        AidKind::Living => "living",
        AidKind::Medical => "medical",
        AidKind::Education => "education",
    }
}

fn kind_of(s: &str) -> Result<AidKind> {
    match s {
        "living" => Ok(AidKind::Living),
        "medical" => Ok(AidKind::Medical),
        "education" => Ok(AidKind::Education),
        other => Err(Error::Internal(format!("unknown aid kind {other:?}"))),
    }
}

fn category_of(s: &str) -> Result<Category> {
    match s {
        "deep" => Ok(Category::Deep),
        "relative" => Ok(Category::Relative),
        "accidental" => Ok(Category::Accidental),
        other => Err(Error::Internal(format!("unknown category {other:?}"))),
    }
}

/// The year a period belongs to: `2026`, `2026-11`, `2026-S1`.
pub fn period_year(period: &str) -> Option<i32> {
    let (y, rest) = period.split_at_checked(4)?;
    let year: i32 = y.parse().ok()?;
    let ok = match rest {
        "" => true,
        r if r.starts_with("-S") => matches!(&r[2..], "1" | "2"),
        r if r.starts_with('-') => {
            r[1..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)) && r.len() == 3
        }
        _ => false,
    };
    (ok && (2000..=2100).contains(&year)).then_some(year)
}

/// The last day of a period (`2026` → 31 December, `2026-02` → 28 February, `2026-S1` →
/// 30 June): a payment made by then is on time.
pub fn period_end(period: &str) -> Option<chrono::NaiveDate> {
    let year = period_year(period)?;
    let ymd = |m, d| chrono::NaiveDate::from_ymd_opt(year, m, d);
    match period.get(4..) {
        Some("") | Some("-S2") => ymd(12, 31),
        Some("-S1") => ymd(6, 30),
        Some(m) => ymd(m.get(1..)?.parse().ok()?, 1).map(crate::domain::deadline::month_end),
        None => None,
    }
}

/// The key of the yearly total a payment counts toward: accidental aid has one cap for all
/// kinds together.
fn total_key(category: Category, kind: AidKind) -> &'static str {
    if category == Category::Accidental {
        "all"
    } else {
        kind_str(kind)
    }
}

/// Records a payment if the rules allow it; otherwise every violation in one answer.
pub fn pay(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    file_id: &str,
    p: NewPayment<'_>,
) -> Result<(DisbursementRow, Decision)> {
    let Some(year) = period_year(p.period) else {
        return Err(Error::validation(
            "period",
            Code::InvalidFormat,
            Msg::fixed(
                "期间格式为 YYYY、YYYY-MM 或 YYYY-S1/S2。",
                "period is YYYY, YYYY-MM or YYYY-S1/S2.",
            ),
        ));
    };
    // Payments to one file wait for each other here (the row lock lasts until commit).
    let locked = diesel::update(
        case_files_t::table
            .find(file_id)
            .filter(path_in_scope(case_files_t::region_path, scope)),
    )
    .set(case_files_t::updated_at.eq(now()))
    .execute(conn)?;
    if locked == 0 {
        return Err(Error::NotFound);
    }
    let file = case_files::find(conn, scope, file_id)?;
    if file.status != "active" {
        return Err(Error::Conflict {
            code: Code::FileNotActive,
            detail: Msg::fixed(
                "档案已退出，不能发放。",
                "The file has exited; nothing is paid on it.",
            ),
        });
    }
    let category = category_of(&file.category)?;
    let paid = PaidThisYear {
        payments: disbursements::table
            .filter(disbursements::file_id.eq(file_id))
            .filter(disbursements::year.eq(year))
            .select((disbursements::kind, disbursements::amount_fen))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .map(|(k, a)| Ok((kind_of(&k)?, a)))
            .collect::<Result<_>>()?,
    };
    let region_id: String = crate::infra::db::schema::households::table
        .find(&file.household_id)
        .select(crate::infra::db::schema::households::region_id)
        .first(conn)?;
    let region = regions::find(conn, None, &region_id)?;
    let dibao = regions::view(conn, region)?
        .effective_dibao_fen
        .unwrap_or(0);
    let proposal = Proposal {
        category,
        kind: p.kind,
        amount_fen: p.amount_fen,
        out_of_pocket_fen: p.out_of_pocket_fen,
        students: p.students,
    };
    let reassess = p.reassessment.map(|f| (f, dibao));
    let decision =
        aid::check(&proposal, dibao, &paid, p.hardship_costs_fen, reassess).map_err(|refusal| {
            Error::Validation(
                refusal
                    .violations
                    .into_iter()
                    .map(|v| {
                        let field = if v.code == Code::ReassessmentRequired {
                            "reassessment"
                        } else {
                            "amount_fen"
                        };
                        FieldError::new(field, v.code, v.text)
                    })
                    .collect(),
            )
        })?;
    let key = total_key(category, p.kind);
    let so_far: i64 = paid
        .payments
        .iter()
        .filter(|(k, _)| key == "all" || *k == p.kind)
        .map(|(_, a)| a)
        .sum();
    // The database holds the year's total to what the code allowed: what it counted as
    // paid plus this payment's maximum. A payment the code did not see makes the total
    // pass it, and the CHECK refuses the write.
    let cap = so_far + decision.max_fen;
    let existing: Option<i64> = aid_totals::table
        .find((file_id, key, year))
        .select(aid_totals::total_fen)
        .first(conn)
        .optional()?;
    match existing {
        None => {
            diesel::insert_into(aid_totals::table)
                .values((
                    aid_totals::file_id.eq(file_id),
                    aid_totals::kind.eq(key),
                    aid_totals::year.eq(year),
                    aid_totals::total_fen.eq(p.amount_fen),
                    aid_totals::cap_fen.eq(cap),
                ))
                .execute(conn)
                .map_err(over_cap)?;
        }
        Some(_) => {
            diesel::update(aid_totals::table.find((file_id, key, year)))
                .set((
                    aid_totals::total_fen.eq(aid_totals::total_fen + p.amount_fen),
                    aid_totals::cap_fen.eq(cap),
                ))
                .execute(conn)
                .map_err(over_cap)?;
        }
    }
    let row = DisbursementRow {
        id: new_id(),
        file_id: file_id.to_owned(),
        kind: kind_str(p.kind).to_owned(),
        year,
        period: p.period.to_owned(),
        amount_fen: p.amount_fen,
        approval: serde_json::to_value(decision.approval)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        note: p.note.map(str::to_owned),
        region_path: file.region_path.clone(),
        created_by: actor.user_id.clone(),
        created_at: now(),
        due_on: period_end(p.period).map(|d| d.to_string()),
        on_time: period_end(p.period)
            .is_some_and(|d| now() <= crate::domain::deadline::end_of_china_day(d)),
    };
    diesel::insert_into(disbursements::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => Error::Conflict {
                code: Code::AlreadyPaid,
                detail: Msg::new(
                    format!("该档案 {} 期间的此类救助已发放。", row.period),
                    format!(
                        "This kind of aid was already paid for {} on this file.",
                        row.period
                    ),
                ),
            },
            other => other,
        })?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "disbursement",
            entity_id: &row.id,
            region_path: &row.region_path,
            changes: json!({"file_id": {"after": file_id}, "kind": {"after": row.kind},
            "period": {"after": row.period}, "amount_fen": {"after": row.amount_fen},
            "reassessment": {"after": p.reassessment.map(|f| json!({
                "members": f.members, "annual_income_fen": f.annual_income_fen,
                "illness_fen": f.illness_fen, "disability_fen": f.disability_fen,
                "schooling_fen": f.schooling_fen,
                "lines": decision.lines.iter().filter(|l| l.text.starts_with("多重救助"))
                    .map(|l| l.text.clone()).collect::<Vec<_>>(),
            }))}}),
            reason: None,
        },
    )?;
    Ok((row, decision))
}

/// A total that would pass its cap: the database refuses it.
fn over_cap(e: diesel::result::Error) -> Error {
    use diesel::result::DatabaseErrorKind;
    use diesel::result::Error as E;
    let refused = match &e {
        E::DatabaseError(DatabaseErrorKind::CheckViolation, _) => true,
        E::DatabaseError(_, info) => info.message().contains("CHECK constraint"),
        _ => false,
    };
    match e {
        _ if refused => Error::Conflict {
            code: Code::OverCap,
            detail: Msg::fixed(
                "本年度此类救助已达上限。",
                "This year's aid of this kind has reached its cap.",
            ),
        },
        other => Error::from(other),
    }
}

/// Payments on a file, newest first.
/// A file's payments, for a reader of the file (a grant naming its household reads them).
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    grants: &crate::domain::access::Grants,
    file_id: &str,
) -> Result<Vec<DisbursementRow>> {
    case_files::find_reading(conn, scope, grants, file_id)?;
    Ok(disbursements::table
        .filter(disbursements::file_id.eq(file_id))
        .order(disbursements::created_at.desc())
        .select(DisbursementRow::as_select())
        .load(conn)?)
}
