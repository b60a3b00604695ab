//! Photo evidence and documents: resumable uploads, content-addressed storage, checking
//! what arrives, EXIF, resized copies and copies without location, and serving them to
//! those who may see them.
//!
//! - [`uploads`]: receiving, resuming and finishing uploads (tus), and the stored files;
//! - [`sniff`]: what a file really is, from its bytes;
//! - [`exif`]: capture time and place as the camera wrote them;
//! - [`strip`]: copies without EXIF (and so without GPS) for roles that may not see it;
//! - [`derive`]: thumbnail and medium size, made off the request path;
//! - [`phash`]: the perceptual hash that finds the same picture used twice;
//! - [`worker`]: the one thread that makes the copies, from a bounded queue;
//! - [`evidence_rules`] and [`evidence`]: what a photo proves about the visit it is
//!   attached to (time, place, reuse), and the flags kept for review;
//! - [`http`]: serving originals and copies.
//!
//! The bytes themselves live in the blob store ([`crate::infra::blobs`]).

pub mod derive;
pub mod evidence;
pub mod evidence_rules;
pub mod exif;
pub mod http;
pub mod pages;
pub mod phash;
pub mod service;
pub mod sniff;
pub mod strip;
pub mod uploads;
pub mod worker;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Duration;

pub use crate::infra::blobs::{BlobKey, BlobStore, Variant};
use crate::infra::error::{Error, Result};

pub use crate::infra::blobs::Sha256Hex;

/// What an upload is for; each kind admits its own file types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// JPEG, PNG, HEIC/HEIF or WebP.
    Photo,
    /// PDF.
    Document,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Document => "document",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "photo" => Some(Kind::Photo),
            "document" => Some(Kind::Document),
            _ => None,
        }
    }
}

/// Limits on uploads.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_photo_bytes: u64,
    pub max_document_bytes: u64,
    /// Unfinished uploads one device (or one account without a device) may hold at once.
    pub max_open_per_device: i64,
    /// Unfinished uploads one account may hold on all its devices together.
    pub max_open_per_account: i64,
    /// An unfinished upload untouched this long is removed, bytes and all.
    pub idle_expiry: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_photo_bytes: 25 * 1024 * 1024,
            max_document_bytes: 50 * 1024 * 1024,
            max_open_per_device: 8,
            max_open_per_account: 16,
            idle_expiry: Duration::hours(24),
        }
    }
}

impl Limits {
    pub fn max_bytes(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Photo => self.max_photo_bytes,
            Kind::Document => self.max_document_bytes,
        }
    }
}

/// Everything the photo endpoints share.
#[derive(Debug)]
pub struct Photos {
    pub store: Arc<dyn BlobStore>,
    /// This instance's scratch folder: the bytes of requests being received, and local
    /// copies of stored objects being resized. Nothing in it outlives the request that made
    /// it; what must last goes to the blob store.
    pub scratch_dir: PathBuf,
    pub limits: Limits,
    /// Uploads receiving a chunk right now (one writer per upload).
    busy: Mutex<HashSet<String>>,
    /// Originals waiting for their resized copies.
    copies: crate::photos::worker::Queue,
}

impl Photos {
    pub fn new(store: Arc<dyn BlobStore>, scratch_dir: PathBuf, limits: Limits) -> Result<Photos> {
        std::fs::create_dir_all(&scratch_dir).map_err(Error::io)?;
        Ok(Photos {
            store,
            scratch_dir,
            limits,
            busy: Mutex::new(HashSet::new()),
            copies: crate::photos::worker::Queue::default(),
        })
    }

    /// Has the copies of a stored original made in the background (`again`: made anew,
    /// whatever was recorded, because they are gone).
    pub fn make_copies(
        &self,
        db: &crate::infra::db::Db,
        blob: crate::photos::uploads::queries::BlobRow,
        again: bool,
    ) {
        self.copies.push(
            db,
            &self.store,
            &self.scratch_dir,
            crate::photos::worker::Job { blob, again },
        );
    }

    /// A new scratch file name for bytes of upload `id` (a UUID the server made).
    pub fn scratch_file(&self, id: &uuid::Uuid) -> PathBuf {
        self.scratch_dir.join(format!(
            "{}.{}.part",
            id.as_hyphenated(),
            uuid::Uuid::now_v7().simple()
        ))
    }

    /// Marks an upload as receiving; `None` if another request is already writing to it.
    pub fn claim(self: &Arc<Self>, id: &str) -> Option<Claim> {
        let mut busy = self.busy.lock().ok()?;
        busy.insert(id.to_owned()).then(|| Claim {
            photos: self.clone(),
            id: id.to_owned(),
        })
    }
}

/// Held while a request writes to an upload; released when dropped.
#[derive(Debug)]
pub struct Claim {
    photos: Arc<Photos>,
    id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.photos.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_digests_name_blobs() {
        let ok = "A".repeat(64);
        assert_eq!(
            Sha256Hex::parse(&ok).map(|s| s.as_str().to_owned()).ok(),
            Some("a".repeat(64))
        );
        for bad in [
            "../../etc/passwd",
            &"g".repeat(64),
            &"a".repeat(63),
            &format!("{}/", "a".repeat(63)),
            "",
        ] {
            assert!(Sha256Hex::parse(bad).is_err(), "{bad}");
        }
    }
}
