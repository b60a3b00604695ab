//! The photo folder: every stored object (originals and the copies made from them) goes to
//! the target store through the blob-store interface, streamed. An object already there
//! with the same size is skipped: names are content addresses, so it holds the same bytes
//! (the verification re-reads it anyway).

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::infra::blobs::{BlobKey, BlobStore, PartKey, Variant};

/// Every object in a local photo folder, by name, with its size.
pub fn list_local(root: &Path) -> anyhow::Result<Vec<(BlobKey, u64)>> {
    let mut out = Vec::new();
    for top in ["blobs", "derived"] {
        let dir = root.join(top);
        if !dir.exists() {
            continue;
        }
        for sub in std::fs::read_dir(&dir)? {
            let sub = sub?;
            if !sub.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(sub.path())? {
                let f = f?;
                let rel = format!(
                    "{top}/{}/{}",
                    sub.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                // Anything that is not a finished object (a `.tmp-…` file) stays behind.
                if let Some(key) = BlobKey::from_path(&rel) {
                    out.push((key, f.metadata()?.len()));
                }
            }
        }
    }
    out.sort_by_cached_key(|(k, _)| k.path());
    Ok(out)
}

/// The kept chunks of unfinished uploads in a local photo folder, with their sizes.
pub fn list_local_parts(root: &Path) -> anyhow::Result<Vec<(PartKey, u64)>> {
    let mut out = Vec::new();
    let dir = root.join("parts");
    if !dir.exists() {
        return Ok(out);
    }
    for upload in std::fs::read_dir(&dir)? {
        let upload = upload?;
        if !upload.file_type()?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(upload.path())? {
            let f = f?;
            let rel = format!(
                "parts/{}/{}",
                upload.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            );
            if let Some(key) = PartKey::from_path(&rel) {
                out.push((key, f.metadata()?.len()));
            }
        }
    }
    out.sort_by_cached_key(|(k, _)| k.path());
    Ok(out)
}

/// Copies the kept chunks of unfinished uploads (so phones resume them after the move) and
/// reads each back; returns the chunks copied and those that did not read back the same.
pub async fn copy_parts(
    root: &Path,
    target: &dyn BlobStore,
    parts: &[(PartKey, u64)],
    scratch: &Path,
) -> anyhow::Result<(u64, Vec<String>)> {
    std::fs::create_dir_all(scratch)?;
    let (mut copied, mut bad) = (0, Vec::new());
    for (key, _) in parts {
        let local = root.join(key.path());
        let want = Sha256::digest(std::fs::read(&local)?);
        // The store takes in (consumes) a file: give it a copy, the folder stays as it was.
        let tmp = scratch.join(format!("grow-{}", uuid::Uuid::now_v7().simple()));
        std::fs::copy(&local, &tmp)?;
        target
            .put_part(key, &tmp)
            .await
            .map_err(|e| anyhow::anyhow!("copying {}: {e}", key.path()))?;
        copied += 1;
        let mut h = Sha256::new();
        let mut body = target.get_part(key).await?;
        while let Some(b) = body.next().await {
            h.update(&b?);
        }
        if h.finalize() != want {
            bad.push(key.path());
        }
    }
    Ok((copied, bad))
}

/// Objects per kind: how many, how many bytes, how many this run copied, found already
/// there, and verified.
#[derive(Debug, Default, Clone, Copy)]
pub struct KindStats {
    pub objects: u64,
    pub bytes: u64,
    pub copied: u64,
    pub present: u64,
    pub verified: u64,
}

pub type PhotoStats = BTreeMap<&'static str, KindStats>;

/// Copies what the target lacks.
pub async fn copy_all(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    objects: &[(BlobKey, u64)],
) -> anyhow::Result<PhotoStats> {
    let mut stats = PhotoStats::new();
    for v in Variant::ALL {
        stats.insert(v.name(), KindStats::default());
    }
    for (key, size) in objects {
        let s = stats.entry(key.variant.name()).or_default();
        s.objects += 1;
        s.bytes += size;
        if target.size(key).await? == Some(*size) {
            s.present += 1;
            continue;
        }
        let body = source.get(key, None).await?;
        target
            .put_stream(key, *size, body)
            .await
            .map_err(|e| anyhow::anyhow!("copying {}: {e}", key.path()))?;
        s.copied += 1;
    }
    Ok(stats)
}

/// The SHA-256 and length of an object as the store serves it, read as a stream.
pub async fn digest(store: &dyn BlobStore, key: &BlobKey) -> anyhow::Result<(String, u64)> {
    let mut body = store.get(key, None).await?;
    let (mut h, mut len) = (Sha256::new(), 0u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        h.update(&chunk);
    }
    Ok((hex::encode(h.finalize()), len))
}
