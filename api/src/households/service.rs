//! Use cases of the household registry that span more than one of its stores.

use crate::audit::log::Actor;
use crate::domain::access::Scope;
use crate::households::duplicates;
use crate::households::queries::{self, Household, NewHousehold};
use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::infra::sealing::DataKey;

/// Registers a household (R-FILE-2) and records every registered person who looks like one
/// of its members, in the caller's transaction: either both are written or neither.
pub fn register(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    key: &DataKey,
    new: NewHousehold<'_>,
) -> Result<Household> {
    let household = queries::create(conn, actor, scope, key, new)?;
    duplicates::detect(conn, &household.row, &household.members)?;
    Ok(household)
}
