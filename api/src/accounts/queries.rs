//! Staff accounts.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::domain::role::Role;
use crate::domain::username;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{regions as regions_t, sessions, users};
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries as regions;
use crate::regions::queries::RegionRow;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub region_id: String,
    pub phone: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    /// The name as accounts are told apart (see [`username::key`]).
    pub username_key: String,
}

impl UserRow {
    pub fn role(&self) -> Result<Role> {
        Role::parse(&self.role)
            .ok_or_else(|| Error::Internal(format!("unknown role {:?}", self.role)))
    }

    /// What the audit log shows: never the password hash.
    fn audit_view(&self) -> serde_json::Value {
        json!({
            "username": self.username, "display_name": self.display_name, "role": self.role,
            "region_id": self.region_id, "phone": self.phone, "active": self.active,
        })
    }
}

/// A user with the region they belong to.
#[derive(Debug, Clone)]
pub struct UserWithRegion {
    pub user: UserRow,
    pub region: RegionRow,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: String,
    pub role: Role,
    pub region_id: &'a str,
    pub phone: Option<&'a str>,
}

/// The region an account of `role` is to belong to: inside `jurisdiction` (`None`: the
/// server's own shell) and of a level the role fits.
fn region_for_user(
    conn: &mut DbConn,
    jurisdiction: Option<&Scope>,
    region_id: &str,
    role: Role,
) -> Result<RegionRow> {
    let region = regions::find(conn, jurisdiction, region_id).map_err(|e| match e {
        Error::NotFound => Error::validation(
            "region_id",
            Code::NotFound,
            Msg::fixed(
                "区域不存在或不在管辖范围内。",
                "The region does not exist or is outside your jurisdiction.",
            ),
        ),
        other => other,
    })?;
    if !role.fits(region.level()?) {
        return Err(Error::validation(
            "region_id",
            Code::RoleRegionMismatch,
            Msg::new(
                format!(
                    "{} 不能隶属于{}级区域。",
                    role.as_str(),
                    region.level()?.as_str()
                ),
                format!(
                    "A {} cannot belong to a region of level {}.",
                    role.as_str(),
                    region.level()?.as_str()
                ),
            ),
        ));
    }
    Ok(region)
}

/// Creates an account. `jurisdiction` is the creator's own region subtree (`None` for the
/// server's shell); the role must fit the region's level and the name be new in any case.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    jurisdiction: Option<&Scope>,
    new: NewUser<'_>,
) -> Result<UserWithRegion> {
    if !username::acceptable(new.username) {
        return Err(Error::validation(
            "username",
            Code::InvalidFormat,
            username::RULE,
        ));
    }
    let region = region_for_user(conn, jurisdiction, new.region_id, new.role)?;
    let now = crate::infra::clock::now();
    let row = UserRow {
        id: crate::infra::db::new_id(),
        username_key: username::key(new.username),
        username: new.username.to_owned(),
        display_name: new.display_name.to_owned(),
        password_hash: new.password_hash,
        role: new.role.as_str().to_owned(),
        region_id: region.id.clone(),
        phone: new.phone.map(str::to_owned),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => Error::Conflict {
                code: Code::UsernameTaken,
                detail: Msg::fixed("用户名已被使用。", "This username is already taken."),
            },
            other => other,
        })?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "user",
            entity_id: &row.id,
            region_path: &region.path,
            changes: audit::diff(&serde_json::Value::Null, &row.audit_view()),
            reason: None,
        },
    )?;
    Ok(UserWithRegion { user: row, region })
}

/// The account a name signs in to, whatever its case or width.
pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<UserRow> {
    Ok(users::table
        .filter(users::username_key.eq(username::key(username)))
        .select(UserRow::as_select())
        .first(conn)?)
}

/// One user, if their region is inside the scope.
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<UserWithRegion> {
    let (user, region): (UserRow, RegionRow) = users::table
        .inner_join(regions_t::table)
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), RegionRow::as_select()))
        .first(conn)?;
    if !scope.contains(&region.path) {
        return Err(Error::NotFound);
    }
    Ok(UserWithRegion { user, region })
}

/// The display names of these users, for those whose region is inside the scope.
pub fn names(conn: &mut DbConn, scope: &Scope, ids: &[String]) -> Result<Vec<(String, String)>> {
    Ok(users::table
        .inner_join(regions_t::table)
        .filter(users::id.eq_any(ids))
        .filter(crate::infra::db::scoped::path_in_scope(
            regions_t::path,
            scope,
        ))
        .select((users::id, users::display_name))
        .load(conn)?)
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub role: Option<Role>,
    pub region_id: Option<String>,
    /// `true`: accounts that may sign in; `false`: those disabled.
    pub active: Option<bool>,
    pub after_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<UserWithRegion>> {
    let mut q = users::table
        .inner_join(regions_t::table)
        .filter(crate::infra::db::scoped::path_in_scope(
            regions_t::path,
            scope,
        ))
        .select((UserRow::as_select(), RegionRow::as_select()))
        .into_boxed();
    if let Some(r) = f.role {
        q = q.filter(users::role.eq(r.as_str()));
    }
    if let Some(r) = &f.region_id {
        q = q.filter(users::region_id.eq(r.clone()));
    }
    if let Some(a) = f.active {
        q = q.filter(users::active.eq(a));
    }
    if let Some(a) = &f.after_id {
        q = q.filter(users::id.gt(a.clone()));
    }
    let rows: Vec<(UserRow, RegionRow)> = q.order(users::id.asc()).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, region)| UserWithRegion { user, region })
        .collect())
}

#[derive(Debug, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub region_id: Option<String>,
    pub phone: Option<Option<String>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// Changes a user if `expected_version` is current, for a manager whose own region's
/// subtree is `jurisdiction`: only accounts of roles the manager could give, moved only
/// within it, and another's password only by an admin. Deactivating a user, or changing
/// their password, role or region, ends their sessions: their old tokens stop working at
/// once.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    jurisdiction: &Scope,
    id: &str,
    expected_version: i64,
    change: UserChange,
) -> Result<UserWithRegion> {
    let before = find(conn, jurisdiction, id)?;
    let manager = actor.role.ok_or_else(Error::forbidden)?;
    if !manager.may_assign(before.user.role()?) {
        return Err(Error::Forbidden {
            code: Code::RoleNotAssignable,
            detail: Msg::fixed(
                "您不能修改该角色的账号。",
                "You may not change accounts of this role.",
            ),
        });
    }
    if change.password_hash.is_some() && manager != Role::Admin {
        return Err(Error::Forbidden {
            code: Code::PasswordByAdmin,
            detail: Msg::fixed(
                "只有系统管理员可以为他人重设密码。",
                "Only an admin sets another user's password.",
            ),
        });
    }
    if before.user.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.user.clone();
    let mut region = before.region.clone();
    if let Some(v) = change.display_name {
        after.display_name = v;
    }
    if let Some(v) = change.role {
        after.role = v.as_str().to_owned();
    }
    let role = change.role.map_or_else(|| before.user.role(), Ok)?;
    if change.region_id.is_some() || change.role.is_some() {
        let target = change
            .region_id
            .as_deref()
            .unwrap_or(&before.user.region_id);
        region = region_for_user(conn, Some(jurisdiction), target, role)?;
        after.region_id = region.id.clone();
    }
    if let Some(v) = change.phone {
        after.phone = v;
    }
    if let Some(v) = change.active {
        after.active = v;
    }
    if let Some(v) = change.password_hash {
        after.password_hash = v;
    }
    after.version += 1;
    after.updated_at = crate::infra::clock::now();
    let moved = after.region_id != before.user.region_id;
    let scope_before = if moved {
        Some(crate::records::reach::sync_scope(conn, id)?)
    } else {
        None
    };
    let n = diesel::update(
        users::table
            .find(id)
            .filter(users::version.eq(expected_version)),
    )
    .set((
        users::display_name.eq(&after.display_name),
        users::role.eq(&after.role),
        users::region_id.eq(&after.region_id),
        users::phone.eq(&after.phone),
        users::active.eq(after.active),
        users::password_hash.eq(&after.password_hash),
        users::version.eq(after.version),
        users::updated_at.eq(after.updated_at),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(Error::PreconditionFailed);
    }
    if let Some(scope_before) = scope_before {
        region_moved(conn, id, &before.region.path, &scope_before)?;
    }
    let ends_sessions = !after.active
        || after.password_hash != before.user.password_hash
        || after.role != before.user.role
        || after.region_id != before.user.region_id;
    if ends_sessions {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((
            sessions::revoked_at.eq(crate::infra::clock::now()),
            sessions::revoked_why.eq("account_changed"),
        ))
        .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "user",
            entity_id: id,
            region_path: &region.path,
            changes: {
                let mut changes = audit::diff(&before.user.audit_view(), &after.audit_view());
                if after.password_hash != before.user.password_hash {
                    changes["password"] = json!({"before": "[redacted]", "after": "[changed]"});
                }
                changes
            },
            reason: None,
        },
    )?;
    Ok(UserWithRegion {
        user: after,
        region,
    })
}

/// Whether the user exists and may sign in.
pub fn find_by_id_active(conn: &mut DbConn, id: &str) -> Result<bool> {
    Ok(users::table
        .find(id)
        .select(users::active)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// The user moved to another region: the old one is kept as a period of their scope (their
/// phones' earlier edits there are still accepted), and their devices receive the new
/// region's rows and drop the old one's.
fn region_moved(conn: &mut DbConn, id: &str, old_path: &str, before: &Scope) -> Result<()> {
    let started_at = crate::records::reach::region_since(conn, id)?;
    crate::records::reach::end_period(
        conn,
        &crate::records::reach::Period {
            user_id: id.to_owned(),
            path: old_path.to_owned(),
            kind: "region".into(),
            started_at,
            ended_at: crate::infra::clock::now(),
        },
    )?;
    let after = crate::records::reach::sync_scope(conn, id)?;
    crate::records::reach::scope_changed(conn, id, before, &after)
}
