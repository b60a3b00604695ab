//! Browser sessions for the console: a sign-in through the same login as the API (same
//! limits, same audit) whose session is carried by an opaque random token in a cookie.
//!
//! The token is the session's refresh token, stored like every refresh token as its
//! SHA-256 only, in a session of the browser kind: `/v1/auth/refresh` does not take it, and
//! an API session's token is no cookie. The console never rotates it; its expiry slides with
//! use: it is the idle timeout, capped by the console's absolute lifetime counted from the
//! sign-in. Signing out revokes the session, as the API's logout does.

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::auth::rotation::refused;
use crate::auth::service::{self, LoginRequest};
use crate::auth::sessions::{self, SessionKind};
use crate::auth::tokens;
use crate::domain::caller::Caller;
use crate::infra::config::ConsoleSettings;
use crate::infra::error::{Code, Result};
use crate::state::AppState;

/// A signed-in browser: the cookie's token and the form token derived from it.
#[derive(Debug, Clone)]
pub struct Opened {
    pub token: String,
    pub csrf: String,
}

/// The per-session form token: derived from the cookie's token (which pages never show),
/// so only a page served to this session can carry it.
pub fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"bangfu console form token\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Signs in with username and password (the API's login: its limits, its audit).
pub async fn sign_in(state: &AppState, req: LoginRequest, life: ConsoleSettings) -> Result<Opened> {
    let issued = service::login(state, req, SessionKind::Browser).await?;
    let hash = tokens::hash_refresh_token(&issued.refresh_token);
    let now = crate::infra::clock::now();
    state
        .db
        .write(move |c| sessions::slide(c, &hash, now + life.idle))
        .await?;
    Ok(Opened {
        csrf: csrf_of(&issued.refresh_token),
        token: issued.refresh_token,
    })
}

/// The caller a cookie's token stands for, if its session is open, not idle too long and
/// within its absolute lifetime; its idle clock restarts (at most once a minute: most
/// requests only read; a tenth of the timeout when that is shorter).
pub async fn resume(
    state: &AppState,
    token: &str,
    life: ConsoleSettings,
    request_id: Option<String>,
) -> Result<Caller> {
    let hash = tokens::hash_refresh_token(token);
    let now = crate::infra::clock::now();
    let h = hash.clone();
    let (ctx, sid, expires, started) = state
        .db
        .read(move |c| {
            let (sid, uid, expires, started) =
                sessions::browser_session(c, &h, now, now - life.lifetime)?
                    .ok_or_else(|| refused(Code::SessionEnded))?;
            Ok((sessions::context(c, &sid, &uid)?, sid, expires, started))
        })
        .await?;
    let due = (now + life.idle).min(started + life.lifetime);
    if due - expires > (life.idle / 10).min(Duration::minutes(1)) {
        state
            .db
            .write(move |c| sessions::slide(c, &hash, due))
            .await?;
    }
    crate::auth::context::caller_of(ctx, sid, request_id)
}

/// Signs the browser out: its session ends (audited, as the API's logout).
pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<()> {
    service::logout(state, caller).await
}

#[cfg(test)]
mod tests {
    use super::csrf_of;

    #[test]
    fn the_form_token_is_not_the_stored_hash() {
        let t = "abc";
        assert_ne!(csrf_of(t), crate::auth::tokens::hash_refresh_token(t));
        assert_eq!(csrf_of(t), csrf_of(t));
        assert_ne!(csrf_of(t), csrf_of("abd"));
    }
}
