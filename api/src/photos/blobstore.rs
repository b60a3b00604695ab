//! Where blob bytes live: one interface, two stores. [`LocalStore`] keeps them in the data
//! folder (the default); [`S3Store`] in S3-compatible object storage (`object_store`).
//! Keys are made only from a verified digest and a fixed variant name.

use std::fmt::Debug;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::web::{self, Bytes};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::Sha256Hex;
use crate::error::{Error, Result};

/// One stored form of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The bytes as uploaded.
    Original,
    /// The original without EXIF/XMP metadata.
    Stripped,
    /// At most 1600 pixels on the long side, JPEG.
    Medium,
    /// At most 320 pixels on the long side, JPEG.
    Thumb,
}

impl Variant {
    /// Every stored form, originals first.
    pub const ALL: [Variant; 4] = [
        Variant::Original,
        Variant::Stripped,
        Variant::Medium,
        Variant::Thumb,
    ];

    /// `original`, `stripped`, `medium.jpg` or `thumb.jpg`: the name in object keys.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Stripped => "stripped",
            Variant::Medium => "medium.jpg",
            Variant::Thumb => "thumb.jpg",
        }
    }
}

/// The name of one stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobKey {
    pub sha256: Sha256Hex,
    pub variant: Variant,
}

impl BlobKey {
    pub fn new(sha256: &Sha256Hex, variant: Variant) -> BlobKey {
        BlobKey {
            sha256: sha256.clone(),
            variant,
        }
    }

    /// `blobs/ab/abcdef…` for originals, `derived/ab/abcdef….thumb.jpg` for the rest: one
    /// folder per first byte, never one per file (making a folder costs more than the
    /// file).
    pub fn path(&self) -> String {
        let h = self.sha256.as_str();
        match self.variant {
            Variant::Original => format!("blobs/{}/{h}", &h[..2]),
            v => format!("derived/{}/{h}.{}", &h[..2], v.name()),
        }
    }

    /// The key a [`BlobKey::path`] was made from; `None` for anything else (a half-written
    /// `.tmp-…` file, a stray name).
    pub fn from_path(path: &str) -> Option<BlobKey> {
        let (top, rest) = path.split_once('/')?;
        let (dir, name) = rest.split_once('/')?;
        let (hash, variant) = match top {
            "blobs" => (name, Variant::Original),
            "derived" => {
                let (hash, suffix) = name.split_once('.')?;
                let v = Variant::ALL
                    .into_iter()
                    .find(|v| *v != Variant::Original && v.name() == suffix)?;
                (hash, v)
            }
            _ => return None,
        };
        let sha256 = Sha256Hex::parse(hash).ok()?;
        let key = BlobKey { sha256, variant };
        (dir == &hash[..2] && key.path() == path).then_some(key)
    }
}

/// Bytes as they are read, in pieces of bounded size.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Storage of immutable objects named by [`BlobKey`].
pub trait BlobStore: Debug + Send + Sync {
    /// Size of the object, `None` if it is not there.
    fn size<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<u64>>>;
    /// Takes in a finished local file (consumed; its bytes already synced to disk by the
    /// caller). `false` if the key was already there, in which case the stored bytes are
    /// kept (same name, same bytes).
    fn put_file<'a>(&'a self, key: &'a BlobKey, file: &'a Path) -> BoxFuture<'a, Result<bool>>;
    /// Stores a small object held in memory: a resized copy or the copy without metadata,
    /// which can be made again from the original. The local store does not sync these to
    /// disk (a copy lost in a crash is made again when asked for, see `photos::download`).
    fn put_bytes<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> BoxFuture<'a, Result<()>>;
    /// Stores `len` bytes arriving as a stream, in bounded memory (moving a store's blobs to
    /// another store). Readers never see a partial object.
    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        len: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<()>>;
    /// The bytes in `range` (all of them if `None`), streamed.
    fn get<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, Result<ByteStream>>;
    /// A local file holding the object: the object itself for the local store, a fresh copy
    /// in `scratch` otherwise (the caller removes it).
    fn local_copy<'a>(
        &'a self,
        key: &'a BlobKey,
        scratch: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf>>;
    /// A short description for logs (no credentials).
    fn describe(&self) -> String;
}

const READ_CHUNK: usize = 256 * 1024;

/// Objects as files under a folder, written with fsync and an atomic rename.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Result<LocalStore> {
        std::fs::create_dir_all(&root).map_err(Error::io)?;
        Ok(LocalStore { root })
    }

    fn file(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.path())
    }
}

/// A temporary file whose write or rename failed (a full disk) is removed, so a failure
/// leaves nothing half-written behind.
fn removed_on_failure(tmp: &Path, r: std::io::Result<()>) -> Result<()> {
    r.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(e)
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    web::block(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// Writes a stream into a file chunk by chunk, off the async threads; gives the file back.
async fn write_all(mut f: std::fs::File, stream: &mut ByteStream) -> Result<std::fs::File> {
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Error::io)?;
        f = blocking(move || {
            let mut f = f;
            f.write_all(&chunk).map_err(Error::io)?;
            Ok(f)
        })
        .await?;
    }
    Ok(f)
}

fn sync_dir(dir: &Path) {
    // Makes a rename durable; not every platform can open a folder, which is harmless.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl BlobStore for LocalStore {
    fn size<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<u64>>> {
        let path = self.file(key);
        Box::pin(blocking(move || match std::fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(e)),
        }))
    }

    fn put_file<'a>(&'a self, key: &'a BlobKey, file: &'a Path) -> BoxFuture<'a, Result<bool>> {
        let (dest, src) = (self.file(key), file.to_owned());
        Box::pin(blocking(move || {
            if dest.exists() {
                std::fs::remove_file(&src).map_err(Error::io)?;
                return Ok(false);
            }
            let dir = dest.parent().ok_or_else(|| Error::internal("no parent"))?;
            std::fs::create_dir_all(dir).map_err(Error::io)?;
            // The part file usually sits on the same file system: a rename, not a copy.
            if std::fs::rename(&src, &dest).is_err() {
                let tmp = dest.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
                let copied = std::fs::copy(&src, &tmp)
                    .and_then(|_| std::fs::File::open(&tmp))
                    .and_then(|f| f.sync_all())
                    .and_then(|_| std::fs::rename(&tmp, &dest));
                removed_on_failure(&tmp, copied)?;
                std::fs::remove_file(&src).map_err(Error::io)?;
            }
            sync_dir(dir);
            Ok(true)
        }))
    }

    fn put_bytes<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> BoxFuture<'a, Result<()>> {
        let dest = self.file(key);
        Box::pin(blocking(move || {
            let dir = dest.parent().ok_or_else(|| Error::internal("no parent"))?;
            std::fs::create_dir_all(dir).map_err(Error::io)?;
            let tmp = dest.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
            // Written whole, then renamed into place: readers never see half a copy.
            let written = std::fs::File::create(&tmp)
                .and_then(|mut f| f.write_all(&bytes))
                .and_then(|_| std::fs::rename(&tmp, &dest));
            removed_on_failure(&tmp, written)
        }))
    }

    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        _len: u64,
        mut body: ByteStream,
    ) -> BoxFuture<'a, Result<()>> {
        let dest = self.file(key);
        Box::pin(async move {
            let dir = dest
                .parent()
                .ok_or_else(|| Error::internal("no parent"))?
                .to_owned();
            let tmp = dest.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
            let (d, t) = (dir.clone(), tmp.clone());
            let f = blocking(move || {
                std::fs::create_dir_all(&d).map_err(Error::io)?;
                std::fs::File::create(&t).map_err(Error::io)
            })
            .await?;
            let f = match write_all(f, &mut body).await {
                Ok(f) => f,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            // Synced and renamed into place, as for uploaded files.
            blocking(move || {
                let done = f.sync_all().and_then(|_| std::fs::rename(&tmp, &dest));
                removed_on_failure(&tmp, done)?;
                sync_dir(&dir);
                Ok(())
            })
            .await
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        let path = self.file(key);
        Box::pin(async move {
            let (file, len) = blocking(move || {
                let mut f = std::fs::File::open(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound,
                    _ => Error::io(e),
                })?;
                let size = f.metadata().map_err(Error::io)?.len();
                let r = range.unwrap_or(0..size);
                f.seek(SeekFrom::Start(r.start)).map_err(Error::io)?;
                Ok((f, r.end.saturating_sub(r.start)))
            })
            .await?;
            let s = stream::try_unfold((file, len), |(mut f, left)| async move {
                if left == 0 {
                    return Ok(None);
                }
                let want = left.min(READ_CHUNK as u64) as usize;
                let (f, buf) = web::block(move || {
                    let mut buf = vec![0u8; want];
                    f.read_exact(&mut buf).map(|()| (f, buf))
                })
                .await
                .map_err(std::io::Error::other)??;
                Ok(Some((Bytes::from(buf), (f, left - want as u64))))
            });
            Ok(s.boxed())
        })
    }

    fn local_copy<'a>(
        &'a self,
        key: &'a BlobKey,
        _scratch: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf>> {
        let path = self.file(key);
        Box::pin(async move { Ok(path) })
    }

    fn describe(&self) -> String {
        format!("local folder {}", self.root.display())
    }
}

/// Objects in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

/// Files up to this size go up in one request; larger ones in parts of this size.
const S3_PART: usize = 5 * 1024 * 1024;

impl S3Store {
    /// `s3://bucket[/prefix]`; endpoint, region and credentials from the usual `AWS_*`
    /// variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint), then from
    /// `options` (the same settings by `object_store` name, e.g. `aws_endpoint`).
    pub fn from_url(url: &str, options: &[(String, String)]) -> anyhow::Result<S3Store> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow::anyhow!("an S3 photo store is named s3://bucket[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "the S3 photo store needs a bucket name");
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (k, v) in options {
            let key: object_store::aws::AmazonS3ConfigKey = k.parse()?;
            builder = builder.with_config(key, v);
        }
        let store = builder.build()?;
        Ok(S3Store {
            store: Arc::new(store),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn location(&self, key: &BlobKey) -> object_store::path::Path {
        let p = if self.prefix.is_empty() {
            key.path()
        } else {
            format!("{}/{}", self.prefix, key.path())
        };
        object_store::path::Path::from(p)
    }
}

fn s3(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound,
        other => Error::Unavailable(format!("object store: {other}")),
    }
}

impl BlobStore for S3Store {
    fn size<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            match self.store.head(&self.location(key)).await {
                Ok(m) => Ok(Some(m.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(s3(e)),
            }
        })
    }

    fn put_file<'a>(&'a self, key: &'a BlobKey, file: &'a Path) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let loc = self.location(key);
            let src = file.to_owned();
            if self.size(key).await?.is_some() {
                let _ = std::fs::remove_file(&src);
                return Ok(false);
            }
            let len = std::fs::metadata(&src).map_err(Error::io)?.len();
            let read_part = |f: std::fs::File, n: usize| {
                blocking(move || {
                    let mut f = f;
                    let mut buf = vec![0u8; n];
                    f.read_exact(&mut buf).map_err(Error::io)?;
                    Ok((f, Bytes::from(buf)))
                })
            };
            let f = std::fs::File::open(&src).map_err(Error::io)?;
            if len <= S3_PART as u64 {
                let (_, bytes) = read_part(f, len as usize).await?;
                self.store
                    .put(&loc, PutPayload::from(bytes))
                    .await
                    .map_err(s3)?;
            } else {
                let upload = self.store.put_multipart(&loc).await.map_err(s3)?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, S3_PART);
                let (mut f, mut left) = (f, len);
                while left > 0 {
                    let n = left.min(S3_PART as u64) as usize;
                    w.wait_for_capacity(2).await.map_err(s3)?;
                    let (next, bytes) = read_part(f, n).await?;
                    w.put(bytes);
                    f = next;
                    left -= n as u64;
                }
                w.finish().await.map_err(s3)?;
            }
            std::fs::remove_file(&src).map_err(Error::io)?;
            Ok(true)
        })
    }

    fn put_bytes<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.store
                .put(&self.location(key), PutPayload::from(bytes))
                .await
                .map_err(s3)?;
            Ok(())
        })
    }

    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        len: u64,
        mut body: ByteStream,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let loc = self.location(key);
            if len <= S3_PART as u64 {
                let mut buf = Vec::with_capacity(len as usize);
                while let Some(chunk) = body.next().await {
                    buf.extend_from_slice(&chunk.map_err(Error::io)?);
                }
                self.store
                    .put(&loc, PutPayload::from(Bytes::from(buf)))
                    .await
                    .map_err(s3)?;
                return Ok(());
            }
            let upload = self.store.put_multipart(&loc).await.map_err(s3)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, S3_PART);
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        // Leaves no half object behind (nor its parts, billed by the store).
                        let _ = w.abort().await;
                        return Err(Error::io(e));
                    }
                };
                // At most two parts in flight: memory stays bounded whatever the size.
                w.wait_for_capacity(2).await.map_err(s3)?;
                w.write(&chunk);
            }
            w.finish().await.map_err(s3)?;
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move {
            let opts = GetOptions {
                range: range.map(GetRange::Bounded),
                ..GetOptions::default()
            };
            let r = self
                .store
                .get_opts(&self.location(key), opts)
                .await
                .map_err(s3)?;
            Ok(r.into_stream()
                .map(|c| c.map_err(std::io::Error::other))
                .boxed())
        })
    }

    fn local_copy<'a>(
        &'a self,
        key: &'a BlobKey,
        scratch: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf>> {
        Box::pin(async move {
            let dest = scratch.join(format!("fetch-{}", uuid::Uuid::now_v7().simple()));
            let mut s = self.get(key, None).await?;
            let d = dest.clone();
            let f = blocking(move || std::fs::File::create(&d).map_err(Error::io)).await?;
            write_all(f, &mut s).await?;
            Ok(dest)
        })
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} prefix {:?}", self.bucket, self.prefix)
    }
}

/// Chooses the store from configuration: `s3://bucket[/prefix]` (with optional S3 settings),
/// or a local folder.
pub fn open(setting: &str, s3_options: &[(String, String)]) -> anyhow::Result<Arc<dyn BlobStore>> {
    if setting.starts_with("s3://") {
        Ok(Arc::new(S3Store::from_url(setting, s3_options)?))
    } else {
        let path = setting.strip_prefix("file://").unwrap_or(setting);
        Ok(Arc::new(LocalStore::new(PathBuf::from(path))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_from_the_digest_only() -> Result<()> {
        let h = Sha256Hex::parse(&"ab".repeat(32))?;
        assert_eq!(
            BlobKey::new(&h, Variant::Original).path(),
            format!("blobs/ab/{}", "ab".repeat(32))
        );
        assert_eq!(
            BlobKey::new(&h, Variant::Thumb).path(),
            format!("derived/ab/{}.thumb.jpg", "ab".repeat(32))
        );
        Ok(())
    }
}
