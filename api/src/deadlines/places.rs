//! The regions above a path and the regions users act for, loaded at once for a batch.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::infra::db::DbConn;
use crate::infra::db::schema::{regions, users};
use crate::infra::error::Result;

/// Regions by id: (path, level, code).
#[derive(Debug, Default)]
pub struct Places {
    by_id: HashMap<String, (String, String, String)>,
    user_paths: HashMap<String, String>,
}

fn ids(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl Places {
    /// Every region on these paths, and the regions of these users.
    pub fn load<'a>(
        conn: &mut DbConn,
        paths: impl IntoIterator<Item = &'a str>,
        user_ids: &[String],
    ) -> Result<Places> {
        let mut wanted: Vec<String> = paths
            .into_iter()
            .flat_map(|p| ids(p).map(str::to_owned).collect::<Vec<_>>())
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut by_id = HashMap::new();
        for chunk in wanted.chunks(500) {
            for (id, path, level, code) in regions::table
                .filter(regions::id.eq_any(chunk))
                .select((regions::id, regions::path, regions::level, regions::code))
                .load::<(String, String, String, String)>(conn)?
            {
                by_id.insert(id, (path, level, code));
            }
        }
        let mut user_paths = HashMap::new();
        for chunk in user_ids.chunks(500) {
            for (id, path) in users::table
                .inner_join(regions::table)
                .filter(users::id.eq_any(chunk))
                .select((users::id, regions::path))
                .load::<(String, String)>(conn)?
            {
                user_paths.insert(id, path);
            }
        }
        Ok(Places { by_id, user_paths })
    }

    /// The path of the nearest region at `level` on `path` (itself or above).
    pub fn ancestor(&self, path: &str, level: &str) -> Option<String> {
        ids(path)
            .filter_map(|id| self.by_id.get(id))
            .filter(|(_, l, _)| l == level)
            .map(|(p, _, _)| p.clone())
            .last()
    }

    /// The code of the county above `path`.
    pub fn county_code(&self, path: &str) -> Option<String> {
        ids(path)
            .filter_map(|id| self.by_id.get(id))
            .find(|(_, l, _)| l == "county")
            .map(|(_, _, c)| c.clone())
    }

    /// The path of a region by id.
    pub fn path_of(&self, id: &str) -> Option<String> {
        self.by_id.get(id).map(|(p, _, _)| p.clone())
    }

    /// The region a user acts for; the record's own region when the user is unknown.
    pub fn user_path(&self, user_id: &str, fallback: &str) -> String {
        self.user_paths
            .get(user_id)
            .cloned()
            .unwrap_or_else(|| fallback.to_owned())
    }
}
