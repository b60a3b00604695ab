//! Access tokens (short-lived HS256 JWTs) and refresh tokens (random, opaque, stored hashed).

use bangfu_sync::Code;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::infra::error::{Error, Msg, Result};

const ISSUER: &str = "bangfu";
const AUDIENCE: &str = "bangfu-api";
/// Applicants' tokens name another audience, so neither kind passes for the other.
pub const APPLICANT_AUDIENCE: &str = "bangfu-applicant";

/// What an access token says. The user's role and region are read from the database on
/// each request, so a change to them takes effect at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    /// Session id: logging out or revoking the device ends it.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// The signing key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        self.issue_for(AUDIENCE, user_id, session_id, now, ttl_secs)
    }

    pub fn issue_for(
        &self,
        audience: &str,
        subject: &str,
        session_id: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        let claims = Claims {
            sub: subject.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims> {
        self.verify_for(AUDIENCE, token)
    }

    pub fn verify_for(&self, audience: &str, token: &str) -> Result<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[audience]);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::Unauthorized {
                    code: Code::TokenExpired,
                    detail: Msg::fixed(
                        "访问令牌已过期，请刷新。",
                        "The access token has expired; refresh it.",
                    ),
                },
                _ => Error::Unauthorized {
                    code: Code::TokenInvalid,
                    detail: Msg::fixed("访问令牌无效。", "The access token is not valid."),
                },
            })
    }
}

/// A new random refresh token (256 bits, URL-safe).
pub fn new_refresh_token() -> Result<String> {
    crate::infra::sealing::random_secret()
}

/// How a refresh token is stored: only its SHA-256.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify() -> Result<()> {
        let k = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let t = k.issue("u1", "s1", now, 60)?;
        let c = k.verify(&t)?;
        assert_eq!((c.sub.as_str(), c.sid.as_str()), ("u1", "s1"));
        Ok(())
    }

    #[test]
    fn expired_and_forged_tokens_are_refused() -> Result<()> {
        let k = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let other = Keys::from_secret(b"another secret of the same size!");
        let now = chrono::Utc::now().timestamp();
        let expired = k.issue("u1", "s1", now - 3600, 60)?;
        assert!(matches!(
            k.verify(&expired),
            Err(Error::Unauthorized {
                code: Code::TokenExpired,
                ..
            })
        ));
        let forged = other.issue("u1", "s1", now, 60)?;
        assert!(matches!(
            k.verify(&forged),
            Err(Error::Unauthorized {
                code: Code::TokenInvalid,
                ..
            })
        ));
        assert!(matches!(
            k.verify("not.a.jwt"),
            Err(Error::Unauthorized {
                code: Code::TokenInvalid,
                ..
            })
        ));
        Ok(())
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() -> Result<()> {
        let a = new_refresh_token()?;
        assert_ne!(a, new_refresh_token()?);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
        Ok(())
    }
}
