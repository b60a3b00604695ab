//! The first page of a fresh device: today's work (see [`crate::sync::workload`]) before
//! the history. The history that follows is the whole feed from its start, so nothing is
//! skipped; rows of today's work come again there, at most one page of them.

use std::collections::HashSet;

use bangfu_sync::wire::Change;
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::domain::access::Scope;
use crate::households::queries as homes;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{household_helpers, regions, sync_records};
use crate::infra::db::scoped::like_any;
use crate::infra::error::{Error, Result};
use crate::records::store as records;
use crate::records::store::RecordRow;
use crate::sync::pull::{household_change, record_change};
use crate::sync::workload::{is_open, works_case};

fn data(r: &RecordRow) -> Result<Map<String, Value>> {
    serde_json::from_str(&r.data).map_err(Error::internal)
}

/// Up to `limit` rows of today's work of `user_id`, most pressing first: the households
/// they help, the open dropout cases they work and those children, the open records of the
/// households. Empty for someone with no such work (an officer).
pub fn todays_work(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
    region_id: &str,
    limit: usize,
) -> Result<Vec<Change>> {
    let mut out: Vec<Change> = Vec::new();
    let ids: Vec<String> = household_helpers::table
        .filter(household_helpers::user_id.eq(user_id))
        .select(household_helpers::household_id)
        .load(conn)?;
    let helped = homes::with_ids(conn, &ids)?;
    let paths: Vec<String> = helped.iter().map(|h| h.row.path.clone()).collect();
    out.extend(helped.into_iter().map(household_change));

    // Cases: on the team (the user's id is in the record), or of their own school.
    let own_school: Option<String> = regions::table
        .find(region_id)
        .filter(regions::level.eq("school"))
        .select(regions::id)
        .first(conn)
        .optional()?;
    let mut named = vec![format!("%\"{user_id}\"%")];
    if let Some(s) = &own_school {
        named.push(format!("%\"{s}\"%"));
    }
    let cases: Vec<RecordRow> = sync_records::table
        .filter(sync_records::entity.eq("dropout_case"))
        .filter(sync_records::deleted.eq(false))
        .filter(records::reached_by(scope))
        .filter(like_any(sync_records::data, named))
        .order(sync_records::seq.desc())
        .limit(limit as i64)
        .select(RecordRow::as_select())
        .load(conn)?;
    let mut children: Vec<String> = Vec::new();
    for c in cases {
        let d = data(&c)?;
        if works_case(&d, user_id, own_school.as_deref()) {
            children.extend(d.get("child_id").and_then(Value::as_str).map(str::to_owned));
            out.push(record_change(c)?);
        }
    }
    for child in records::load(conn, "child", &children)? {
        let visible = scope.contains(&child.region_path)
            || (!child.reach_path.is_empty() && scope.contains(&child.reach_path));
        if visible && !child.deleted {
            out.push(record_change(child)?);
        }
    }

    // The households' records still being worked on, latest first.
    if !paths.is_empty() && out.len() < limit {
        let rows: Vec<RecordRow> = sync_records::table
            .filter(sync_records::reach_path.eq_any(&paths))
            .filter(sync_records::deleted.eq(false))
            .order(sync_records::seq.desc())
            // Open records are the recent ones: older ones come with the history.
            .limit(4 * limit as i64)
            .select(RecordRow::as_select())
            .load(conn)?;
        let mut seen: HashSet<(String, String)> = out
            .iter()
            .map(|c| (c.entity.clone(), c.id.clone()))
            .collect();
        for r in rows {
            if out.len() >= limit {
                break;
            }
            if is_open(&r.entity, &data(&r)?) && seen.insert((r.entity.clone(), r.id.clone())) {
                out.push(record_change(r)?);
            }
        }
    }
    out.truncate(limit);
    Ok(out)
}
