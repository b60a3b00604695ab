//! Group commit on SQLite: concurrent writes that ask for it share one transaction and one
//! commit (one fsync of the WAL), each in its own savepoint, so one failing write rolls
//! back only itself. Each is answered only after the shared commit. SQLite has a single
//! writer, so without this every concurrent upload waits for the previous one's fsync;
//! PostgreSQL groups concurrent commits itself.

use std::sync::Mutex;

use diesel::Connection;

use crate::infra::db::{DbConn, write_tx};
use crate::infra::error::{Error, Result};

/// Tells a write how the shared commit went (`Some(reason)` if it failed).
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write waiting for the writer connection: runs in a savepoint, returns its delivery.
type Job = Box<dyn FnOnce(&mut DbConn) -> Deliver + Send>;

/// Writes waiting to be run by whoever holds the writer connection next.
#[derive(Default)]
pub struct Queue(Mutex<Vec<Job>>);

impl Queue {
    /// Queues `f`; its outcome arrives on the returned channel after the commit.
    pub fn push<T, F>(&self, f: F) -> std::sync::mpsc::Receiver<Result<T>>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |c: &mut DbConn| {
            // Nested inside the shared transaction: a savepoint.
            let r: Result<T> = c.transaction(f);
            Box::new(move |commit_failed: Option<&str>| {
                let out = match commit_failed {
                    None => r,
                    Some(m) => Err(Error::Internal(format!("shared commit failed: {m}"))),
                };
                let _ = tx.send(out);
            })
        });
        if let Ok(mut q) = self.0.lock() {
            q.push(job);
        }
        rx
    }

    fn take(&self) -> Vec<Job> {
        self.0
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// With the writer connection held: runs every queued write in one transaction and
    /// answers each after the commit.
    pub fn run(&self, conn: &mut DbConn) {
        let jobs = self.take();
        if jobs.is_empty() {
            return;
        }
        let mut delivers = Vec::with_capacity(jobs.len());
        let outcome = write_tx(conn, |c| {
            for job in jobs {
                delivers.push(job(c));
            }
            Ok(())
        });
        let failed = outcome.err().map(|e| e.to_string());
        for d in delivers {
            d(failed.as_deref());
        }
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("group_commit::Queue")
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;
    use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};

    use super::*;

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(c: &mut DbConn) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<N>(c)
            .map(|r| r.n)
            .unwrap_or(-1)
    }

    #[test]
    fn writes_share_a_commit_and_fail_alone() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("group-commit-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        let path = dir.join("t.db");
        let mut conn = DbConn::Sqlite(
            SqliteConnection::establish(&path.to_string_lossy()).map_err(Error::internal)?,
        );
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")?;
        let q = Queue::default();
        let insert = |id: i64| {
            move |c: &mut DbConn| -> Result<i64> {
                diesel::sql_query(format!("INSERT INTO t (id) VALUES ({id})")).execute(c)?;
                Ok(id)
            }
        };
        let a = q.push(insert(1));
        // Inserts a row, then fails: its row must not survive.
        let b = q.push(|c: &mut DbConn| -> Result<i64> {
            diesel::sql_query("INSERT INTO t (id) VALUES (2)").execute(c)?;
            Err(Error::Internal("no".into()))
        });
        let c2 = q.push(insert(3));
        // Nothing is answered before the commit.
        assert!(a.try_recv().is_err());
        q.run(&mut conn);
        assert_eq!(a.recv().ok().and_then(|r| r.ok()), Some(1));
        assert!(b.recv().is_ok_and(|r| r.is_err()));
        assert_eq!(c2.recv().ok().and_then(|r| r.ok()), Some(3));
        assert_eq!(count(&mut conn), 2);
        // A database error fails its own write only.
        let d = q.push(insert(4));
        let e = q.push(insert(1)); // duplicate key: fails in its savepoint only
        q.run(&mut conn);
        assert!(d.recv().is_ok_and(|r| r.is_ok()));
        assert!(e.recv().is_ok_and(|r| r.is_err()));
        assert_eq!(count(&mut conn), 3);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
