//! Fault injection for the kill test's control run, compiled only with the
//! `fault-injection` feature: with `BANGFU_FAULT=ack_before_commit` a push is answered as
//! soon as it is applied, and its transaction commits a moment later. Killing the server in
//! between loses acknowledged records, which the kill test must notice.
//!
//! The fault is armed only once the server starts serving: the demo county written before
//! that goes through the same push use case, and holding every one of its pushes open
//! would keep the server from ever becoming ready.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::web;

use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, Result};

static ARMED: AtomicBool = AtomicBool::new(false);

/// Arms the fault (when `BANGFU_FAULT` asks for it): called as the server starts serving.
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

/// Whether the control's fault is switched on and armed in this process.
pub fn ack_before_commit() -> bool {
    ARMED.load(Ordering::SeqCst)
        && std::env::var("BANGFU_FAULT").as_deref() == Ok("ack_before_commit")
}

/// Runs `f` in a write transaction, but answers with its result before committing.
pub async fn answer_then_commit<T, F>(db: &Db, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    T: Clone + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let db = db.clone();
    actix_web::rt::spawn(async move {
        let _ = db
            .write(move |c| {
                let value = f(c)?;
                let _ = tx.send(value.clone());
                std::thread::sleep(Duration::from_millis(300));
                Ok(value)
            })
            .await;
    });
    web::block(move || rx.recv())
        .await
        .map_err(Error::internal)?
        .map_err(|_| Error::Internal("the push failed before it was answered".into()))
}
