//! The device use cases: one function each, owning its transaction, taking the caller and
//! typed input, checking it, and answering typed rows or the one error.

use crate::devices::queries::{self as devices, DeviceRow, NewDevice};
use crate::domain::caller::Caller;
use crate::domain::role::Permission;
use crate::domain::validate::Checks;
use crate::infra::db::Db;
use crate::infra::error::{Error, Result};
use crate::infra::idempotency::{self, Made, Once};

/// A device to register, as its app describes it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The app's install id; registering the same id again returns the device.
    pub id: Option<String>,
    pub name: String,
    pub platform: String,
    pub app_version: Option<String>,
}

/// Registers a device for the caller, or finds it already registered under the same id
/// (`true`: created now). The id of another account's device, or an eleventh active
/// device, is refused with 409.
pub async fn register(
    db: &Db,
    caller: &Caller,
    new: Registration,
    once: Once<(DeviceRow, bool)>,
) -> Result<Made<(DeviceRow, bool)>> {
    let mut c = Checks::default();
    c.text("name", &new.name, 1, 60);
    c.text("platform", &new.platform, 1, 30);
    if let Some(v) = &new.app_version {
        c.text("app_version", v, 1, 30);
    }
    c.finish()?;
    let (actor, uid, path) = (
        caller.actor(),
        caller.user_id.clone(),
        caller.region_path.clone(),
    );
    idempotency::run(db, once, move |conn| {
        devices::register(
            conn,
            &actor,
            &uid,
            &path,
            NewDevice {
                id: new.id.as_deref(),
                name: new.name.trim(),
                platform: new.platform.trim(),
                app_version: new.app_version.as_deref(),
            },
        )
    })
    .await
}

/// Whether the caller may list every device of their scope (`all`), or only their own.
/// Adapters ask it before judging paging, so that a refusal says nothing about those.
pub fn may_list(caller: &Caller, all: bool) -> Result<()> {
    if all {
        caller.require(Permission::ManageDevices)?;
    }
    Ok(())
}

/// The caller's devices, or (`all`, officers and admins: `manage_devices`) every device in
/// the caller's scope; by id after `after`, `limit` at most.
pub async fn list(
    db: &Db,
    caller: &Caller,
    all: bool,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<DeviceRow>> {
    may_list(caller, all)?;
    let owner = (!all).then(|| caller.user_id.clone());
    let scope = caller.scope.clone();
    db.read(move |c| devices::list(c, owner.as_deref(), &scope, limit, after.as_deref()))
        .await
}

/// The devices of one account in the caller's scope (`manage_devices`), by id, `limit` at
/// most: the same list as `all`, narrowed to one owner.
pub async fn of_user(
    db: &Db,
    caller: &Caller,
    user_id: &str,
    limit: i64,
) -> Result<Vec<DeviceRow>> {
    may_list(caller, true)?;
    let (owner, scope) = (user_id.to_owned(), caller.scope.clone());
    db.read(move |c| devices::list(c, Some(&owner), &scope, limit, None))
        .await
}

/// Revokes a device in the caller's scope, ending every session on it: the owner's own,
/// or any with `manage_devices`; another's device is not found for anyone else.
pub async fn revoke(db: &Db, caller: &Caller, id: &str) -> Result<DeviceRow> {
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    let (uid, manager) = (
        caller.user_id.clone(),
        caller.role.has(Permission::ManageDevices),
    );
    db.write(move |c| {
        let (device, path) = devices::find(c, &scope, &id)?;
        if device.user_id != uid && !manager {
            return Err(Error::NotFound);
        }
        devices::revoke(c, &actor, &device, &path)
    })
    .await
}
