//! Ledgers (台账, R-SUP-2): the spreadsheets that are handed upward. Each ledger is declared
//! once: its name, its Chinese sheet title, its columns (Chinese header, kind, width) and the
//! query that reads its rows in keyset-paged chunks. Both formats, XLSX and CSV, are written
//! from the declaration as a stream, so memory stays flat however many rows there are.
//! Adding a ledger is adding a declaration and its row query, in a file of its own, and
//! naming it in [`LEDGERS`].
//!
//! - [`cell`]: the values a row holds and how each is shown (China time, yuan from fen);
//! - [`xlsx`], [`csv`]: the two writers, over any `io::Write`;
//! - [`export`]: the chunked read loop on a blocking thread, into a bounded channel;
//! - [`lookup`]: the reads a chunk needs to name households, people and places (one query
//!   each per chunk, never one per row); every one scoped to the caller.

pub mod cell;
pub mod csv;
pub mod export;
pub mod http;
pub mod lookup;
pub mod pages;
pub mod service;
pub mod xlsx;

mod dropout;
mod households;
mod payments;
mod teaching;
mod visits;

pub use cell::{Cell, Period};

use crate::domain::access::Scope;
use crate::domain::validate::mask_phone;
use crate::infra::db::DbConn;
use crate::infra::error::Result;
use crate::infra::sealing::DataKey;

/// How a column's values are shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    /// A code shown by its Chinese label (an unknown code is shown as it is).
    Label(&'static [(&'static str, &'static str)]),
    /// A whole number.
    Int,
    /// A number with a fraction (class hours).
    Number,
    /// Stored in fen, shown in yuan with two decimals.
    Money,
    /// A calendar date.
    Date,
    /// An instant, shown as a date and time in China (UTC+8).
    Instant,
    /// 是 or 否.
    YesNo,
}

impl Kind {
    /// The kind's name in the API's list of ledgers.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Label(_) => "label",
            Kind::Int => "integer",
            Kind::Number => "number",
            Kind::Money => "money",
            Kind::Date => "date",
            Kind::Instant => "instant",
            Kind::YesNo => "yes_no",
        }
    }

    /// Whether a cell fits this column (an empty cell fits every column).
    pub fn accepts(self, cell: &Cell) -> bool {
        matches!(
            (self, cell),
            (_, Cell::Empty)
                | (Kind::Text | Kind::Label(_), Cell::Text(_))
                | (Kind::Int, Cell::Int(_))
                | (Kind::Number, Cell::Number(_))
                | (Kind::Money, Cell::Fen(_))
                | (Kind::Date, Cell::Date(_))
                | (Kind::Instant, Cell::Instant(_))
                | (Kind::YesNo, Cell::Bool(_))
        )
    }

    /// The text shown for a code of a label column.
    pub fn label(self, code: &str) -> &str {
        match self {
            Kind::Label(labels) => labels
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(code, |(_, l)| l),
            _ => code,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Stable snake_case name (the API's, and the English one).
    pub key: &'static str,
    /// The header cell.
    pub header: &'static str,
    pub kind: Kind,
    /// Width in character units (a Chinese character takes two).
    pub width: u8,
    /// Personal data: masked unless an entitled caller asks for it in full.
    pub personal: bool,
}

/// A column; `personal` columns are declared with [`personal`].
pub const fn col(key: &'static str, header: &'static str, kind: Kind, width: u8) -> Column {
    Column {
        key,
        header,
        kind,
        width,
        personal: false,
    }
}

pub const fn personal(key: &'static str, header: &'static str, width: u8) -> Column {
    Column {
        key,
        header,
        kind: Kind::Text,
        width,
        personal: true,
    }
}

/// One chunk of rows and where the next one starts (`None`: that was the last).
#[derive(Debug, Default)]
pub struct Chunk {
    pub rows: Vec<Vec<Cell>>,
    pub next: Option<String>,
}

/// Reads the chunk after keyset position `after` (`None`: from the start), reading at most
/// `limit` source records; a chunk may hold fewer rows (some outside the period) or more
/// (one household, several case files).
pub type ReadFn = fn(&mut DbConn, &Selection, Option<&str>, i64) -> Result<Chunk>;

/// A ledger, declared.
#[derive(Debug, Clone, Copy)]
pub struct Ledger {
    /// Stable snake_case name, used in the path.
    pub name: &'static str,
    /// The sheet name and the start of the file name (at most 31 characters).
    pub title: &'static str,
    pub title_en: &'static str,
    /// The key of the column whose date `from` and `to` select.
    pub period: &'static str,
    pub columns: &'static [Column],
    pub read: ReadFn,
}

/// Every ledger, in the order a workbook holds them.
pub const LEDGERS: &[&Ledger] = &[
    &crate::ledgers::households::LEDGER,
    &crate::ledgers::payments::LEDGER,
    &crate::ledgers::visits::LEDGER,
    &crate::ledgers::dropout::LEDGER,
    &crate::ledgers::teaching::LEDGER,
];

pub fn find(name: &str) -> Option<&'static Ledger> {
    LEDGERS.iter().copied().find(|l| l.name == name)
}

/// What an export reads: the scope (already narrowed to the region asked for), the period,
/// and whether personal data is shown in full.
#[derive(Debug, Clone)]
pub struct Selection {
    pub scope: Scope,
    pub period: Period,
    /// The key that opens sealed ID numbers, present only for an unmasked export (checked
    /// and audited before the export starts).
    pub reveal: Option<DataKey>,
}

impl Selection {
    /// A phone number as this export shows it.
    pub fn phone(&self, phone: Option<&str>) -> Cell {
        match phone.filter(|p| !p.is_empty()) {
            None => Cell::Empty,
            Some(p) if self.reveal.is_some() => Cell::text(p),
            Some(p) => Cell::Text(mask_phone(p)),
        }
    }

    /// A resident ID number as this export shows it: the masked form kept beside the sealed
    /// one, or the opened seal.
    pub fn id_number(&self, masked: &str, sealed: &str) -> Result<Cell> {
        Ok(match &self.reveal {
            Some(key) => Cell::Text(key.open(sealed)?),
            None => Cell::text(masked),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_titles_are_unique_and_fit_a_sheet() {
        let mut names: Vec<_> = LEDGERS.iter().map(|l| l.name).collect();
        let mut titles: Vec<_> = LEDGERS.iter().map(|l| l.title).collect();
        names.sort_unstable();
        names.dedup();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(names.len(), LEDGERS.len());
        assert_eq!(titles.len(), LEDGERS.len());
        for l in LEDGERS {
            assert!(l.title.chars().count() <= 31, "{}", l.title);
            assert!(
                !l.title.chars().any(|c| "[]:*?/\\".contains(c)),
                "{}",
                l.title
            );
            assert!(find(l.name).is_some());
        }
        assert!(find("workbook").is_none(), "reserved for the workbook");
    }

    #[test]
    fn every_period_names_a_date_or_instant_column() {
        for l in LEDGERS {
            let c = l.columns.iter().find(|c| c.key == l.period);
            assert!(
                c.is_some_and(|c| matches!(c.kind, Kind::Date | Kind::Instant)),
                "{}: {}",
                l.name,
                l.period
            );
            let mut keys: Vec<_> = l.columns.iter().map(|c| c.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), l.columns.len(), "{}: duplicate keys", l.name);
        }
    }

    #[test]
    fn labels_show_known_codes_and_keep_unknown_ones() {
        let k = Kind::Label(&[("open", "未销号")]);
        assert_eq!(k.label("open"), "未销号");
        assert_eq!(k.label("reopened"), "reopened");
        assert_eq!(Kind::Text.label("open"), "open");
    }

    #[test]
    fn cells_fit_their_kinds() {
        assert!(Kind::Money.accepts(&Cell::Fen(1)));
        assert!(!Kind::Money.accepts(&Cell::Int(1)));
        assert!(Kind::Date.accepts(&Cell::Empty));
        assert!(!Kind::YesNo.accepts(&Cell::text("是")));
    }

    #[test]
    fn masking_follows_the_selection() {
        let masked = Selection {
            scope: Scope::new(vec![]),
            period: Period::default(),
            reveal: None,
        };
        assert_eq!(masked.phone(Some("13812345678")), Cell::text("138****5678"));
        assert_eq!(masked.phone(None), Cell::Empty);
        let key = DataKey::from_secret(b"a test key of thirty-two characters!");
        let sealed = key.seal("11010519491231002X").unwrap_or_default();
        assert_eq!(
            masked.id_number("110105********002X", &sealed).ok(),
            Some(Cell::text("110105********002X"))
        );
        let full = Selection {
            reveal: Some(key),
            ..masked
        };
        assert_eq!(full.phone(Some("13812345678")), Cell::text("13812345678"));
        assert_eq!(
            full.id_number("110105********002X", &sealed).ok(),
            Some(Cell::text("11010519491231002X"))
        );
    }
}
