//! Break-the-glass grants: one named record outside one's jurisdiction, readable (masked)
//! for a bounded time, with a reason; a few at a time; always audited, and reviewed
//! afterwards by the grantee's supervisor.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::{Granted, Grants, MAX_LIVE_GRANTS, Scope, Subject};
use crate::domain::role::Role;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{access_grants, households, regions, sync_records, users};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = access_grants)]
pub struct GrantRow {
    pub id: String,
    pub user_id: String,
    pub subject: String,
    pub subject_id: String,
    /// Where the record lies: for the reviewer and the audit log, never the grantee.
    pub region_path: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_verdict: Option<String>,
    pub review_note: Option<String>,
}

/// The records `user_id` may read through grants now.
pub fn live(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> Result<Grants> {
    let rows: Vec<(String, String)> = access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .filter(access_grants::revoked_at.is_null())
        .filter(access_grants::expires_at.gt(now))
        .select((access_grants::subject, access_grants::subject_id))
        .load(conn)?;
    Ok(Grants(
        rows.into_iter()
            .filter_map(|(subject, id)| {
                Some(Granted {
                    subject: Subject::parse(&subject)?,
                    id,
                })
            })
            .collect(),
    ))
}

/// Where the named record lies, if it exists.
fn subject_path(conn: &mut DbConn, subject: Subject, id: &str) -> Result<Option<String>> {
    Ok(match subject {
        Subject::Household => households::table
            .find(id)
            .select(households::path)
            .first(conn)
            .optional()?,
        Subject::Child | Subject::DropoutCase => sync_records::table
            .filter(sync_records::entity.eq(subject.as_str()))
            .filter(sync_records::id.eq(id))
            .filter(sync_records::deleted.eq(false))
            .select(sync_records::region_path)
            .first(conn)
            .optional()?,
    })
}

/// A request for temporary access, already checked for its reason and length.
pub struct NewGrant<'a> {
    pub user_id: &'a str,
    /// The grantee's standing scope: what they reach without a grant.
    pub standing: &'a Scope,
    pub subject: Subject,
    pub subject_id: &'a str,
    pub reason: &'a str,
    pub expires_at: NaiveDateTime,
}

/// Grants read access to one record.
pub fn create(conn: &mut DbConn, actor: &Actor, new: NewGrant<'_>) -> Result<GrantRow> {
    let NewGrant {
        user_id,
        standing,
        subject,
        subject_id,
        reason,
        expires_at,
    } = new;
    let now = crate::infra::clock::now();
    // A write first: concurrent requests of one user queue here, so the cap holds.
    diesel::update(users::table.find(user_id))
        .set(users::version.eq(users::version))
        .execute(conn)?;
    let path = subject_path(conn, subject, subject_id)?.ok_or_else(|| {
        Error::validation(
            "subject_id",
            Code::NotFound,
            Msg::fixed("没有这条记录。", "There is no such record."),
        )
    })?;
    if standing.contains(&path) {
        return Err(Error::validation(
            "subject_id",
            Code::AlreadyInJurisdiction,
            Msg::fixed(
                "该记录在您的管辖范围内，无需临时访问。",
                "The record is in your jurisdiction: no temporary access is needed.",
            ),
        ));
    }
    let held: i64 = access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .filter(access_grants::revoked_at.is_null())
        .filter(access_grants::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    if held >= MAX_LIVE_GRANTS {
        return Err(Error::Conflict {
            code: Code::TooManyGrants,
            detail: Msg::new(
                format!("同时最多持有 {MAX_LIVE_GRANTS} 项临时访问，请先结束不再需要的。"),
                format!(
                    "At most {MAX_LIVE_GRANTS} temporary accesses at a time: revoke one you no longer need."
                ),
            ),
        });
    }
    let row = GrantRow {
        id: crate::infra::db::new_id(),
        user_id: user_id.to_owned(),
        subject: subject.as_str().to_owned(),
        subject_id: subject_id.to_owned(),
        region_path: path,
        reason: reason.trim().to_owned(),
        created_at: now,
        expires_at,
        revoked_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_verdict: None,
        review_note: None,
    };
    diesel::insert_into(access_grants::table)
        .values(&row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::BreakGlass,
            entity: "access_grant",
            entity_id: &row.id,
            region_path: &row.region_path,
            changes: audit::diff(
                &serde_json::Value::Null,
                &json!({"user_id": row.user_id, "subject": row.subject,
                        "subject_id": row.subject_id, "expires_at": row.expires_at}),
            ),
            reason: Some(&row.reason),
        },
    )?;
    Ok(row)
}

/// The user's own grants, newest first.
pub fn list_for_user(conn: &mut DbConn, user_id: &str, limit: i64) -> Result<Vec<GrantRow>> {
    Ok(access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .select(GrantRow::as_select())
        .order(access_grants::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// Ends one of the user's own grants before it expires.
pub fn revoke(conn: &mut DbConn, actor: &Actor, user_id: &str, id: &str) -> Result<GrantRow> {
    let grant: GrantRow = access_grants::table
        .find(id)
        .filter(access_grants::user_id.eq(user_id))
        .select(GrantRow::as_select())
        .first(conn)?;
    if grant.revoked_at.is_some() {
        return Ok(grant);
    }
    let now = crate::infra::clock::now();
    diesel::update(access_grants::table.find(id))
        .set(access_grants::revoked_at.eq(now))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Revoke,
            entity: "access_grant",
            entity_id: id,
            region_path: &grant.region_path,
            changes: audit::diff(&json!({"revoked_at": null}), &json!({"revoked_at": now})),
            reason: None,
        },
    )?;
    Ok(GrantRow {
        revoked_at: Some(now),
        ..grant
    })
}

/// Who looks over whose grants: supervisors over everyone whose account lies in their own
/// region's subtree, a county officer only over those below the county's own office.
pub struct Reviewer<'a> {
    pub user_id: &'a str,
    pub role: Role,
    pub region_path: &'a str,
}

fn reviewable(
    conn: &mut DbConn,
    reviewer: &Reviewer<'_>,
    pending_only: bool,
    id: Option<&str>,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<GrantRow>> {
    let own = Scope::new(vec![reviewer.region_path.to_owned()]);
    let mut q = access_grants::table
        .inner_join(users::table.inner_join(regions::table))
        .filter(path_in_scope(regions::path, &own))
        .filter(access_grants::user_id.ne(reviewer.user_id))
        .select(GrantRow::as_select())
        .order(access_grants::id.asc())
        .limit(limit)
        .into_boxed();
    if reviewer.role == Role::CountyOfficer {
        q = q.filter(regions::path.ne(reviewer.region_path.to_owned()));
    }
    if pending_only {
        q = q.filter(access_grants::reviewed_at.is_null());
    }
    if let Some(id) = id {
        q = q.filter(access_grants::id.eq(id.to_owned()));
    }
    if let Some(a) = after_id {
        q = q.filter(access_grants::id.gt(a));
    }
    Ok(q.load(conn)?)
}

/// Grants up for the reviewer's look, oldest first.
pub fn for_review(
    conn: &mut DbConn,
    reviewer: &Reviewer<'_>,
    pending_only: bool,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<GrantRow>> {
    reviewable(conn, reviewer, pending_only, None, after_id, limit)
}

/// Marks a grant reviewed: justified or not, with a note. Once.
pub fn review(
    conn: &mut DbConn,
    actor: &Actor,
    reviewer: &Reviewer<'_>,
    id: &str,
    justified: bool,
    note: Option<&str>,
) -> Result<GrantRow> {
    let grant = reviewable(conn, reviewer, false, Some(id), None, 1)?
        .pop()
        .ok_or(Error::NotFound)?;
    if grant.reviewed_at.is_some() {
        return Err(Error::Conflict {
            code: Code::AlreadyReviewed,
            detail: Msg::fixed("该临时访问已复核。", "This grant was already reviewed."),
        });
    }
    let now = crate::infra::clock::now();
    let verdict = if justified {
        "justified"
    } else {
        "unjustified"
    };
    diesel::update(access_grants::table.find(id))
        .set((
            access_grants::reviewed_by.eq(reviewer.user_id),
            access_grants::reviewed_at.eq(now),
            access_grants::review_verdict.eq(verdict),
            access_grants::review_note.eq(note),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "access_grant",
            entity_id: id,
            region_path: &grant.region_path,
            changes: audit::diff(
                &json!({"review_verdict": null}),
                &json!({"review_verdict": verdict, "review_note": note}),
            ),
            reason: note,
        },
    )?;
    Ok(GrantRow {
        reviewed_by: Some(reviewer.user_id.to_owned()),
        reviewed_at: Some(now),
        review_verdict: Some(verdict.to_owned()),
        review_note: note.map(str::to_owned),
        ..grant
    })
}
