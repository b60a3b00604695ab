//! Failed-login counting, kept in the database so that every server instance sees the
//! same counts. Failures are counted per *subject*: an account from one address (or from
//! one of its own devices), and an address. Nobody but the guesser is slowed: a stranger's
//! failures at an account count against the stranger's address, and names that belong to
//! no account count against the address alone.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::login_failures;
use crate::infra::error::Result;

/// How many failures a subject may have inside `window` before it must wait.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i64,
    pub window: Duration,
}

/// What is counted, as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Guesses at one account from one address.
    AccountFrom { user_id: String, address: String },
    /// Sign-ins to one account naming one of its own active devices: the owner's way in
    /// while others' guesses hold up their address.
    AccountOnDevice { user_id: String, device_id: String },
    /// Every failure from one address, at any name.
    Address(String),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Subject::AccountFrom { user_id, address } => format!("acct:{user_id}|addr:{address}"),
            Subject::AccountOnDevice { user_id, device_id } => {
                format!("acct:{user_id}|dev:{device_id}")
            }
            Subject::Address(a) => format!("addr:{a}"),
        }
    }
}

/// The longest an account's guesser waits between guesses.
pub const MAX_BACKOFF: Duration = Duration::minutes(15);
/// The first wait once the free failures are used up; it doubles with each failure.
pub const FIRST_BACKOFF_SECS: i64 = 30;

/// Seconds until a subject with `failures` (newest last) may try again under `limit`, or
/// `None`. With `backoff`, each failure past the free ones doubles the wait after the
/// latest; without, the subject waits until its oldest counted failure leaves the window.
pub fn wait(
    failures: &[NaiveDateTime],
    limit: Limit,
    backoff: bool,
    now: NaiveDateTime,
) -> Option<u64> {
    let recent: Vec<NaiveDateTime> = failures
        .iter()
        .copied()
        .filter(|t| *t > now - limit.window)
        .collect();
    let n = recent.len() as i64;
    if n < limit.max_failures {
        return None;
    }
    let until = if backoff {
        let doublings = u32::try_from(n - limit.max_failures)
            .unwrap_or(u32::MAX)
            .min(20);
        let delay =
            Duration::seconds(FIRST_BACKOFF_SECS.saturating_mul(1 << doublings)).min(MAX_BACKOFF);
        *recent.last()? + delay
    } else {
        recent[recent.len() - limit.max_failures as usize] + limit.window
    };
    let secs = (until - now).num_seconds();
    (secs > 0).then_some(secs as u64)
}

/// Seconds until the subject may try again, or `None` when it may try now.
pub fn blocked_for(
    conn: &mut DbConn,
    subject: &Subject,
    limit: Limit,
    backoff: bool,
    now: NaiveDateTime,
) -> Result<Option<u64>> {
    let mut recent: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::subject.eq(subject.key()))
        .filter(login_failures::at.gt(now - limit.window))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .limit(limit.max_failures + 32)
        .load(conn)?;
    recent.reverse();
    Ok(wait(&recent, limit, backoff, now))
}

pub fn record_failure(conn: &mut DbConn, subject: &Subject, now: NaiveDateTime) -> Result<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(crate::infra::db::new_id()),
            login_failures::subject.eq(subject.key()),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets a subject's failures (after a successful login) and prunes old rows.
pub fn clear(
    conn: &mut DbConn,
    subject: &Subject,
    now: NaiveDateTime,
    window: Duration,
) -> Result<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject.key())))
        .execute(conn)?;
    diesel::delete(login_failures::table.filter(login_failures::at.lt(now - window)))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    const FIVE: Limit = Limit {
        max_failures: 5,
        window: Duration::minutes(15),
    };

    #[test]
    fn free_failures_then_a_doubling_wait() {
        let four: Vec<_> = (0..4).map(at).collect();
        assert_eq!(wait(&four, FIVE, true, at(5)), None);
        let five: Vec<_> = (0..5).map(at).collect();
        assert_eq!(wait(&five, FIVE, true, at(5)), Some(29));
        let six: Vec<_> = (0..6).map(at).collect();
        assert_eq!(wait(&six, FIVE, true, at(5)), Some(60));
        let many: Vec<_> = (0..40).map(at).collect();
        assert_eq!(wait(&many, FIVE, true, at(39)), Some(15 * 60));
        // Once the wait is over, one more guess is allowed.
        assert_eq!(wait(&five, FIVE, true, at(4 + 30)), None);
    }

    #[test]
    fn a_capped_subject_waits_for_its_oldest_failure_to_leave_the_window() {
        let thirty: Vec<_> = (0..30).map(at).collect();
        let limit = Limit {
            max_failures: 30,
            window: Duration::minutes(15),
        };
        assert_eq!(wait(&thirty, limit, false, at(30)), Some(15 * 60 - 30));
        assert_eq!(wait(&thirty[1..], limit, false, at(30)), None);
        assert_eq!(wait(&thirty, limit, false, at(15 * 60 + 1)), None);
    }

    #[test]
    fn subjects_keep_accounts_addresses_and_devices_apart() {
        let a = Subject::AccountFrom {
            user_id: "u".into(),
            address: "1.2.3.4".into(),
        };
        let d = Subject::AccountOnDevice {
            user_id: "u".into(),
            device_id: "d".into(),
        };
        assert_ne!(a.key(), d.key());
        assert_ne!(a.key(), Subject::Address("1.2.3.4".into()).key());
    }
}
