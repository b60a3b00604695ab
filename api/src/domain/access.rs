//! Who sees what: the scope of a caller is the union of region subtrees they may read,
//! their own region plus any unexpired break-the-glass grants.

use chrono::{Duration, NaiveDateTime};

use crate::error::{FieldError, Msg};

/// Region subtrees (as materialised paths) a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    paths: Vec<String>,
}

impl Scope {
    /// Keeps only the outermost paths: a path inside another adds nothing.
    pub fn new(mut paths: Vec<String>) -> Scope {
        paths.sort();
        paths.dedup();
        let mut outer: Vec<String> = Vec::with_capacity(paths.len());
        for p in paths {
            if !outer.iter().any(|o| p.starts_with(o.as_str())) {
                outer.push(p);
            }
        }
        Scope { paths: outer }
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether the node with this path lies inside the scope.
    pub fn contains(&self, path: &str) -> bool {
        self.paths.iter().any(|p| path.starts_with(p.as_str()))
    }
}

/// The longest a break-the-glass grant may last.
pub const MAX_GRANT: Duration = Duration::hours(3);
/// The reason must say something: at least this many characters.
pub const MIN_REASON_CHARS: usize = 4;

/// Checks a request for temporary access and returns its expiry.
pub fn grant_expiry(
    now: NaiveDateTime,
    minutes: Option<i64>,
    reason: &str,
) -> Result<NaiveDateTime, Vec<FieldError>> {
    let mut errors = Vec::new();
    if reason.trim().chars().count() < MIN_REASON_CHARS {
        errors.push(FieldError::new(
            "reason",
            "required",
            Msg::fixed(
                "临时访问必须说明理由（至少 4 个字）。",
                "Temporary access needs a stated reason (at least 4 characters).",
            ),
        ));
    }
    let minutes = minutes.unwrap_or(MAX_GRANT.num_minutes());
    if minutes < 1 || minutes > MAX_GRANT.num_minutes() {
        errors.push(FieldError::new(
            "duration_minutes",
            "out_of_range",
            Msg::fixed(
                "临时访问时长须在 1 到 180 分钟之间。",
                "Temporary access lasts between 1 and 180 minutes.",
            ),
        ));
    }
    if errors.is_empty() {
        Ok(now + Duration::minutes(minutes))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_contains_subtrees_only() {
        let s = Scope::new(vec!["/p/c/t1/".into()]);
        assert!(s.contains("/p/c/t1/"));
        assert!(s.contains("/p/c/t1/v9/"));
        assert!(!s.contains("/p/c/t2/"));
        assert!(!s.contains("/p/c/"));
    }

    #[test]
    fn scope_drops_nested_paths() {
        let s = Scope::new(vec!["/p/c/t1/v/".into(), "/p/c/t1/".into(), "/p/x/".into()]);
        assert_eq!(s.paths(), ["/p/c/t1/", "/p/x/"]);
    }

    #[test]
    fn sibling_prefixes_are_not_confused() {
        // ids are whole path segments: "/t1/" is not a prefix of "/t10/".
        let s = Scope::new(vec!["/p/t1/".into()]);
        assert!(!s.contains("/p/t10/"));
    }

    #[test]
    fn grants_are_bounded_and_need_a_reason() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        assert_eq!(grant_expiry(now, None, "核查重复申请"), Ok(now + MAX_GRANT));
        assert_eq!(
            grant_expiry(now, Some(30), "核查重复申请"),
            Ok(now + Duration::minutes(30))
        );
        let errs = grant_expiry(now, Some(181), "x").err().unwrap_or_default();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["reason", "duration_minutes"]);
    }
}
