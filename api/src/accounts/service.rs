//! The staff account use cases: one function each, owning its transaction, taking the
//! caller and typed input, checking it, and answering typed rows or the one error.

use bangfu_sync::Code;

use crate::accounts::password;
use crate::accounts::queries::{self as users, ListFilter, NewUser, UserChange, UserWithRegion};
use crate::audit::unmask::{self, Found};
use crate::domain::caller::Caller;
use crate::domain::role::{Permission, Role};
use crate::domain::username;
use crate::domain::validate::Checks;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};

/// One account in the caller's scope. With `unmask` (the reason stated), its phone number
/// is shown in full: officers and admins only, audited with the reason.
pub async fn get(
    db: &Db,
    caller: &Caller,
    id: &str,
    unmask: Option<String>,
) -> Result<UserWithRegion> {
    let (scope, id) = (caller.scope.clone(), id.to_owned());
    unmask::read(db, caller, unmask, "user", &["phone"], move |c| {
        let u = users::find(c, &scope, &id)?;
        Ok(Found {
            via: crate::domain::access::Via::Standing,
            id: u.user.id.clone(),
            region_path: u.region.path.clone(),
            value: u,
        })
    })
    .await
}

/// A password's hash, computed off the request threads.
async fn hash_of(password: String) -> Result<String> {
    actix_web::web::block(move || password::hash(&password))
        .await
        .map_err(Error::internal)?
}

/// A staff account to create, as its manager gives it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub region_id: String,
    pub phone: Option<String>,
}

/// A change to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub region_id: Option<String>,
    /// `Some(None)` removes the phone.
    pub phone: Option<Option<String>>,
    /// `false` deactivates the account.
    pub active: Option<bool>,
    pub password: Option<String>,
}

fn may_assign(caller: &Caller, role: Role) -> Result<()> {
    if caller.role.may_assign(role) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            code: Code::RoleNotAssignable,
            detail: Msg::fixed("您不能授予该角色。", "You may not give this role."),
        })
    }
}

/// Whether the caller may change this account (disable or enable it among others): a
/// manager, of a role they may give, in their own jurisdiction (not one reached through an
/// assignment), and not their own: nobody locks themselves out. [`update`] refuses the rest.
pub fn may_change(caller: &Caller, account: &UserWithRegion) -> bool {
    caller.role.has(Permission::ManageUsers)
        && account.user.role().is_ok_and(|r| caller.role.may_assign(r))
        && caller.jurisdiction().contains(&account.region.path)
        && account.user.id != caller.user_id
}

/// The caller's own account.
pub async fn me(db: &Db, caller: &Caller) -> Result<UserWithRegion> {
    let (scope, id) = (caller.scope.clone(), caller.user_id.clone());
    db.read(move |c| users::find(c, &scope, &id)).await
}

/// The display names of these staff, for those inside the caller's scope (a list that
/// names who must act shows the others as unnamed).
pub async fn names(
    db: &Db,
    caller: &Caller,
    ids: Vec<String>,
) -> Result<std::collections::HashMap<String, String>> {
    let scope = caller.scope.clone();
    let rows = db.read(move |c| users::names(c, &scope, &ids)).await?;
    Ok(rows.into_iter().collect())
}

/// Staff inside the caller's scope, by id, `limit` at most.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<UserWithRegion>> {
    let scope = caller.scope.clone();
    db.read(move |c| users::list(c, &scope, &filter, limit))
        .await
}

/// Creates a staff account inside the caller's jurisdiction: an acceptable username (used
/// once), a display name of 1 to 60 characters, an 11-digit phone if any, a password the
/// rules accept (kept only as its hash), and a role the caller may give
/// (`role_not_assignable`).
pub async fn create(
    db: &Db,
    caller: &Caller,
    new: NewAccount,
    once: Once<UserWithRegion>,
) -> Result<Made<UserWithRegion>> {
    let mut c = Checks::default();
    c.rule(
        username::acceptable(&new.username),
        "username",
        Code::InvalidFormat,
        username::RULE,
    );
    c.text("display_name", &new.display_name, 1, 60);
    c.phone("phone", new.phone.as_deref());
    c.finish()?;
    password::check("password", &new.password)?;
    may_assign(caller, new.role)?;
    let hash = hash_of(new.password.clone()).await?;
    let (actor, scope) = (caller.actor(), caller.jurisdiction());
    idempotency::run(db, once, move |conn| {
        users::create(
            conn,
            &actor,
            Some(&scope),
            NewUser {
                username: &new.username,
                display_name: new.display_name.trim(),
                password_hash: hash,
                role: new.role,
                region_id: &new.region_id,
                phone: new.phone.as_deref(),
            },
        )
    })
    .await
}

/// Changes a staff account inside the caller's jurisdiction, read at `version` (412 if it
/// moved on since): the same checks as at creation for what changes; only an admin sets
/// another's password (`password_by_admin`). Deactivating, or a new password, role or
/// region, ends the account's sessions.
pub async fn update(
    db: &Db,
    caller: &Caller,
    id: &str,
    version: i64,
    change: AccountChange,
) -> Result<UserWithRegion> {
    let mut c = Checks::default();
    if let Some(n) = &change.display_name {
        c.text("display_name", n, 1, 60);
    }
    c.phone("phone", change.phone.as_ref().and_then(|p| p.as_deref()));
    c.finish()?;
    if let Some(p) = &change.password {
        password::check("password", p)?;
    }
    if let Some(r) = change.role {
        may_assign(caller, r)?;
    }
    if id == caller.user_id && change.active == Some(false) {
        return Err(Error::Forbidden {
            code: Code::Forbidden,
            detail: Msg::fixed(
                "不能停用本人的账号。",
                "You may not disable your own account.",
            ),
        });
    }
    let password_hash = match change.password {
        Some(p) => Some(hash_of(p).await?),
        None => None,
    };
    let (actor, scope, id) = (caller.actor(), caller.jurisdiction(), id.to_owned());
    db.write(move |conn| {
        users::update(
            conn,
            &actor,
            &scope,
            &id,
            version,
            UserChange {
                display_name: change.display_name.map(|n| n.trim().to_owned()),
                role: change.role,
                region_id: change.region_id,
                phone: change.phone,
                active: change.active,
                password_hash,
            },
        )
    })
    .await
}
