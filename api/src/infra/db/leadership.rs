//! Which instance does the background work (the projector's rounds, the hourly housekeeping,
//! the resized photo copies a restart left waiting): the leader, one at a time among every
//! instance on one database, none of them chosen in advance.
//!
//! **PostgreSQL: a session-level advisory lock.** The leader is the instance holding
//! [`LEADER_LOCK`] (`pg_try_advisory_lock`) on a connection opened for that alone, never one
//! of the pool's (a pooled connection goes back to the pool, and the lock with it to
//! whoever takes it next). Standbys try to take the lock every `retry`. The leader checks
//! before every round of background work, and every `retry`, that its lock session still
//! answers and still holds the lock; when it does not, it steps down: the connection is
//! dropped, and after `retry` it tries again like any standby. A leader that dies loses its
//! session and PostgreSQL releases the lock with it: a killed or crashed process at once
//! (its socket is closed by the kernel), so a standby leads within `retry`; a machine cut off
//! from the database once PostgreSQL gives up on the session, which the lock session's TCP
//! keepalives and user timeout (set below, on both ends) bound to about half a minute. A
//! process that is stopped but not dead (SIGSTOP, a frozen VM) keeps its session and so its
//! lock; the background work then waits for it, while reads still catch the projector up
//! on demand on every instance.
//!
//! Why not row claiming (a lease row renewed by the leader): it writes a row every few
//! seconds for ever, and a dead leader's lease holds until it expires, so failover is never
//! faster than the lease; the advisory lock writes nothing and is released the moment
//! PostgreSQL sees the session end. A lease would survive a frozen leader better, which the
//! lock does not (above).
//!
//! Nothing relies on there being one leader for correctness: every background job is safe
//! to run twice at once (the projector's pages hold the change feed's lock, housekeeping
//! removes what has expired), so the moment of a hand-over, while an old leader cut off from
//! the database does not know it yet, costs at most a repeated round. Leadership keeps N
//! instances from doing the same work N times.
//!
//! **SQLite: the instance leads.** A SQLite install is one file on one machine's disk,
//! served by one instance (several instances are a PostgreSQL install; see README,
//! "PostgreSQL, and several instances"): there is no one to share the work with.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::infra::db::DbTarget;

/// The advisory lock whose holder leads: the ASCII of `bangfuld` read as a big-endian
/// 64-bit number (7089068678837529700), distinct from the migration lock
/// ([`crate::infra::db::migrate`], `bangfu`). Advisory locks are per database, so installs
/// sharing a PostgreSQL server on separate databases do not compete.
pub const LEADER_LOCK: i64 = 0x6261_6e67_6675_6c64;

/// How often standbys try to take the lock, and the leader checks it, by default.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// The lock session's TCP settings: a session silent for 10 s is probed every 5 s and
/// given up after 3 unanswered probes, and data unacknowledged for 30 s ends it. Set on
/// the client (libpq) and on the server's end (the session's GUCs), so both the leader and
/// PostgreSQL learn of a cut-off network within about half a minute.
const KEEPALIVES: &str = "keepalives=1&keepalives_idle=10&keepalives_interval=5\
                          &keepalives_count=3&tcp_user_timeout=30000&connect_timeout=5";
const SERVER_KEEPALIVES: &str = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                                 SET tcp_keepalives_count = 3; SET tcp_user_timeout = 30000;";
/// How the lock sessions show in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "bangfu leadership";

/// What this instance is doing about the background work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It does the background work.
    Leader,
    /// Another instance does it (or none is running it here: the instance has not tried yet).
    Standby,
}

const STANDBY: u8 = 0;
const LEADER: u8 = 1;
/// Before the first try, so that the first answer is logged whichever it is.
const UNDECIDED: u8 = 2;

/// This instance's leadership, shared by the background loops and the health check.
/// Cheap to clone. Starts as standby; only [`Leadership::campaign`] makes it lead.
#[derive(Clone)]
pub struct Leadership {
    inner: Arc<Inner>,
}

struct Inner {
    role: AtomicU8,
    retry: Duration,
    seat: Mutex<Seat>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("role", &self.role())
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Where the lock is held.
enum Seat {
    /// SQLite: the one instance leads.
    Alone,
    Postgres {
        /// The database, with the lock session's TCP settings added.
        url: String,
        /// The lock session: held by the leader, kept open between tries by a standby.
        conn: Option<PgConnection>,
        /// Whether `conn` holds the lock.
        holds: bool,
        /// No try before this (a stepped-down leader waits one `retry`).
        next_try: Instant,
    },
}

impl Leadership {
    /// The leadership of an instance on `target`, trying again every `retry` (at least
    /// 100 ms).
    pub fn new(target: &DbTarget, retry: Duration) -> Leadership {
        let seat = match target {
            DbTarget::Sqlite(_) => Seat::Alone,
            DbTarget::Postgres(url) => Seat::Postgres {
                url: with_keepalives(url),
                conn: None,
                holds: false,
                next_try: Instant::now(),
            },
        };
        Leadership {
            inner: Arc::new(Inner {
                role: AtomicU8::new(UNDECIDED),
                retry: retry.max(Duration::from_millis(100)),
                seat: Mutex::new(seat),
            }),
        }
    }

    /// What this instance is doing now.
    pub fn role(&self) -> Role {
        match self.inner.role.load(Ordering::SeqCst) {
            LEADER => Role::Leader,
            _ => Role::Standby,
        }
    }

    /// How often standbys try and the leader checks.
    pub fn retry(&self) -> Duration {
        self.inner.retry
    }

    /// One round of the leadership loop (run every [`Leadership::retry`]): the leader
    /// checks its lock, a standby tries to take it.
    pub async fn campaign(&self) -> Role {
        self.blocking(true).await
    }

    /// Whether this instance leads, checked on the lock session: called before each round
    /// of background work. Never takes the lock (that is [`Leadership::campaign`]'s).
    pub async fn confirm(&self) -> bool {
        if self.role() != Role::Leader {
            return false;
        }
        self.blocking(false).await == Role::Leader
    }

    async fn blocking(&self, may_take: bool) -> Role {
        let me = self.clone();
        actix_web::web::block(move || me.round(may_take))
            .await
            .unwrap_or(Role::Standby)
    }

    /// Checks the lock (and takes it when `may_take` and due), records the role and logs a
    /// change of it.
    fn round(&self, may_take: bool) -> Role {
        // A round that panicked leaves the seat as it was: carry on from it, rather than
        // keep a lock session no round could ever look at again.
        let mut seat = self
            .inner
            .seat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (role, why) = match &mut *seat {
            Seat::Alone => (Role::Leader, "SQLite: one instance".to_owned()),
            Seat::Postgres {
                url,
                conn,
                holds,
                next_try,
            } => {
                if *holds {
                    let held = conn.as_mut().map(still_held);
                    match held {
                        Some(Ok(true)) => (Role::Leader, String::new()),
                        other => {
                            *conn = None;
                            *holds = false;
                            *next_try = Instant::now() + self.inner.retry;
                            let why = match other {
                                Some(Err(e)) => format!("the lock session failed: {e}"),
                                _ => "the lock session no longer holds the lock".to_owned(),
                            };
                            (Role::Standby, why)
                        }
                    }
                } else if may_take && Instant::now() >= *next_try {
                    *next_try = Instant::now() + self.inner.retry;
                    match take(url, conn) {
                        Ok(true) => {
                            *holds = true;
                            (
                                Role::Leader,
                                format!("took the advisory lock {LEADER_LOCK}"),
                            )
                        }
                        Ok(false) => (Role::Standby, "another instance leads".to_owned()),
                        Err(e) => {
                            *conn = None;
                            (Role::Standby, format!("could not try for the lock: {e}"))
                        }
                    }
                } else {
                    (Role::Standby, String::new())
                }
            }
        };
        self.record(role, &why);
        role
    }

    fn record(&self, role: Role, why: &str) {
        let now = match role {
            Role::Leader => LEADER,
            Role::Standby => STANDBY,
        };
        let before = self.inner.role.swap(now, Ordering::SeqCst);
        if before == now {
            return;
        }
        match (before, role) {
            (_, Role::Leader) => {
                tracing::info!(
                    reason = why,
                    "leading: this instance does the background work"
                )
            }
            (UNDECIDED, Role::Standby) => {
                tracing::info!(
                    reason = why,
                    "standby: another instance does the background work"
                )
            }
            (_, Role::Standby) => {
                tracing::warn!(reason = why, "stepped down: this instance no longer leads")
            }
        }
    }
}

/// The database URL with the lock session's TCP settings added.
fn with_keepalives(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{KEEPALIVES}")
}

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

/// Tries for the lock on the kept session, opening one if there is none.
fn take(url: &str, conn: &mut Option<PgConnection>) -> std::result::Result<bool, String> {
    if conn.is_none() {
        let mut c = PgConnection::establish(url).map_err(|e| e.to_string())?;
        c.batch_execute(&format!("SET application_name = '{APPLICATION_NAME}'"))
            .map_err(|e| e.to_string())?;
        // Best effort: without them a cut-off leader is noticed later (the system's TCP
        // defaults), but it is noticed.
        if let Err(e) = c.batch_execute(SERVER_KEEPALIVES) {
            tracing::warn!(error = %e, "setting the lock session's TCP keepalives failed");
        }
        *conn = Some(c);
    }
    let Some(c) = conn.as_mut() else {
        return Ok(false);
    };
    diesel::sql_query("SELECT pg_try_advisory_lock($1) AS yes")
        .bind::<BigInt, _>(LEADER_LOCK)
        .get_result::<Answer>(c)
        .map(|a| a.yes)
        .map_err(|e| e.to_string())
}

/// Whether the session answers and holds the lock (as `pg_locks` shows a 64-bit key: its
/// high half as `classid`, its low half as `objid`).
fn still_held(c: &mut PgConnection) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
         AND pid = pg_backend_pid() AND granted AND objsubid = 1 \
         AND classid::bigint = $1 AND objid::bigint = $2) AS yes",
    )
    .bind::<BigInt, _>(LEADER_LOCK >> 32)
    .bind::<BigInt, _>(LEADER_LOCK & 0xffff_ffff)
    .get_result::<Answer>(c)
    .map(|a| a.yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_spells_its_name_and_is_not_the_migration_lock() {
        assert_eq!(LEADER_LOCK.to_be_bytes(), *b"bangfuld");
        assert_eq!(LEADER_LOCK, 7_089_068_678_837_529_700);
        assert_ne!(LEADER_LOCK, crate::infra::db::migrate::MIGRATION_LOCK);
    }

    #[test]
    fn keepalives_are_added_to_any_url() {
        assert_eq!(
            with_keepalives("postgres://u@h/db"),
            format!("postgres://u@h/db?{KEEPALIVES}")
        );
        assert_eq!(
            with_keepalives("postgres://u@h/db?sslmode=require"),
            format!("postgres://u@h/db?sslmode=require&{KEEPALIVES}")
        );
    }

    #[actix_web::test]
    async fn on_sqlite_the_instance_leads_once_it_has_tried() {
        let l = Leadership::new(
            &DbTarget::Sqlite("unused.db".into()),
            Duration::from_secs(1),
        );
        assert_eq!(l.role(), Role::Standby);
        assert!(!l.confirm().await);
        assert_eq!(l.campaign().await, Role::Leader);
        assert!(l.confirm().await);
        assert_eq!(l.role(), Role::Leader);
    }
}
