//! The region tree.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::domain::region;
use crate::domain::region::RegionLevel;
use crate::infra::db::DbConn;
use crate::infra::db::schema::regions;
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: String,
    pub code: String,
    pub name: String,
    pub path: String,
    pub dibao_fen: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    /// Position in the sync feed of the latest change (regions are reference data).
    pub seq: i64,
}

impl RegionRow {
    pub fn level(&self) -> Result<RegionLevel> {
        RegionLevel::parse(&self.level)
            .ok_or_else(|| Error::Internal(format!("unknown region level {:?}", self.level)))
    }

    /// The fields an audit entry shows.
    fn audit_view(&self) -> serde_json::Value {
        json!({
            "parent_id": self.parent_id, "level": self.level, "code": self.code,
            "name": self.name, "dibao_fen": self.dibao_fen,
        })
    }

    /// The ids on the path from the root down to this node (itself included).
    pub fn lineage(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
}

/// A region with the dibao standard in force there (its own or inherited).
#[derive(Debug, Clone)]
pub struct RegionView {
    pub row: RegionRow,
    pub effective_dibao_fen: Option<i64>,
}

pub struct NewRegion<'a> {
    pub parent_id: Option<&'a str>,
    pub level: RegionLevel,
    pub code: &'a str,
    pub name: &'a str,
    pub dibao_fen: Option<i64>,
}

/// Adds a node. A child must be inside `scope` (`None`: the operator, who may add roots).
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    scope: Option<&Scope>,
    new: NewRegion<'_>,
) -> Result<RegionRow> {
    let parent = match new.parent_id {
        Some(pid) => Some(find(conn, scope, pid).map_err(|e| match e {
            Error::NotFound => Error::validation(
                "parent_id",
                Code::NotFound,
                Msg::fixed(
                    "上级区域不存在或不在管辖范围内。",
                    "The parent region does not exist or is outside your jurisdiction.",
                ),
            ),
            other => other,
        })?),
        None if scope.is_some() => {
            return Err(Error::validation(
                "parent_id",
                Code::Required,
                Msg::fixed("须指定上级区域。", "A parent region is required."),
            ));
        }
        None => None,
    };
    let parent_level = parent.as_ref().map(RegionRow::level).transpose()?;
    if !new.level.may_have_parent(parent_level) {
        return Err(Error::validation(
            "level",
            Code::InvalidParent,
            Msg::new(
                format!("{} 不能设在该上级区域之下。", new.level.as_str()),
                format!(
                    "A {} cannot be placed under a {}.",
                    new.level.as_str(),
                    parent_level.map(RegionLevel::as_str).unwrap_or("root")
                ),
            ),
        ));
    }
    let id = crate::infra::db::new_id();
    let now = crate::infra::clock::now();
    let row = RegionRow {
        path: region::child_path(parent.as_ref().map(|p| p.path.as_str()), &id),
        id,
        parent_id: parent.map(|p| p.id),
        level: new.level.as_str().to_owned(),
        code: new.code.to_owned(),
        name: new.name.to_owned(),
        dibao_fen: new.dibao_fen,
        created_at: now,
        updated_at: now,
        version: 1,
        seq: crate::infra::db::feed::take(conn, 1)?,
    };
    diesel::insert_into(regions::table)
        .values(&row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "region",
            entity_id: &row.id,
            region_path: &row.path,
            changes: audit::diff(&serde_json::Value::Null, &row.audit_view()),
            reason: None,
        },
    )?;
    Ok(row)
}

/// One region by id, if inside the scope (`None`: unscoped, for the operator).
pub fn find(conn: &mut DbConn, scope: Option<&Scope>, id: &str) -> Result<RegionRow> {
    let row: RegionRow = regions::table
        .find(id)
        .select(RegionRow::as_select())
        .first(conn)?;
    match scope {
        Some(s) if !s.contains(&row.path) => Err(Error::NotFound),
        _ => Ok(row),
    }
}

/// Refuses unless `scope` covers every root of the region tree: data every jurisdiction
/// shares is changed only from above all of them ([`Scope::covers_all`]).
pub fn require_whole_install(conn: &mut DbConn, scope: &Scope) -> Result<()> {
    let roots: Vec<String> = regions::table
        .filter(regions::parent_id.is_null())
        .select(regions::path)
        .load(conn)?;
    if scope.covers_all(&roots) {
        return Ok(());
    }
    Err(Error::Forbidden {
        code: Code::InstallWideData,
        detail: Msg::fixed(
            "工作日历和帮扶项目为全辖区共用，只能由管辖全部区域的账号修改。",
            "The working-day calendar and the programs are shared by every jurisdiction of \
             the install: only an account whose jurisdiction covers all of them changes them.",
        ),
    })
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> Result<RegionRow> {
    Ok(regions::table
        .filter(regions::code.eq(code))
        .select(RegionRow::as_select())
        .first(conn)?)
}

/// Adds the effective dibao standard to each row, reading all ancestors in one query.
pub fn with_dibao(conn: &mut DbConn, rows: Vec<RegionRow>) -> Result<Vec<RegionView>> {
    let mut ancestor_ids: Vec<String> = rows
        .iter()
        .filter(|r| r.dibao_fen.is_none())
        .flat_map(|r| r.lineage().into_iter().map(str::to_owned))
        .collect();
    ancestor_ids.sort();
    ancestor_ids.dedup();
    let ancestors: std::collections::HashMap<String, Option<i64>> = if ancestor_ids.is_empty() {
        Default::default()
    } else {
        regions::table
            .filter(regions::id.eq_any(&ancestor_ids))
            .select((regions::id, regions::dibao_fen))
            .load::<(String, Option<i64>)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let chain: Vec<Option<i64>> = row
                .lineage()
                .iter()
                .rev()
                .map(|id| ancestors.get(*id).copied().flatten())
                .collect();
            let effective = row.dibao_fen.or_else(|| region::effective_dibao(chain));
            RegionView {
                row,
                effective_dibao_fen: effective,
            }
        })
        .collect())
}

/// One region with its effective dibao standard.
pub fn view(conn: &mut DbConn, row: RegionRow) -> Result<RegionView> {
    with_dibao(conn, vec![row])?.pop().ok_or(Error::NotFound)
}

/// One region inside the scope, with its effective dibao standard.
pub fn find_view(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<RegionView> {
    let row = find(conn, Some(scope), id)?;
    view(conn, row)
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub parent_id: Option<String>,
    pub level: Option<RegionLevel>,
    /// Regions whose path sorts after this one (tree order paging).
    pub after_path: Option<String>,
}

/// Regions inside the scope in tree order.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<RegionRow>> {
    listed(conn, Some(scope), f, limit)
}

/// Every administrative division (schools are not places people live in), in tree
/// order: the directory an applicant picks their township and village from.
pub fn divisions(conn: &mut DbConn, f: &ListFilter, limit: i64) -> Result<Vec<RegionRow>> {
    listed(conn, None, f, limit)
}

fn listed(
    conn: &mut DbConn,
    scope: Option<&Scope>,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<RegionRow>> {
    let mut q = regions::table.select(RegionRow::as_select()).into_boxed();
    q = match scope {
        Some(scope) => q.filter(crate::infra::db::scoped::path_in_scope(
            regions::path,
            scope,
        )),
        None => q.filter(regions::level.ne(RegionLevel::School.as_str())),
    };
    if let Some(p) = &f.parent_id {
        q = q.filter(regions::parent_id.eq(p.clone()));
    }
    if let Some(l) = f.level {
        q = q.filter(regions::level.eq(l.as_str()));
    }
    if let Some(a) = &f.after_path {
        q = q.filter(regions::path.gt(a.clone()));
    }
    Ok(q.order(regions::path.asc()).limit(limit).load(conn)?)
}

#[derive(Debug, Default)]
pub struct RegionChange {
    pub name: Option<String>,
    /// `Some(None)` clears the override so the parent's standard applies again.
    pub dibao_fen: Option<Option<i64>>,
}

/// Updates a region if `expected_version` is still current (optimistic concurrency).
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    change: RegionChange,
) -> Result<RegionRow> {
    let before = find(conn, Some(scope), id)?;
    if before.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let mut after = before.clone();
    if let Some(n) = change.name {
        after.name = n;
    }
    if let Some(d) = change.dibao_fen {
        after.dibao_fen = d;
    }
    after.version += 1;
    after.updated_at = crate::infra::clock::now();
    after.seq = crate::infra::db::feed::take(conn, 1)?;
    let n = diesel::update(
        regions::table
            .find(id)
            .filter(regions::version.eq(expected_version)),
    )
    .set((
        regions::name.eq(&after.name),
        regions::dibao_fen.eq(after.dibao_fen),
        regions::version.eq(after.version),
        regions::updated_at.eq(after.updated_at),
        regions::seq.eq(after.seq),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(Error::PreconditionFailed);
    }
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "region",
            entity_id: id,
            region_path: &after.path,
            changes: audit::diff(&before.audit_view(), &after.audit_view()),
            reason: None,
        },
    )?;
    Ok(after)
}

/// Regions inside the scope that changed after feed position `after_seq`, in feed order.
pub fn changed_since(
    conn: &mut DbConn,
    scope: &Scope,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<RegionRow>> {
    Ok(regions::table
        .select(RegionRow::as_select())
        .filter(regions::seq.gt(after_seq))
        .filter(crate::infra::db::scoped::path_in_scope(
            regions::path,
            scope,
        ))
        .order(regions::seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// The regions with these ids, wherever they are (callers check the scope).
pub fn with_ids(conn: &mut DbConn, ids: &[String]) -> Result<Vec<RegionRow>> {
    Ok(regions::table
        .filter(regions::id.eq_any(ids))
        .select(RegionRow::as_select())
        .load(conn)?)
}
