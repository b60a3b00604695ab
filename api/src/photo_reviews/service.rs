//! Photo review's use cases (R-VISIT-3, R-SUP-1): one function each, owning its
//! transaction, taking the caller and typed input, and answering typed rows or the error.

use std::sync::{Arc, Mutex};

use bangfu_sync::Clock;

use crate::domain::caller::Caller;
use crate::domain::validate::Checks;
use crate::infra::db::Db;
use crate::infra::error::Result;
use crate::infra::sealing::DataKey;
use crate::photo_reviews::queries::{self, Backlog, Decided, QueueFilter, Queued, Verdict};
use crate::photos::uploads::queries::BlobRow;
use crate::sync::push::Pusher;

/// The review queue: photos inside the caller's scope, oldest first, `limit` at most.
pub async fn queue(
    db: &Db,
    caller: &Caller,
    filter: QueueFilter,
    limit: i64,
) -> Result<Vec<Queued>> {
    let scope = caller.scope.clone();
    db.read(move |c| queries::queue(c, &scope, &filter, limit))
        .await
}

/// Decides on a pending photo (R-VISIT-3): the reason is 1 to 500 characters when given;
/// the decision is final, needs the file, and is not for one's own photo (audited, synced
/// back to the phone). Answers the photo as it now stands, with its file (read after the
/// decision, in a transaction of its own).
pub async fn decide(
    db: &Db,
    clock: &Arc<Mutex<Clock>>,
    key: &DataKey,
    caller: &Caller,
    photo_id: &str,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<(Decided, Option<BlobRow>)> {
    let mut c = Checks::default();
    if let Some(r) = &reason {
        c.text("reason", r, 1, 500);
    }
    c.finish()?;
    let who = Pusher::deciding(caller);
    let (clock, key, id) = (clock.clone(), key.clone(), photo_id.to_owned());
    let decided = db
        .write(move |c| queries::decide(c, &who, &clock, &key, &id, verdict, reason.as_deref()))
        .await?;
    // A decision needs the file, so it is there.
    let sha = decided.photo.sha256.clone();
    let file = db
        .read(move |c| crate::photos::uploads::queries::find_blob(c, &sha))
        .await?;
    Ok((decided, file))
}

/// The review backlog per village inside the caller's scope, with its secretaries.
pub async fn backlog(db: &Db, caller: &Caller) -> Result<Vec<Backlog>> {
    let scope = caller.scope.clone();
    db.read(move |c| queries::backlog(c, &scope)).await
}

/// The evidence photos of one household inside the caller's scope, newest first, whatever
/// their review, with their files once sent; `limit` at most.
pub async fn of_household(
    db: &Db,
    caller: &Caller,
    household_id: &str,
    limit: i64,
) -> Result<Vec<Queued>> {
    let (scope, id) = (caller.scope.clone(), household_id.to_owned());
    db.read(move |c| queries::of_household(c, &scope, &id, limit))
        .await
}

/// One photo inside the caller's scope, with its file once its author has sent it.
pub async fn find(db: &Db, caller: &Caller, photo_id: &str) -> Result<Queued> {
    let (scope, id) = (caller.scope.clone(), photo_id.to_owned());
    db.read(move |c| {
        let photo = queries::find(c, &scope, &id)?;
        let file = crate::photos::uploads::queries::find_blob(c, &photo.sha256)?;
        Ok(Queued { photo, file })
    })
    .await
}
