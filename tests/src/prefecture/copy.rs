//! Rows streamed into PostgreSQL with `COPY … FROM STDIN`, through `psql`: the fastest way
//! in, and no row is held in memory once it is written.

use std::io::{BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use chrono::{NaiveDate, NaiveDateTime};

/// One field of a row.
pub enum F<'a> {
    T(&'a str),
    N,
    I(i64),
    B(bool),
    Ts(NaiveDateTime),
    D(NaiveDate),
    F(f64),
}

/// One `COPY` in progress.
pub struct Copy {
    table: String,
    child: Child,
    out: BufWriter<ChildStdin>,
    rows: usize,
}

impl Copy {
    /// Starts copying into `table`'s `columns` ("a, b, c"). Triggers and foreign-key checks
    /// are off for the copy (`session_replication_role = replica`): the generator writes
    /// what they would have written itself, and `bangfu rollups` counts the rollups after.
    pub fn start(url: &str, table: &str, columns: &str) -> Copy {
        let mut child = Command::new("psql")
            .args(["-qX", "-v", "ON_ERROR_STOP=1", url])
            .args(["-c", "SET session_replication_role = replica", "-c"])
            .arg(format!("COPY {table} ({columns}) FROM STDIN"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("psql (postgresql-client) on PATH");
        let stdin = child.stdin.take().expect("psql's stdin");
        Copy {
            table: table.to_owned(),
            child,
            out: BufWriter::with_capacity(1 << 20, stdin),
            rows: 0,
        }
    }

    /// Writes one row, its fields in the order of the columns.
    pub fn row(&mut self, fields: &[F<'_>]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.put("\t");
            }
            match f {
                F::T(s) => self.text(s),
                F::N => self.put("\\N"),
                F::I(n) => self.put(&n.to_string()),
                F::B(b) => self.put(if *b { "t" } else { "f" }),
                F::Ts(t) => self.put(&t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
                F::D(d) => self.put(&d.to_string()),
                F::F(x) => self.put(&x.to_string()),
            }
        }
        self.put("\n");
        self.rows += 1;
    }

    fn put(&mut self, s: &str) {
        self.out
            .write_all(s.as_bytes())
            .unwrap_or_else(|e| panic!("COPY {}: psql stopped reading: {e}", self.table));
    }

    /// Text in COPY's text format: backslash, tab and line breaks escaped.
    fn text(&mut self, s: &str) {
        if !s.contains(['\\', '\t', '\n', '\r']) {
            return self.put(s);
        }
        let escaped = s
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        self.put(&escaped);
    }

    /// Ends the copy and waits for PostgreSQL to take it; the number of rows written.
    pub fn finish(self) -> usize {
        let Copy {
            table,
            mut child,
            out,
            rows,
        } = self;
        drop(out.into_inner().expect("flush COPY data"));
        let status = child.wait().expect("psql");
        assert!(status.success(), "COPY {table} failed");
        rows
    }
}
