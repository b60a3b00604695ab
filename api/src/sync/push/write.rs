//! The last step of a push: everything the batch staged, written in the caller's
//! transaction: records at new feed positions, sealed text, the photo evidence index, case
//! numbers taken, reach changes, the answers, the conflicts and the audit log.

use bangfu_sync::schema;

use chrono::NaiveDateTime;

use crate::audit::log as audit;
use crate::audit::log::Event;
use crate::infra::db::{DbConn, feed};
use crate::infra::error::Result;
use crate::infra::sealing::DataKey;
use crate::records::reach;
use crate::records::reach::ReachChange;
use crate::records::store as records;
use crate::records::store::{MutationRow, RecordRow};
use crate::sync::push::Pusher;
use crate::sync::push::context::{Staged, Staging};

/// Writes what judging staged, and the answers to store.
pub(super) fn write(
    conn: &mut DbConn,
    who: &Pusher,
    key: &DataKey,
    now: NaiveDateTime,
    staging: Staging,
    answers: &[MutationRow],
) -> Result<()> {
    let Staging {
        staged,
        numbers,
        notes,
        conflicts,
        mut audit_changes,
        sealed,
        ..
    } = staging;
    // Feed positions in the order the records were last changed.
    let mut dirty: Vec<&Staged> = staged.values().filter(|s| s.last_change > 0).collect();
    dirty.sort_by_key(|s| s.last_change);
    let first = feed::take(conn, (dirty.len() + notes.len()) as i64)?;
    let reach_rows: Vec<ReachChange> = notes
        .into_iter()
        .enumerate()
        .map(|(i, n)| n.at(first + (dirty.len() + i) as i64, &who.user_id, now))
        .collect();
    let rows: Vec<RecordRow> = dirty
        .iter()
        .filter_map(|s| s.row.clone())
        .enumerate()
        .map(|(i, mut row)| {
            row.seq = first + i as i64;
            row
        })
        .collect();
    records::write(conn, &rows)?;
    records::seal_fields(conn, key, &sealed)?;
    // The photo evidence index follows the records it indexes, in the same transaction.
    crate::photos::evidence::records_written(conn, &rows)?;
    numbers.save(conn)?;
    reach::write(conn, &reach_rows)?;
    records::save_answers(conn, answers)?;
    records::save_conflicts(conn, &conflicts)?;
    let events: Vec<Event<'_>> = audit_changes
        .iter_mut()
        .map(|(action, entity, id, path, changes)| Event {
            action: *action,
            entity: schema::entity(entity).map_or("sync_record", |d| d.name),
            entity_id: id,
            region_path: path,
            changes: std::mem::take(changes),
            reason: None,
        })
        .collect();
    audit::record_many(conn, &who.actor, &events)?;
    Ok(())
}
