//! Hybrid logical clocks (Kulkarni et al., 2014): timestamps that follow wall-clock time
//! where clocks agree, never run backwards, and order every event after the events it
//! has seen, even when a phone's clock is wrong.
//!
//! A timestamp is (milliseconds since the Unix epoch, a counter for events in the same
//! millisecond, the node that made it). The text form sorts like the value:
//! `000001795373004123-00000-<node>`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One hybrid-logical-clock timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    /// The device (or server) that issued it: breaks ties so that the order is total.
    pub node: String,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:018}-{:05}-{}", self.millis, self.counter, self.node)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("malformed hybrid clock timestamp {0:?}")]
    Malformed(String),
    /// The remote clock is further ahead than the allowed drift: a phone set to next year
    /// must not drag every other clock with it.
    #[error("remote clock is {ahead_ms} ms ahead of this one (limit {limit_ms} ms)")]
    TooFarAhead { ahead_ms: u64, limit_ms: u64 },
    /// The counter ran out inside one millisecond.
    #[error("hybrid clock counter overflow")]
    CounterOverflow,
}

impl FromStr for Hlc {
    type Err = ClockError;

    fn from_str(s: &str) -> Result<Hlc, ClockError> {
        let bad = || ClockError::Malformed(s.chars().take(80).collect());
        let mut parts = s.splitn(3, '-');
        let millis = parts.next().filter(|p| p.len() == 18).ok_or_else(bad)?;
        let counter = parts.next().filter(|p| p.len() == 5).ok_or_else(bad)?;
        let node = parts
            .next()
            .filter(|n| !n.is_empty() && n.len() <= 64)
            .ok_or_else(bad)?;
        if !millis
            .bytes()
            .chain(counter.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        Ok(Hlc {
            millis: millis.parse().map_err(|_| bad())?,
            counter: counter.parse().map_err(|_| bad())?,
            node: node.to_owned(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hlc, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The largest counter value; the text form has five digits.
const MAX_COUNTER: u32 = 99_999;

/// A node's clock. Feed it the wall-clock time in milliseconds; it keeps the hybrid state.
#[derive(Debug, Clone)]
pub struct Clock {
    node: String,
    millis: u64,
    counter: u32,
    max_drift_ms: u64,
}

impl Clock {
    /// `max_drift_ms`: how far ahead of our wall clock a remote timestamp may be.
    pub fn new(node: impl Into<String>, max_drift_ms: u64) -> Clock {
        Clock {
            node: node.into(),
            millis: 0,
            counter: 0,
            max_drift_ms,
        }
    }

    /// The timestamp of a local event at wall-clock time `wall_ms`.
    pub fn tick(&mut self, wall_ms: u64) -> Result<Hlc, ClockError> {
        if wall_ms > self.millis {
            self.millis = wall_ms;
            self.counter = 0;
        } else {
            self.counter = self
                .counter
                .checked_add(1)
                .filter(|c| *c <= MAX_COUNTER)
                .ok_or(ClockError::CounterOverflow)?;
        }
        Ok(self.current())
    }

    /// Takes in a timestamp received from another node, so that the next local event
    /// orders after it. Returns the timestamp of the receive event.
    pub fn observe(&mut self, remote: &Hlc, wall_ms: u64) -> Result<Hlc, ClockError> {
        if remote.millis > wall_ms.saturating_add(self.max_drift_ms) {
            return Err(ClockError::TooFarAhead {
                ahead_ms: remote.millis - wall_ms,
                limit_ms: self.max_drift_ms,
            });
        }
        let top = wall_ms.max(self.millis).max(remote.millis);
        let counter = if top == self.millis && top == remote.millis {
            self.counter.max(remote.counter) + 1
        } else if top == self.millis {
            self.counter + 1
        } else if top == remote.millis {
            remote.counter + 1
        } else {
            0
        };
        if counter > MAX_COUNTER {
            return Err(ClockError::CounterOverflow);
        }
        self.millis = top;
        self.counter = counter;
        Ok(self.current())
    }

    fn current(&self) -> Hlc {
        Hlc {
            millis: self.millis,
            counter: self.counter,
            node: self.node.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_form_round_trips_and_sorts() -> Result<(), ClockError> {
        let a = Hlc {
            millis: 1_795_373_004_123,
            counter: 7,
            node: "phone-a".into(),
        };
        let b = Hlc {
            millis: 1_795_373_004_123,
            counter: 10,
            node: "phone-a".into(),
        };
        assert_eq!(a.to_string(), "000001795373004123-00007-phone-a");
        assert_eq!(a.to_string().parse::<Hlc>()?, a);
        assert!(a < b && a.to_string() < b.to_string());
        Ok(())
    }

    #[test]
    fn malformed_text_is_refused() {
        for s in [
            "",
            "1-2-x",
            "000001795373004123-00007-",
            "00000179537300412x-00007-a",
            "000001795373004123-7-a",
        ] {
            assert!(s.parse::<Hlc>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn a_slow_clock_still_orders_after_what_it_saw() -> Result<(), ClockError> {
        let mut server = Clock::new("server", 60_000);
        let mut phone = Clock::new("phone", 60_000);
        let from_server = server.tick(10_000)?;
        // The phone's wall clock is 5 s behind.
        let seen = phone.observe(&from_server, 5_000)?;
        let next = phone.tick(5_001)?;
        assert!(seen > from_server && next > seen);
        Ok(())
    }

    #[test]
    fn a_clock_far_in_the_future_is_refused() {
        let mut server = Clock::new("server", 60_000);
        let bogus = Hlc {
            millis: 10_000_000,
            counter: 0,
            node: "phone".into(),
        };
        assert!(matches!(
            server.observe(&bogus, 1_000),
            Err(ClockError::TooFarAhead { .. })
        ));
    }

    proptest! {
        /// Whatever the wall clock does (jumps back, stands still) and whatever arrives,
        /// each timestamp a clock issues is greater than every one it issued or saw before.
        #[test]
        fn timestamps_only_move_forward(events in prop::collection::vec((any::<bool>(), 0u64..5_000, 0u64..5_000, 0u32..50), 1..200)) {
            let mut clock = Clock::new("b", 1_000_000);
            let mut high: Option<Hlc> = None;
            for (receive, wall, remote_ms, remote_counter) in events {
                let issued = if receive {
                    let remote = Hlc { millis: remote_ms, counter: remote_counter, node: "a".into() };
                    let t = clock.observe(&remote, wall).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert!(t > remote);
                    t
                } else {
                    clock.tick(wall).map_err(|e| TestCaseError::fail(e.to_string()))?
                };
                if let Some(h) = &high {
                    prop_assert!(&issued > h);
                }
                prop_assert!(issued.millis >= wall);
                high = Some(issued);
            }
        }
    }
}
