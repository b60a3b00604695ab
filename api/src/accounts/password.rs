//! Staff passwords: the rule a new one must meet, and Argon2id hashes (PHC strings).
//! Accounts keep them; sign-in verifies them.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use bangfu_sync::Code;
use rand::TryRngCore;

use crate::infra::error::{Error, Msg, Result};

/// The stored (slow) hash of a password.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut salt)
        .map_err(Error::internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(Error::internal)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(Error::internal)?
        .to_string())
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of one verification, for unknown users, so that response time does not
/// tell which usernames exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("not a password").unwrap_or_default());
    let _ = verify(password, phc);
}

/// Minimum rules for staff passwords.
pub fn acceptable(password: &str) -> bool {
    let n = password.chars().count();
    (10..=128).contains(&n)
}

/// Refuses a new password (given as `field`) that does not meet the rules.
pub fn check(field: &str, password: &str) -> Result<()> {
    if acceptable(password) {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            Code::WeakPassword,
            Msg::fixed(
                "密码长度须为 10 到 128 个字符。",
                "Passwords are 10 to 128 characters long.",
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() -> Result<()> {
        let a = hash("correct horse battery")?;
        let b = hash("correct horse battery")?;
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("wrong horse battery", &a));
        assert!(!verify("x", "not a phc string"));
        Ok(())
    }
}
