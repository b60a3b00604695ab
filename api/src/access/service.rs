//! The break-the-glass use cases: one function each, owning its transaction, taking the
//! caller and typed input, checking it, and answering typed rows or the one error.

use bangfu_sync::Code;

use crate::access::queries::{self as grants, GrantRow, NewGrant, Reviewer};
use crate::domain::access::{self, Subject};
use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};

/// Access asked for one record outside the caller's jurisdiction.
#[derive(Debug, Clone)]
pub struct Request {
    pub subject: Subject,
    pub subject_id: String,
    /// Why: at least 4 letters or digits.
    pub reason: String,
    /// 1 to 180; none: 180.
    pub duration_minutes: Option<i64>,
}

fn reviewer(caller: &Caller) -> Reviewer<'_> {
    Reviewer {
        user_id: &caller.user_id,
        role: caller.role,
        region_path: &caller.region_path,
    }
}

/// Grants the caller read access to one record for a while, with a reason checked for
/// substance and a length of at most three hours; at most three live grants
/// (`too_many_grants`).
pub async fn grant(
    db: &Db,
    caller: &Caller,
    new: Request,
    once: Once<GrantRow>,
) -> Result<Made<GrantRow>> {
    let expires = access::grant_expiry(
        crate::infra::clock::now(),
        new.duration_minutes,
        &new.reason,
    )
    .map_err(Error::Validation)?;
    // Kept as every stated reason is kept (`stated_reason` trims it).
    let reason = new.reason.trim().to_owned();
    let (actor, uid, standing) = (caller.actor(), caller.user_id.clone(), caller.scope.clone());
    idempotency::run(db, once, move |c| {
        grants::create(
            c,
            &actor,
            NewGrant {
                user_id: &uid,
                standing: &standing,
                subject: new.subject,
                subject_id: &new.subject_id,
                reason: &reason,
                expires_at: expires,
            },
        )
    })
    .await
}

/// The caller's own grants, newest first, `limit` at most.
pub async fn mine(db: &Db, caller: &Caller, limit: i64) -> Result<Vec<GrantRow>> {
    let uid = caller.user_id.clone();
    db.read(move |c| grants::list_for_user(c, &uid, limit))
        .await
}

/// Ends one of the caller's own grants early.
pub async fn revoke(db: &Db, caller: &Caller, id: &str) -> Result<GrantRow> {
    let (actor, uid, id) = (caller.actor(), caller.user_id.clone(), id.to_owned());
    db.write(move |c| grants::revoke(c, &actor, &uid, &id))
        .await
}

/// The grants of staff in the caller's jurisdiction (never the caller's own) for review,
/// oldest first; `pending_only`: those not reviewed yet.
pub async fn for_review(
    db: &Db,
    caller: &Caller,
    pending_only: bool,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<GrantRow>> {
    let caller = caller.clone();
    db.read(move |c| grants::for_review(c, &reviewer(&caller), pending_only, after, limit))
        .await
}

/// Judges a grant of someone in the caller's jurisdiction, once: an unjustified verdict
/// needs a note, a note has at most 500 characters (blank: none).
pub async fn review(
    db: &Db,
    caller: &Caller,
    id: &str,
    justified: bool,
    note: Option<&str>,
) -> Result<GrantRow> {
    let note = note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if !justified && note.is_none() {
        return Err(Error::validation(
            "note",
            Code::Required,
            Msg::fixed(
                "认定不当须说明理由。",
                "An unjustified verdict needs a note.",
            ),
        ));
    }
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(Error::validation(
            "note",
            Code::TooLong,
            Msg::fixed("说明最多 500 字。", "A note has at most 500 characters."),
        ));
    }
    let (actor, id, caller) = (caller.actor(), id.to_owned(), caller.clone());
    db.write(move |c| {
        grants::review(
            c,
            &actor,
            &reviewer(&caller),
            &id,
            justified,
            note.as_deref(),
        )
    })
    .await
}
