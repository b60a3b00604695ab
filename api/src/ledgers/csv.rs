//! CSV (RFC 4180): UTF-8 with a byte-order mark, so spreadsheet programs open Chinese
//! right; CRLF line ends; fields quoted when they hold a comma, quote or line break. The
//! columns and formatting are the ledger's: dates `YYYY-MM-DD`, instants in China time,
//! money in yuan with two decimals. Text that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@` or their full-width forms, after any leading spaces or line
//! breaks, or with a tab or a carriage return) gets a leading `'`.

use std::io;
use std::io::Write;

use crate::ledgers::cell::{Cell, clean};
use crate::ledgers::{Column, Kind, cell};

const BOM: &[u8] = "\u{FEFF}".as_bytes();

pub struct CsvWriter<W: Write> {
    out: W,
    line: Vec<u8>,
}

/// Whether a spreadsheet program would take the text for a formula. Spreadsheet programs
/// skip leading spaces (a no-break or ideographic space too) and line breaks before the
/// sign, and take the full-width signs a Chinese keyboard types for the ASCII ones.
pub fn looks_like_formula(s: &str) -> bool {
    s.starts_with(['\t', '\r'])
        || s.trim_start_matches(char::is_whitespace)
            .starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠'])
}

fn push_field(line: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        line.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(s.as_bytes());
    }
}

/// A text cell's field: cleaned and guarded against formula injection.
fn push_text(line: &mut Vec<u8>, s: &str) {
    let s = clean(s);
    if looks_like_formula(&s) {
        push_field(line, &format!("'{s}"));
    } else {
        push_field(line, &s);
    }
}

impl<W: Write> CsvWriter<W> {
    /// Writes the byte-order mark and the header line.
    pub fn new(mut out: W, columns: &[Column]) -> io::Result<CsvWriter<W>> {
        out.write_all(BOM)?;
        let mut w = CsvWriter {
            out,
            line: Vec::with_capacity(1024),
        };
        let header: Vec<Cell> = columns.iter().map(|c| Cell::text(c.header)).collect();
        w.row(&[], &header)?;
        Ok(w)
    }

    pub fn row(&mut self, columns: &[Column], cells: &[Cell]) -> io::Result<()> {
        self.line.clear();
        // Every line has every column, empty or not.
        let n = columns.len().max(cells.len());
        for i in 0..n {
            if i > 0 {
                self.line.push(b',');
            }
            let kind = columns.get(i).map_or(Kind::Text, |c| c.kind);
            let l = &mut self.line;
            match cells.get(i).unwrap_or(&Cell::Empty) {
                Cell::Empty => {}
                Cell::Text(s) => push_text(l, kind.label(s)),
                Cell::Bool(v) => l.extend_from_slice(if *v { "是" } else { "否" }.as_bytes()),
                Cell::Int(n) => write!(l, "{n}")?,
                Cell::Number(x) if x.is_finite() => write!(l, "{x}")?,
                Cell::Number(_) => {}
                Cell::Fen(f) => l.extend_from_slice(cell::yuan(*f).as_bytes()),
                Cell::Date(d) => write!(l, "{}", d.format("%Y-%m-%d"))?,
                Cell::Instant(t) => write!(l, "{}", cell::china(*t).format("%Y-%m-%d %H:%M"))?,
            }
        }
        self.line.extend_from_slice(b"\r\n");
        self.out.write_all(&self.line)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::col;
    use super::*;

    const COLUMNS: &[Column] = &[
        col("name", "姓名", Kind::Text, 10),
        col("state", "状态", Kind::Label(&[("closed", "已销号")]), 8),
        col("amount", "金额（元）", Kind::Money, 12),
        col("on", "日期", Kind::Date, 12),
        col("at", "时间", Kind::Instant, 16),
        col("hours", "课时", Kind::Number, 6),
        col("signed", "签字", Kind::YesNo, 6),
    ];

    fn csv(rows: &[Vec<Cell>]) -> String {
        let mut w = CsvWriter::new(Vec::new(), COLUMNS).expect("start");
        for r in rows {
            w.row(COLUMNS, r).expect("row");
        }
        String::from_utf8(w.finish().expect("finish")).expect("utf-8")
    }

    #[test]
    fn bom_header_and_crlf() {
        let out = csv(&[]);
        assert_eq!(out, "\u{FEFF}姓名,状态,金额（元）,日期,时间,课时,签字\r\n");
    }

    #[test]
    fn values_are_formatted_like_the_spreadsheet() {
        let out = csv(&[vec![
            Cell::text("张秀英"),
            Cell::text("closed"),
            Cell::Fen(-150),
            Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap_or_default()),
            Cell::Instant(cell::parse_instant("2026-11-30T17:30:00Z").unwrap_or_default()),
            Cell::Number(2.5),
            Cell::Bool(false),
        ]]);
        let line = out.lines().nth(1).unwrap_or_default();
        assert_eq!(
            line,
            "张秀英,已销号,-1.50,2026-03-09,2026-12-01 01:30,2.5,否"
        );
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        let out = csv(&[vec![Cell::text("三组, 12 号 \"东\"\n二楼")]]);
        assert!(
            out.ends_with("\"三组, 12 号 \"\"东\"\"\n二楼\",,,,,,\r\n"),
            "{out}"
        );
    }

    #[test]
    fn formulas_are_defused_and_numbers_are_not() {
        let out = csv(&[
            vec![Cell::text("=HYPERLINK(\"http://x\",\"点我\")")],
            vec![Cell::text("+1"), Cell::Empty, Cell::Fen(-5)],
            vec![Cell::text("-2")],
            vec![Cell::text("@SUM(A1)")],
            vec![Cell::text("\tx")],
            vec![Cell::text("a=b")],
        ]);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\",,,,,,"
        );
        assert_eq!(lines[2], "'+1,,-0.05,,,,");
        assert_eq!(lines[3], "'-2,,,,,,");
        assert_eq!(lines[4], "'@SUM(A1),,,,,,");
        assert_eq!(lines[5], "'\tx,,,,,,");
        assert_eq!(lines[6], "a=b,,,,,,");
    }

    #[test]
    fn formulas_behind_spaces_or_in_full_width_are_defused_too() {
        for s in [
            " =1+1",
            "\u{a0}=1+1",
            "\u{3000}=1+1",
            "\n=1+1",
            "＝HYPERLINK(\"http://x\")",
            "＋1",
            "  @SUM(A1)",
        ] {
            assert!(looks_like_formula(s), "{s:?}");
        }
        for s in ["a=b", "三组", "12 号", ""] {
            assert!(!looks_like_formula(s), "{s:?}");
        }
    }

    #[test]
    fn control_characters_are_removed() {
        let out = csv(&[vec![Cell::text("青山\u{0}村\u{1b}")]]);
        assert!(out.contains("\r\n青山村,"), "{out}");
    }
}
