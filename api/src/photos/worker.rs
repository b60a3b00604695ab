//! Resized copies, the copy without metadata and the perceptual hash are made on one
//! dedicated thread, off the request path, from a bounded queue: decoding never competes
//! with more than one core, and memory holds one decoded image at a time whatever the
//! burst. What the queue cannot take stays `pending` in the database and is swept up once
//! the queue has room; results are recorded a batch per transaction, jobs arriving within
//! [`LINGER`] of each other sharing one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::infra::blobs::{BlobKey, BlobStore, Variant};
use crate::infra::db::Db;
use crate::infra::error::{Error, Result};
use crate::photos::sniff::FileType;
use crate::photos::uploads::queries as rows;
use crate::photos::uploads::queries::{BlobRow, CopiesMade};
use crate::photos::{Sha256Hex, derive};

/// Jobs waiting at most; more stay `pending` until swept.
pub const QUEUE: usize = 256;
/// Results recorded per transaction, at most.
const BATCH: usize = 32;
/// How long the first job of a batch waits for others to join it.
const LINGER: Duration = Duration::from_millis(200);

/// One original to make copies of. `again`: its copies were recorded but are gone (lost
/// in a crash: they are not synced to disk), so it is made whatever its recorded state.
#[derive(Debug, Clone)]
pub struct Job {
    pub blob: BlobRow,
    pub again: bool,
}

/// The handle requests enqueue with; the thread starts with the first job.
#[derive(Debug, Default)]
pub struct Queue {
    tx: Mutex<Option<SyncSender<Job>>>,
    /// Set when a job did not fit: the thread sweeps `pending` blobs from the database.
    overflowed: Arc<AtomicBool>,
}

impl Queue {
    /// Hands a job to the thread (started on first use with this database and store).
    /// Never waits: a full queue leaves the blob `pending` for the sweep.
    pub fn push(&self, db: &Db, store: &Arc<dyn BlobStore>, scratch: &Path, job: Job) {
        let Ok(mut tx) = self.tx.lock() else { return };
        let sender = tx.get_or_insert_with(|| {
            let (sender, rx) = sync_channel(QUEUE);
            let w = Worker {
                db: db.clone(),
                store: store.clone(),
                scratch: scratch.to_path_buf(),
                overflowed: self.overflowed.clone(),
            };
            if let Err(e) = std::thread::Builder::new()
                .name("photo-copies".into())
                .spawn(move || w.run(rx))
            {
                tracing::warn!(error = %e, "starting the photo copy thread failed");
            }
            sender
        });
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.overflowed.store(true, Ordering::SeqCst),
            Err(TrySendError::Disconnected(_)) => {
                // The thread is gone (it could not start): the next job starts another.
                *tx = None;
                self.overflowed.store(true, Ordering::SeqCst);
            }
        }
    }
}

struct Worker {
    db: Db,
    store: Arc<dyn BlobStore>,
    scratch: PathBuf,
    overflowed: Arc<AtomicBool>,
}

impl Worker {
    /// Runs until every sender is gone (the server stopped).
    fn run(self, rx: Receiver<Job>) {
        // The store and the database are async: a small runtime of this thread's own.
        let rt = actix_web::rt::System::new();
        while let Ok(first) = rx.recv() {
            // Jobs arriving within a moment share one transaction: photos sent one after
            // another would otherwise cost a commit (an fsync) each for their copies.
            let until = Instant::now() + LINGER;
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            rt.block_on(self.batch(batch));
            if self.overflowed.swap(false, Ordering::SeqCst) {
                rt.block_on(self.sweep());
            }
        }
    }

    /// Blobs still `pending` in the database, oldest first, a batch at a time.
    async fn sweep(&self) {
        loop {
            let pending = match self
                .db
                .read(|c| rows::pending_derivatives(c, BATCH as i64))
                .await
            {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "reading pending photo copies failed");
                    return;
                }
            };
            let jobs = pending
                .into_iter()
                .map(|blob| Job { blob, again: false })
                .collect();
            if self.batch(jobs).await == 0 {
                return;
            }
        }
    }

    /// Makes the copies of a batch and records them in one transaction; returns how many
    /// were recorded.
    async fn batch(&self, jobs: Vec<Job>) -> usize {
        // A blob can be both queued and swept: only those still waiting are made.
        let shas: Vec<String> = jobs.iter().map(|j| j.blob.sha256.clone()).collect();
        let waiting: HashSet<String> =
            match self.db.read(move |c| rows::still_pending(c, &shas)).await {
                Ok(w) => w.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "reading pending photo copies failed");
                    return 0;
                }
            };
        let mut done = Vec::new();
        for job in jobs {
            let sha = job.blob.sha256.clone();
            if !job.again && !waiting.contains(&sha) {
                continue;
            }
            let outcome = match self.make(&job.blob).await {
                Ok(made) => made,
                Err(e) => {
                    tracing::warn!(sha256 = %sha, error = %e, "making resized copies failed");
                    CopiesMade::FAILED
                }
            };
            done.push((sha, outcome));
        }
        let n = done.len();
        if n == 0 {
            return 0;
        }
        let recorded = self
            .db
            .write(move |c| {
                for (sha, made) in &done {
                    rows::set_derivatives(c, sha, made)?;
                }
                Ok(())
            })
            .await;
        match recorded {
            Ok(()) => n,
            Err(e) => {
                tracing::warn!(error = %e, "recording resized copies failed");
                0
            }
        }
    }

    /// Makes and stores the copies of one original; returns what is to be recorded.
    async fn make(&self, blob: &BlobRow) -> Result<CopiesMade> {
        let sha = Sha256Hex::parse(&blob.sha256)?;
        let ty = FileType::from_media_type(&blob.media_type)
            .ok_or_else(|| Error::internal("unknown media type"))?;
        let original = BlobKey::new(&sha, Variant::Original);
        let local = self.store.local_copy(&original, &self.scratch).await?;
        let is_copy = local.starts_with(&self.scratch);
        // This thread is for this work: decoding here blocks nothing else.
        let made = derive::make(&local, ty, blob.has_gps()).map_err(Error::Internal);
        if is_copy {
            crate::photos::uploads::service::remove_scratch(&local);
        }
        let made = made?;
        let mut stripped = false;
        for (variant, bytes) in [
            (Variant::Thumb, made.thumb),
            (Variant::Medium, made.medium),
            (Variant::Stripped, made.stripped),
        ] {
            if let Some(b) = bytes {
                self.store
                    .put_bytes(&BlobKey::new(&sha, variant), b)
                    .await?;
                stripped |= variant == Variant::Stripped;
            }
        }
        Ok(CopiesMade {
            state: "ready",
            stripped,
            dhash: made.dhash,
            medium_is_original: made.medium_is_original,
            thumb_is_original: made.thumb_is_original,
        })
    }
}
