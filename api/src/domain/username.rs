//! Usernames: what one may look like, and the key that decides whether two are the same
//! account. Two names are one account when they agree after Unicode compatibility
//! normalisation (NFKC) and lower-casing, so `ADMIN`, `Admin` and a full-width `ＡＤＭＩＮ`
//! typed on a Chinese keyboard are all `admin`.

use unicode_normalization::UnicodeNormalization;

use crate::infra::error::Msg;

/// The key a username is stored and looked up by.
pub fn key(name: &str) -> String {
    name.trim().nfkc().flat_map(char::to_lowercase).collect()
}

/// Whether a new username is acceptable: 3 to 40 ASCII letters, digits, `_`, `-` or `.`.
pub fn acceptable(name: &str) -> bool {
    (3..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub const RULE: Msg = Msg::fixed(
    "用户名为 3 到 40 个字母、数字、下划线、连字符或点。",
    "username is 3 to 40 letters, digits, '_', '-' or '.'.",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differing_in_case_or_width_are_one_account() {
        assert_eq!(key("ADMIN"), "admin");
        assert_eq!(key("Admin"), key("admin"));
        assert_eq!(key("ＡＤＭＩＮ"), "admin");
        assert_eq!(key(" qingshan_helper "), "qingshan_helper");
        assert_ne!(key("admin1"), key("admin"));
    }

    #[test]
    fn new_names_are_plain_ascii() {
        assert!(acceptable("qingshan_helper"));
        assert!(acceptable("li.fang-2"));
        assert!(!acceptable("ab"));
        assert!(!acceptable("ＡＤＭＩＮ"));
        assert!(!acceptable("李芳"));
        assert!(!acceptable("a b c"));
    }
}
