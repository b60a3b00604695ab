//! Resident ID numbers at rest: a keyed hash finds a person by exact number, a sealed copy
//! (XChaCha20-Poly1305, fresh random nonce each time) lets those entitled read it, and
//! nothing in the database is readable in bulk without the data key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::{RngCore, TryRngCore};
use sha2::Sha256;

use crate::infra::error::{Error, Result};

/// 32 random bytes from the operating system, as URL-safe base64: a secret for signing
/// tokens, a data key, a refresh token.
pub fn random_secret() -> Result<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The server's key for personal data. Two sub-keys are derived from the one secret so
/// that the lookup hash reveals nothing about the sealing key.
#[derive(Clone)]
pub struct DataKey {
    lookup: [u8; 32],
    seal: Key,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

fn derive(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key size");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

impl DataKey {
    pub fn from_secret(secret: &[u8]) -> DataKey {
        DataKey {
            lookup: derive(secret, b"bangfu lookup v1"),
            seal: Key::from(derive(secret, b"bangfu seal v1")),
        }
    }

    /// The same input always gives the same hash, so it can be searched and made unique.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("HMAC takes any key size");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `v1.<base64 nonce ‖ ciphertext>`.
    pub fn seal(&self, value: &str) -> Result<String> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&self.seal);
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), value.as_bytes())
            .map_err(|_| Error::Internal("sealing failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("v1.{}", STANDARD_NO_PAD.encode(bytes)))
    }

    pub fn open(&self, sealed: &str) -> Result<String> {
        let broken = || Error::Internal("a sealed value does not open with this data key".into());
        let bytes = sealed
            .strip_prefix("v1.")
            .and_then(|b| STANDARD_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > 24)
            .ok_or_else(broken)?;
        let (nonce, body) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| broken())?;
        let plain = XChaCha20Poly1305::new(&self.seal)
            .decrypt(&XNonce::from(nonce), body)
            .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11010519491231002X";

    #[test]
    fn sealed_values_open_and_differ_each_time() -> Result<()> {
        let k = DataKey::from_secret(b"a test secret of some length....");
        let (a, b) = (k.seal(ID)?, k.seal(ID)?);
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains(ID));
        assert_eq!(k.open(&a)?, ID);
        assert_eq!(k.open(&b)?, ID);
        Ok(())
    }

    #[test]
    fn another_key_or_a_flipped_byte_does_not_open() -> Result<()> {
        let k = DataKey::from_secret(b"a test secret of some length....");
        let other = DataKey::from_secret(b"another secret of some length...");
        let sealed = k.seal(ID)?;
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(k.open(&String::from_utf8_lossy(&tampered)).is_err());
        assert!(k.open("garbage").is_err());
        Ok(())
    }

    #[test]
    fn lookup_hash_is_stable_and_keyed() {
        let k = DataKey::from_secret(b"a test secret of some length....");
        let other = DataKey::from_secret(b"another secret of some length...");
        assert_eq!(k.lookup_hash(ID), k.lookup_hash(ID));
        assert_ne!(k.lookup_hash(ID), other.lookup_hash(ID));
        assert_ne!(k.lookup_hash(ID), k.lookup_hash("110105194912310029"));
        assert_eq!(k.lookup_hash(ID).len(), 64);
    }
}
