//! The uploads' use cases: starting (or resuming) an upload, a chunk, its progress, what a
//! phone still has to send, and cancelling. Each owns its transactions, takes the uploader
//! and typed input, and answers typed rows or the error; the receiving, verifying and
//! storing of bytes is [`crate::photos::uploads::service`]'s.

use std::sync::Arc;

use actix_web::web::Bytes;
use bangfu_sync::Code;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::audit::log::Actor;
use crate::domain::caller::Caller;
use crate::domain::validate::Checks;
use crate::infra::clock::now;
use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::photos::uploads::queries::{self as rows, BlobRow, COMPLETE, OPEN, UploadRow};
use crate::photos::uploads::service::{self as receive, keep_finished};
use crate::photos::{Kind, Photos, Sha256Hex};

/// A body of bytes as it arrives.
pub trait Body:
    Stream<Item = std::result::Result<Bytes, actix_web::error::PayloadError>> + Unpin
{
}

impl<S> Body for S where
    S: Stream<Item = std::result::Result<Bytes, actix_web::error::PayloadError>> + Unpin
{
}

/// The bytes that come with a creation.
pub enum Incoming<S> {
    /// Arriving in the request (tus creation-with-upload), received as they come.
    Streamed(S),
    /// Already whole in a scratch file of the request's (a multipart form's file part,
    /// spooled as the form was read): verified and stored from where it lies, never copied
    /// again.
    Spooled(std::path::PathBuf),
}

/// Who uploads: staff on their devices (photos and documents), or an applicant attaching
/// materials to an application (documents and photos of papers).
pub struct Uploader {
    /// The key uploads and held files are filed under (`applicant:<id>` for applicants).
    pub user_id: String,
    pub device_id: Option<String>,
    pub region_path: String,
    pub actor: Actor,
}

impl Uploader {
    fn actor(&self) -> Actor {
        self.actor.clone()
    }
}

/// A file declared for upload.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// SHA-256 of the whole file, 64 hex digits.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    pub kind: Kind,
    /// The name on the phone, for people only.
    pub file_name: Option<String>,
}

fn check_file_name(c: &mut Checks, name: &str) {
    c.text("file_name", name, 1, 255);
    let unsafe_name = name.contains(['/', '\\', '\0'])
        || name.split(['/', '\\']).any(|p| p == "..")
        || name.starts_with('.')
        || name.chars().any(char::is_control);
    if unsafe_name {
        c.errors.push(FieldError::new(
            "file_name",
            Code::InvalidFormat,
            Msg::fixed(
                "文件名不得含路径（/、\\、..）或控制字符。",
                "A file name may not contain a path (/, \\, ..) or control characters.",
            ),
        ));
    }
}

/// What a chunk of bytes did to an open upload.
pub enum Chunked {
    /// Kept: the upload stays open at its `received`.
    Kept(UploadRow),
    /// The last byte: the file is verified and stored.
    Stored(UploadRow, BlobRow),
    /// Stopped by the error, the server holding this many bytes (to resume from).
    Stopped(Error, i64),
}

/// How a start went.
pub enum Started {
    /// An unfinished upload of these bytes, to resume.
    Resumed(UploadRow),
    /// The uploader sent these bytes before: complete at once (the row has no id).
    Held(UploadRow, BlobRow),
    /// A new upload (its id), declared only: chunks follow.
    Created(Uuid, UploadRow),
    /// An unfinished upload of these bytes, resumed with the bytes that came along.
    Continued(Chunked),
    /// A new upload (its id) that brought (the start of) its bytes.
    Arrived(Uuid, Chunked),
}

enum Outcome {
    Resume(UploadRow),
    Held(BlobRow),
    Created(UploadRow),
}

/// Starts an upload, or resumes the uploader's unfinished upload of the same bytes; if the
/// uploader sent these bytes before, it is complete at once. Every deficiency of the
/// declaration is listed at once; a file larger than its kind's limit (or a body longer
/// than declared, `sent_len`) is refused with 413; too many unfinished uploads on the
/// device or account with 409 `too_many_open_uploads`. With `body` (tus
/// creation-with-upload) the bytes are received from the start: a whole file is stored
/// (new upload and file in one transaction), a body cut short leaves an open upload.
/// With `record_held`, bytes the uploader sent before are recorded as a new, complete
/// upload (audited as any creation), so that a client that must be given an upload to ask
/// about (a tus client) has one.
pub async fn start<S: Body>(
    db: &Db,
    photos: &Arc<Photos>,
    who: &Uploader,
    d: Declaration,
    sent_len: Option<i64>,
    body: Option<Incoming<S>>,
    record_held: bool,
) -> Result<Started> {
    let mut c = Checks::default();
    let sha = Sha256Hex::parse(&d.sha256);
    if let Err(Error::Validation(fs)) = &sha {
        c.errors.extend(fs.iter().cloned());
    }
    if d.size < 1 {
        c.errors.push(FieldError::new(
            "size",
            Code::OutOfRange,
            Msg::fixed("size 须为正数。", "size must be positive."),
        ));
    }
    if let Some(n) = &d.file_name {
        check_file_name(&mut c, n);
    }
    c.finish()?;
    let sha = sha?;
    let limit = photos.limits.max_bytes(d.kind);
    if d.size as u64 > limit || (body.is_some() && sent_len.is_some_and(|n| n > d.size)) {
        return Err(Error::PayloadTooLarge {
            limit: usize::try_from(limit.min(d.size as u64)).unwrap_or(usize::MAX),
        });
    }
    let photos = photos.clone();
    let id = Uuid::now_v7();
    let row = UploadRow {
        id: id.to_string(),
        user_id: who.user_id.clone(),
        device_id: who.device_id.clone(),
        region_path: who.region_path.clone(),
        sha256: sha.to_string(),
        size: d.size,
        kind: d.kind.as_str().to_owned(),
        file_name: d.file_name.clone(),
        received: 0,
        state: OPEN.to_owned(),
        created_at: now(),
        updated_at: now(),
        expires_at: now() + photos.limits.idle_expiry,
    };
    let actor = who.actor();
    let max_open = (
        photos.limits.max_open_per_device,
        photos.limits.max_open_per_account,
    );
    // Decided in one transaction: resume, already held, too many, or a new upload. A new
    // upload that brings its bytes is written once they are in, with the verdict.
    let (r, a, record) = (row.clone(), actor.clone(), body.is_none());
    let decide = move |c: &mut DbConn| {
        let t = now();
        if let Some(open) = rows::find_open_for(c, &r.user_id, &r.sha256, t)? {
            return Ok(Outcome::Resume(open));
        }
        if let Some(blob) = rows::find_blob(c, &r.sha256)?
            && rows::holds(c, &r.sha256, &r.user_id)?
        {
            return Ok(Outcome::Held(blob));
        }
        check_open_limit(c, &r, max_open)?;
        if record {
            rows::create_upload(c, &a, &r)?;
        }
        Ok(Outcome::Created(r))
    };
    let outcome = match body {
        None => db.write(decide).await?,
        Some(_) => db.read(decide).await?,
    };
    match (outcome, body) {
        (Outcome::Resume(u), None) => Ok(Started::Resumed(u)),
        (Outcome::Resume(u), Some(bytes)) => {
            // The body starts at the first byte: what the server holds already is skipped.
            let held = u.received as u64;
            let taken = match bytes {
                Incoming::Streamed(s) => {
                    take_chunk(db, &photos, actor, u, skip_bytes(s, held)).await?
                }
                Incoming::Spooled(path) => {
                    let rest = skip_bytes(receive::file_body(path), held);
                    take_chunk(db, &photos, actor, u, rest).await?
                }
            };
            Ok(Started::Continued(taken))
        }
        (Outcome::Held(blob), _) => {
            let mut done = UploadRow {
                id: String::new(),
                received: blob.size,
                state: COMPLETE.to_owned(),
                expires_at: now() + keep_finished(),
                ..row
            };
            if record_held {
                done.id = id.to_string();
                let r = done.clone();
                db.write(move |c| rows::create_upload(c, &actor, &r))
                    .await?;
            }
            Ok(Started::Held(done, blob))
        }
        (Outcome::Created(u), None) => Ok(Started::Created(id, u)),
        (Outcome::Created(u), Some(bytes)) => {
            let (chunk, got) = match bytes {
                Incoming::Streamed(s) => {
                    let chunk = photos.scratch_file(&id);
                    let got = receive::append(chunk.clone(), 0, u.size as u64, s).await?;
                    (chunk, got)
                }
                Incoming::Spooled(path) => {
                    let len = std::fs::metadata(&path).map_err(Error::io)?.len();
                    let got = receive::Appended {
                        received: len.min(u.size as u64),
                        failure: None,
                    };
                    (path, got)
                }
            };
            let received = got.received as i64;
            if complete(&got, u.size) {
                let up = UploadRow { received, ..u };
                let (blob, _) =
                    receive::finish(db, &photos, actor, up.clone(), chunk, true, false).await?;
                let done = UploadRow {
                    state: COMPLETE.to_owned(),
                    expires_at: now() + keep_finished(),
                    ..up
                };
                return Ok(Started::Arrived(id, Chunked::Stored(done, blob)));
            }
            // Cut short: kept as an open upload to resume, from any instance.
            let part = match received {
                0 => {
                    receive::remove_scratch(&chunk);
                    None
                }
                n => Some(receive::keep(&photos, &id, 0, n as u64, &chunk).await?),
            };
            let up = UploadRow { received, ..u };
            let r = up.clone();
            let kept = db
                .write(move |c| {
                    check_open_limit(c, &r, max_open)?;
                    rows::create_upload(c, &actor, &r)?;
                    match &part {
                        Some(p) => rows::add_part(c, p),
                        None => Ok(()),
                    }
                })
                .await;
            if let Err(e) = kept {
                receive::forget_parts(&photos, &up.id).await;
                return Err(e);
            }
            Ok(Started::Arrived(
                id,
                match got.failure {
                    Some(e) => Chunked::Stopped(e, received),
                    None => Chunked::Kept(up),
                },
            ))
        }
    }
}

fn check_open_limit(c: &mut DbConn, r: &UploadRow, limits: (i64, i64)) -> Result<()> {
    let (max_open, per_account) = limits;
    if rows::count_open_of_account(c, &r.user_id, now())? >= per_account {
        return Err(Error::Conflict {
            code: Code::TooManyOpenUploads,
            detail: Msg::new(
                format!("本账号未完成的上传已达 {per_account} 个，请先续传完成或取消。"),
                format!(
                    "This account has {per_account} unfinished uploads: finish or cancel one first."
                ),
            ),
        });
    }
    if rows::count_open(c, &r.user_id, r.device_id.as_deref(), now())? >= max_open {
        return Err(Error::Conflict {
            code: Code::TooManyOpenUploads,
            detail: Msg::new(
                format!("本设备未完成的上传已达 {max_open} 个，请先续传完成或取消。"),
                format!(
                    "This device has {max_open} unfinished uploads: finish or cancel one first."
                ),
            ),
        });
    }
    Ok(())
}

/// The body without its first `n` bytes.
fn skip_bytes<S, E>(body: S, n: u64) -> impl Stream<Item = std::result::Result<Bytes, E>> + Unpin
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
{
    let mut left = n;
    body.map(move |chunk| {
        chunk.map(|b| {
            let k = usize::try_from(left).unwrap_or(usize::MAX).min(b.len());
            left -= k as u64;
            b.slice(k..)
        })
    })
}

/// Complete: every byte is here (a connection lost after the last byte changes nothing).
fn complete(got: &receive::Appended, size: i64) -> bool {
    got.received as i64 == size && !matches!(got.failure, Some(Error::PayloadTooLarge { .. }))
}

/// The caller's unfinished uploads, and the digests their photo records (the latest 1000)
/// name of which the server has no complete copy from them.
pub async fn outstanding(db: &Db, caller: &Caller) -> Result<(Vec<UploadRow>, Vec<String>)> {
    let (uid, scope) = (caller.user_id.clone(), caller.scope.clone());
    db.read(move |c| {
        Ok((
            rows::open_uploads(c, &uid, now())?,
            rows::missing_for(c, &scope, &uid, 1000)?,
        ))
    })
    .await
}

/// One of the uploader's uploads (not expired), with its file once complete.
pub async fn progress(db: &Db, who: &Uploader, id: &str) -> Result<(UploadRow, Option<BlobRow>)> {
    let (uid, id) = (who.user_id.clone(), id.to_owned());
    db.read(move |c| {
        let u = rows::find_upload(c, &uid, &id, now())?;
        let blob = if u.state == COMPLETE {
            rows::find_blob(c, &u.sha256)?
        } else {
            None
        };
        Ok((u, blob))
    })
    .await
}

/// Receives the next chunk of one of the uploader's open uploads, starting at `offset`:
/// 409 `upload_complete` for a complete upload, `offset_mismatch` (stopped at the
/// server's offset) unless it equals the server's, 413 when it would run past the declared
/// size (`sent_len`); then as [`take_chunk`].
pub async fn append<S: Body>(
    db: &Db,
    photos: &Arc<Photos>,
    who: &Uploader,
    id: Uuid,
    offset: i64,
    sent_len: Option<i64>,
    body: S,
) -> Result<Chunked> {
    let (uid, sid) = (who.user_id.clone(), id.to_string());
    let up = db
        .read(move |c| rows::find_upload(c, &uid, &sid, now()))
        .await?;
    if up.state == COMPLETE {
        return Err(Error::Conflict {
            code: Code::UploadComplete,
            detail: Msg::fixed("该上传已完成。", "This upload is already complete."),
        });
    }
    if offset != up.received {
        let e = Error::Conflict {
            code: Code::OffsetMismatch,
            detail: Msg::new(
                format!("服务器已收到 {} 字节，请从该位置续传。", up.received),
                format!("The server holds {} bytes: resume from there.", up.received),
            ),
        };
        return Ok(Chunked::Stopped(e, up.received));
    }
    if sent_len.is_some_and(|n| n > up.size - up.received) {
        return Err(Error::PayloadTooLarge {
            limit: usize::try_from(up.size - up.received).unwrap_or(usize::MAX),
        });
    }
    take_chunk(db, photos, who.actor(), up, body).await
}

/// Receives bytes for an open upload from its offset (one request at a time per upload,
/// else 409 `upload_busy`): kept and recorded, or, with the last byte, verified and stored.
async fn take_chunk<S: Body>(
    db: &Db,
    photos: &Arc<Photos>,
    actor: Actor,
    up: UploadRow,
    body: S,
) -> Result<Chunked> {
    let photos = photos.clone();
    let Some(_claim) = photos.claim(&up.id) else {
        return Err(Error::Conflict {
            code: Code::UploadBusy,
            detail: Msg::fixed(
                "该上传正在接收另一块数据。",
                "Another chunk of this upload is being received.",
            ),
        });
    };
    let id = Uuid::parse_str(&up.id).map_err(Error::internal)?;
    let chunk = photos.scratch_file(&id);
    let got = receive::append(chunk.clone(), up.received as u64, up.size as u64, body).await?;
    let received = got.received as i64;
    let expires = now() + photos.limits.idle_expiry;
    if !complete(&got, up.size) {
        let part = if received > up.received {
            let start = up.received as u64;
            Some(receive::keep(&photos, &id, start, received as u64, &chunk).await?)
        } else {
            receive::remove_scratch(&chunk);
            None
        };
        let (from, uid2) = (up.received, up.id.clone());
        let moved = db
            .write_shared(move |c| {
                rows::advance(c, &uid2, from, received, part.as_ref(), now(), expires)
            })
            .await?;
        if !moved {
            // The chunk kept in the store goes with the upload's other chunks at its end.
            return Err(busy_elsewhere());
        }
        if let Some(e) = got.failure {
            return Ok(Chunked::Stopped(e, received));
        }
        let up = UploadRow {
            received,
            expires_at: expires,
            ..up
        };
        return Ok(Chunked::Kept(up));
    }
    // The last chunk: the file is the recorded chunks and this one.
    let uid = up.id.clone();
    let mut parts = db.read(move |c| rows::parts_of(c, &uid)).await?;
    // A chunk another instance recorded since `up` was read is not part of this offset:
    // this request will lose the race for it and must not gather it.
    parts.retain(|p| p.end_at <= up.received);
    let held = receive::covered(&parts);
    if held < up.received {
        // Chunks recorded but not all readable (kept by an older version in a scratch
        // folder): the upload resumes from what is there, and this chunk is dropped.
        receive::remove_scratch(&chunk);
        let (uid, from) = (up.id.clone(), up.received);
        db.write(move |c| rows::rewind(c, &uid, from, held, now(), expires))
            .await?;
        let e = Error::Conflict {
            code: Code::OffsetMismatch,
            detail: Msg::new(
                format!("服务器已收到 {held} 字节，请从该位置续传。"),
                format!("The server holds {held} bytes: resume from there."),
            ),
        };
        return Ok(Chunked::Stopped(e, held));
    }
    // With no earlier chunks (declared, then sent whole) this request's file is the file.
    let file = if parts.is_empty() {
        chunk
    } else {
        let whole = photos.scratch_file(&id);
        receive::assemble(&photos, &parts, &chunk, whole.clone()).await?;
        whole
    };
    // The finishing transaction records the offset itself, so it needs no write of its own.
    let kept = !parts.is_empty();
    let (blob, _) = receive::finish(db, &photos, actor, up.clone(), file, false, kept).await?;
    let done = UploadRow {
        received,
        state: COMPLETE.to_owned(),
        expires_at: now() + keep_finished(),
        ..up
    };
    Ok(Chunked::Stored(done, blob))
}

fn busy_elsewhere() -> Error {
    Error::Conflict {
        code: Code::UploadBusy,
        detail: Msg::fixed(
            "该上传已被另一请求修改，请查询偏移量。",
            "Another request changed this upload: ask for the offset.",
        ),
    }
}

/// Cancels one of the uploader's unfinished uploads (audited) and discards its bytes: 409
/// `upload_busy` while a chunk is arriving, `upload_complete` once complete.
pub async fn cancel(db: &Db, photos: &Arc<Photos>, who: &Uploader, id: Uuid) -> Result<()> {
    let (uid, sid, actor) = (who.user_id.clone(), id.to_string(), who.actor());
    let photos = photos.clone();
    let Some(_claim) = photos.claim(&sid) else {
        return Err(Error::Conflict {
            code: Code::UploadBusy,
            detail: Msg::fixed(
                "该上传正在接收数据。",
                "A chunk of this upload is being received.",
            ),
        });
    };
    let s = sid.clone();
    db.write(move |c| {
        let u = rows::find_upload(c, &uid, &s, now())?;
        if u.state != OPEN {
            return Err(Error::Conflict {
                code: Code::UploadComplete,
                detail: Msg::fixed("该上传已完成。", "This upload is already complete."),
            });
        }
        rows::delete_upload(c, &actor, &u, "cancelled")
    })
    .await?;
    receive::forget_parts(&photos, &sid).await;
    Ok(())
}
