//! Region names as pages show them: the caller's own lineage (示范县 › 青山镇 › 青山村)
//! and the names of regions that lists mention.

use std::collections::HashMap;

use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::error::Result;
use crate::regions::queries;

/// A region named on a page.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// The caller's region and its ancestors, from the root down.
pub async fn lineage(db: &Db, caller: &Caller) -> Result<Vec<Named>> {
    let ids: Vec<String> = caller
        .region_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let names = names(db, caller, ids.clone()).await?;
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            names.get(&id).map(|n| Named {
                name: n.clone(),
                id,
            })
        })
        .collect())
}

/// The names of these regions, for those the caller may name: inside their scope, or on
/// the way down to their own region.
pub async fn names(db: &Db, caller: &Caller, ids: Vec<String>) -> Result<HashMap<String, String>> {
    let (scope, own) = (caller.scope.clone(), caller.region_path.clone());
    let rows = db.read(move |c| queries::with_ids(c, &ids)).await?;
    Ok(rows
        .into_iter()
        .filter(|r| scope.contains(&r.path) || own.starts_with(&r.path))
        .map(|r| (r.id, r.name))
        .collect())
}
