//! Repair without a full restore: the server computes the same bucket digests as the
//! device over the caller's scope (see `bangfu_sync::digest`), names the buckets that
//! differ, and for those buckets answers only the rows the device lacks or holds at another
//! version, and the ids it holds that are not live in its scope. Rows are read in pages, so
//! memory stays flat however large the scope.

use std::collections::{BTreeMap, HashMap};

use bangfu_sync::Code;
use bangfu_sync::digest::{Digests, bucket_pattern};
use bangfu_sync::schema::ENTITIES;
use bangfu_sync::wire::{Change, Held, MAX_REPAIR_BUCKETS, RepairRequest};
use diesel::prelude::*;

use crate::domain::access::Scope;
use crate::households::queries as homes;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{households, regions, sync_records};
use crate::infra::db::scoped::{like_any, path_in_scope};
use crate::infra::error::{Error, Msg, Result};
use crate::records::store as records;
use crate::regions::queries as region_store;
use crate::sync::pull::{household_change, record_change, region_change};

/// Rows read at a time.
const PAGE: i64 = 5000;

/// The reference entities devices hold besides the synced ones.
const REFERENCE: [&str; 2] = ["household", "region"];

fn known(entity: &str) -> bool {
    REFERENCE.contains(&entity) || ENTITIES.iter().any(|e| e.name == entity)
}

/// `(id, version)` of the live rows of `entity` in the scope, with ids after `after`, in id
/// order, limited to the ids matching one of `patterns` when given.
fn live_page(
    conn: &mut DbConn,
    scope: &Scope,
    entity: &str,
    patterns: Option<&[String]>,
    after: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(match entity {
        "household" => {
            let mut q = households::table
                .filter(path_in_scope(households::path, scope))
                .filter(households::id.gt(after))
                .select((households::id, households::version))
                .order(households::id.asc())
                .limit(PAGE)
                .into_boxed();
            if let Some(p) = patterns {
                q = q.filter(like_any(households::id, p.to_vec()));
            }
            q.load(conn)?
        }
        "region" => {
            let mut q = regions::table
                .filter(path_in_scope(regions::path, scope))
                .filter(regions::id.gt(after))
                .select((regions::id, regions::version))
                .order(regions::id.asc())
                .limit(PAGE)
                .into_boxed();
            if let Some(p) = patterns {
                q = q.filter(like_any(regions::id, p.to_vec()));
            }
            q.load(conn)?
        }
        _ => {
            let mut q = sync_records::table
                .filter(sync_records::entity.eq(entity.to_owned()))
                .filter(sync_records::deleted.eq(false))
                .filter(records::reached_by(scope))
                .filter(sync_records::id.gt(after))
                .select((sync_records::id, sync_records::version))
                .order(sync_records::id.asc())
                .limit(PAGE)
                .into_boxed();
            if let Some(p) = patterns {
                q = q.filter(like_any(sync_records::id, p.to_vec()));
            }
            q.load(conn)?
        }
    })
}

/// Every live row of `entity` in the scope (in the buckets of `patterns`, when given),
/// page by page.
fn each_live(
    conn: &mut DbConn,
    scope: &Scope,
    entity: &str,
    patterns: Option<&[String]>,
    mut f: impl FnMut(String, i64),
) -> Result<()> {
    let mut after = String::new();
    loop {
        let page = live_page(conn, scope, entity, patterns, &after)?;
        let full = page.len() as i64 == PAGE;
        for (id, version) in page {
            after.clone_from(&id);
            f(id, version);
        }
        if !full {
            return Ok(());
        }
    }
}

/// The digests of what the scope holds, over every entity a device holds.
pub fn digests(conn: &mut DbConn, scope: &Scope) -> Result<Digests> {
    let mut d = Digests::default();
    let entities = REFERENCE
        .iter()
        .copied()
        .chain(ENTITIES.iter().map(|e| e.name));
    for entity in entities {
        each_live(conn, scope, entity, None, |id, v| d.add(entity, &id, v))?;
    }
    Ok(d)
}

fn invalid(code: Code, zh: &'static str, en: &'static str) -> Error {
    Error::validation("buckets", code, Msg::fixed(zh, en))
}

/// The difference between what the device holds in the requested buckets and the scope.
pub fn repair(
    conn: &mut DbConn,
    scope: &Scope,
    req: &RepairRequest,
) -> Result<(Vec<Change>, bangfu_sync::wire::Drops)> {
    let asked: usize = req.buckets.values().map(Vec::len).sum();
    if asked > MAX_REPAIR_BUCKETS {
        return Err(invalid(
            Code::TooManyBuckets,
            "一次修复最多 64 个分桶，请分批请求。",
            "At most 64 buckets per repair request: ask in several.",
        ));
    }
    if req.buckets.keys().chain(req.held.keys()).any(|e| !known(e)) {
        return Err(invalid(
            Code::UnknownEntity,
            "含有未知的实体名称。",
            "An entity name is unknown.",
        ));
    }
    let mut changes = Vec::new();
    let mut drops = BTreeMap::new();
    for (entity, buckets) in &req.buckets {
        let patterns: Vec<String> = buckets.iter().map(|b| bucket_pattern(*b)).collect();
        let mut server: HashMap<String, i64> = HashMap::new();
        each_live(conn, scope, entity, Some(&patterns), |id, v| {
            server.insert(id, v);
        })?;
        let wanted: Vec<u16> = buckets.clone();
        let held: HashMap<&str, i64> = req
            .held
            .get(entity)
            .map(|h| {
                h.iter()
                    .filter(|x| wanted.contains(&bangfu_sync::digest::bucket(&x.id)))
                    .map(|Held { id, version }| (id.as_str(), *version))
                    .collect()
            })
            .unwrap_or_default();
        let mut send: Vec<String> = server
            .iter()
            .filter(|(id, v)| held.get(id.as_str()) != Some(*v))
            .map(|(id, _)| id.clone())
            .collect();
        send.sort();
        let mut gone: Vec<String> = held
            .keys()
            .filter(|id| !server.contains_key(**id))
            .map(|id| (*id).to_owned())
            .collect();
        gone.sort();
        if !gone.is_empty() {
            drops.insert(entity.clone(), gone);
        }
        for chunk in send.chunks(PAGE as usize) {
            match entity.as_str() {
                "household" => changes.extend(
                    homes::with_ids(conn, chunk)?
                        .into_iter()
                        .map(household_change),
                ),
                "region" => {
                    let rows = region_store::with_ids(conn, chunk)?;
                    changes.extend(
                        region_store::with_dibao(conn, rows)?
                            .into_iter()
                            .map(region_change),
                    );
                }
                _ => {
                    for r in records::load(conn, entity, chunk)? {
                        changes.push(record_change(r)?);
                    }
                }
            }
        }
    }
    Ok((changes, drops))
}
