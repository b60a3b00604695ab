//! Digests of the rows a device holds, for repair without a full restore. The rows of each
//! entity fall into [`BUCKETS`] buckets by the last two hex digits of their id (random in a
//! UUIDv7); a bucket's digest combines `sha256("id:version")` of its rows. Device and
//! server compute the same digests the same way, compare them, and exchange only the rows
//! of the buckets that differ.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

/// Buckets per entity.
pub const BUCKETS: u16 = 256;

/// The bucket of a row, by the last two hex digits of its id.
pub fn bucket(id: &str) -> u16 {
    id.get(id.len().saturating_sub(2)..)
        .and_then(|tail| u16::from_str_radix(tail, 16).ok())
        .unwrap_or(0)
}

/// The LIKE pattern matching the ids of a bucket (lowercase ids).
pub fn bucket_pattern(b: u16) -> String {
    format!("%{:02x}", b % BUCKETS)
}

fn item(id: &str, version: i64) -> u128 {
    let h = Sha256::digest(format!("{id}:{version}").as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&h[..16]);
    u128::from_be_bytes(first)
}

/// Per entity, per bucket: the XOR of the rows' hashes (the order rows come in does not
/// matter, and an empty bucket is zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests(BTreeMap<String, BTreeMap<u16, u128>>);

/// Digests as they travel: entity -> bucket -> 32 hex digits; empty buckets left out.
pub type WireDigests = BTreeMap<String, BTreeMap<u16, String>>;

impl Digests {
    /// Adds a row held (live rows only: a tombstone is not held).
    pub fn add(&mut self, entity: &str, id: &str, version: i64) {
        let b = self
            .0
            .entry(entity.to_owned())
            .or_default()
            .entry(bucket(id))
            .or_insert(0);
        *b ^= item(id, version);
    }

    pub fn to_wire(&self) -> WireDigests {
        self.0
            .iter()
            .map(|(e, buckets)| {
                let b = buckets
                    .iter()
                    .filter(|(_, d)| **d != 0)
                    .map(|(b, d)| (*b, format!("{d:032x}")))
                    .collect();
                (e.clone(), b)
            })
            .collect()
    }

    /// Parses digests sent by the other side; `None` when one is not 32 hex digits or a
    /// bucket is out of range.
    pub fn from_wire(w: &WireDigests) -> Option<Digests> {
        let mut out = BTreeMap::new();
        for (e, buckets) in w {
            let mut m = BTreeMap::new();
            for (b, d) in buckets {
                if *b >= BUCKETS || d.len() != 32 {
                    return None;
                }
                m.insert(*b, u128::from_str_radix(d, 16).ok()?);
            }
            out.insert(e.clone(), m);
        }
        Some(Digests(out))
    }

    /// The buckets, per entity, whose digests differ between the two.
    pub fn differing(&self, other: &Digests) -> BTreeMap<String, Vec<u16>> {
        let empty = BTreeMap::new();
        let mut out = BTreeMap::new();
        let entities = self.0.keys().chain(other.0.keys());
        for e in entities {
            if out.contains_key(e) {
                continue;
            }
            let (a, b) = (
                self.0.get(e).unwrap_or(&empty),
                other.0.get(e).unwrap_or(&empty),
            );
            let mut diff: Vec<u16> = a
                .keys()
                .chain(b.keys())
                .copied()
                .filter(|k| a.get(k).copied().unwrap_or(0) != b.get(k).copied().unwrap_or(0))
                .collect();
            diff.sort_unstable();
            diff.dedup();
            if !diff.is_empty() {
                out.insert(e.clone(), diff);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d21";
    const B: &str = "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e21";
    const C: &str = "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d40";

    #[test]
    fn rows_fall_into_buckets_by_their_last_hex_digits() {
        assert_eq!(bucket(A), 0x21);
        assert_eq!(bucket(C), 0x40);
        assert_eq!(bucket_pattern(0x21), "%21");
        assert_eq!(bucket(""), 0);
    }

    #[test]
    fn equal_holdings_agree_in_any_order_and_differences_name_their_buckets() {
        let mut device = Digests::default();
        let mut server = Digests::default();
        for (id, v) in [(A, 1), (B, 2), (C, 1)] {
            device.add("visit", id, v);
        }
        for (id, v) in [(C, 1), (B, 2), (A, 1)] {
            server.add("visit", id, v);
        }
        assert!(device.differing(&server).is_empty());
        assert_eq!(Digests::from_wire(&device.to_wire()), Some(device.clone()));

        // A stale version, a missing row, a row of an entity the other side lacks.
        let mut stale = Digests::default();
        for (id, v) in [(A, 1), (B, 1)] {
            stale.add("visit", id, v);
        }
        stale.add("household", C, 3);
        let diff = stale.differing(&server);
        assert_eq!(diff.get("visit"), Some(&vec![0x21, 0x40]));
        assert_eq!(diff.get("household"), Some(&vec![0x40]));
    }

    #[test]
    fn malformed_digests_are_refused() {
        let mut w = WireDigests::new();
        w.entry("visit".into()).or_default().insert(3, "zz".into());
        assert_eq!(Digests::from_wire(&w), None);
        let mut w = WireDigests::new();
        w.entry("visit".into())
            .or_default()
            .insert(300, "0".repeat(32));
        assert_eq!(Digests::from_wire(&w), None);
    }
}
