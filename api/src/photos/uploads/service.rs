//! Receiving uploads. Each request's bytes stream into a scratch file of its own (bounded
//! memory). A chunk that does not finish the file is kept in the blob store, where every
//! instance can read it, before the new offset is recorded with it, so a crash never leaves
//! the database ahead of the bytes and any instance can take the next chunk. The last chunk
//! gathers the kept ones, and the whole file is verified (digest, type from the bytes,
//! EXIF) and moved into the blob store; resized copies follow in the background
//! ([`crate::photos::worker`]).

use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::error::PayloadError;
use actix_web::web;
use actix_web::web::{Bytes, BytesMut};
use bangfu_sync::Code;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::audit::log::Actor;
use crate::infra::blobs::{BlobKey, PartKey, Variant};
use crate::infra::clock::now;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::photos::exif::ExifInfo;
use crate::photos::sniff::FileType;
use crate::photos::uploads::queries as rows;
use crate::photos::uploads::queries::{BlobRow, PartRow, UploadRow};
use crate::photos::{Kind, Photos, Sha256Hex, derive, exif, sniff};

/// Bytes gathered in memory before they are written: the most one request holds.
pub const FLUSH_AT: usize = 256 * 1024;
/// A finished upload's record is kept this long, so a phone that lost the last answer can
/// still ask how it ended.
pub fn keep_finished() -> chrono::Duration {
    chrono::Duration::hours(24)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    web::block(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// Removes a scratch file if it is there; false when it is there and stays.
pub fn remove_scratch(path: &Path) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            tracing::warn!(error = %e, "removing an upload scratch file failed");
            false
        }
    }
}

/// The bytes of a file, as a body arriving in the size the receiver writes them.
pub type FileBody = std::pin::Pin<Box<dyn Stream<Item = std::result::Result<Bytes, PayloadError>>>>;

/// A scratch file's bytes as a body, read in the size the receiver writes them.
pub fn file_body(path: PathBuf) -> FileBody {
    let failed = |e: std::io::Error| PayloadError::Incomplete(Some(e));
    let opened = std::fs::File::open(path).map_err(failed);
    Box::pin(futures_util::stream::unfold(
        Some(opened),
        move |file| async move {
            let mut file = match file? {
                Ok(f) => f,
                Err(e) => return Some((Err(e), None)),
            };
            let read = web::block(move || {
                let mut buf = vec![0u8; FLUSH_AT];
                let n = file.read(&mut buf)?;
                buf.truncate(n);
                Ok::<_, std::io::Error>((file, buf))
            })
            .await;
            match read {
                Ok(Ok((_, buf))) if buf.is_empty() => None,
                Ok(Ok((file, buf))) => Some((Ok(Bytes::from(buf)), Some(Ok(file)))),
                Ok(Err(e)) => Some((Err(failed(e)), None)),
                Err(e) => Some((Err(failed(std::io::Error::other(e.to_string()))), None)),
            }
        },
    ))
}

/// How one chunk went.
pub struct Appended {
    /// Bytes the server now holds.
    pub received: u64,
    /// Why the chunk stopped early (the bytes before it are kept).
    pub failure: Option<Error>,
}

/// Receives the body, the bytes of the file from offset `at` on, never past `size`, into a
/// new scratch file at `path`. Whatever arrived before an interruption is kept, and made
/// durable by the store the caller hands it to.
pub async fn append<S>(path: PathBuf, at: u64, size: u64, mut body: S) -> Result<Appended>
where
    S: Stream<Item = std::result::Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut file = blocking(move || std::fs::File::create(&path).map_err(Error::io)).await?;
    let write = |mut f: std::fs::File, b: Bytes| {
        blocking(move || {
            f.write_all(&b).map_err(Error::io)?;
            Ok(f)
        })
    };
    let mut buf = BytesMut::with_capacity(FLUSH_AT);
    let mut held = at;
    let mut failure = None;
    loop {
        match body.next().await {
            Some(Ok(chunk)) => {
                if held + (buf.len() + chunk.len()) as u64 > size {
                    failure = Some(Error::PayloadTooLarge {
                        limit: usize::try_from(size - at).unwrap_or(usize::MAX),
                    });
                    break;
                }
                buf.extend_from_slice(&chunk);
                if buf.len() >= FLUSH_AT {
                    let b = buf.split().freeze();
                    held += b.len() as u64;
                    file = write(file, b).await?;
                }
            }
            Some(Err(e)) if crate::infra::http::pace::is_too_slow(&e) => {
                failure = Some(Error::BodyTooSlow);
                break;
            }
            Some(Err(_)) => {
                failure = Some(Error::BadRequest {
                    code: Code::UploadInterrupted,
                    detail: Msg::fixed(
                        "上传中断；已收到的部分已保存，请查询偏移量后续传。",
                        "The upload was interrupted; what arrived is kept. Ask for the offset and resume.",
                    ),
                });
                break;
            }
            None => break,
        }
    }
    if !buf.is_empty() {
        let b = buf.split().freeze();
        held += b.len() as u64;
        file = write(file, b).await?;
    }
    // Not synced here: the store syncs the file where it keeps it (`put_part`,
    // `put_file`), which for a file on the same disk is the one fsync it needs.
    drop(file);
    Ok(Appended {
        received: held,
        failure,
    })
}

/// Keeps a received chunk (the scratch file `chunk`, bytes `start..end` of the upload) in
/// the blob store; returns its record, to be written with the new offset.
pub async fn keep(
    photos: &Photos,
    upload: &uuid::Uuid,
    start: u64,
    end: u64,
    chunk: &Path,
) -> Result<PartRow> {
    let key = PartKey::new(*upload, start);
    if let Err(e) = photos.store.put_part(&key, chunk).await {
        remove_scratch(chunk);
        return Err(e);
    }
    Ok(PartRow {
        upload_id: upload.to_string(),
        start_at: start as i64,
        end_at: end as i64,
        object: key.path(),
    })
}

/// How many bytes from the start the recorded chunks hold without a gap: the offset an
/// upload can resume from (less than recorded only if chunks were lost, or were kept in
/// the scratch folder of an older version).
pub fn covered(parts: &[PartRow]) -> i64 {
    let mut end = 0;
    for p in parts {
        if p.start_at != end {
            break;
        }
        end = p.end_at;
    }
    end
}

/// Writes the kept chunks, then the last one (the scratch file `last`, consumed), into the
/// new scratch file `whole` (synced by the store that takes it).
pub async fn assemble(
    photos: &Photos,
    parts: &[PartRow],
    last: &Path,
    whole: PathBuf,
) -> Result<()> {
    let target = whole.clone();
    let mut file = blocking(move || std::fs::File::create(&target).map_err(Error::io)).await?;
    let gathered = async {
        for p in parts {
            let key = PartKey::from_path(&p.object)
                .ok_or_else(|| Error::Internal(format!("bad part name {:?}", p.object)))?;
            let mut bytes = photos.store.get_part(&key).await?;
            while let Some(b) = bytes.next().await {
                let b = b.map_err(Error::io)?;
                file = blocking(move || {
                    file.write_all(&b).map_err(Error::io)?;
                    Ok(file)
                })
                .await?;
            }
        }
        let last = last.to_owned();
        blocking(move || {
            std::io::copy(
                &mut std::fs::File::open(&last).map_err(Error::io)?,
                &mut file,
            )
            .map_err(Error::io)?;
            remove_scratch(&last);
            Ok(())
        })
        .await
    };
    let done = gathered.await;
    if done.is_err() {
        remove_scratch(&whole);
        remove_scratch(last);
    }
    done
}

/// What the bytes of a finished upload turned out to be.
#[derive(Debug)]
pub struct Inspected {
    pub ty: FileType,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub exif: Option<ExifInfo>,
}

fn refused(code: Code, zh: &'static str, en: &'static str) -> Error {
    Error::Unprocessable {
        code,
        detail: Msg::fixed(zh, en),
    }
}

/// Checks a complete part file: its digest must be the declared one, its bytes a type the
/// kind admits (and, for JPEG, PNG and WebP, a legible image).
pub fn inspect(path: &Path, declared: &Sha256Hex, kind: Kind) -> Result<Inspected> {
    let mut f = BufReader::with_capacity(FLUSH_AT, std::fs::File::open(path).map_err(Error::io)?);
    let mut h = Sha256::new();
    let mut head = Vec::with_capacity(sniff::HEAD_LEN);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(Error::io)?;
        if n == 0 {
            break;
        }
        if head.len() < sniff::HEAD_LEN {
            let take = (sniff::HEAD_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        h.update(&buf[..n]);
    }
    if Sha256Hex::from_digest(&h.finalize()) != *declared {
        return Err(refused(
            Code::HashMismatch,
            "文件的 SHA-256 与声明的不一致，文件已丢弃，请重新上传。",
            "The file's SHA-256 differs from the one declared; it was discarded. Upload it again.",
        ));
    }
    let ty = sniff::sniff(&head).filter(|t| t.kind() == kind).ok_or_else(|| match kind {
        Kind::Photo => refused(
            Code::UnsupportedFileType,
            "照片须为 JPEG、PNG、HEIC/HEIF 或 WebP 图像（按文件内容判断，而非文件名）。",
            "A photo must be a JPEG, PNG, HEIC/HEIF or WebP image (judged from its bytes, not its name).",
        ),
        Kind::Document => refused(
            Code::UnsupportedFileType,
            "文档须为 PDF（按文件内容判断，而非文件名）。",
            "A document must be a PDF (judged from its bytes, not its name).",
        ),
    })?;
    let len = f.seek(SeekFrom::End(0)).map_err(Error::io)?;
    if !sniff::whole(&mut f, len, ty).map_err(Error::io)? {
        return Err(refused(
            Code::UnsupportedFileType,
            "文件内容与其类型不符（夹带了其他内容），不予接受。",
            "The file is not wholly what its type says (something else is in it); it is not accepted.",
        ));
    }
    let (mut width, mut height) = (None, None);
    if ty.decodable() {
        let (w, h) = derive::dimensions(path, ty).map_err(|_| {
            refused(
                Code::ImageUnreadable,
                "图像已损坏或无法识别。",
                "The image is damaged or cannot be read.",
            )
        })?;
        // Judged from the header, before anything is decoded: a small file can declare a
        // picture whose decoding would take gigabytes.
        if u64::from(w) * u64::from(h) > derive::MAX_PIXELS {
            return Err(Error::Unprocessable {
                code: Code::ImageTooLarge,
                detail: Msg::new(
                    format!(
                        "图像为 {w}×{h} 像素，超过 {} 万像素的上限，请降低分辨率后重新上传。",
                        derive::MAX_PIXELS / 10_000
                    ),
                    format!(
                        "The image is {w}×{h} pixels, over the limit of {} megapixels; upload it at a lower resolution.",
                        derive::MAX_PIXELS / 1_000_000
                    ),
                ),
            });
        }
        (width, height) = (Some(w), Some(h));
    }
    let exif = match ty {
        FileType::Pdf => None,
        _ => {
            f.seek(SeekFrom::Start(0)).map_err(Error::io)?;
            exif::read(&mut f)
        }
    };
    Ok(Inspected {
        ty,
        width,
        height,
        exif,
    })
}

/// Verifies a complete upload, moves it into the store and records it, in one transaction
/// (`new_row`: the upload came whole with its creation and is recorded by it too). A
/// refused upload is removed with its bytes. Returns the blob and whether its bytes were
/// new.
pub async fn finish(
    db: &Db,
    photos: &Arc<Photos>,
    actor: Actor,
    up: UploadRow,
    part: PathBuf,
    new_row: bool,
    kept_chunks: bool,
) -> Result<(BlobRow, bool)> {
    let declared = Sha256Hex::parse(&up.sha256)?;
    let kind = Kind::parse(&up.kind).ok_or_else(|| Error::internal("upload kind"))?;
    let (p, d) = (part.clone(), declared.clone());
    let inspected = match blocking(move || inspect(&p, &d, kind)).await {
        Ok(i) => i,
        Err(e) => {
            if !new_row {
                let (a, u) = (actor.clone(), up.clone());
                db.write(move |c| rows::delete_upload(c, &a, &u, "refused"))
                    .await?;
            }
            remove_scratch(&part);
            if kept_chunks {
                forget_parts(photos, &up.id).await;
            }
            return Err(e);
        }
    };
    let key = BlobKey::new(&declared, Variant::Original);
    if let Err(e) = photos.store.put_file(&key, &part).await {
        remove_scratch(&part);
        return Err(e);
    }
    let derivatives = if inspected.ty.decodable() {
        "pending"
    } else {
        "none"
    };
    let blob = BlobRow {
        sha256: declared.to_string(),
        size: up.size,
        kind: kind.as_str().to_owned(),
        media_type: inspected.ty.media_type().to_owned(),
        width: inspected.width.and_then(|w| i32::try_from(w).ok()),
        height: inspected.height.and_then(|h| i32::try_from(h).ok()),
        exif: inspected
            .exif
            .as_ref()
            .and_then(|e| serde_json::to_string(e).ok()),
        derivatives: derivatives.to_owned(),
        stripped: false,
        created_by: up.user_id.clone(),
        created_at: now(),
        dhash: None,
        medium_is_original: false,
        thumb_is_original: false,
    };
    let keep_until = now() + keep_finished();
    let upload_id = up.id.clone();
    let (blob, created) = db
        .write_shared(move |c| {
            if new_row {
                rows::create_upload(c, &actor, &up)?;
            }
            rows::finish(c, &actor, &up, blob, keep_until)
        })
        .await?;
    if kept_chunks {
        forget_parts(photos, &upload_id).await;
    }
    if created && blob.derivatives == "pending" {
        photos.make_copies(db, blob.clone(), false);
    }
    Ok((blob, created))
}

/// Removes scratch files a crash left in this instance's own folder (no request takes a
/// day: the body pace sees to that); returns how many. Run hourly by every instance, leader
/// or not: the folder is the instance's.
pub fn sweep_scratch(photos: &Photos) -> usize {
    let Ok(entries) = std::fs::read_dir(&photos.scratch_dir) else {
        return 0;
    };
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    let mut removed = 0;
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < day_ago);
        if old && remove_scratch(&e.path()) {
            removed += 1;
        }
    }
    removed
}

/// Removes the kept chunks of an upload that ended; one that stays behind (the store was
/// unreachable) is only wasted space.
pub async fn forget_parts(photos: &Photos, upload_id: &str) {
    let Ok(id) = uuid::Uuid::parse_str(upload_id) else {
        return;
    };
    if let Err(e) = photos.store.remove_parts(&id).await {
        tracing::warn!(error = %e, upload = upload_id, "removing an upload's kept chunks failed");
    }
}

/// Expires abandoned uploads and deletes their part files; also retries resized copies
/// that a restart interrupted, and checks photos indexed without their flags. Run by the
/// hourly housekeeping of the instance that leads the background work: it is the same
/// work whichever instance does it.
pub async fn housekeeping(db: &Db, photos: &Arc<Photos>) -> Result<usize> {
    let expired = db.write(|c| rows::expire(c, now())).await?;
    for id in &expired {
        forget_parts(photos, id).await;
    }
    let stale = now() - chrono::Duration::minutes(10);
    let pending = db.read(|c| rows::pending_derivatives(c, 100)).await?;
    for b in pending.into_iter().filter(|b| b.created_at < stale) {
        photos.make_copies(db, b, false);
    }
    // Photo records indexed before their flags could be worked out (an upgrade): each pass
    // checks some, until none is left.
    const BATCH: i64 = 200;
    while db
        .write(|c| crate::photos::evidence::check_unchecked(c, BATCH))
        .await?
        == BATCH as usize
    {}
    Ok(expired.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: i64, end: i64) -> PartRow {
        PartRow {
            upload_id: "u".into(),
            start_at: start,
            end_at: end,
            object: String::new(),
        }
    }

    #[test]
    fn an_upload_resumes_from_the_end_of_its_first_gap() {
        assert_eq!(covered(&[]), 0);
        assert_eq!(covered(&[part(0, 5), part(5, 9)]), 9);
        assert_eq!(covered(&[part(0, 5), part(6, 9)]), 5);
        assert_eq!(covered(&[part(3, 9)]), 0);
    }
}
