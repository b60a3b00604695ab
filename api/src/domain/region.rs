//! The jurisdiction tree: province > city > county > township > village, with schools under
//! a township or a county. Every record belongs to a node; a user sees the subtree of theirs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    /// 乡镇 / 街道
    Township,
    /// 村 / 社区
    Village,
    School,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 6] = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Township,
        RegionLevel::Village,
        RegionLevel::School,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
            RegionLevel::School => "school",
        }
    }

    pub fn parse(s: &str) -> Option<RegionLevel> {
        RegionLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Whether a node of this level may hang under `parent` (`None`: be a root). A county
    /// office may run its own install with the county as the root.
    pub fn may_have_parent(self, parent: Option<RegionLevel>) -> bool {
        use RegionLevel as L;
        match parent {
            None => matches!(self, L::Province | L::City | L::County),
            Some(p) => matches!(
                (p, self),
                (L::Province, L::City)
                    | (L::City, L::County)
                    | (L::County, L::Township)
                    | (L::Township, L::Village)
                    | (L::Township, L::School)
                    | (L::County, L::School)
            ),
        }
    }
}

/// The materialised path of a node: its ancestors' ids and its own, `/a/b/c/`.
pub fn child_path(parent_path: Option<&str>, id: &str) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// The path of a node's parent (`/c/t/s/` -> `/c/t/`; a root's is `/`).
pub fn parent_path(path: &str) -> &str {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    }
}

/// The path of the lowest node whose subtree holds both paths: their longest common run of
/// whole segments (`/c/t1/v/h/` and `/c/t2/v/` meet at `/c/`).
pub fn common_ancestor(a: &str, b: &str) -> String {
    let mut out = String::from("/");
    for (x, y) in a
        .split('/')
        .zip(b.split('/'))
        .filter(|(x, _)| !x.is_empty())
    {
        if x != y {
            break;
        }
        out.push_str(x);
        out.push('/');
    }
    out
}

/// The dibao standard in force at a node: its own, else the nearest ancestor's. `chain`
/// runs from the node up to the root.
pub fn effective_dibao(chain: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    chain.into_iter().flatten().next()
}

/// Administrative division codes are digits (6 for a county and above, 9 for a township,
/// 12 for a village); school codes are 10 digits. Letters are allowed for local codes.
pub fn valid_code(code: &str) -> bool {
    (2..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegionLevel as L;

    #[test]
    fn tree_shape() {
        assert!(L::Province.may_have_parent(None));
        assert!(L::County.may_have_parent(None));
        assert!(!L::Village.may_have_parent(None));
        assert!(L::Village.may_have_parent(Some(L::Township)));
        assert!(!L::Village.may_have_parent(Some(L::County)));
        assert!(L::School.may_have_parent(Some(L::Township)));
        assert!(L::School.may_have_parent(Some(L::County)));
        assert!(!L::School.may_have_parent(Some(L::Village)));
        assert!(!L::Township.may_have_parent(Some(L::School)));
        assert!(!L::Province.may_have_parent(Some(L::City)));
    }

    #[test]
    fn paths_nest() {
        let county = child_path(None, "c");
        let township = child_path(Some(&county), "t");
        assert_eq!(county, "/c/");
        assert_eq!(township, "/c/t/");
        assert!(township.starts_with(&county));
    }

    #[test]
    fn a_nodes_parent_is_its_path_less_its_own_segment() {
        assert_eq!(parent_path("/c/t/s/"), "/c/t/");
        assert_eq!(parent_path("/c/"), "/");
    }

    #[test]
    fn two_paths_meet_at_their_lowest_common_node() {
        assert_eq!(common_ancestor("/c/t1/v/h/", "/c/t2/v/"), "/c/");
        assert_eq!(common_ancestor("/c/t1/v1/h/", "/c/t1/v2/"), "/c/t1/");
        assert_eq!(common_ancestor("/c/t1/", "/c/t1/v/"), "/c/t1/");
        // Segments compare whole: t1 and t10 are different townships.
        assert_eq!(common_ancestor("/c/t1/", "/c/t10/"), "/c/");
        assert_eq!(common_ancestor("/a/", "/b/"), "/");
    }

    #[test]
    fn dibao_is_inherited_unless_overridden() {
        // village (none) -> township (none) -> county (720 yuan)
        assert_eq!(effective_dibao([None, None, Some(72_000)]), Some(72_000));
        // a township that sets its own standard
        assert_eq!(
            effective_dibao([None, Some(80_000), Some(72_000)]),
            Some(80_000)
        );
        assert_eq!(effective_dibao([None, None]), None);
    }

    #[test]
    fn codes() {
        assert!(valid_code("530102"));
        assert!(valid_code("530102001001"));
        assert!(!valid_code("5"));
        assert!(!valid_code("53 01"));
        assert!(!valid_code("../x"));
    }
}
