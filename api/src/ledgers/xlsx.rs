//! A streaming XLSX writer: the minimal OOXML parts (content types, relationships,
//! workbook, styles, one worksheet per ledger) in a zip written front to back, with data
//! descriptors, so nothing is held back but the row being written. Strings are inline
//! (`t="inlineStr"`), not in a shared-strings table, which would have to be complete before
//! the first sheet. The header row is bold and frozen; dates, instants (China time), money
//! (yuan, `#,##0.00`) and numbers are real number cells with their formats.

use std::io;
use std::io::Write;

use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use crate::ledgers::cell::{Cell, clean};
use crate::ledgers::{Column, Kind, cell};

/// Indexes into `cellXfs` of [`STYLES`].
mod style {
    pub const HEADER: u8 = 1;
    pub const DATE: u8 = 2;
    pub const DATE_TIME: u8 = 3;
    pub const MONEY: u8 = 4;
    pub const DECIMAL: u8 = 5;
}

const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>"#,
    r#"<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="166" formatCode="0.0"/></numFmts>"#,
    r#"<fonts count="2"><font><sz val="11"/><name val="宋体"/><family val="2"/><charset val="134"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="宋体"/><family val="2"/><charset val="134"/></font></fonts>"#,
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>"#,
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    r#"</styleSheet>"#,
);

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// Rows are gathered up to this size before they go to the compressor.
const FLUSH_AT: usize = 64 * 1024;

/// A workbook being written to `W`, sheet after sheet.
pub struct XlsxWriter<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    sheets: usize,
    started: usize,
    /// Rows written in the current sheet, the header included.
    row: u32,
    buf: Vec<u8>,
}

fn zip_err(e: zip::result::ZipError) -> io::Error {
    io::Error::other(e)
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

/// XML text with `&`, `<`, `>` and `"` escaped and control characters removed.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    for c in clean(s).chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn escaped(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len());
    escape_into(&mut v, s);
    String::from_utf8(v).unwrap_or_default()
}

/// The column's letters: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl<W: Write> XlsxWriter<W> {
    /// Writes the parts that name the sheets; the sheets follow with [`Self::begin_sheet`].
    pub fn new(out: W, sheet_names: &[&str]) -> io::Result<XlsxWriter<W>> {
        let mut zip = ZipWriter::new_stream(out);
        let n = sheet_names.len();
        let mut types = format!(
            "{XML_HEAD}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
        );
        for i in 1..=n {
            types.push_str(&format!(
                "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" \
                 ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            ));
        }
        types.push_str("</Types>");
        let root_rels = format!(
            "{XML_HEAD}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"{REL_NS}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
        );
        let mut workbook = format!(
            "{XML_HEAD}<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><bookViews><workbookView/></bookViews><sheets>"
        );
        let mut rels = format!(
            "{XML_HEAD}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        );
        for (i, name) in sheet_names.iter().enumerate() {
            let id = i + 1;
            workbook.push_str(&format!(
                "<sheet name=\"{}\" sheetId=\"{id}\" r:id=\"rId{id}\"/>",
                escaped(name)
            ));
            rels.push_str(&format!(
                "<Relationship Id=\"rId{id}\" Type=\"{REL_NS}/worksheet\" Target=\"worksheets/sheet{id}.xml\"/>"
            ));
        }
        workbook.push_str("</sheets></workbook>");
        rels.push_str(&format!(
            "<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/></Relationships>",
            n + 1
        ));
        for (name, body) in [
            ("[Content_Types].xml", types.as_str()),
            ("_rels/.rels", root_rels.as_str()),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", rels.as_str()),
            ("xl/styles.xml", STYLES),
        ] {
            zip.start_file(name, options()).map_err(zip_err)?;
            zip.write_all(body.as_bytes())?;
        }
        Ok(XlsxWriter {
            zip,
            sheets: n,
            started: 0,
            row: 0,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
        })
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        self.zip.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn end_sheet(&mut self) -> io::Result<()> {
        if self.started > 0 {
            self.buf.extend_from_slice(b"</sheetData></worksheet>");
            self.flush_rows()?;
        }
        Ok(())
    }

    /// Ends the sheet being written (if any) and starts the next, with its column widths
    /// and the bold, frozen header row.
    pub fn begin_sheet(&mut self, columns: &[Column]) -> io::Result<()> {
        if self.started == self.sheets {
            return Err(io::Error::other("more sheets than the workbook names"));
        }
        self.end_sheet()?;
        self.started += 1;
        self.row = 0;
        self.zip
            .start_file(
                format!("xl/worksheets/sheet{}.xml", self.started),
                options(),
            )
            .map_err(zip_err)?;
        let mut head = format!(
            "{XML_HEAD}<worksheet xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><sheetViews>\
             <sheetView workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             <selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/></sheetView></sheetViews>\
             <sheetFormatPr defaultRowHeight=\"15\"/><cols>"
        );
        for (i, c) in columns.iter().enumerate() {
            head.push_str(&format!(
                "<col min=\"{n}\" max=\"{n}\" width=\"{}\" customWidth=\"1\"/>",
                c.width,
                n = i + 1
            ));
        }
        head.push_str("</cols><sheetData>");
        self.buf.extend_from_slice(head.as_bytes());
        let header: Vec<Cell> = columns.iter().map(|c| Cell::text(c.header)).collect();
        self.write_row(columns, &header, true)
    }

    /// Appends a row to the current sheet.
    pub fn row(&mut self, columns: &[Column], cells: &[Cell]) -> io::Result<()> {
        if self.started == 0 {
            return Err(io::Error::other("a row before the first sheet"));
        }
        self.write_row(columns, cells, false)
    }

    fn write_row(&mut self, columns: &[Column], cells: &[Cell], header: bool) -> io::Result<()> {
        self.row += 1;
        let r = self.row;
        let b = &mut self.buf;
        write!(b, "<row r=\"{r}\">")?;
        for (i, value) in cells.iter().enumerate() {
            let kind = columns.get(i).map_or(Kind::Text, |c| c.kind);
            let at = column_name(i);
            let number = |b: &mut Vec<u8>, style: Option<u8>, v: &dyn std::fmt::Display| match style
            {
                Some(s) => write!(b, "<c r=\"{at}{r}\" s=\"{s}\"><v>{v}</v></c>"),
                None => write!(b, "<c r=\"{at}{r}\"><v>{v}</v></c>"),
            };
            match value {
                Cell::Empty => {}
                Cell::Text(s) => {
                    let s = if header { s.as_str() } else { kind.label(s) };
                    let style = if header {
                        format!(" s=\"{}\"", style::HEADER)
                    } else {
                        String::new()
                    };
                    // Leading or trailing spaces and line breaks survive only when preserved.
                    let keep = s.starts_with(char::is_whitespace)
                        || s.ends_with(char::is_whitespace)
                        || s.contains('\n');
                    let space = if keep { " xml:space=\"preserve\"" } else { "" };
                    write!(b, "<c r=\"{at}{r}\"{style} t=\"inlineStr\"><is><t{space}>")?;
                    escape_into(b, s);
                    b.extend_from_slice(b"</t></is></c>");
                }
                Cell::Bool(v) => {
                    let s = if *v { "是" } else { "否" };
                    write!(
                        b,
                        "<c r=\"{at}{r}\" t=\"inlineStr\"><is><t>{s}</t></is></c>"
                    )?;
                }
                Cell::Int(n) => number(b, None, n)?,
                Cell::Number(x) if x.is_finite() => number(b, Some(style::DECIMAL), x)?,
                Cell::Number(_) => {}
                Cell::Fen(f) => number(b, Some(style::MONEY), &cell::yuan(*f))?,
                Cell::Date(d) => number(b, Some(style::DATE), &cell::serial_date(*d))?,
                Cell::Instant(t) => number(
                    b,
                    Some(style::DATE_TIME),
                    &cell::serial_time(cell::china(*t)),
                )?,
            }
        }
        b.extend_from_slice(b"</row>");
        if self.buf.len() >= FLUSH_AT {
            self.flush_rows()?;
        }
        Ok(())
    }

    /// Ends the last sheet and the zip; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if self.started != self.sheets {
            return Err(io::Error::other("fewer sheets than the workbook names"));
        }
        self.end_sheet()?;
        let out = self.zip.finish().map_err(zip_err)?;
        Ok(out.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::super::col;
    use super::*;
    use std::io::Read;

    const COLUMNS: &[Column] = &[
        col("name", "户主姓名", Kind::Text, 10),
        col("status", "状态", Kind::Label(&[("open", "未销号")]), 8),
        col("amount", "金额（元）", Kind::Money, 12),
        col("on", "日期", Kind::Date, 12),
        col("at", "时间", Kind::Instant, 16),
        col("n", "人口", Kind::Int, 6),
        col("hours", "课时", Kind::Number, 6),
        col("signed", "签字", Kind::YesNo, 6),
    ];

    fn parts(bytes: &[u8]) -> Vec<(String, String)> {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).expect("entry");
                let mut s = String::new();
                f.read_to_string(&mut s).expect("utf-8");
                (f.name().map(|n| n.to_string()).unwrap_or_default(), s)
            })
            .collect()
    }

    fn sample() -> Vec<u8> {
        let mut w = XlsxWriter::new(Vec::new(), &["走访台账", "A&B"]).expect("start");
        w.begin_sheet(COLUMNS).expect("sheet");
        w.row(
            COLUMNS,
            &[
                Cell::text("张<秀>英 & \"子\"\u{7}"),
                Cell::text("open"),
                Cell::Fen(123_456),
                Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()),
                Cell::Instant(cell::parse_instant("2026-11-30T17:30:00Z").unwrap_or_default()),
                Cell::Int(4),
                Cell::Number(2.5),
                Cell::Bool(true),
            ],
        )
        .expect("row");
        w.row(COLUMNS, &[Cell::text(" =1+1\n"), Cell::Empty])
            .expect("row");
        w.begin_sheet(&COLUMNS[..1]).expect("second sheet");
        w.finish().expect("finish")
    }

    #[test]
    fn workbook_names_its_sheets_and_styles() {
        let p = parts(&sample());
        let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/worksheets/sheet1.xml",
                "xl/worksheets/sheet2.xml"
            ]
        );
        assert!(p[0].1.contains("/xl/worksheets/sheet2.xml"));
        assert!(
            p[2].1
                .contains(r#"<sheet name="走访台账" sheetId="1" r:id="rId1"/>"#)
        );
        assert!(
            p[2].1
                .contains(r#"<sheet name="A&amp;B" sheetId="2" r:id="rId2"/>"#)
        );
        assert!(p[3].1.contains(r#"Id="rId3""#) && p[3].1.contains("styles.xml"));
        assert!(p[4].1.contains(r#"formatCode="yyyy-mm-dd""#));
    }

    #[test]
    fn cells_are_typed_formatted_and_escaped() {
        let p = parts(&sample());
        let sheet = &p[5].1;
        // Frozen, bold header with widths.
        assert!(sheet.contains(r#"state="frozen""#));
        assert!(sheet.contains(r#"<col min="3" max="3" width="12" customWidth="1"/>"#));
        assert!(sheet.contains(r#"<c r="A1" s="1" t="inlineStr"><is><t>户主姓名</t></is></c>"#));
        // Escaped text, control character gone, label shown.
        assert!(sheet.contains("<t>张&lt;秀&gt;英 &amp; &quot;子&quot;</t>"));
        assert!(sheet.contains(r#"<c r="B2" t="inlineStr"><is><t>未销号</t></is></c>"#));
        // Money in yuan, date and China-time serials, numbers.
        assert!(sheet.contains(r#"<c r="C2" s="4"><v>1234.56</v></c>"#));
        assert!(sheet.contains(r#"<c r="D2" s="2"><v>46357</v></c>"#));
        // 2026-12-01 01:30 in Beijing: 46357 + 1.5/24.
        assert!(sheet.contains(r#"<c r="E2" s="3"><v>46357.0625</v></c>"#));
        assert!(sheet.contains(r#"<c r="F2"><v>4</v></c>"#));
        assert!(sheet.contains(r#"<c r="G2" s="5"><v>2.5</v></c>"#));
        assert!(sheet.contains("<t>是</t>"));
        // Text that looks like a formula is a string; spaces and line breaks are kept.
        assert!(sheet.contains(r#"<t xml:space="preserve"> =1+1"#));
        assert!(!sheet.contains("<f>"));
        // An empty cell is left out.
        assert!(!sheet.contains(r#"r="B3""#));
        assert!(sheet.ends_with("</sheetData></worksheet>"));
    }

    #[test]
    fn column_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn sheets_must_match_the_names_given() {
        let mut w = XlsxWriter::new(Vec::new(), &["一"]).expect("start");
        assert!(w.row(COLUMNS, &[]).is_err());
        w.begin_sheet(COLUMNS).expect("sheet");
        assert!(w.begin_sheet(COLUMNS).is_err());
        let w = XlsxWriter::new(Vec::new(), &["一", "二"]).expect("start");
        assert!(w.finish().is_err());
    }

    /// Output leaves as rows are written: a writer that records what reached it sees the
    /// file grow while rows are still being added, not all at the end.
    #[test]
    fn output_grows_while_rows_are_written() {
        #[derive(Default)]
        struct Counting(std::rc::Rc<std::cell::Cell<usize>>);
        impl Write for Counting {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.set(self.0.get() + b.len());
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let seen = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut w = XlsxWriter::new(Counting(seen.clone()), &["一"]).expect("start");
        w.begin_sheet(COLUMNS).expect("sheet");
        let mut marks = Vec::new();
        let mut n: u64 = 1;
        for i in 0..200_000 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            w.row(COLUMNS, &[Cell::Text(format!("{n:x}")), Cell::Int(i)])
                .expect("row");
            if i % 50_000 == 49_999 {
                marks.push(seen.get());
            }
        }
        w.finish().expect("finish");
        assert!(
            marks.windows(2).all(|m| m[1] > m[0]) && marks[0] > 0,
            "{marks:?}"
        );
    }
}
