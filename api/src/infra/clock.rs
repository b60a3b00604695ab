//! The server's one clock, and China time.
//!
//! Every reading of the time goes through a [`Clock`]: the database handle owns one and
//! installs it for each transaction it runs, and the request envelope for each request,
//! so queries and handlers alike read [`now`] and [`today`]. A test moves a server's clock
//! forward ([`Clock::advance`]) to let a notice run out or an upload expire, instead of
//! rewriting rows. Working days, dates in ledgers and deadlines count in China time
//! ([`CHINA`], UTC+8, no daylight saving).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, SubsecRound, Utc};

/// China Standard Time: UTC+8 all year.
pub const CHINA_OFFSET: Duration = Duration::hours(8);

/// China Standard Time as a time zone.
pub const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(zone) => zone,
    None => panic!("UTC+8 is a valid offset"),
};

/// The calendar date in China at a UTC instant.
pub fn china_date(at: NaiveDateTime) -> NaiveDate {
    (at + CHINA_OFFSET).date()
}

/// The wall-clock time in China of a UTC instant.
pub fn china_time(at: NaiveDateTime) -> NaiveDateTime {
    at + CHINA_OFFSET
}

/// The UTC instant at which China's day `d` begins.
pub fn start_of_china_day(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN) - CHINA_OFFSET
}

/// The last instant (to the second) of China's day `d`, in UTC.
pub fn end_of_china_day(d: NaiveDate) -> NaiveDateTime {
    start_of_china_day(d) + Duration::days(1) - Duration::seconds(1)
}

/// A source of the current time: the system's, moved by an offset that only tests set.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The current instant in UTC, at the microsecond precision both backends store.
    pub fn now(&self) -> NaiveDateTime {
        self.now_utc().naive_utc().trunc_subsecs(6)
    }

    pub fn now_utc(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Today's date in China.
    pub fn today(&self) -> NaiveDate {
        china_date(self.now())
    }

    /// Milliseconds since the epoch (for the hybrid clock).
    pub fn wall_ms(&self) -> u64 {
        u64::try_from(self.now_utc().timestamp_millis()).unwrap_or(0)
    }

    /// Moves this clock forward (a test letting time pass); every reader sees it at once.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// Runs `f` with this clock as the one [`now`] and [`today`] read on this thread.
    pub fn install<T>(&self, f: impl FnOnce() -> T) -> T {
        let previous = INSTALLED.with(|c| c.replace(Some(self.clone())));
        let out = f();
        INSTALLED.with(|c| *c.borrow_mut() = previous);
        out
    }
}

thread_local! {
    static INSTALLED: RefCell<Option<Clock>> = const { RefCell::new(None) };
}

tokio::task_local! {
    static REQUEST: Clock;
}

/// Runs a request (any future) with `clock` as the one it reads.
pub async fn scoped<F: std::future::Future>(clock: Clock, f: F) -> F::Output {
    REQUEST.scope(clock, f).await
}

/// The clock in force: the one installed on this thread for a transaction, else the
/// request's, else the system's, unmoved.
pub fn current() -> Clock {
    INSTALLED
        .with(|c| c.borrow().clone())
        .or_else(|| REQUEST.try_with(Clock::clone).ok())
        .unwrap_or_default()
}

/// The current instant in UTC, by the installed clock.
pub fn now() -> NaiveDateTime {
    current().now()
}

/// Today's date in China, by the installed clock.
pub fn today() -> NaiveDate {
    current().today()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_is_read_where_it_is_installed_and_nowhere_else() {
        let moved = Clock::default();
        moved.advance(Duration::days(10));
        let here = now();
        let there = moved.install(now);
        assert!(there - here >= Duration::days(10) - Duration::seconds(5));
        assert!(
            now() - here < Duration::days(1),
            "installed only for the call"
        );
        // Nested installs restore the outer one.
        let inner = Clock::default();
        moved.install(|| {
            inner.install(|| assert!(now() - here < Duration::days(1)));
            assert!(now() - here >= Duration::days(9));
        });
    }

    #[test]
    fn china_days_start_at_sixteen_hundred_utc() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default();
        assert_eq!(china_date(t("2026-12-02 15:59")).to_string(), "2026-12-02");
        assert_eq!(china_date(t("2026-12-02 16:00")).to_string(), "2026-12-03");
        assert_eq!(CHINA.local_minus_utc(), 8 * 3600);
    }
}
