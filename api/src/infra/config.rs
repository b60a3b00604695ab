//! Configuration: command-line flags, then environment variables, then an optional TOML
//! file, then defaults. Secrets are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::infra::db::{DbOptions, DbTarget, SqliteSync, default_sqlite_path};
use crate::infra::http::cors::CorsPolicy;
use crate::infra::http::pace::BodyPace;

/// Settings as read from flags and environment (clap fills them; all optional).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Address to listen on [env: BANGFU_ADDR] [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "BANGFU_ADDR")]
    pub addr: Option<SocketAddr>,
    /// Folder for the embedded database, photos and the generated signing key
    /// [env: BANGFU_DATA_DIR] [default: ./data]
    #[arg(long, global = true, env = "BANGFU_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL, or a SQLite file path [env: DATABASE_URL]
    /// [default: <data dir>/bangfu.db]
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Optional TOML file with the same settings [env: BANGFU_CONFIG]
    #[arg(long, global = true, env = "BANGFU_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The optional configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub addr: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub workers: Option<usize>,
    pub pool_size: Option<u32>,
    pub sqlite_synchronous: Option<SqliteSync>,
    pub access_token_minutes: Option<i64>,
    pub log_format: Option<LogFormat>,
    pub photo_store: Option<String>,
    /// Seconds every request body gets before the minimum rate counts (default 20).
    pub body_grace_secs: Option<u64>,
    /// Bytes per second a body must keep up after the grace time (default 500).
    pub body_min_rate: Option<u64>,
    /// Origins whose web pages may call the API (CORS); none by default.
    pub cors_origins: Option<Vec<String>>,
    /// The console's idle timeout in seconds (default 1800).
    pub console_idle_secs: Option<i64>,
    /// The console's absolute session lifetime in hours (default 12).
    pub console_lifetime_hours: Option<i64>,
    /// Mark the console's cookie `Secure` even when requests arrive over plain HTTP (a TLS
    /// proxy in front); it is always `Secure` on requests made over HTTPS.
    pub console_secure_cookie: Option<bool>,
    /// Seconds between a standby's tries for the background work's lock, and between the
    /// leader's checks of it (PostgreSQL; default 5).
    pub leader_retry_secs: Option<u64>,
    #[serde(default)]
    pub s3: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The settings in force.
#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub db: DbOptions,
    pub workers: usize,
    pub access_token_minutes: i64,
    pub log_format: LogFormat,
    pub wechat: WechatConfig,
    /// Where photo and document bytes go: a folder (default `<data dir>/photos`) or
    /// `s3://bucket[/prefix]` (endpoint and credentials from the `AWS_*` variables).
    pub photo_store: String,
    /// S3 settings by `object_store` name (`aws_endpoint`, `aws_access_key_id`, …), applied
    /// over the `AWS_*` variables; empty unless set in code (tests) or the file.
    pub s3_options: Vec<(String, String)>,
    /// How slowly a request body may arrive before it is cut off (408).
    pub body_pace: BodyPace,
    /// The origins whose web pages may call the API (none: same-origin only).
    pub cors: CorsPolicy,
    pub console: ConsoleSettings,
    /// How often a standby tries to lead the background work, and the leader checks that
    /// it still does (see [`crate::infra::db::leadership`]).
    pub leader_retry: std::time::Duration,
    jwt_secret: Option<String>,
}

/// How the console's browser sessions behave.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSettings {
    pub idle: chrono::Duration,
    pub lifetime: chrono::Duration,
    /// `Secure` cookies even over plain HTTP.
    pub secure_cookie: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            idle: chrono::Duration::minutes(30),
            lifetime: chrono::Duration::hours(12),
            secure_cookie: false,
        }
    }
}

/// The mini-program's sign-in: a login code from `wx.login` is exchanged for the user's
/// openid at WeChat's `jscode2session` endpoint (or a stand-in at another URL).
#[derive(Clone, Default)]
pub struct WechatConfig {
    pub app_id: Option<String>,
    pub app_secret: Option<String>,
    pub code2session_url: String,
    /// The mobile app's own WeChat app id and secret (Open Platform), for sign-in from the
    /// app with `sns/oauth2/access_token`.
    pub mobile_app_id: Option<String>,
    pub mobile_app_secret: Option<String>,
    pub oauth_url: String,
}

impl std::fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatConfig")
            .field("app_id", &self.app_id)
            .field("code2session_url", &self.code2session_url)
            .field("mobile_app_id", &self.mobile_app_id)
            .field("oauth_url", &self.oauth_url)
            .finish_non_exhaustive()
    }
}

/// WeChat's code exchange endpoint for mini-programs.
pub const WECHAT_CODE2SESSION: &str = "https://api.weixin.qq.com/sns/jscode2session";
/// WeChat's code exchange endpoint for mobile apps.
pub const WECHAT_OAUTH: &str = "https://api.weixin.qq.com/sns/oauth2/access_token";

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("database", &self.db.target.redacted())
            .field("workers", &self.workers)
            .field("photo_store", &self.photo_store)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    pub fn load(o: &Overrides) -> anyhow::Result<Config> {
        let file: FileConfig = match &o.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = o
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let url = o.database_url.clone().or(file.database_url);
        let target = match url {
            Some(u) => DbTarget::parse(&u),
            None => DbTarget::Sqlite(default_sqlite_path(&data_dir)),
        };
        let sqlite_sync = match env("BANGFU_SQLITE_SYNCHRONOUS").as_deref() {
            Some("normal") => SqliteSync::Normal,
            Some("full") => SqliteSync::Full,
            Some(other) => {
                anyhow::bail!("BANGFU_SQLITE_SYNCHRONOUS must be full or normal, not {other:?}")
            }
            None => file.sqlite_synchronous.unwrap_or(SqliteSync::Full),
        };
        let workers = env("BANGFU_WORKERS")
            .map(|w| w.parse().context("BANGFU_WORKERS"))
            .transpose()?
            .or(file.workers)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let log_format = match env("BANGFU_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some(_) => LogFormat::Text,
            None => file.log_format.unwrap_or_default(),
        };
        let photo_store = env("BANGFU_PHOTO_STORE")
            .or(file.photo_store)
            .unwrap_or_else(|| data_dir.join("photos").to_string_lossy().into_owned());
        let default_pace = BodyPace::default();
        let body_pace = BodyPace {
            grace: file
                .body_grace_secs
                .map_or(default_pace.grace, std::time::Duration::from_secs),
            min_rate: file.body_min_rate.unwrap_or(default_pace.min_rate),
        };
        let cors = match env("BANGFU_CORS_ORIGINS") {
            Some(list) => CorsPolicy::parse(&list),
            None => CorsPolicy::parse(&file.cors_origins.unwrap_or_default().join(",")),
        };
        let idle_secs = env("BANGFU_CONSOLE_IDLE_SECS")
            .map(|v| v.parse::<i64>().context("BANGFU_CONSOLE_IDLE_SECS"))
            .transpose()?
            .or(file.console_idle_secs)
            .unwrap_or(30 * 60);
        anyhow::ensure!(idle_secs > 0, "the console's idle timeout must be positive");
        let lifetime_hours = file.console_lifetime_hours.unwrap_or(12);
        anyhow::ensure!(
            lifetime_hours > 0,
            "console_lifetime_hours must be positive"
        );
        let secure_cookie = match env("BANGFU_CONSOLE_SECURE_COOKIE").as_deref() {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                anyhow::bail!("BANGFU_CONSOLE_SECURE_COOKIE must be true or false, not {other:?}")
            }
            None => file.console_secure_cookie.unwrap_or(false),
        };
        let leader_retry_secs = env("BANGFU_LEADER_RETRY_SECS")
            .map(|v| v.parse::<u64>().context("BANGFU_LEADER_RETRY_SECS"))
            .transpose()?
            .or(file.leader_retry_secs)
            .unwrap_or(crate::infra::db::leadership::DEFAULT_RETRY.as_secs());
        // Above the lock session's keepalive window a standby would wait longer to take
        // over than a dead leader takes to be noticed.
        anyhow::ensure!(
            (1..=300).contains(&leader_retry_secs),
            "leader_retry_secs must be between 1 and 300"
        );
        Ok(Config {
            leader_retry: std::time::Duration::from_secs(leader_retry_secs),
            console: ConsoleSettings {
                idle: chrono::Duration::seconds(idle_secs),
                lifetime: chrono::Duration::hours(lifetime_hours),
                secure_cookie,
            },
            photo_store,
            body_pace,
            cors,
            s3_options: file.s3.into_iter().collect(),
            addr: o
                .addr
                .or(file.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            db: DbOptions {
                target,
                pool_size: file.pool_size.unwrap_or(16),
                sqlite_sync,
                connect_timeout: std::time::Duration::from_secs(5),
            },
            data_dir,
            workers,
            access_token_minutes: file.access_token_minutes.unwrap_or(15),
            log_format,
            wechat: WechatConfig {
                app_id: env("BANGFU_WECHAT_APP_ID"),
                app_secret: env("BANGFU_WECHAT_APP_SECRET"),
                code2session_url: env("BANGFU_WECHAT_CODE2SESSION_URL")
                    .unwrap_or_else(|| WECHAT_CODE2SESSION.to_owned()),
                mobile_app_id: env("BANGFU_WECHAT_MOBILE_APP_ID"),
                mobile_app_secret: env("BANGFU_WECHAT_MOBILE_APP_SECRET"),
                oauth_url: env("BANGFU_WECHAT_OAUTH_URL")
                    .unwrap_or_else(|| WECHAT_OAUTH.to_owned()),
            },
            jwt_secret: env("BANGFU_JWT_SECRET"),
        })
    }

    /// The token signing secret: `BANGFU_JWT_SECRET`, else one generated once and kept in
    /// the data folder (readable by the owner only). Several instances must share it.
    pub fn jwt_secret(&self) -> anyhow::Result<String> {
        if let Some(s) = &self.jwt_secret {
            anyhow::ensure!(
                s.len() >= 32,
                "BANGFU_JWT_SECRET must be at least 32 characters"
            );
            return Ok(s.clone());
        }
        load_or_create_secret(&self.data_dir.join("jwt_secret"))
    }

    /// The key that seals personal data (resident ID numbers) and keys their lookup hash:
    /// `BANGFU_DATA_KEY`, else one generated once into the data folder. Losing it makes
    /// sealed numbers unreadable; back it up apart from the database.
    pub fn data_key(&self) -> anyhow::Result<String> {
        if let Ok(s) = std::env::var("BANGFU_DATA_KEY") {
            anyhow::ensure!(
                s.len() >= 32,
                "BANGFU_DATA_KEY must be at least 32 characters"
            );
            return Ok(s);
        }
        load_or_create_secret(&self.data_dir.join("data_key"))
    }
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(s) = std::fs::read_to_string(path) {
        let s = s.trim().to_owned();
        anyhow::ensure!(
            s.len() >= 32,
            "{} is too short; delete it to generate a new one",
            path.display()
        );
        return Ok(s);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = crate::infra::sealing::random_secret()?;
    write_private(path, &secret)?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fills_what_flags_leave_open() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("bangfu-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("bangfu.toml");
        std::fs::write(
            &file,
            "addr = \"0.0.0.0:9000\"\ndata_dir = \"/srv/bangfu\"\ndatabase_url = \"postgres://app@db/bangfu\"\n\
             pool_size = 4\nsqlite_synchronous = \"normal\"\naccess_token_minutes = 5\n\
             cors_origins = [\"https://h5.example\", \"http://localhost:5173/\"]\n\
             leader_retry_secs = 2\n",
        )?;
        let from_file = Config::load(&Overrides {
            config: Some(file.clone()),
            ..Overrides::default()
        })?;
        assert_eq!(from_file.addr, "0.0.0.0:9000".parse()?);
        assert_eq!(from_file.data_dir, PathBuf::from("/srv/bangfu"));
        assert_eq!(
            from_file.db.target,
            DbTarget::Postgres("postgres://app@db/bangfu".into())
        );
        assert_eq!(
            (from_file.db.pool_size, from_file.access_token_minutes),
            (4, 5)
        );
        assert_eq!(
            from_file.cors.origins,
            ["https://h5.example", "http://localhost:5173"]
        );
        assert_eq!(from_file.leader_retry, std::time::Duration::from_secs(2));
        // A flag wins over the file; without a database URL the SQLite file sits in the data dir.
        let flagged = Config::load(&Overrides {
            addr: Some("127.0.0.1:7000".parse()?),
            data_dir: Some(dir.clone()),
            database_url: None,
            config: None,
        })?;
        assert_eq!(flagged.addr, "127.0.0.1:7000".parse()?);
        assert_eq!(flagged.db.target, DbTarget::Sqlite(dir.join("bangfu.db")));
        assert_eq!(flagged.leader_retry, std::time::Duration::from_secs(5));
        // Unknown settings are refused rather than silently ignored.
        std::fs::write(&file, "adress = \"0.0.0.0:9000\"\n")?;
        assert!(
            Config::load(&Overrides {
                config: Some(file),
                ..Overrides::default()
            })
            .is_err()
        );
        // The generated secret is kept and reused, readable by the owner only.
        let first = flagged.jwt_secret()?;
        assert_eq!(first, flagged.jwt_secret()?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt_secret"))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
