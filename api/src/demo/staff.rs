//! The demo accounts as callers of the use cases: who they are, their region and the
//! households they are assigned to, exactly as a signed-in session would carry them.

use crate::accounts::queries as users;
use crate::domain::access::{Grants, Scope};
use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::error::Result;

/// A demo account acting as itself, on `device` when it works from a phone.
pub async fn caller(db: &Db, username: &str, device: Option<&str>) -> Result<Caller> {
    let (username, device) = (username.to_owned(), device.map(str::to_owned));
    db.read(move |c| {
        let user = users::find_by_username(c, &username)?;
        let region = crate::regions::queries::find(c, None, &user.region_id)?;
        let mut paths = crate::households::queries::assigned_paths(c, &user.id)?;
        paths.push(region.path.clone());
        Ok(Caller {
            role: user.role()?,
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            region_id: region.id,
            region_path: region.path,
            device_id: device,
            session_id: "demo".to_owned(),
            request_id: None,
            scope: Scope::new(paths),
            grants: Grants::default(),
        })
    })
    .await
}
