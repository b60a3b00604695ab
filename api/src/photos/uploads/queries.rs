//! Blobs, who holds them, and uploads in progress. Every change is audited in the same
//! transaction; chunk progress (`received`, and the kept chunks in `upload_parts`) is
//! bookkeeping and is not.

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::infra::db::DbConn;
use crate::infra::db::schema::{blob_holders, blobs, upload_parts, uploads};
use crate::infra::error::Result;
use crate::photos::evidence;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub user_id: String,
    pub device_id: Option<String>,
    pub region_path: String,
    pub sha256: String,
    pub size: i64,
    pub kind: String,
    pub file_name: Option<String>,
    pub received: i64,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = blobs)]
pub struct BlobRow {
    pub sha256: String,
    pub size: i64,
    pub kind: String,
    pub media_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub exif: Option<String>,
    pub derivatives: String,
    pub stripped: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Perceptual hash, once the image has been decoded.
    pub dhash: Option<i64>,
    /// The original's bytes are the medium-size copy (a JPEG without metadata within it).
    pub medium_is_original: bool,
    /// The original's bytes are the thumbnail too.
    pub thumb_is_original: bool,
}

impl BlobRow {
    /// Whether the file's EXIF says where it was taken.
    pub fn has_gps(&self) -> bool {
        self.exif
            .as_deref()
            .and_then(|e| serde_json::from_str::<crate::photos::exif::ExifInfo>(e).ok())
            .is_some_and(|e| e.has_gps())
    }
}

pub const OPEN: &str = "open";
pub const COMPLETE: &str = "complete";

/// Starts an upload.
pub fn create_upload(conn: &mut DbConn, actor: &Actor, row: &UploadRow) -> Result<()> {
    diesel::insert_into(uploads::table)
        .values(row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "upload",
            entity_id: &row.id,
            region_path: &row.region_path,
            changes: audit::diff(
                &serde_json::Value::Null,
                &json!({"sha256": row.sha256, "size": row.size, "kind": row.kind, "file_name": row.file_name}),
            ),
            reason: None,
        },
    )
}

/// An upload of `user_id` that has not expired.
pub fn find_upload(
    conn: &mut DbConn,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> Result<UploadRow> {
    Ok(uploads::table
        .find(id)
        .filter(uploads::user_id.eq(user_id))
        .filter(uploads::expires_at.gt(now))
        .select(UploadRow::as_select())
        .first(conn)?)
}

/// The caller's unfinished upload of the same bytes, to resume instead of starting over.
pub fn find_open_for(
    conn: &mut DbConn,
    user_id: &str,
    sha256: &str,
    now: NaiveDateTime,
) -> Result<Option<UploadRow>> {
    Ok(uploads::table
        .filter(uploads::user_id.eq(user_id))
        .filter(uploads::sha256.eq(sha256))
        .filter(uploads::state.eq(OPEN))
        .filter(uploads::expires_at.gt(now))
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}

/// Unfinished uploads of one account, on all its devices. Takes the account's row first
/// (for staff), so that two requests racing to the limit, on any instance, queue.
pub fn count_open_of_account(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> Result<i64> {
    diesel::update(crate::infra::db::schema::users::table.find(user_id))
        .set(crate::infra::db::schema::users::version.eq(crate::infra::db::schema::users::version))
        .execute(conn)?;
    Ok(uploads::table
        .filter(uploads::user_id.eq(user_id))
        .filter(uploads::state.eq(OPEN))
        .filter(uploads::expires_at.gt(now))
        .count()
        .get_result(conn)?)
}

/// Unfinished uploads of one device (or of one account signed in without a device).
pub fn count_open(
    conn: &mut DbConn,
    user_id: &str,
    device_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<i64> {
    let mut q = uploads::table
        .filter(uploads::user_id.eq(user_id))
        .filter(uploads::state.eq(OPEN))
        .filter(uploads::expires_at.gt(now))
        .into_boxed();
    q = match device_id {
        Some(d) => q.filter(uploads::device_id.eq(d.to_owned())),
        None => q.filter(uploads::device_id.is_null()),
    };
    Ok(q.count().get_result(conn)?)
}

/// A kept chunk of an unfinished upload: bytes `start_at..end_at`, in the blob store under
/// `object` (a [`crate::infra::blobs::PartKey`] path).
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = upload_parts)]
pub struct PartRow {
    pub upload_id: String,
    pub start_at: i64,
    pub end_at: i64,
    pub object: String,
}

/// Records progress: `received` moves from `from` to `to`, and the chunk holding those
/// bytes (if any arrived) is recorded with it. `false` if another request moved it first;
/// its chunk is then not recorded.
pub fn advance(
    conn: &mut DbConn,
    id: &str,
    from: i64,
    to: i64,
    part: Option<&PartRow>,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool> {
    let moved = move_offset(conn, id, from, to, now, expires_at)?;
    if moved && let Some(p) = part {
        add_part(conn, p)?;
    }
    Ok(moved)
}

/// Moves `received` back from `from` to `to` (recorded chunks were found missing), and
/// forgets the chunks recorded past `to`, which will be sent again.
pub fn rewind(
    conn: &mut DbConn,
    id: &str,
    from: i64,
    to: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool> {
    if !move_offset(conn, id, from, to, now, expires_at)? {
        return Ok(false);
    }
    diesel::delete(
        upload_parts::table
            .filter(upload_parts::upload_id.eq(id))
            .filter(upload_parts::start_at.ge(to)),
    )
    .execute(conn)?;
    Ok(true)
}

/// Records a kept chunk.
pub fn add_part(conn: &mut DbConn, part: &PartRow) -> Result<()> {
    diesel::insert_into(upload_parts::table)
        .values(part)
        .execute(conn)?;
    Ok(())
}

/// The recorded chunks of an upload, in order.
pub fn parts_of(conn: &mut DbConn, upload_id: &str) -> Result<Vec<PartRow>> {
    Ok(upload_parts::table
        .filter(upload_parts::upload_id.eq(upload_id))
        .order(upload_parts::start_at.asc())
        .select(PartRow::as_select())
        .load(conn)?)
}

fn forget_parts(conn: &mut DbConn, upload_ids: &[String]) -> Result<()> {
    diesel::delete(upload_parts::table.filter(upload_parts::upload_id.eq_any(upload_ids)))
        .execute(conn)?;
    Ok(())
}

fn move_offset(
    conn: &mut DbConn,
    id: &str,
    from: i64,
    to: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool> {
    let n = diesel::update(
        uploads::table
            .find(id)
            .filter(uploads::received.eq(from))
            .filter(uploads::state.eq(OPEN)),
    )
    .set((
        uploads::received.eq(to),
        uploads::updated_at.eq(now),
        uploads::expires_at.eq(expires_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Removes an upload (cancelled, or refused when finished).
pub fn delete_upload(conn: &mut DbConn, actor: &Actor, up: &UploadRow, reason: &str) -> Result<()> {
    forget_parts(conn, std::slice::from_ref(&up.id))?;
    diesel::delete(uploads::table.find(&up.id)).execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Delete,
            entity: "upload",
            entity_id: &up.id,
            region_path: &up.region_path,
            changes: json!({}),
            reason: Some(reason),
        },
    )
}

pub fn find_blob(conn: &mut DbConn, sha256: &str) -> Result<Option<BlobRow>> {
    Ok(blobs::table
        .find(sha256)
        .select(BlobRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether `user_id` has sent the complete bytes of this blob before.
pub fn holds(conn: &mut DbConn, sha256: &str, user_id: &str) -> Result<bool> {
    Ok(blob_holders::table
        .find((sha256, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Finishes an upload whose bytes are verified and stored: records the blob (unless the
/// same bytes are already known), the sender as a holder, and the upload as complete.
/// Returns the blob as stored and whether it is new.
pub fn finish(
    conn: &mut DbConn,
    actor: &Actor,
    up: &UploadRow,
    blob: BlobRow,
    keep_until: NaiveDateTime,
) -> Result<(BlobRow, bool)> {
    let now = crate::infra::clock::now();
    let existing = find_blob(conn, &blob.sha256)?;
    let created = existing.is_none();
    let stored = match existing {
        Some(b) => b,
        None => {
            diesel::insert_into(blobs::table)
                .values(&blob)
                .execute(conn)?;
            audit::record(
                conn,
                actor,
                Event {
                    action: Action::Create,
                    entity: "blob",
                    entity_id: &blob.sha256,
                    region_path: &up.region_path,
                    changes: audit::diff(
                        &serde_json::Value::Null,
                        &json!({"size": blob.size, "kind": blob.kind, "media_type": blob.media_type}),
                    ),
                    reason: None,
                },
            )?;
            blob
        }
    };
    if created {
        // Its EXIF is known now: photo records that already name it are checked again.
        evidence::file_changed(conn, &stored.sha256)?;
    }
    if !holds(conn, &stored.sha256, &up.user_id)? {
        diesel::insert_into(blob_holders::table)
            .values((
                blob_holders::sha256.eq(&stored.sha256),
                blob_holders::user_id.eq(&up.user_id),
                blob_holders::first_at.eq(now),
            ))
            .execute(conn)?;
    }
    let finished = diesel::update(
        uploads::table
            .find(&up.id)
            .filter(uploads::state.eq(OPEN))
            .filter(uploads::received.eq(up.received)),
    )
    .set((
        uploads::state.eq(COMPLETE),
        uploads::received.eq(up.size),
        uploads::updated_at.eq(now),
        uploads::expires_at.eq(keep_until),
    ))
    .execute(conn)?;
    if finished == 1 {
        forget_parts(conn, std::slice::from_ref(&up.id))?;
    } else {
        return Err(crate::infra::error::Error::Conflict {
            code: Code::UploadBusy,
            detail: crate::infra::error::Msg::fixed(
                "该上传已被另一请求修改，请查询偏移量。",
                "Another request changed this upload: ask for the offset.",
            ),
        });
    }
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "upload",
            entity_id: &up.id,
            region_path: &up.region_path,
            changes: audit::diff(
                &json!({"state": OPEN}),
                &json!({"state": COMPLETE, "sha256": stored.sha256}),
            ),
            reason: None,
        },
    )?;
    Ok((stored, created))
}

/// How making a file's copies ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopiesMade {
    /// `ready` or `failed`.
    pub state: &'static str,
    /// A copy without metadata was stored.
    pub stripped: bool,
    pub dhash: Option<i64>,
    pub medium_is_original: bool,
    pub thumb_is_original: bool,
}

impl CopiesMade {
    /// The copies could not be made (the picture did not decode, the store refused).
    pub const FAILED: CopiesMade = CopiesMade {
        state: "failed",
        stripped: false,
        dhash: None,
        medium_is_original: false,
        thumb_is_original: false,
    };
}

/// Notes the outcome of making resized copies and the picture's perceptual hash; the
/// photos showing it are checked again for reuse.
pub fn set_derivatives(conn: &mut DbConn, sha256: &str, made: &CopiesMade) -> Result<()> {
    diesel::update(blobs::table.find(sha256))
        .set((
            blobs::derivatives.eq(made.state),
            blobs::stripped.eq(made.stripped),
            blobs::medium_is_original.eq(made.medium_is_original),
            blobs::thumb_is_original.eq(made.thumb_is_original),
        ))
        .execute(conn)?;
    if let Some(h) = made.dhash {
        evidence::set_dhash(conn, sha256, h)?;
        evidence::file_changed(conn, sha256)?;
    }
    Ok(())
}

/// Which of these blobs still wait for their resized copies.
pub fn still_pending(conn: &mut DbConn, shas: &[String]) -> Result<Vec<String>> {
    Ok(blobs::table
        .filter(blobs::sha256.eq_any(shas))
        .filter(blobs::derivatives.eq("pending"))
        .select(blobs::sha256)
        .load(conn)?)
}

/// Blobs still waiting for resized copies (after a restart, say).
pub fn pending_derivatives(conn: &mut DbConn, limit: i64) -> Result<Vec<BlobRow>> {
    Ok(blobs::table
        .filter(blobs::derivatives.eq("pending"))
        .select(BlobRow::as_select())
        .order(blobs::created_at.asc())
        .limit(limit)
        .load(conn)?)
}

/// A record through which a caller asks for a stored file's bytes.
pub enum Naming<'a> {
    /// The live photo records inside this scope.
    PhotoRecords(&'a Scope),
    /// The materials of this application (which the caller was found to reach).
    Material {
        applicant_id: &'a str,
        region_path: &'a str,
        named: &'a [String],
    },
}

/// The one reach rule for stored bytes: the blob, if a record the caller may see names it
/// *and* whoever made that record sent its complete bytes (an author's photo records, an
/// applicant's own uploads). Knowing a digest is not enough; naming someone else's file in
/// a record of one's own shows nothing. Returns the blob and the region path of the
/// record naming it (for the audit log). Every endpoint serving stored bytes asks here.
pub fn reach_file(
    conn: &mut DbConn,
    naming: Naming<'_>,
    sha256: &str,
) -> Result<(BlobRow, String)> {
    let blob = find_blob(conn, sha256)?.ok_or(crate::infra::error::Error::NotFound)?;
    let path = match naming {
        Naming::PhotoRecords(scope) => {
            let holders: Vec<String> = blob_holders::table
                .filter(blob_holders::sha256.eq(sha256))
                .select(blob_holders::user_id)
                .load(conn)?;
            evidence::named_in_scope(conn, scope, sha256, &holders)?
        }
        Naming::Material {
            applicant_id,
            region_path,
            named,
            ..
        } => {
            let listed = named.iter().any(|n| n.eq_ignore_ascii_case(sha256));
            let sent = holds(conn, sha256, &applicant_holder(applicant_id))?;
            (listed && sent).then(|| region_path.to_owned())
        }
    };
    path.map(|p| (blob, p))
        .ok_or(crate::infra::error::Error::NotFound)
}

/// How an applicant is named among the senders of a file.
pub fn applicant_holder(applicant_id: &str) -> String {
    format!("applicant:{applicant_id}")
}

/// Removes expired uploads; returns the ids of the unfinished ones, whose part files the
/// caller deletes.
pub fn expire(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<String>> {
    let open: Vec<String> = uploads::table
        .filter(uploads::expires_at.le(now))
        .filter(uploads::state.eq(OPEN))
        .select(uploads::id)
        .load(conn)?;
    forget_parts(conn, &open)?;
    diesel::delete(uploads::table.filter(uploads::expires_at.le(now))).execute(conn)?;
    Ok(open)
}

/// Digests that the live photo records `user_id` made inside `scope` name, of which the
/// server holds no complete copy from that user (at most `limit` records are looked at,
/// newest first): the files the user's phone still has to send.
pub fn missing_for(
    conn: &mut DbConn,
    scope: &Scope,
    user_id: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let named = evidence::named_by(conn, scope, user_id, limit)?;
    let held: Vec<String> = blob_holders::table
        .filter(blob_holders::user_id.eq(user_id))
        .filter(blob_holders::sha256.eq_any(&named))
        .select(blob_holders::sha256)
        .load(conn)?;
    Ok(named.into_iter().filter(|s| !held.contains(s)).collect())
}

/// The unfinished uploads of `user_id`.
pub fn open_uploads(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<UploadRow>> {
    Ok(uploads::table
        .filter(uploads::user_id.eq(user_id))
        .filter(uploads::state.eq(OPEN))
        .filter(uploads::expires_at.gt(now))
        .order(uploads::id.asc())
        .select(UploadRow::as_select())
        .load(conn)?)
}
