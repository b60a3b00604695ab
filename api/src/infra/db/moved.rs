//! Online changes that the read model built from synced records must follow: an
//! application moved by a decision, a campaign started or a phase of it done. The use case
//! notes the change in its own transaction; the projector takes the notes before the next
//! read of facts and deadlines (and in the background), so these clocks follow the same
//! path as every other, and the capabilities making the changes need not know the
//! projector.

use diesel::prelude::*;

use crate::infra::db::schema::moved_subjects;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::Result;

/// What moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Application,
    Campaign,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Application => "application",
            Subject::Campaign => "campaign",
        }
    }

    fn parse(s: &str) -> Option<Subject> {
        match s {
            "application" => Some(Subject::Application),
            "campaign" => Some(Subject::Campaign),
            _ => None,
        }
    }
}

/// Notes that `id` moved, inside the transaction that moved it.
pub fn note(conn: &mut DbConn, subject: Subject, id: &str) -> Result<()> {
    diesel::insert_into(moved_subjects::table)
        .values((
            moved_subjects::id.eq(new_id()),
            moved_subjects::subject.eq(subject.as_str()),
            moved_subjects::subject_id.eq(id),
            moved_subjects::moved_at.eq(crate::infra::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether any note waits. Read through the key's index: every read of the read model
/// asks, and after a burst of notes the table holds their dead rows until vacuumed, which a
/// scan of the table would walk each time (43 ms after 160,000 notes).
pub fn any(conn: &mut DbConn) -> Result<bool> {
    Ok(moved_subjects::table
        .select(moved_subjects::id)
        .order(moved_subjects::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Notes waiting to be followed.
#[derive(Debug, Default)]
pub struct Waiting {
    /// The notes' ids, to [`forget`] once followed.
    pub notes: Vec<String>,
    /// What moved.
    pub moved: Vec<(Subject, String)>,
}

/// Up to `limit` waiting notes, oldest first.
pub fn waiting(conn: &mut DbConn, limit: i64) -> Result<Waiting> {
    let rows: Vec<(String, String, String)> = moved_subjects::table
        .order((moved_subjects::moved_at.asc(), moved_subjects::id.asc()))
        .limit(limit)
        .select((
            moved_subjects::id,
            moved_subjects::subject,
            moved_subjects::subject_id,
        ))
        .load(conn)?;
    let notes = rows.iter().map(|(id, _, _)| id.clone()).collect();
    let moved = rows
        .into_iter()
        .filter_map(|(_, s, id)| Some((Subject::parse(&s)?, id)))
        .collect();
    Ok(Waiting { notes, moved })
}

/// Forgets notes that were followed.
pub fn forget(conn: &mut DbConn, ids: &[String]) -> Result<()> {
    diesel::delete(moved_subjects::table.filter(moved_subjects::id.eq_any(ids))).execute(conn)?;
    Ok(())
}
