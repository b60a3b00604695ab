//! Where blob bytes live: one interface, two stores. [`LocalStore`] keeps them in the data
//! folder (the default); [`crate::infra::blobs::s3::S3Store`] in S3-compatible object storage
//! (`object_store`). Keys are made only from a verified digest and a fixed variant name, or,
//! for the kept chunks of unfinished uploads, from server-made ids ([`PartKey`]).

pub mod s3;
use std::fmt::Debug;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::web;
use actix_web::web::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream;
use futures_util::stream::{BoxStream, StreamExt};

use crate::infra::error::{Code, Error, Msg, Result};

/// A SHA-256 digest as 64 lowercase hex digits: the name of a blob. Nothing else a client
/// sends ever becomes part of a storage path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Accepts 64 hex digits in either case.
    pub fn parse(s: &str) -> Result<Sha256Hex> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(s.to_ascii_lowercase()))
        } else {
            Err(Error::validation(
                "sha256",
                Code::InvalidFormat,
                Msg::fixed(
                    "sha256 须为 64 位十六进制字符。",
                    "sha256 must be 64 hexadecimal digits.",
                ),
            ))
        }
    }

    pub fn from_digest(d: &[u8]) -> Sha256Hex {
        Sha256Hex(hex::encode(d))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// One kept chunk of an unfinished upload: `parts/<upload>/<start>-<writer>`. Every request
/// that receives bytes writes under a name of its own (`writer`), so two instances taking
/// the same chunk at once never overwrite each other; the database records which one won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartKey {
    pub upload: uuid::Uuid,
    /// Offset of the chunk's first byte in the file.
    pub start: u64,
    pub writer: uuid::Uuid,
}

impl PartKey {
    /// A new name for bytes of `upload` starting at `start`.
    pub fn new(upload: uuid::Uuid, start: u64) -> PartKey {
        PartKey {
            upload,
            start,
            writer: uuid::Uuid::now_v7(),
        }
    }

    /// The folder holding every kept chunk of an upload.
    pub fn folder(upload: &uuid::Uuid) -> String {
        format!("parts/{}", upload.as_hyphenated())
    }

    pub fn path(&self) -> String {
        format!(
            "{}/{:020}-{}",
            Self::folder(&self.upload),
            self.start,
            self.writer.simple()
        )
    }

    /// The key a [`PartKey::path`] was made from.
    pub fn from_path(path: &str) -> Option<PartKey> {
        let rest = path.strip_prefix("parts/")?;
        let (upload, name) = rest.split_once('/')?;
        let (start, writer) = name.split_once('-')?;
        let key = PartKey {
            upload: uuid::Uuid::parse_str(upload).ok()?,
            start: start.parse().ok()?,
            writer: uuid::Uuid::parse_str(writer).ok()?,
        };
        (key.path() == path).then_some(key)
    }
}

/// Bytes as they are read, in pieces of bounded size.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Storage of immutable objects named by [`BlobKey`].
pub trait BlobStore: Debug + Send + Sync {
    /// Size of the object, `None` if it is not there.
    fn size<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<u64>>>;
    /// Takes in a finished local file (consumed), durably once this returns. `false` if the
    /// key was already there whole, in which case the stored bytes are kept (same name,
    /// same bytes).
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
    /// Keeps one received chunk of an unfinished upload (the local file is consumed),
    /// durably once this returns, where every instance can read it.
    fn put_part<'a>(&'a self, part: &'a PartKey, file: &'a Path) -> BoxFuture<'a, Result<()>>;
    /// The bytes of a kept chunk.
    fn get_part<'a>(&'a self, part: &'a PartKey) -> BoxFuture<'a, Result<ByteStream>>;
    /// Removes every kept chunk of an upload, recorded or not (a request that lost the race
    /// for an offset, or died before recording, leaves one behind).
    fn remove_parts<'a>(&'a self, upload: &'a uuid::Uuid) -> BoxFuture<'a, Result<()>>;
    /// A short description for logs (no credentials).
    fn describe(&self) -> String;
}

const READ_CHUNK: usize = 256 * 1024;

/// Objects as files under a folder, renamed into place and synced.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Whether the folder's file system makes a rename durable with the renamed file's
    /// fsync ([`Durability`]).
    durability: Durability,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Result<LocalStore> {
        std::fs::create_dir_all(&root).map_err(Error::io)?;
        let durability = Durability::of(&root);
        Ok(LocalStore { root, durability })
    }

    fn file(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.path())
    }
}

/// A temporary file whose write or rename failed (a full disk) is removed, so a failure
/// leaves nothing half-written behind.
pub(super) fn removed_on_failure(tmp: &Path, r: std::io::Result<()>) -> Result<()> {
    r.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(e)
    })
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    web::block(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// Writes a stream into a file chunk by chunk, off the async threads; gives the file back.
pub(super) async fn write_all(
    mut f: std::fs::File,
    stream: &mut ByteStream,
) -> Result<std::fs::File> {
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
    // Not every platform can open a folder, which is harmless.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// How a file renamed into the store is made durable, name and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// ext4, XFS and btrfs journal a rename with the renamed inode (its change time moves),
    /// and an fsync of the file commits the journal up to the inode's last change; ext4
    /// without a journal syncs the folder of a file created since its last fsync, which
    /// every file the store takes in is. One fsync after the rename makes both the bytes
    /// and the new name durable.
    FileSyncCoversRename,
    /// Elsewhere (tmpfs, overlay, network file systems, other systems) the folder is
    /// synced as well, as POSIX asks.
    SyncFolderToo,
}

impl Durability {
    /// The file system holding `dir`, by its magic number.
    pub fn of(dir: &Path) -> Durability {
        const EXT4: u64 = 0xEF53;
        const XFS: u64 = 0x5846_5342;
        const BTRFS: u64 = 0x9123_683E;
        match rustix::fs::statfs(dir) {
            // `f_type`'s integer type differs between platforms.
            #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
            Ok(fs) if [EXT4, XFS, BTRFS].contains(&(fs.f_type as u64)) => {
                Durability::FileSyncCoversRename
            }
            _ => Durability::SyncFolderToo,
        }
    }
}

/// Moves a local file to `dest` durably: renamed into place, then synced there (bytes and
/// name in one fsync where the file system allows, [`Durability`]); across file systems, a
/// copy synced before its rename. Nothing that was not fully written can be read at
/// `dest`; after a crash between the rename and the sync a file there may be incomplete,
/// which is why the store checks one it finds before keeping it ([`holds`]).
fn move_into(src: &Path, dest: &Path, durability: Durability) -> Result<()> {
    let dir = dest.parent().ok_or_else(|| Error::internal("no parent"))?;
    std::fs::create_dir_all(dir).map_err(Error::io)?;
    if std::fs::rename(src, dest).is_ok() {
        std::fs::File::open(dest)
            .and_then(|f| f.sync_all())
            .map_err(Error::io)?;
    } else {
        let tmp = dest.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
        let copied = std::fs::copy(src, &tmp)
            .and_then(|_| std::fs::File::open(&tmp))
            .and_then(|f| f.sync_all())
            .and_then(|_| std::fs::rename(&tmp, dest));
        removed_on_failure(&tmp, copied)?;
        std::fs::remove_file(src).map_err(Error::io)?;
        sync_dir(dir);
        return Ok(());
    }
    if durability == Durability::SyncFolderToo {
        sync_dir(dir);
    }
    Ok(())
}

/// Whether the file at `path` is a whole copy of `key`: an original's bytes must hash to
/// its name (a crash can leave a renamed file whose bytes never reached the disk); a
/// resized copy must not be empty (one lost is made again).
fn holds(path: &Path, key: &BlobKey) -> bool {
    use sha2::Digest;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if key.variant != Variant::Original {
        return f.metadata().is_ok_and(|m| m.len() > 0);
    }
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).is_ok() && Sha256Hex::from_digest(&h.finalize()) == key.sha256
}

/// A file's bytes in `range` (all of them without one), read off the async threads in
/// pieces of bounded size.
async fn read_file(path: PathBuf, range: Option<Range<u64>>) -> Result<ByteStream> {
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
        let (dest, src, key, durability) = (
            self.file(key),
            file.to_owned(),
            key.clone(),
            self.durability,
        );
        Box::pin(blocking(move || {
            // The same bytes are stored once; a file left incomplete by a crash is replaced.
            if dest.exists() && holds(&dest, &key) {
                std::fs::remove_file(&src).map_err(Error::io)?;
                return Ok(false);
            }
            move_into(&src, &dest, durability)?;
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
            // Renamed into place and synced, as uploaded files are.
            drop(f);
            let durability = self.durability;
            blocking(move || {
                let moved = move_into(&tmp, &dest, durability);
                if moved.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                moved
            })
            .await
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(read_file(self.file(key), range))
    }

    fn local_copy<'a>(
        &'a self,
        key: &'a BlobKey,
        _scratch: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf>> {
        let path = self.file(key);
        Box::pin(async move { Ok(path) })
    }

    fn put_part<'a>(&'a self, part: &'a PartKey, file: &'a Path) -> BoxFuture<'a, Result<()>> {
        let (dest, src, durability) = (
            self.root.join(part.path()),
            file.to_owned(),
            self.durability,
        );
        Box::pin(blocking(move || move_into(&src, &dest, durability)))
    }

    fn get_part<'a>(&'a self, part: &'a PartKey) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(read_file(self.root.join(part.path()), None))
    }

    fn remove_parts<'a>(&'a self, upload: &'a uuid::Uuid) -> BoxFuture<'a, Result<()>> {
        let dir = self.root.join(PartKey::folder(upload));
        Box::pin(blocking(move || match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(e)),
            _ => Ok(()),
        }))
    }

    fn describe(&self) -> String {
        format!("local folder {}", self.root.display())
    }
}

/// Chooses the store from configuration: `s3://bucket[/prefix]` (with optional S3 settings),
/// or a local folder.
pub fn open(setting: &str, s3_options: &[(String, String)]) -> anyhow::Result<Arc<dyn BlobStore>> {
    if setting.starts_with("s3://") {
        Ok(Arc::new(crate::infra::blobs::s3::S3Store::from_url(
            setting, s3_options,
        )?))
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

    #[test]
    fn part_keys_read_back_and_refuse_strangers() {
        let key = PartKey::new(uuid::Uuid::now_v7(), 1_048_576);
        assert_eq!(PartKey::from_path(&key.path()), Some(key.clone()));
        assert!(key.path().starts_with(&PartKey::folder(&key.upload)));
        for stray in ["parts/x/1-2", "blobs/ab/cd", "parts/../1-2", ""] {
            assert_eq!(PartKey::from_path(stray), None, "{stray}");
        }
        let padded = key.path().replace("/00000000000001048576-", "/1048576-");
        assert_eq!(PartKey::from_path(&padded), None);
    }

    #[actix_web::test]
    async fn a_stored_original_left_incomplete_by_a_crash_is_replaced() -> Result<()> {
        use sha2::Digest;
        let dir = std::env::temp_dir().join(format!("store-{}", uuid::Uuid::now_v7()));
        let store = LocalStore::new(dir.join("photos"))?;
        let bytes = b"the bytes of a photo".repeat(100);
        let key = BlobKey::new(
            &Sha256Hex::parse(&hex::encode(sha2::Sha256::digest(&bytes)))?,
            Variant::Original,
        );
        let incoming = |n: u32| -> Result<PathBuf> {
            let p = dir.join(format!("incoming-{n}"));
            std::fs::write(&p, &bytes).map_err(Error::io)?;
            Ok(p)
        };
        // What a crash between the rename and the sync can leave: the name, not the bytes.
        let at = dir.join("photos").join(key.path());
        std::fs::create_dir_all(at.parent().ok_or(Error::NotFound)?).map_err(Error::io)?;
        std::fs::write(&at, vec![0u8; bytes.len()]).map_err(Error::io)?;
        let first = incoming(1)?;
        assert!(
            store.put_file(&key, &first).await?,
            "the zeros are replaced"
        );
        assert_eq!(std::fs::read(&at).map_err(Error::io)?, bytes);
        assert!(!first.exists());
        // A whole copy is kept, and the same bytes arriving again are dropped.
        let second = incoming(2)?;
        assert!(!store.put_file(&key, &second).await?);
        assert!(!second.exists());
        assert_eq!(std::fs::read(&at).map_err(Error::io)?, bytes);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn only_journaling_file_systems_skip_the_folder_sync() {
        // procfs and tmpfs are neither ext4, XFS nor btrfs.
        assert_eq!(
            Durability::of(Path::new("/proc")),
            Durability::SyncFolderToo
        );
        if Path::new("/dev/shm").is_dir() {
            assert_eq!(
                Durability::of(Path::new("/dev/shm")),
                Durability::SyncFolderToo
            );
        }
        assert_eq!(
            Durability::of(Path::new("/no/such/folder")),
            Durability::SyncFolderToo
        );
    }
}
