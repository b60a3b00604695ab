//! What supervisors see of sync: each device's last push and pull, protocol and app
//! version, its reported outbox and its refused mutations, and the quarantine where those
//! refusals wait to be settled, so nobody is told "synced" while something was refused.

use std::collections::HashMap;

use bangfu_sync::Code;
use bangfu_sync::wire::{Mutation, MutationResult, MutationStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::infra::clock::now;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{devices, sync_device_status, sync_quarantine, users};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::error::{Error, Msg, Result};

/// What a device says about itself in sync request headers.
#[derive(Debug, Clone, Default)]
pub struct DeviceReport {
    pub protocol_version: i32,
    pub app_version: Option<String>,
    /// Changes waiting in its outbox (`Bangfu-Pending`).
    pub pending: Option<i64>,
}

/// The syncing device and whose it is.
pub struct SyncingDevice<'a> {
    pub device_id: &'a str,
    pub user_id: &'a str,
    pub region_path: &'a str,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sync_device_status)]
pub struct StatusRow {
    pub device_id: String,
    pub user_id: String,
    pub region_path: String,
    pub protocol_version: i32,
    pub app_version: Option<String>,
    pub last_push_at: Option<NaiveDateTime>,
    pub last_pull_at: Option<NaiveDateTime>,
    pub pending_reported: Option<i64>,
    pub pushed_total: i64,
    pub rejected_total: i64,
}

fn load_or_new(
    conn: &mut DbConn,
    d: &SyncingDevice<'_>,
    r: &DeviceReport,
) -> Result<(StatusRow, bool)> {
    let found: Option<StatusRow> = sync_device_status::table
        .find(d.device_id)
        .select(StatusRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match found {
        Some(s) => (s, true),
        None => (
            StatusRow {
                device_id: d.device_id.to_owned(),
                user_id: d.user_id.to_owned(),
                region_path: d.region_path.to_owned(),
                protocol_version: r.protocol_version,
                app_version: None,
                last_push_at: None,
                last_pull_at: None,
                pending_reported: None,
                pushed_total: 0,
                rejected_total: 0,
            },
            false,
        ),
    })
}

fn save(conn: &mut DbConn, s: &StatusRow, exists: bool) -> Result<()> {
    if exists {
        diesel::update(sync_device_status::table.find(&s.device_id))
            .set((
                sync_device_status::user_id.eq(&s.user_id),
                sync_device_status::region_path.eq(&s.region_path),
                sync_device_status::protocol_version.eq(s.protocol_version),
                sync_device_status::app_version.eq(&s.app_version),
                sync_device_status::last_push_at.eq(s.last_push_at),
                sync_device_status::last_pull_at.eq(s.last_pull_at),
                sync_device_status::pending_reported.eq(s.pending_reported),
                sync_device_status::pushed_total.eq(s.pushed_total),
                sync_device_status::rejected_total.eq(s.rejected_total),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(sync_device_status::table)
            .values(s)
            .execute(conn)?;
    }
    Ok(())
}

fn apply_report(s: &mut StatusRow, d: &SyncingDevice<'_>, r: &DeviceReport) {
    s.user_id = d.user_id.to_owned();
    s.region_path = d.region_path.to_owned();
    s.protocol_version = r.protocol_version;
    if r.app_version.is_some() {
        s.app_version = r.app_version.clone();
    }
    if r.pending.is_some() {
        s.pending_reported = r.pending;
    }
}

/// After a push (in its transaction): the device's status, and each newly refused mutation
/// into quarantine. Answers repeated from earlier pushes are not counted again.
pub fn record_push(
    conn: &mut DbConn,
    d: &SyncingDevice<'_>,
    r: &DeviceReport,
    batch: &[Mutation],
    results: &[MutationResult],
) -> Result<()> {
    let (mut s, exists) = load_or_new(conn, d, r)?;
    apply_report(&mut s, d, r);
    s.last_push_at = Some(now());
    // Only refused mutations go to quarantine: look up those alone, and only if any.
    let ids: Vec<&str> = batch
        .iter()
        .zip(results)
        .filter(|(_, r)| r.status == MutationStatus::Rejected)
        .map(|(m, _)| m.mutation_id.as_str())
        .collect();
    let already: Vec<String> = if ids.is_empty() {
        Vec::new()
    } else {
        sync_quarantine::table
            .filter(sync_quarantine::device_id.eq(d.device_id))
            .filter(sync_quarantine::mutation_id.eq_any(&ids))
            .select(sync_quarantine::mutation_id)
            .load(conn)?
    };
    let t = now();
    let mut fresh = Vec::new();
    for (m, res) in batch.iter().zip(results) {
        if res.status != MutationStatus::Rejected || already.contains(&m.mutation_id) {
            continue;
        }
        if fresh
            .iter()
            .any(|(id, ..): &(String, String, String, String, String)| *id == m.mutation_id)
        {
            continue;
        }
        fresh.push((
            m.mutation_id.clone(),
            m.entity.clone(),
            m.id.clone(),
            // Kept for supervisors to look at: no ID number in full.
            {
                let v = serde_json::to_value(m).map_err(Error::internal)?;
                crate::domain::resident_id::mask_in_json(&v)
                    .unwrap_or(v)
                    .to_string()
            },
            serde_json::to_string(&res.problem).map_err(Error::internal)?,
        ));
    }
    s.pushed_total += batch.len() as i64;
    s.rejected_total += fresh.len() as i64;
    save(conn, &s, exists)?;
    for (mutation_id, entity, record_id, payload, problem) in fresh {
        diesel::insert_into(sync_quarantine::table)
            .values((
                sync_quarantine::device_id.eq(d.device_id),
                sync_quarantine::mutation_id.eq(mutation_id),
                sync_quarantine::user_id.eq(d.user_id),
                sync_quarantine::entity.eq(entity),
                sync_quarantine::record_id.eq(record_id),
                sync_quarantine::region_path.eq(d.region_path),
                sync_quarantine::payload.eq(payload),
                sync_quarantine::problem.eq(problem),
                sync_quarantine::state.eq("open"),
                sync_quarantine::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// How stale a device's last-pull time may get before a pull records it again.
const PULL_RECORD_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// Whether a finished pull should be recorded: the device is new here, reports something
/// new (its outbox, app or protocol version), or last recorded a pull a while ago. Read on a
/// read connection, so that most pulls never take the writer.
pub fn pull_worth_recording(conn: &mut DbConn, device_id: &str, r: &DeviceReport) -> Result<bool> {
    let found: Option<StatusRow> = sync_device_status::table
        .find(device_id)
        .select(StatusRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match found {
        None => true,
        Some(s) => {
            s.protocol_version != r.protocol_version
                || (r.app_version.is_some() && s.app_version != r.app_version)
                || (r.pending.is_some() && s.pending_reported != r.pending)
                || s.last_pull_at
                    .is_none_or(|t| now() - t >= PULL_RECORD_INTERVAL)
        }
    })
}

/// After a pull: when the device last received, and what it reported.
pub fn record_pull(conn: &mut DbConn, d: &SyncingDevice<'_>, r: &DeviceReport) -> Result<()> {
    let (mut s, exists) = load_or_new(conn, d, r)?;
    apply_report(&mut s, d, r);
    s.last_pull_at = Some(now());
    save(conn, &s, exists)
}

/// A device as a supervisor sees it.
#[derive(Debug, Clone)]
pub struct DeviceView {
    pub status: StatusRow,
    pub device_name: String,
    pub username: String,
    pub revoked: bool,
    pub open_rejections: i64,
}

impl DeviceView {
    /// Synced only when the phone reported an empty outbox and nothing of it is refused:
    /// nobody is shown "synced" while a change of theirs is unsent or unsettled.
    pub fn synced(&self) -> bool {
        self.status.pending_reported == Some(0) && self.open_rejections == 0
    }
}

/// Devices of users inside the scope, with their open rejections counted in one grouped
/// query.
pub fn devices_in_scope(conn: &mut DbConn, scope: &Scope) -> Result<Vec<DeviceView>> {
    let rows: Vec<(StatusRow, String, Option<NaiveDateTime>, String)> = sync_device_status::table
        .inner_join(devices::table.inner_join(users::table))
        .filter(path_in_scope(sync_device_status::region_path, scope))
        .order(sync_device_status::device_id.asc())
        .select((
            StatusRow::as_select(),
            devices::name,
            devices::revoked_at,
            users::username,
        ))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.device_id.as_str()).collect();
    let open: HashMap<String, i64> = sync_quarantine::table
        .filter(sync_quarantine::device_id.eq_any(&ids))
        .filter(sync_quarantine::state.eq("open"))
        .group_by(sync_quarantine::device_id)
        .select((sync_quarantine::device_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(status, device_name, revoked_at, username)| DeviceView {
            open_rejections: open.get(&status.device_id).copied().unwrap_or(0),
            status,
            device_name,
            username,
            revoked: revoked_at.is_some(),
        })
        .collect())
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = sync_quarantine)]
pub struct QuarantineRow {
    pub device_id: String,
    pub mutation_id: String,
    pub user_id: String,
    pub entity: String,
    pub record_id: String,
    pub region_path: String,
    pub payload: String,
    pub problem: String,
    pub state: String,
    pub note: Option<String>,
    pub settled_by: Option<String>,
    pub settled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Refused mutations inside the scope, oldest first; `after` is `(device, mutation)`.
pub fn quarantine(
    conn: &mut DbConn,
    scope: &Scope,
    state: Option<&str>,
    device_id: Option<&str>,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<QuarantineRow>> {
    let mut q = sync_quarantine::table
        .select(QuarantineRow::as_select())
        .filter(path_in_scope(sync_quarantine::region_path, scope))
        .order((
            sync_quarantine::device_id.asc(),
            sync_quarantine::mutation_id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(sync_quarantine::state.eq(s.to_owned()));
    }
    if let Some(d) = device_id {
        q = q.filter(sync_quarantine::device_id.eq(d.to_owned()));
    }
    if let Some((d, m)) = after {
        q = q.filter(
            sync_quarantine::device_id
                .gt(d.clone())
                .or(sync_quarantine::device_id
                    .eq(d)
                    .and(sync_quarantine::mutation_id.gt(m))),
        );
    }
    Ok(q.load(conn)?)
}

/// Settles a refused mutation with a note saying what was done about it (audited).
pub fn settle(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    device_id: &str,
    mutation_id: &str,
    note: &str,
) -> Result<QuarantineRow> {
    let row: QuarantineRow = sync_quarantine::table
        .find((device_id, mutation_id))
        .select(QuarantineRow::as_select())
        .first(conn)?;
    if !scope.contains(&row.region_path) {
        return Err(Error::NotFound);
    }
    if row.state != "open" {
        return Err(Error::Conflict {
            code: Code::AlreadySettled,
            detail: Msg::fixed(
                "该被拒变更已处理。",
                "This refused change was already settled.",
            ),
        });
    }
    diesel::update(sync_quarantine::table.find((device_id, mutation_id)))
        .set((
            sync_quarantine::state.eq("settled"),
            sync_quarantine::note.eq(note),
            sync_quarantine::settled_by.eq(actor.user_id.clone()),
            sync_quarantine::settled_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "sync_quarantine",
            entity_id: &format!("{device_id}/{mutation_id}"),
            region_path: &row.region_path,
            changes: json!({"state": {"before": "open", "after": "settled"}}),
            reason: Some(note),
        },
    )?;
    Ok(sync_quarantine::table
        .find((device_id, mutation_id))
        .select(QuarantineRow::as_select())
        .first(conn)?)
}
