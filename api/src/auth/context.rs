//! The caller an open session stands for, whichever way the session was presented (a
//! bearer token, the console's cookie).

use crate::auth::sessions::SessionContext;
use crate::domain::access::Scope;
use crate::domain::caller::Caller;
use crate::infra::error::Result;

/// The caller an open session stands for, as every adapter receives it.
pub(crate) fn caller_of(
    ctx: SessionContext,
    session_id: String,
    request_id: Option<String>,
) -> Result<Caller> {
    let role = ctx.user.role()?;
    let mut paths = ctx.assigned_paths;
    paths.push(ctx.region.path.clone());
    Ok(Caller {
        user_id: ctx.user.id,
        username: ctx.user.username,
        display_name: ctx.user.display_name,
        role,
        region_id: ctx.region.id,
        region_path: ctx.region.path,
        device_id: ctx.device_id,
        session_id,
        request_id,
        scope: Scope::new(paths),
        grants: ctx.grants,
    })
}
