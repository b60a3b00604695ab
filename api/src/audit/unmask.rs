//! Reading personal data in full (`?unmask=true&reason=…`): only for roles allowed to, for
//! a stated reason, and never without an audit entry (with the reason) written in the same
//! transaction as the read.

use bangfu_sync::Code;

use crate::audit::log as audit;
use crate::audit::log::{Action, Event};
use crate::domain::access::{Via, stated_reason};
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

/// Runs `find`; when personal data is asked for in full (`unmask`: the reason stated for
/// it), checks the permission and the reason ([`stated_reason`]) first and records the
/// read, its reason and the fields shown in the same transaction. A record reached through
/// a break-the-glass grant is never unmasked.
pub async fn read<T, F>(
    db: &Db,
    caller: &Caller,
    unmask: Option<String>,
    entity: &'static str,
    fields: &'static [&'static str],
    find: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<Found<T>> + Send + 'static,
{
    match unmask {
        None => Ok(db.read(move |c| find(c)).await?.value),
        Some(reason) => read_unmasked(db, caller, reason, entity, fields, find).await,
    }
}

async fn read_unmasked<T, F>(
    db: &Db,
    caller: &Caller,
    reason: String,
    entity: &'static str,
    fields: &'static [&'static str],
    find: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<Found<T>> + Send + 'static,
{
    caller.require(Permission::UnmaskPersonalData)?;
    let reason = stated_reason(&reason).map_err(|e| Error::Validation(vec![e]))?;
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
                    reason: Some(&reason),
                },
            )?;
            Ok(f)
        })
        .await?;
    Ok(found.value)
}
