//! Reading personal data in full (`?unmask=true`): only for roles allowed to, and never
//! without an audit entry written in the same transaction as the read.

use bangfu_sync::Code;

use crate::audit::log as audit;
use crate::audit::log::{Action, Event};
use crate::domain::access::Via;
use crate::domain::caller::Caller;
use crate::domain::role::Permission;
use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, Msg, Result};

/// What a read found, where it belongs for the audit entry, and how the caller reached it.
pub struct Found<T> {
    pub value: T,
    pub id: String,
    pub region_path: String,
    pub via: Via,
}

/// Runs `find`; when `unmask` is asked for, checks the permission first and records the
/// read (naming the fields shown) in the same transaction. A record reached through a
/// break-the-glass grant is never unmasked.
pub async fn read<T, F>(
    db: &Db,
    caller: &Caller,
    unmask: bool,
    entity: &'static str,
    fields: &'static [&'static str],
    find: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<Found<T>> + Send + 'static,
{
    if !unmask {
        return Ok(db.read(move |c| find(c)).await?.value);
    }
    read_unmasked(db, caller, None, entity, fields, find).await
}

/// Runs `find` to show personal data in full, for a caller who stated why: the reason is
/// kept in the audit entry written in the same transaction as the read (the caller checks
/// that one was given).
pub async fn read_stating<T, F>(
    db: &Db,
    caller: &Caller,
    reason: &str,
    entity: &'static str,
    fields: &'static [&'static str],
    find: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<Found<T>> + Send + 'static,
{
    read_unmasked(db, caller, Some(reason.to_owned()), entity, fields, find).await
}

async fn read_unmasked<T, F>(
    db: &Db,
    caller: &Caller,
    reason: Option<String>,
    entity: &'static str,
    fields: &'static [&'static str],
    find: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<Found<T>> + Send + 'static,
{
    caller.require(Permission::UnmaskPersonalData)?;
    let actor = caller.actor();
    let found = db
        .write(move |c| {
            let f = find(c)?;
            if f.via == Via::Grant {
                return Err(Error::Forbidden {
                    code: Code::UnmaskOutsideJurisdiction,
                    detail: Msg::fixed(
                        "临时访问只能查看脱敏信息。",
                        "Temporary access shows personal data masked only.",
                    ),
                });
            }
            audit::record(
                c,
                &actor,
                Event {
                    action: Action::Unmask,
                    entity,
                    entity_id: &f.id,
                    region_path: &f.region_path,
                    changes: serde_json::json!({ "unmasked": fields }),
                    reason: reason.as_deref(),
                },
            )?;
            Ok(f)
        })
        .await?;
    Ok(found.value)
}
