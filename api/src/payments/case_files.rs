//! Case files after approval: monthly income records, the exit-candidates list, and the
//! exit process and return to difficulty (R-FILE-6), each step audited.

use std::collections::HashMap;

use bangfu_sync::Code;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::domain::calendar::Calendar;
use crate::domain::role::Role;
use crate::infra::clock::now;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{case_file_members, case_files, households, income_records};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::error::{Error, Msg, Result};
use crate::payments::exit;
use crate::payments::exit::{ExitStep, FileStatus, MONTHS_ABOVE_FOR_EXIT};
use crate::regions::queries as regions;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = case_files)]
pub struct FileRow {
    pub id: String,
    pub application_id: String,
    pub program_id: String,
    pub household_id: String,
    pub region_path: String,
    pub category: String,
    pub status: String,
    pub opened_on: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub exit_notice_ends_on: Option<String>,
    pub exited_on: Option<String>,
    pub reopened_on: Option<String>,
}

impl FileRow {
    pub fn status(&self) -> Result<FileStatus> {
        FileStatus::parse(&self.status)
            .ok_or_else(|| Error::Internal(format!("unknown file status {:?}", self.status)))
    }
}

pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<FileRow> {
    let f: FileRow = case_files::table
        .find(id)
        .select(FileRow::as_select())
        .first(conn)?;
    if scope.contains(&f.region_path) {
        Ok(f)
    } else {
        Err(Error::NotFound)
    }
}

/// A case file for a reader: through their standing scope, or (read-only) a grant naming
/// its household.
pub fn find_reading(
    conn: &mut DbConn,
    scope: &Scope,
    grants: &crate::domain::access::Grants,
    id: &str,
) -> Result<FileRow> {
    use crate::domain::access::Subject;
    use crate::domain::access::reach;
    let f: FileRow = case_files::table
        .find(id)
        .select(FileRow::as_select())
        .first(conn)?;
    reach(
        scope,
        grants,
        &f.region_path,
        &[(Subject::Household, &f.household_id)],
    )
    .map(|_| f)
    .ok_or(Error::NotFound)
}

/// A household's case files, newest first, for a reader of the household (through their
/// standing scope, or a grant naming it).
pub fn of_household(
    conn: &mut DbConn,
    scope: &Scope,
    grants: &crate::domain::access::Grants,
    household_id: &str,
) -> Result<Vec<FileRow>> {
    use crate::domain::access::{Subject, reach};
    let files: Vec<FileRow> = case_files::table
        .filter(case_files::household_id.eq(household_id))
        .order(case_files::created_at.desc())
        .select(FileRow::as_select())
        .load(conn)?;
    Ok(files
        .into_iter()
        .filter(|f| {
            reach(
                scope,
                grants,
                &f.region_path,
                &[(Subject::Household, &f.household_id)],
            )
            .is_some()
        })
        .collect())
}

/// Records (or corrects) a month's per-capita income.
pub fn record_income(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    file_id: &str,
    month: &str,
    per_capita_fen: i64,
) -> Result<()> {
    if exit::parse_month(month).is_none() {
        return Err(Error::validation(
            "month",
            Code::InvalidFormat,
            Msg::fixed("月份格式为 YYYY-MM。", "month is YYYY-MM."),
        ));
    }
    if per_capita_fen < 0 {
        return Err(Error::validation(
            "per_capita_fen",
            Code::OutOfRange,
            Msg::fixed("收入不能为负。", "Income is not negative."),
        ));
    }
    let file = find(conn, scope, file_id)?;
    let before: Option<i64> = income_records::table
        .find((file_id, month))
        .select(income_records::per_capita_fen)
        .first(conn)
        .optional()?;
    diesel::delete(income_records::table.find((file_id, month))).execute(conn)?;
    diesel::insert_into(income_records::table)
        .values((
            income_records::file_id.eq(file_id),
            income_records::month.eq(month),
            income_records::per_capita_fen.eq(per_capita_fen),
            income_records::recorded_by.eq(actor.user_id.clone()),
            income_records::created_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: if before.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            entity: "income_record",
            entity_id: &format!("{file_id}/{month}"),
            region_path: &file.region_path,
            changes: json!({"per_capita_fen": {"before": before, "after": per_capita_fen}}),
            reason: None,
        },
    )
}

/// Active files in the scope whose household has been above the dibao for the last six
/// recorded months up to `through`: one query for the files, one for their records.
pub fn exit_candidates(
    conn: &mut DbConn,
    scope: &Scope,
    through: NaiveDate,
) -> Result<Vec<(FileRow, i64)>> {
    let files: Vec<FileRow> = case_files::table
        .filter(case_files::status.eq(FileStatus::Active.as_str()))
        .filter(path_in_scope(case_files::region_path, scope))
        .order(case_files::id.asc())
        .select(FileRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    let first = through - chrono::Months::new(MONTHS_ABOVE_FOR_EXIT as u32 - 1);
    let mut records: HashMap<String, Vec<(NaiveDate, i64)>> = HashMap::new();
    for (file, month, income) in income_records::table
        .filter(income_records::file_id.eq_any(&ids))
        .filter(income_records::month.ge(first.format("%Y-%m").to_string()))
        .select((
            income_records::file_id,
            income_records::month,
            income_records::per_capita_fen,
        ))
        .load::<(String, String, i64)>(conn)?
    {
        if let Some(m) = exit::parse_month(&month) {
            records.entry(file).or_default().push((m, income));
        }
    }
    // The dibao of each village the files' households live in: a few regions, however
    // many files.
    let household_ids: Vec<&str> = files
        .iter()
        .filter(|f| records.contains_key(&f.id))
        .map(|f| f.household_id.as_str())
        .collect();
    let region_of: HashMap<String, String> = households::table
        .filter(households::id.eq_any(&household_ids))
        .select((households::id, households::region_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut dibao_of_region: HashMap<String, i64> = HashMap::new();
    for region_id in region_of.values() {
        if !dibao_of_region.contains_key(region_id) {
            let region = regions::find(conn, None, region_id)?;
            let d = regions::view(conn, region)?
                .effective_dibao_fen
                .unwrap_or(0);
            dibao_of_region.insert(region_id.clone(), d);
        }
    }
    let mut out = Vec::new();
    for f in files {
        let Some(recs) = records.get(&f.id) else {
            continue;
        };
        let dibao = region_of
            .get(&f.household_id)
            .and_then(|r| dibao_of_region.get(r))
            .copied()
            .unwrap_or(0);
        if exit::qualifies_for_exit(recs, dibao, through) {
            out.push((f, dibao));
        }
    }
    Ok(out)
}

/// One step of the exit process or a return: proposals by the grassroots, notice and
/// confirmation by the county after the notice's working days; exit frees the members for
/// a later file, a return re-enters them (refused if one holds another active file).
#[allow(clippy::too_many_arguments)]
pub fn exit_step(
    conn: &mut DbConn,
    actor: &Actor,
    role: Role,
    scope: &Scope,
    file_id: &str,
    s: ExitStep,
    reason: Option<&str>,
    cal: &Calendar,
    today: NaiveDate,
) -> Result<FileRow> {
    let file = find(conn, scope, file_id)?;
    let from = file.status()?;
    let to = exit::step(from, s).ok_or(Error::Conflict {
        code: Code::IllegalTransition,
        detail: Msg::new(
            format!("档案处于 {} 状态，不能执行 {:?}。", from.as_str(), s),
            format!("A file that is {} cannot take {:?}.", from.as_str(), s),
        ),
    })?;
    let county = matches!(role, Role::CountyOfficer | Role::Admin);
    let allowed = match s {
        ExitStep::Propose | ExitStep::Reopen => role != Role::Helper && role != Role::Auditor,
        ExitStep::Notice | ExitStep::Confirm | ExitStep::Withdraw => county,
    };
    if !allowed {
        return Err(Error::Forbidden {
            code: Code::NotYourStep,
            detail: Msg::fixed(
                "这一步不由您所在的层级办理。",
                "This step belongs to another level.",
            ),
        });
    }
    if reason.is_none_or(|r| r.trim().chars().count() < 4) {
        return Err(Error::validation(
            "reason",
            Code::Required,
            Msg::fixed(
                "请说明理由（如收入核实情况）。",
                "State the reason (e.g. how income was verified).",
            ),
        ));
    }
    let mut notice_end = file.exit_notice_ends_on.clone();
    let mut exited_on = file.exited_on.clone();
    let mut reopened_on = file.reopened_on.clone();
    match s {
        ExitStep::Notice => {
            // The same notice period as entry, in working days.
            let days = crate::applications::programs::find(conn, &file.program_id)?
                .row
                .notice_workdays;
            notice_end = Some(cal.add_workdays(today, days.max(1) as u32).to_string());
        }
        ExitStep::Confirm => {
            let ends = notice_end
                .as_deref()
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .unwrap_or(today);
            if today <= ends {
                return Err(Error::Conflict {
                    code: Code::NoticeNotOver,
                    detail: Msg::new(
                        format!("公示期至 {ends} 结束，期满后方可退出。"),
                        format!("The notice runs until {ends}; confirm the exit after it."),
                    ),
                });
            }
            exited_on = Some(today.to_string());
            diesel::update(case_file_members::table.filter(case_file_members::file_id.eq(file_id)))
                .set(case_file_members::active_key.eq(None::<String>))
                .execute(conn)?;
        }
        ExitStep::Withdraw => notice_end = None,
        ExitStep::Reopen => {
            reopened_on = Some(today.to_string());
            notice_end = None;
            let hashes: Vec<String> = case_file_members::table
                .filter(case_file_members::file_id.eq(file_id))
                .select(case_file_members::id_hash)
                .load(conn)?;
            for h in hashes {
                diesel::update(
                    case_file_members::table
                        .filter(case_file_members::file_id.eq(file_id))
                        .filter(case_file_members::id_hash.eq(&h)),
                )
                .set(case_file_members::active_key.eq(Some(format!("{}/{h}", file.program_id))))
                .execute(conn)
                .map_err(|e| match Error::from(e) {
                    Error::Conflict { .. } => Error::Conflict {
                        code: Code::AlreadyFiled,
                        detail: Msg::fixed(
                            "有成员已在该项目的另一有效档案中。",
                            "A member is in another active file of this program.",
                        ),
                    },
                    other => other,
                })?;
            }
        }
        ExitStep::Propose => {}
    }
    diesel::update(case_files::table.find(file_id))
        .set((
            case_files::status.eq(to.as_str()),
            case_files::exit_notice_ends_on.eq(notice_end),
            case_files::exited_on.eq(exited_on),
            case_files::reopened_on.eq(reopened_on),
            case_files::updated_at.eq(now()),
            case_files::version.eq(case_files::version + 1),
        ))
        .execute(conn)?;
    let after = find(conn, scope, file_id)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "case_file",
            entity_id: file_id,
            region_path: &after.region_path,
            changes: json!({"status": {"before": from.as_str(), "after": to.as_str()}}),
            reason,
        },
    )?;
    Ok(after)
}
