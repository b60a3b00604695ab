//! After the copy: the same number of rows in every table on both sides, and every object
//! in the target re-read whole. An original must hash to its name; a copy made from it
//! (named after the original) must hash as the source's copy does.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use crate::grow::photos::{PhotoStats, digest};
use crate::grow::tables::{Table, count_source, count_target};
use crate::infra::blobs::{BlobKey, BlobStore, Variant};

/// One table's counts.
#[derive(Debug)]
pub struct TableCheck {
    pub name: String,
    pub source: i64,
    pub target: i64,
}

pub fn tables(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
    tables: &[Table],
) -> anyhow::Result<Vec<TableCheck>> {
    tables
        .iter()
        .map(|t| {
            Ok(TableCheck {
                name: t.name.clone(),
                source: count_source(src, &t.name)?,
                target: count_target(pg, &t.name)?,
            })
        })
        .collect()
}

/// An object whose stored bytes are not what they should be.
#[derive(Debug)]
pub struct PhotoMismatch {
    pub path: String,
    pub why: String,
}

/// Re-reads every object in the target; returns the objects verified per kind and what
/// failed.
pub async fn photos(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    objects: &[(BlobKey, u64)],
    stats: &mut PhotoStats,
) -> anyhow::Result<Vec<PhotoMismatch>> {
    let mut bad = Vec::new();
    for (key, size) in objects {
        let got = match digest(target, key).await {
            Ok(d) => d,
            Err(e) => {
                bad.push(PhotoMismatch {
                    path: key.path(),
                    why: format!("cannot be read back: {e}"),
                });
                continue;
            }
        };
        let want = if key.variant == Variant::Original {
            (key.sha256.as_str().to_owned(), *size)
        } else {
            digest(source, key).await?
        };
        if got != want {
            bad.push(PhotoMismatch {
                path: key.path(),
                why: format!(
                    "SHA-256 {} ({} bytes), expected {} ({} bytes)",
                    got.0, got.1, want.0, want.1
                ),
            });
        } else if let Some(s) = stats.get_mut(key.variant.name()) {
            s.verified += 1;
        }
    }
    Ok(bad)
}
