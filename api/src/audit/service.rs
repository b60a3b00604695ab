//! The audit trail's use cases: reading it, scoped to the caller.

use crate::audit::log::{self, EntryRow, Filter};
use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::error::Result;

/// Audit entries in the caller's scope matching `f`, newest first, `limit` at most.
pub async fn entries(db: &Db, caller: &Caller, f: Filter, limit: i64) -> Result<Vec<EntryRow>> {
    let scope = caller.scope.clone();
    db.read(move |c| log::list(c, &scope, &f, limit)).await
}
