//! Who sees what. A caller's standing scope is their own region's subtree plus the
//! households they are assigned to (and, in sync, what those reach): everything they read
//! and change goes through it. Break-the-glass grants add nothing to it: each names one
//! record, is read-only, never unmasks and never counts for administration; the few reads
//! that honour a grant ask for it by name ([`Grants`]).

use bangfu_sync::Code;
use chrono::{Duration, NaiveDateTime};

use crate::infra::error::{FieldError, Msg};

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

    /// Whether the scope covers the whole install: every root of the region tree (`roots`,
    /// their paths) lies inside it. Data every jurisdiction shares (the working-day
    /// calendar, the assistance programs) is changed only by such a caller, so that an
    /// officer of one county cannot move another county's deadlines.
    pub fn covers_all(&self, roots: &[String]) -> bool {
        !roots.is_empty() && roots.iter().all(|r| self.contains(r))
    }
}

/// The longest a break-the-glass grant may last.
pub const MAX_GRANT: Duration = Duration::hours(3);
/// The reason must say something: at least this many letters or digits (spaces,
/// punctuation and invisible characters do not count).
pub const MIN_REASON_CHARS: usize = 4;
/// How many unexpired, unrevoked grants one person may hold at once.
pub const MAX_LIVE_GRANTS: i64 = 3;

/// What a break-the-glass grant may name: one record, never a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Household,
    /// A child of the dropout-control registry, with its cases.
    Child,
    /// One dropout case, with its child.
    DropoutCase,
}

impl Subject {
    pub const ALL: [Subject; 3] = [Subject::Household, Subject::Child, Subject::DropoutCase];

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Household => "household",
            Subject::Child => "child",
            Subject::DropoutCase => "dropout_case",
        }
    }

    pub fn parse(s: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One record a caller may read through an unexpired grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub subject: Subject,
    pub id: String,
}

/// The records a caller holds grants for: read-only, masked, and only where a read asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(pub Vec<Granted>);

impl Grants {
    /// Whether a grant names this record.
    pub fn names(&self, subject: Subject, id: &str) -> bool {
        self.0.iter().any(|g| g.subject == subject && g.id == id)
    }

    /// The ids granted of one kind.
    pub fn ids(&self, subject: Subject) -> Vec<String> {
        self.0
            .iter()
            .filter(|g| g.subject == subject)
            .map(|g| g.id.clone())
            .collect()
    }
}

/// How a caller reaches a record they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Their standing jurisdiction or assignments: full rights of their role.
    Standing,
    /// A break-the-glass grant: read-only, masked.
    Grant,
}

/// How a reader with this standing scope and these grants reaches a record at `path`
/// that is, or belongs to, the `named` records (a case file names its household; a case,
/// itself and its child): the one rule every grant-honouring read goes through.
pub fn reach(
    standing: &Scope,
    grants: &Grants,
    path: &str,
    named: &[(Subject, &str)],
) -> Option<Via> {
    if !path.is_empty() && standing.contains(path) {
        Some(Via::Standing)
    } else if named.iter().any(|(s, id)| grants.names(*s, id)) {
        Some(Via::Grant)
    } else {
        None
    }
}

/// Letters and digits of a text: what a reader can see of it.
pub fn visible_chars(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphanumeric()).count()
}

/// The longest a stated reason may be.
pub const MAX_REASON_CHARS: usize = 500;

/// A reason someone states for reaching past the ordinary (temporary access, personal
/// data in full), trimmed: it must say something (at least [`MIN_REASON_CHARS`] letters or
/// digits) in at most [`MAX_REASON_CHARS`] characters. It is kept in the audit entry.
pub fn stated_reason(reason: &str) -> Result<String, FieldError> {
    let reason = reason.trim();
    if visible_chars(reason) < MIN_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            Code::Required,
            Msg::fixed(
                "须说明理由（至少 4 个汉字、字母或数字），理由记入审计日志。",
                "State a reason (at least 4 letters or digits); it is kept in the audit log.",
            ),
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            Code::TooLong,
            Msg::fixed("理由最多 500 字。", "A reason has at most 500 characters."),
        ));
    }
    Ok(reason.to_owned())
}

/// Checks a request for temporary access and returns its expiry.
pub fn grant_expiry(
    now: NaiveDateTime,
    minutes: Option<i64>,
    reason: &str,
) -> Result<NaiveDateTime, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Err(e) = stated_reason(reason) {
        errors.push(e);
    }
    let minutes = minutes.unwrap_or(MAX_GRANT.num_minutes());
    if minutes < 1 || minutes > MAX_GRANT.num_minutes() {
        errors.push(FieldError::new(
            "duration_minutes",
            Code::OutOfRange,
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
    fn a_stated_reason_says_something_briefly() {
        assert_eq!(
            stated_reason("  核对低保名单  ").as_deref(),
            Ok("核对低保名单")
        );
        for empty in [
            "",
            "   ",
            "。。。！！",
            "a b",
            "\u{200b}\u{200b}\u{200b}\u{200b}",
        ] {
            let e = stated_reason(empty).expect_err(empty);
            assert_eq!((e.field.as_str(), e.code), ("reason", Code::Required));
        }
        assert!(stated_reason(&"理".repeat(500)).is_ok());
        let e = stated_reason(&"理".repeat(501)).expect_err("too long");
        assert_eq!(e.code, Code::TooLong);
    }

    #[test]
    fn only_a_scope_over_every_root_covers_the_install() {
        let roots = vec!["/c1/".to_owned(), "/c2/".to_owned()];
        assert!(!Scope::new(vec!["/c1/".into()]).covers_all(&roots));
        assert!(!Scope::new(vec!["/c1/t1/".into(), "/c2/".into()]).covers_all(&roots));
        assert!(Scope::new(vec!["/c1/".into(), "/c2/".into()]).covers_all(&roots));
        assert!(Scope::new(vec!["/c1/".into()]).covers_all(&roots[..1]));
        // An install without regions has nobody to speak for it.
        assert!(!Scope::new(vec!["/c1/".into()]).covers_all(&[]));
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

    #[test]
    fn a_reason_counts_only_what_a_reader_can_see() {
        let now = chrono::NaiveDateTime::default();
        for blank in [
            "\u{200b}\u{200b}\u{200b}\u{200b}",
            "    ",
            "……！！",
            "a b c",
        ] {
            assert!(grant_expiry(now, None, blank).is_err(), "{blank:?}");
        }
        assert!(grant_expiry(now, None, "核查重复").is_ok());
        assert!(grant_expiry(now, None, "check dup").is_ok());
        assert_eq!(visible_chars("\u{200b}核\u{feff}查 "), 2);
    }

    #[test]
    fn a_grant_reaches_only_what_it_names_and_only_for_reading() {
        let standing = Scope::new(vec!["/c/t2/".into()]);
        let g = Grants(vec![Granted {
            subject: Subject::Household,
            id: "h1".into(),
        }]);
        let h1 = [(Subject::Household, "h1")];
        assert_eq!(
            reach(&standing, &g, "/c/t2/v/h9/", &h1),
            Some(Via::Standing)
        );
        assert_eq!(reach(&standing, &g, "/c/t1/v/h1/", &h1), Some(Via::Grant));
        assert_eq!(
            reach(&standing, &g, "/c/t1/v/h2/", &[(Subject::Household, "h2")]),
            None
        );
        assert_eq!(reach(&standing, &Grants::default(), "", &h1), None);
    }

    #[test]
    fn grants_name_records_of_a_kind() {
        let g = Grants(vec![Granted {
            subject: Subject::Household,
            id: "h1".into(),
        }]);
        assert!(g.names(Subject::Household, "h1"));
        assert!(!g.names(Subject::Child, "h1"));
        assert_eq!(g.ids(Subject::Household), ["h1"]);
        for s in Subject::ALL {
            assert_eq!(Subject::parse(s.as_str()), Some(s));
        }
    }
}
