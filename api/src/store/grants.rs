//! Break-the-glass grants: temporary access to a region outside one's own, with a reason,
//! for a bounded time, always audited.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, Action, Actor, Event};
use super::db::DbConn;
use super::regions;
use super::schema::access_grants;
use crate::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = access_grants)]
pub struct GrantRow {
    pub id: String,
    pub user_id: String,
    pub region_id: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    region_id: &str,
    reason: &str,
    expires_at: NaiveDateTime,
) -> Result<GrantRow> {
    // Any region may be named: reaching outside one's scope is the point.
    let region = regions::find(conn, None, region_id).map_err(|e| match e {
        Error::NotFound => Error::validation(
            "region_id",
            "not_found",
            Msg::fixed("区域不存在。", "The region does not exist."),
        ),
        other => other,
    })?;
    let row = GrantRow {
        id: super::new_id(),
        user_id: user_id.to_owned(),
        region_id: region.id.clone(),
        reason: reason.trim().to_owned(),
        created_at: super::now(),
        expires_at,
        revoked_at: None,
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
            region_path: &region.path,
            changes: audit::diff(
                &serde_json::Value::Null,
                &json!({"user_id": row.user_id, "region_id": row.region_id, "expires_at": row.expires_at}),
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
    let now = super::now();
    diesel::update(access_grants::table.find(id))
        .set(access_grants::revoked_at.eq(now))
        .execute(conn)?;
    let region = regions::find(conn, None, &grant.region_id)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Revoke,
            entity: "access_grant",
            entity_id: id,
            region_path: &region.path,
            changes: audit::diff(&json!({"revoked_at": null}), &json!({"revoked_at": now})),
            reason: None,
        },
    )?;
    Ok(GrantRow {
        revoked_at: Some(now),
        ..grant
    })
}
