//! Photo review (R-VISIT-3): the queue of photos in a reviewer's scope with their integrity
//! flags, the village (first) secretary's decision, and the backlog per village. A
//! decision is a change of the photo record, made on the server, so it syncs back to the
//! phone that took the photo; phones never set review fields themselves.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bangfu_sync::{Clock, Code};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, json};

use crate::domain::access::Scope;
use crate::infra::db::schema::{blob_holders, blobs, photo_evidence, regions, users};
use crate::infra::db::{DbConn, feed};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::photos::evidence;
use crate::photos::evidence::{EvidenceRow, PHOTO};
use crate::photos::uploads::queries as blobs_store;
use crate::photos::uploads::queries::BlobRow;
use crate::sync::push;
use crate::sync::push::Pusher;

pub const PENDING: &str = "pending";

/// What the reviewer decided (`approved` or `rejected`, as the API and the console's form
/// send it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = DecisionKind)]
pub enum Verdict {
    Approved,
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
        }
    }
}

/// A decision as it was made: everything a follow-up (say, a task on the author's work
/// list for a rejected photo) needs.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The photo as it now stands (review fields set).
    pub photo: EvidenceRow,
    /// Who took the photo (the helper whose work it proves).
    pub author: Option<String>,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub reviewer: String,
    /// `false` when this repeats a decision already made (same verdict and reason by the
    /// same reviewer): nothing was written.
    pub changed: bool,
}

fn in_scope(scope: &Scope, r: &EvidenceRow) -> bool {
    scope.contains(&r.region_path) || (!r.reach_path.is_empty() && scope.contains(&r.reach_path))
}

/// One photo inside the scope.
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<EvidenceRow> {
    let row: EvidenceRow = photo_evidence::table
        .find(id)
        .select(EvidenceRow::as_select())
        .first(conn)?;
    if !in_scope(scope, &row) {
        return Err(Error::NotFound);
    }
    Ok(row)
}

/// Decides on a pending photo inside the caller's write transaction: the photo record gets
/// the verdict, reason, reviewer and time as a change made on the server (audited with the
/// record, in the feed, so the phone receives it), and the review never moves back. The
/// reviewer may not decide on their own photo, nor on one whose file has not arrived.
pub fn decide(
    conn: &mut DbConn,
    who: &Pusher,
    clock: &Mutex<Clock>,
    key: &DataKey,
    photo_id: &str,
    verdict: Verdict,
    reason: Option<&str>,
) -> Result<Decided> {
    // Concurrent decisions on the same photo queue here (as pushes do), so the check below
    // sees the other's outcome.
    feed::take(conn, 0)?;
    let row = find(conn, &who.scope, photo_id)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let decided = |photo: EvidenceRow, changed| Decided {
        author: photo.created_by.clone(),
        photo,
        verdict,
        reason: reason.map(str::to_owned),
        reviewer: who.user_id.clone(),
        changed,
    };
    if row.review_status != PENDING {
        let same = row.review_status == verdict.as_str()
            && row.review_reason.as_deref() == reason
            && row.reviewed_by.as_deref() == Some(who.user_id.as_str());
        if same {
            return Ok(decided(row, false));
        }
        return Err(Error::Conflict {
            code: Code::PhotoAlreadyReviewed,
            detail: Msg::new(
                format!("该照片已审核（{}），审核结果不可更改。", row.review_status),
                format!(
                    "This photo was already reviewed ({}); a review is not changed.",
                    row.review_status
                ),
            ),
        });
    }
    if row.created_by.as_deref() == Some(who.user_id.as_str()) {
        return Err(Error::Forbidden {
            code: Code::OwnPhoto,
            detail: Msg::fixed(
                "不能审核自己拍摄的照片。",
                "You cannot review a photo you took yourself.",
            ),
        });
    }
    let author = row.created_by.clone().unwrap_or_default();
    if blobs_store::find_blob(conn, &row.sha256)?.is_none()
        || !blobs_store::holds(conn, &row.sha256, &author)?
    {
        return Err(Error::Conflict {
            code: Code::PhotoFileMissing,
            detail: Msg::fixed(
                "照片文件尚未上传，无法审核。",
                "The photo's file has not been uploaded yet: it cannot be reviewed.",
            ),
        });
    }
    if verdict == Verdict::Rejected && reason.is_none() {
        return Err(Error::validation(
            "reason",
            Code::Required,
            Msg::fixed("退回照片须说明理由。", "A rejected photo needs a reason."),
        ));
    }
    let record = crate::records::store::load(conn, PHOTO, std::slice::from_ref(&row.id))?
        .pop()
        .ok_or(Error::NotFound)?;
    let mut fields = Map::new();
    fields.insert("review_status".into(), json!(verdict.as_str()));
    fields.insert("review_reason".into(), json!(reason));
    fields.insert("reviewed_by".into(), json!(who.user_id));
    fields.insert(
        "reviewed_at".into(),
        json!(
            crate::infra::clock::now()
                .and_utc()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        ),
    );
    let m = push::server_mutation(clock, PHOTO, &row.id, record.version, fields)?;
    push::apply_one(conn, who, clock, key, m)?;
    Ok(decided(find(conn, &who.scope, photo_id)?, true))
}

/// Which photos a queue lists.
#[derive(Debug, Default, Clone)]
pub struct QueueFilter {
    /// `pending` (the default), `approved` or `rejected`.
    pub status: Option<String>,
    pub region_id: Option<String>,
    /// Only photos with (`true`) or without (`false`) flags.
    pub flagged: Option<bool>,
    pub after_id: Option<String>,
}

/// A photo in the queue, with its file if the author has sent it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub photo: EvidenceRow,
    pub file: Option<BlobRow>,
}

/// Photos inside the scope, oldest first.
pub fn queue(conn: &mut DbConn, scope: &Scope, f: &QueueFilter, limit: i64) -> Result<Vec<Queued>> {
    let status = f.status.clone().unwrap_or_else(|| PENDING.to_owned());
    let mut q = photo_evidence::table
        .select(EvidenceRow::as_select())
        .filter(photo_evidence::review_status.eq(status))
        .filter(evidence::reached_by(scope))
        .order(photo_evidence::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(r) = &f.region_id {
        q = q.filter(photo_evidence::region_id.eq(r.clone()));
    }
    match f.flagged {
        Some(true) => q = q.filter(photo_evidence::flag_count.gt(0)),
        Some(false) => q = q.filter(photo_evidence::flag_count.eq(0)),
        None => {}
    }
    if let Some(a) = &f.after_id {
        q = q.filter(photo_evidence::id.gt(a.clone()));
    }
    let rows = q.load(conn)?;
    with_files(conn, rows)
}

/// The evidence photos of one household inside the scope (of its visits and of itself),
/// newest first, whatever their review, `limit` at most.
pub fn of_household(
    conn: &mut DbConn,
    scope: &Scope,
    household_id: &str,
    limit: i64,
) -> Result<Vec<Queued>> {
    let rows = photo_evidence::table
        .select(EvidenceRow::as_select())
        .filter(photo_evidence::household_id.eq(household_id))
        .filter(evidence::reached_by(scope))
        .order((photo_evidence::taken_at.desc(), photo_evidence::id.desc()))
        .limit(limit)
        .load(conn)?;
    with_files(conn, rows)
}

/// Each photo with its file, once its author has sent it.
fn with_files(conn: &mut DbConn, rows: Vec<EvidenceRow>) -> Result<Vec<Queued>> {
    let shas: Vec<&str> = rows.iter().map(|r| r.sha256.as_str()).collect();
    let held: HashSet<(String, String)> = blob_holders::table
        .filter(blob_holders::sha256.eq_any(&shas))
        .select((blob_holders::sha256, blob_holders::user_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let files: HashMap<String, BlobRow> = blobs::table
        .filter(blobs::sha256.eq_any(&shas))
        .select(BlobRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|b| (b.sha256.clone(), b))
        .collect();
    Ok(rows
        .into_iter()
        .map(|photo| {
            let sent = photo
                .created_by
                .as_ref()
                .is_some_and(|a| held.contains(&(photo.sha256.clone(), a.clone())));
            Queued {
                file: files.get(&photo.sha256).filter(|_| sent).cloned(),
                photo,
            }
        })
        .collect())
}

/// Pending photos of one village.
#[derive(Debug, Clone)]
pub struct Backlog {
    pub region_id: String,
    pub region_name: String,
    pub pending: i64,
    pub flagged: i64,
    pub oldest: Option<NaiveDateTime>,
    /// The village (first) secretaries who review them.
    pub secretary_ids: Vec<String>,
}

/// The review backlog of every village inside the scope that has one, largest first.
pub fn backlog(conn: &mut DbConn, scope: &Scope) -> Result<Vec<Backlog>> {
    let pending = || {
        photo_evidence::table
            .filter(photo_evidence::review_status.eq(PENDING))
            .filter(evidence::reached_by(scope))
            .group_by(photo_evidence::region_id)
    };
    let all: Vec<(String, i64, Option<NaiveDateTime>)> = pending()
        .select((
            photo_evidence::region_id,
            diesel::dsl::count_star(),
            diesel::dsl::min(photo_evidence::created_at),
        ))
        .load(conn)?;
    let flagged: HashMap<String, i64> = pending()
        .filter(photo_evidence::flag_count.gt(0))
        .select((photo_evidence::region_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let ids: Vec<&str> = all.iter().map(|r| r.0.as_str()).collect();
    let names: HashMap<String, String> = regions::table
        .filter(regions::id.eq_any(&ids))
        .select((regions::id, regions::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut secretaries: HashMap<String, Vec<String>> = HashMap::new();
    for (region, user) in users::table
        .filter(users::region_id.eq_any(&ids))
        .filter(users::role.eq(crate::domain::role::Role::VillageSecretary.as_str()))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select((users::region_id, users::id))
        .load::<(String, String)>(conn)?
    {
        secretaries.entry(region).or_default().push(user);
    }
    let mut out: Vec<Backlog> = all
        .into_iter()
        .map(|(region_id, pending, oldest)| Backlog {
            region_name: names.get(&region_id).cloned().unwrap_or_default(),
            flagged: flagged.get(&region_id).copied().unwrap_or(0),
            secretary_ids: secretaries.remove(&region_id).unwrap_or_default(),
            region_id,
            pending,
            oldest,
        })
        .collect();
    out.sort_by(|a, b| {
        b.pending
            .cmp(&a.pending)
            .then(a.region_id.cmp(&b.region_id))
    });
    Ok(out)
}
