//! The values a ledger row holds, and the conversions both writers share: instants in China
//! time (UTC+8, no daylight saving), fen as yuan, spreadsheet serial numbers, and text
//! cleaned of control characters (XML cannot carry most of them; CSV readers trip on them).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    /// Money in fen.
    Fen(i64),
    Date(NaiveDate),
    /// An instant in UTC.
    Instant(NaiveDateTime),
    Bool(bool),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// Text, or empty when there is none.
    pub fn opt(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    /// A `YYYY-MM-DD` date as stored; anything else is shown as the text it is.
    pub fn date(s: Option<&str>) -> Cell {
        match s {
            None | Some("") => Cell::Empty,
            Some(s) => {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or_else(|_| Cell::text(s), Cell::Date)
            }
        }
    }
}

use crate::infra::clock::CHINA_OFFSET as CHINA;
pub use crate::infra::clock::china_time as china;

/// An RFC 3339 instant (as synced records carry them), in UTC.
pub fn parse_instant(s: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.naive_utc())
}

/// Fen as yuan with two decimals, from integers (no float rounding): `-5` → `-0.05`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The spreadsheet epoch: serial 1 is 1900-01-01 in the (1900-leap-year-bug) date system,
/// so for every date from 1900-03-01 on, the serial is the days since 1899-12-30.
fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// A date as a spreadsheet serial number.
pub fn serial_date(d: NaiveDate) -> i64 {
    (d - epoch().date()).num_days()
}

/// A wall-clock time as a spreadsheet serial number (days and the fraction of the day).
pub fn serial_time(t: NaiveDateTime) -> f64 {
    let d = t - epoch();
    d.num_seconds() as f64 / 86_400.0
}

/// The text with control characters removed; line breaks and tabs are kept.
pub fn clean(s: &str) -> Cow<'_, str> {
    let bad =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || c == '\u{FFFE}' || c == '\u{FFFF}';
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// The instants an export covers: from the start of the `from` day to the end of the `to`
/// day, both China-local and inclusive, as a half-open range in UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

impl Period {
    pub fn of_days(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Period {
        let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t - CHINA);
        Period {
            from: from.and_then(start),
            until: to.and_then(|d| d.succ_opt()).and_then(start),
        }
    }

    pub fn contains(&self, utc: NaiveDateTime) -> bool {
        self.from.is_none_or(|f| utc >= f) && self.until.is_none_or(|u| utc < u)
    }

    /// Whether a stored instant lies in the period; an unreadable one only when nothing
    /// is selected (it is then shown as it is, never dropped silently from a full ledger).
    pub fn contains_text(&self, s: Option<&str>) -> bool {
        match s.and_then(parse_instant) {
            Some(t) => self.contains(t),
            None => self.from.is_none() && self.until.is_none(),
        }
    }

    /// Whether a stored `YYYY-MM-DD` date (a China-local day) lies in the period.
    pub fn contains_day(&self, d: NaiveDate) -> bool {
        d.and_hms_opt(12, 0, 0)
            .is_some_and(|noon| self.contains(noon - CHINA))
    }
}

/// An instant in a synced record, as a cell.
pub fn instant(s: Option<&str>) -> Cell {
    match s {
        None | Some("") => Cell::Empty,
        Some(s) => parse_instant(s).map_or_else(|| Cell::text(s), Cell::Instant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn at(s: &str) -> NaiveDateTime {
        parse_instant(s).unwrap_or_default()
    }

    #[test]
    fn yuan_from_fen_is_exact() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(72_000), "720.00");
        assert_eq!(yuan(123_456_789), "1234567.89");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn serials_match_spreadsheet_programs() {
        // Known values: 1900-03-01 is 61, 2026-12-01 is 46357.
        assert_eq!(serial_date(day(1900, 3, 1)), 61);
        assert_eq!(serial_date(day(2026, 12, 1)), 46357);
        let noon = day(2026, 12, 1).and_hms_opt(12, 0, 0).unwrap_or_default();
        assert!((serial_time(noon) - 46357.5).abs() < 1e-9);
    }

    #[test]
    fn instants_are_shown_in_china_time() {
        // 17:30 UTC is half past one the next morning in Beijing.
        assert_eq!(
            china(at("2026-11-30T17:30:00Z")),
            day(2026, 12, 1).and_hms_opt(1, 30, 0).unwrap_or_default()
        );
        assert_eq!(at("2026-12-01T09:30:00+08:00"), at("2026-12-01T01:30:00Z"));
        assert_eq!(instant(Some("not a time")), Cell::text("not a time"));
        assert_eq!(instant(None), Cell::Empty);
    }

    #[test]
    fn periods_are_china_days_inclusive() {
        let p = Period::of_days(Some(day(2026, 12, 1)), Some(day(2026, 12, 31)));
        // Midnight in Beijing on the 1st is 16:00 UTC on the 30th.
        assert!(!p.contains(at("2026-11-30T15:59:59Z")));
        assert!(p.contains(at("2026-11-30T16:00:00Z")));
        assert!(p.contains(at("2026-12-31T15:59:59Z")));
        assert!(!p.contains(at("2026-12-31T16:00:00Z")));
        assert!(p.contains_day(day(2026, 12, 1)));
        assert!(p.contains_day(day(2026, 12, 31)));
        assert!(!p.contains_day(day(2027, 1, 1)));
        assert!(!p.contains_text(Some("garbage")));
        assert!(Period::default().contains_text(Some("garbage")));
        let open = Period::of_days(None, Some(day(2026, 1, 1)));
        assert!(open.contains(at("1990-01-01T00:00:00Z")));
    }

    #[test]
    fn control_characters_are_removed_but_lines_kept() {
        assert_eq!(clean("青山\u{0}村\u{1b}[31m"), "青山村[31m");
        assert_eq!(clean("一\n二\t三"), "一\n二\t三");
        assert_eq!(clean("a\r\nb\u{85}c"), "a\nbc");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn stored_dates_become_date_cells() {
        assert_eq!(Cell::date(Some("2026-12-01")), Cell::Date(day(2026, 12, 1)));
        assert_eq!(Cell::date(Some("")), Cell::Empty);
        assert_eq!(Cell::date(Some("2026-13")), Cell::text("2026-13"));
    }
}
