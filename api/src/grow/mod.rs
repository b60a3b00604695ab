//! `bangfu grow`: moves an install that started on the embedded defaults (a SQLite file and
//! a local photo folder) to PostgreSQL and S3-compatible storage, losing nothing. The copy
//! resumes where a killed run stopped, and ends by verifying both sides.

mod photos;
mod tables;
mod verify;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::infra::blobs as blobstore;
use crate::infra::config::Config;
use crate::infra::db::{DbConn, DbTarget, migrate};

/// What to grow into, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// `postgres://…`
    pub to_database: String,
    /// Where the photos go (`s3://bucket[/prefix]`); `None` leaves them in the folder.
    pub to_photos: Option<String>,
    /// Rows per batch (one PostgreSQL transaction each).
    pub batch_rows: i64,
    /// Stop after this many batches (tests of resuming).
    pub limit_batches: Option<u64>,
}

/// An identity of the install that does not depend on where its files are: derived from
/// its data key, without revealing it. Two installs sealing with different keys cannot
/// share a database.
fn install_id(config: &Config) -> anyhow::Result<String> {
    let key = config.data_key()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .map_err(|e| anyhow::anyhow!("data key: {e}"))?;
    mac.update(b"bangfu install id");
    Ok(hex::encode(&mac.finalize().into_bytes()[..16]))
}

fn open_source(path: &std::path::Path) -> anyhow::Result<SqliteConnection> {
    anyhow::ensure!(
        path.exists(),
        "there is no SQLite database at {}",
        path.display()
    );
    let mut conn = DbConn::Sqlite(SqliteConnection::establish(&path.to_string_lossy())?);
    anyhow::ensure!(
        migrate::is_current(&mut conn)?,
        "the SQLite database has migrations pending: run `bangfu migrate` first"
    );
    let DbConn::Sqlite(mut c) = conn else {
        bail!("not a SQLite connection");
    };
    c.batch_execute("PRAGMA busy_timeout = 10000;")?;
    Ok(c)
}

fn open_target(url: &str) -> anyhow::Result<PgConnection> {
    let mut conn = DbConn::Pg(PgConnection::establish(url).with_context(|| {
        format!(
            "cannot connect to {}",
            DbTarget::Postgres(url.into()).redacted()
        )
    })?);
    let applied = migrate::run_pending(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "migrations applied to the target");
    }
    let DbConn::Pg(c) = conn else {
        bail!("not a PostgreSQL connection");
    };
    Ok(c)
}

/// Runs the whole growth; prints the report on `out`. Fails if the copy was stopped or
/// anything differs afterwards.
pub fn run(config: &Config, opts: &Options, out: &mut dyn Write) -> anyhow::Result<()> {
    let DbTarget::Sqlite(src_path) = &config.db.target else {
        bail!(
            "grow copies from the embedded SQLite database; this install is already on PostgreSQL"
        );
    };
    let target = DbTarget::parse(&opts.to_database);
    anyhow::ensure!(
        matches!(target, DbTarget::Postgres(_)),
        "--to-database must be a postgres:// URL"
    );
    let photo_root = match &opts.to_photos {
        Some(_) if config.photo_store.starts_with("s3://") => {
            bail!("the photos are already in S3-compatible storage; leave out --to-photos")
        }
        Some(to) if to == &config.photo_store => bail!("--to-photos names the current store"),
        Some(_) => Some(PathBuf::from(
            config
                .photo_store
                .strip_prefix("file://")
                .unwrap_or(&config.photo_store),
        )),
        None => None,
    };
    let id = install_id(config)?;
    let mut src = open_source(src_path)?;
    let mut pg = open_target(&opts.to_database)?;
    writeln!(
        out,
        "growing {} into {}",
        config.db.target.redacted(),
        target.redacted()
    )?;

    let tables = crate::grow::tables::discover(&mut src, &mut pg)?;
    crate::grow::tables::claim_target(&mut pg, &tables, &id, &config.db.target.redacted())?;
    let mut budget = opts.limit_batches;
    let mut copied = Vec::with_capacity(tables.len());
    for t in &tables {
        match crate::grow::tables::copy_table(
            &mut src,
            &mut pg,
            t,
            opts.batch_rows.max(1),
            &mut budget,
        )? {
            Ok(c) => copied.push(c),
            Err(crate::grow::tables::Stopped) => {
                writeln!(
                    out,
                    "stopped in table {} after {} batch(es), as asked; run again to continue",
                    t.name,
                    opts.limit_batches.unwrap_or(0)
                )?;
                bail!("the copy was stopped before the end");
            }
        }
    }
    let sequences = crate::grow::tables::fix_sequences(&mut pg)?;
    let checks = crate::grow::verify::tables(&mut src, &mut pg, &tables)?;

    let mut problems = 0;
    writeln!(
        out,
        "\n{:<28} {:>10} {:>10} {:>10}  result",
        "table", "sqlite", "postgres", "copied now"
    )?;
    for (c, n) in checks.iter().zip(&copied) {
        let ok = c.source == c.target;
        problems += usize::from(!ok);
        writeln!(
            out,
            "{:<28} {:>10} {:>10} {:>10}  {}",
            c.name,
            c.source,
            c.target,
            n.rows,
            if ok { "ok" } else { "MISMATCH" }
        )?;
    }
    writeln!(out, "{sequences} sequence(s) moved past the copied rows")?;

    if let (Some(root), Some(to)) = (&photo_root, &opts.to_photos) {
        problems += grow_photos(config, root, to, out)?;
    } else {
        writeln!(
            out,
            "\nphotos: not moved (no --to-photos); they stay in {}",
            config.photo_store
        )?;
    }
    if problems > 0 {
        bail!("verification found {problems} problem(s); see the report above");
    }
    let rows: i64 = checks.iter().map(|c| c.target).sum();
    writeln!(
        out,
        "\nverified: {} table(s), {rows} row(s) on both sides",
        checks.len()
    )?;
    Ok(())
}

/// Copies and verifies the photo folder; returns the number of problems.
fn grow_photos(
    config: &Config,
    root: &std::path::Path,
    to: &str,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let source = blobstore::open(&config.photo_store, &config.s3_options)?;
    let target = blobstore::open(to, &config.s3_options)?;
    let objects = crate::grow::photos::list_local(root)?;
    writeln!(
        out,
        "\nphotos: {} object(s) from {} to {}",
        objects.len(),
        source.describe(),
        target.describe()
    )?;
    let parts = crate::grow::photos::list_local_parts(root)?;
    let scratch = config.data_dir.join("uploads");
    // The stores are asynchronous (and use actix's blocking pool): one runtime for the lot.
    let (stats, bad, (parts_copied, parts_bad)) = actix_web::rt::System::new().block_on(async {
        let mut stats = crate::grow::photos::copy_all(&*source, &*target, &objects).await?;
        let bad = crate::grow::verify::photos(&*source, &*target, &objects, &mut stats).await?;
        let parts = crate::grow::photos::copy_parts(root, &*target, &parts, &scratch).await?;
        anyhow::Ok((stats, bad, parts))
    })?;
    writeln!(
        out,
        "{:<12} {:>8} {:>12} {:>8} {:>8} {:>8}",
        "kind", "objects", "bytes", "copied", "present", "verified"
    )?;
    for kind in blobstore::Variant::ALL.map(|v| v.name()) {
        let s = stats.get(kind).copied().unwrap_or_default();
        writeln!(
            out,
            "{kind:<12} {:>8} {:>12} {:>8} {:>8} {:>8}",
            s.objects, s.bytes, s.copied, s.present, s.verified
        )?;
    }
    writeln!(
        out,
        "{:<12} {:>8} {:>12} {:>8} {:>8} {:>8}",
        "upload chunk",
        parts.len(),
        parts.iter().map(|(_, n)| n).sum::<u64>(),
        parts_copied,
        0,
        parts.len() - parts_bad.len()
    )?;
    for b in &bad {
        writeln!(out, "MISMATCH {}: {}", b.path, b.why)?;
    }
    for p in &parts_bad {
        writeln!(out, "MISMATCH {p}: reads back different bytes")?;
    }
    Ok(bad.len() + parts_bad.len())
}
