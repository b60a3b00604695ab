//! Phones and other devices bound to a user, so that every write names its device.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{devices, regions, sessions, users};
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub platform: String,
    pub app_version: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub struct NewDevice<'a> {
    /// The app's own install id, so that registering again is harmless.
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub platform: &'a str,
    pub app_version: Option<&'a str>,
}

/// How many devices one account may have registered and not revoked at once: a phone or
/// two and their replacements; more means old ones should be revoked.
pub const MAX_ACTIVE_DEVICES: i64 = 10;

/// Registers a device for `user_id`. Registering an id the same user already has returns
/// that device (`false`: nothing was created); an id of another user's device is refused,
/// and so is an eleventh active device.
pub fn register(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    region_path: &str,
    new: NewDevice<'_>,
) -> Result<(DeviceRow, bool)> {
    // The account's row first: two registrations racing to the limit queue here.
    diesel::update(users::table.find(user_id))
        .set(users::version.eq(users::version))
        .execute(conn)?;
    if let Some(id) = new.id {
        let existing: Option<DeviceRow> = devices::table
            .find(id)
            .select(DeviceRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(d) = existing {
            if d.user_id != user_id || d.revoked_at.is_some() {
                return Err(Error::Conflict {
                    code: Code::DeviceIdTaken,
                    detail: Msg::fixed(
                        "该设备编号已被占用或已停用。",
                        "This device id belongs to another account or was revoked.",
                    ),
                });
            }
            return Ok((d, false));
        }
    }
    let active: i64 = devices::table
        .filter(devices::user_id.eq(user_id))
        .filter(devices::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if active >= MAX_ACTIVE_DEVICES {
        return Err(Error::Conflict {
            code: Code::TooManyDevices,
            detail: Msg::new(
                format!("本账号已登记 {MAX_ACTIVE_DEVICES} 台设备，请先停用不再使用的设备。"),
                format!(
                    "This account has {MAX_ACTIVE_DEVICES} registered devices: revoke one no longer used first."
                ),
            ),
        });
    }
    let row = DeviceRow {
        id: new
            .id
            .map(str::to_owned)
            .unwrap_or_else(crate::infra::db::new_id),
        user_id: user_id.to_owned(),
        name: new.name.to_owned(),
        platform: new.platform.to_owned(),
        app_version: new.app_version.map(str::to_owned),
        created_at: crate::infra::clock::now(),
        last_seen_at: None,
        revoked_at: None,
    };
    diesel::insert_into(devices::table)
        .values(&row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "device",
            entity_id: &row.id,
            region_path,
            changes: audit::diff(
                &serde_json::Value::Null,
                &json!({"user_id": row.user_id, "name": row.name, "platform": row.platform, "app_version": row.app_version}),
            ),
            reason: None,
        },
    )?;
    Ok((row, true))
}

/// A device usable by `user_id` for signing in.
pub fn find_active_for_user(conn: &mut DbConn, user_id: &str, id: &str) -> Result<DeviceRow> {
    Ok(devices::table
        .find(id)
        .filter(devices::user_id.eq(user_id))
        .filter(devices::revoked_at.is_null())
        .select(DeviceRow::as_select())
        .first(conn)?)
}

/// Devices of `user_id`, or with `scope` every device whose user is inside it.
pub fn list(
    conn: &mut DbConn,
    owner: Option<&str>,
    scope: &Scope,
    limit: i64,
    after_id: Option<&str>,
) -> Result<Vec<DeviceRow>> {
    let mut q = devices::table
        .inner_join(users::table.inner_join(regions::table))
        .filter(crate::infra::db::scoped::path_in_scope(
            regions::path,
            scope,
        ))
        .select(DeviceRow::as_select())
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(devices::user_id.eq(o.to_owned()));
    }
    if let Some(a) = after_id {
        q = q.filter(devices::id.gt(a.to_owned()));
    }
    Ok(q.order(devices::id.asc()).limit(limit).load(conn)?)
}

/// A device with the region path of its user, if the user is inside the scope.
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<(DeviceRow, String)> {
    let (device, path): (DeviceRow, String) = devices::table
        .inner_join(users::table.inner_join(regions::table))
        .filter(devices::id.eq(id))
        .select((DeviceRow::as_select(), regions::path))
        .first(conn)?;
    if !scope.contains(&path) {
        return Err(Error::NotFound);
    }
    Ok((device, path))
}

/// Revokes a lost or retired device and ends every session signed in on it.
pub fn revoke(
    conn: &mut DbConn,
    actor: &Actor,
    device: &DeviceRow,
    region_path: &str,
) -> Result<DeviceRow> {
    let now = crate::infra::clock::now();
    diesel::update(
        devices::table
            .find(&device.id)
            .filter(devices::revoked_at.is_null()),
    )
    .set(devices::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::device_id.eq(&device.id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_why.eq("device_revoked"),
    ))
    .execute(conn)?;
    let after = DeviceRow {
        revoked_at: device.revoked_at.or(Some(now)),
        ..device.clone()
    };
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Revoke,
            entity: "device",
            entity_id: &device.id,
            region_path,
            changes: audit::diff(
                &json!({"revoked_at": device.revoked_at}),
                &json!({"revoked_at": after.revoked_at}),
            ),
            reason: None,
        },
    )?;
    Ok(after)
}

/// Notes that the device was used (sync status builds on this).
pub fn touch(conn: &mut DbConn, id: &str, app_version: Option<&str>) -> Result<()> {
    let now = crate::infra::clock::now();
    match app_version {
        Some(v) => diesel::update(devices::table.find(id))
            .set((devices::last_seen_at.eq(now), devices::app_version.eq(v)))
            .execute(conn)?,
        None => diesel::update(devices::table.find(id))
            .set(devices::last_seen_at.eq(now))
            .execute(conn)?,
    };
    Ok(())
}
