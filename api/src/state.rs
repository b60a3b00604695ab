//! What every request handler shares.

use std::sync::{Arc, Mutex};

use bangfu_sync::Clock;
use chrono::Duration;

use crate::auth::login_limits::Limit;
use crate::auth::tokens::Keys;
use crate::infra::db::Db;
use crate::infra::sealing::DataKey;
use crate::photos::Photos;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_ttl_secs: i64,
    /// A refresh token's life; each refresh issues a new one.
    pub refresh_ttl: Duration,
    /// A session's absolute life: after it, sign in again.
    pub session_ttl: Duration,
    pub per_user: Limit,
    pub per_address: Limit,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            access_ttl_secs: 15 * 60,
            refresh_ttl: Duration::days(30),
            session_ttl: Duration::days(90),
            per_user: Limit {
                max_failures: 5,
                window: Duration::minutes(15),
            },
            per_address: Limit {
                max_failures: 30,
                window: Duration::minutes(15),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Keys,
    /// Seals personal data at rest and keys its lookup hashes.
    pub data_key: DataKey,
    pub auth: AuthSettings,
    /// Outgoing HTTP (the mini-program's code exchange), with timeouts.
    pub http: reqwest::Client,
    pub wechat: crate::infra::config::WechatConfig,
    /// The server's hybrid logical clock, shared by every worker.
    pub hlc: Arc<Mutex<Clock>>,
    /// Photo and document storage, and uploads in progress.
    pub photos: Arc<Photos>,
    /// How slowly a request body may arrive.
    pub body_pace: crate::infra::http::pace::BodyPace,
    /// The origins whose web pages may call the API.
    pub cors: crate::infra::http::cors::CorsPolicy,
    /// The console's browser sessions.
    pub console: crate::infra::config::ConsoleSettings,
    /// Whether this instance does the background work (the health check tells).
    pub leadership: crate::infra::db::leadership::Leadership,
}

/// How far ahead of the server's clock a device's clock may run before its changes are
/// refused. A clock ahead wins every last-writer contest for as long as it is ahead, so
/// this is kept short: phones set their clocks from the network, and five minutes covers
/// a drifting one; a phone set to next year is told to correct its clock.
pub const MAX_CLOCK_DRIFT_MS: u64 = 5 * 60 * 1000;

/// The server's clock, for changes made on the server (conflict resolutions). Each process
/// gets a node name of its own: two instances stamping in the same millisecond must not
/// make equal timestamps, or a merge between their changes would have no winner.
pub fn server_clock() -> Arc<Mutex<Clock>> {
    // The last 12 hex digits of a v7 UUID are random.
    let node = format!(
        "server.{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    );
    Arc::new(Mutex::new(Clock::new(node, MAX_CLOCK_DRIFT_MS)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_process_stamps_with_a_node_of_its_own() {
        let stamp = |c: &super::Clock| c.clone().tick(1_000).map(|h| h.node);
        let (a, b) = (super::server_clock(), super::server_clock());
        let (a, b) = (
            stamp(&a.lock().expect("clock")),
            stamp(&b.lock().expect("clock")),
        );
        assert_ne!(a.as_ref().ok(), b.as_ref().ok());
        assert!(a.is_ok_and(|n| n.starts_with("server.")));
    }
}
