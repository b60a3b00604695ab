//! Reading the read model: the facts and clocks the projector builds from synced records
//! and online changes. Every read of it goes through [`read`] or [`write`], which first
//! bring it up to date with everything committed before the read began, so a reader always
//! sees its own writes. The queries over it take a [`Current`], which only this module (and
//! the projector, inside its own transaction) makes (`deadlines::current`): a read that skips the catch-up does
//! not compile.

pub use crate::deadlines::current::Current;
use crate::deadlines::projector;
use crate::infra::db::{Db, DbConn};
use crate::infra::error::Result;

/// Brings the read model up to date, then runs `f` in one read transaction.
pub async fn read<T, F>(db: &Db, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn, Current) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    projector::catch_up(db).await?;
    db.read(move |c| f(c, Current::caught_up())).await
}

/// Brings the read model up to date, then runs `f` in one write transaction (a change
/// judged against the model, such as a dropout case's paper recorded in step order).
pub async fn write<T, F>(db: &Db, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn, Current) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    projector::catch_up(db).await?;
    db.write(move |c| f(c, Current::caught_up())).await
}
