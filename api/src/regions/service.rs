//! The region tree's use cases: one function each, owning its transaction, taking the
//! caller and typed input, checking it, and answering typed rows or the one error.

use bangfu_sync::Code;

use crate::domain::caller::Caller;
use crate::domain::region::{self, RegionLevel};
use crate::domain::role::Permission;
use crate::domain::validate::Checks;
use crate::infra::db::Db;
use crate::infra::error::{Msg, Result};
use crate::infra::idempotency::{self, Made, Once};
use crate::regions::queries::{
    self as regions, ListFilter, NewRegion, RegionChange, RegionRow, RegionView,
};

/// A region to add, as an admin gives it.
#[derive(Debug, Clone)]
pub struct Addition {
    pub parent_id: String,
    pub level: RegionLevel,
    pub code: String,
    pub name: String,
    /// Own dibao standard, fen per person per month; none inherits.
    pub dibao_fen: Option<i64>,
}

fn check_dibao(c: &mut Checks, dibao: Option<i64>) {
    c.rule(
        dibao.is_none_or(|d| d > 0 && d < 10_000_000),
        "dibao_fen",
        Code::OutOfRange,
        Msg::fixed(
            "低保标准须为正整数（分）。",
            "dibao_fen is a positive number of fen.",
        ),
    );
}

/// Regions inside the caller's scope in tree order, with the dibao standard in force in
/// each (R-FILE-3), `limit` at most.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<RegionView>> {
    let scope = caller.scope.clone();
    db.read(move |c| {
        let rows = regions::list(c, &scope, &filter, limit)?;
        regions::with_dibao(c, rows)
    })
    .await
}

/// The directory of administrative divisions (no schools) in tree order, `limit` at most:
/// names and codes, for anyone signed in, whatever their jurisdiction (an applicant picks
/// their township and village from it).
pub async fn divisions(db: &Db, filter: ListFilter, limit: i64) -> Result<Vec<RegionRow>> {
    db.read(move |c| regions::divisions(c, &filter, limit))
        .await
}

/// One region inside the caller's scope, with the dibao standard in force (R-FILE-3).
pub async fn find(db: &Db, caller: &Caller, id: &str) -> Result<RegionView> {
    let (scope, id) = (caller.scope.clone(), id.to_owned());
    db.read(move |c| regions::find_view(c, &scope, &id)).await
}

/// Adds a region under one inside the caller's scope: a name of 1 to 100 characters, a
/// code of 2 to 20 letters or digits (used once), a positive dibao standard if any.
pub async fn add(
    db: &Db,
    caller: &Caller,
    new: Addition,
    once: Once<RegionView>,
) -> Result<Made<RegionView>> {
    let mut c = Checks::default();
    c.text("name", &new.name, 1, 100);
    c.rule(
        region::valid_code(&new.code),
        "code",
        Code::InvalidFormat,
        Msg::fixed(
            "区划代码须为 2 到 20 位字母或数字。",
            "code is 2 to 20 letters or digits.",
        ),
    );
    check_dibao(&mut c, new.dibao_fen);
    c.finish()?;
    let (actor, scope) = (caller.actor(), caller.scope.clone());
    idempotency::run(db, once, move |conn| {
        let row = regions::create(
            conn,
            &actor,
            Some(&scope),
            NewRegion {
                parent_id: Some(&new.parent_id),
                level: new.level,
                code: &new.code,
                name: new.name.trim(),
                dibao_fen: new.dibao_fen,
            },
        )?;
        regions::view(conn, row)
    })
    .await
}

/// Renames a region (`manage_regions` only) or sets its own dibao standard (none: the
/// inherited one again, R-FILE-3), read at `version` (412 if it moved on since).
pub async fn update(
    db: &Db,
    caller: &Caller,
    id: &str,
    version: i64,
    change: RegionChange,
) -> Result<RegionView> {
    if change.name.is_some() {
        caller.require(Permission::ManageRegions)?;
    }
    let mut c = Checks::default();
    if let Some(n) = &change.name {
        c.text("name", n, 1, 100);
    }
    check_dibao(&mut c, change.dibao_fen.flatten());
    c.finish()?;
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    let change = RegionChange {
        name: change.name.map(|n| n.trim().to_owned()),
        ..change
    };
    db.write(move |conn| {
        let row = regions::update(conn, &actor, &scope, &id, version, change)?;
        regions::view(conn, row)
    })
    .await
}
