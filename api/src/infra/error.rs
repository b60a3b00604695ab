//! The one error type of the server. Every layer returns [`Error`]; `http::problem` turns it
//! into an RFC 9457 `application/problem+json` answer in one place. Each variant has a stable
//! machine `code` that clients may branch on, and bilingual text (Chinese by default).

use std::borrow::Cow;

pub use bangfu_sync::Code;

/// A text in both languages the API speaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Msg {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Msg {
    pub const fn fixed(zh: &'static str, en: &'static str) -> Self {
        Msg {
            zh: Cow::Borrowed(zh),
            en: Cow::Borrowed(en),
        }
    }

    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Msg {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// The response language, chosen from `Accept-Language` (Chinese unless English is preferred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// One problem with one input field; many of them are reported together (R-APP-3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `members[2].id_number`.
    pub field: String,
    /// From the one vocabulary: `required`, `too_long`, `invalid_format`, …
    pub code: Code,
    pub message: Msg,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: Code, message: Msg) -> Self {
        FieldError {
            field: field.into(),
            code,
            message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body or parameters failed validation; every deficiency is listed.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// A request that cannot be understood (bad JSON, bad parameter).
    #[error("bad request: {code}")]
    BadRequest { code: Code, detail: Msg },
    #[error("unauthorized: {code}")]
    Unauthorized { code: Code, detail: Msg },
    /// The caller's role lacks the permission.
    #[error("forbidden: {code}")]
    Forbidden { code: Code, detail: Msg },
    /// Missing, or outside the caller's scope: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {code}")]
    Conflict { code: Code, detail: Msg },
    /// The request is well formed but breaks a rule of the domain.
    #[error("unprocessable: {code}")]
    Unprocessable { code: Code, detail: Msg },
    #[error("precondition failed")]
    PreconditionFailed,
    /// A protocol version (`Tus-Resumable`) this server does not speak.
    #[error("protocol version unsupported: {code}")]
    VersionUnsupported { code: Code, detail: Msg },
    #[error("precondition required")]
    PreconditionRequired,
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType { expected: &'static str },
    /// A sync push carries more mutations than one batch may.
    #[error("batch too large (at most {max})")]
    BatchTooLarge { max: usize },
    /// The client speaks a protocol version this server does not.
    #[error("client upgrade required")]
    UpgradeRequired { detail: Msg },
    /// A sync cursor older than the tombstone horizon: deletions it would need are gone.
    #[error("sync reset required")]
    ResetRequired { detail: Msg },
    /// A `Range` header that lies outside the file (`size` is the file's length).
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The client sent its body too slowly (below the minimum rate after the grace time).
    #[error("request body too slow")]
    BodyTooSlow,
    /// The photo store has no space left; nothing was half-written, retrying later may
    /// succeed once space is freed.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// A dependency (the database) is down; retrying later may succeed.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A service outside bangfu (WeChat) failed or could not be reached.
    #[error("upstream failed: {0}")]
    Upstream(String),
    /// A feature this install has not set up (WeChat sign-in without an app id).
    #[error("not enabled: {code}")]
    NotEnabled { code: Code, detail: Msg },
    /// A bug or an unexpected failure; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, code: Code, message: Msg) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn forbidden() -> Self {
        Error::Forbidden {
            code: Code::Forbidden,
            detail: Msg::fixed(
                "当前角色无权执行此操作。",
                "Your role is not allowed to do this.",
            ),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// A failed file operation: a full disk is the operator's to fix and the client's to
    /// retry (507), anything else a server failure.
    pub fn io(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Error::StorageFull(e.to_string())
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::DatabaseErrorKind as K;
        use diesel::result::Error as D;
        match e {
            D::NotFound => Error::NotFound,
            D::DatabaseError(K::UniqueViolation, info) => Error::Conflict {
                code: Code::AlreadyExists,
                detail: Msg::new(
                    "记录已存在。",
                    format!(
                        "A record with the same key already exists ({}).",
                        info.message()
                    ),
                ),
            },
            D::DatabaseError(K::ForeignKeyViolation, _) => Error::Unprocessable {
                code: Code::ReferenceNotFound,
                detail: Msg::fixed("引用的记录不存在。", "A referenced record does not exist."),
            },
            // The connection broke (the server restarted, the network dropped): retryable.
            D::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                Error::Unavailable(info.message().to_owned())
            }
            D::DatabaseError(K::SerializationFailure, info) => {
                Error::Unavailable(info.message().to_owned())
            }
            // SQLITE_FULL: the disk under the database file is full; nothing was written.
            D::DatabaseError(K::Unknown, info) if info.message() == "database or disk is full" => {
                Error::StorageFull(info.message().to_owned())
            }
            D::DatabaseError(_, info) if connection_lost(info.message()) => {
                Error::Unavailable(info.message().to_owned())
            }
            // A commit (or its rollback) cut off with the connection, and a connection left
            // unusable by that: the transaction did not happen or its outcome is unknown,
            // either way the client retries (pushes and creations are idempotent).
            D::RollbackErrorOnCommit { commit_error, .. } => Error::from(*commit_error),
            D::BrokenTransactionManager => {
                Error::Unavailable("the database connection broke mid-transaction".into())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// PostgreSQL's words for a session ended by the server going away (SQLSTATE class 57P:
/// a shutdown or crash) or by the connection dropping; diesel reports them as unknown
/// database errors.
fn connection_lost(message: &str) -> bool {
    [
        "terminating connection due to administrator command",
        "terminating connection because of crash of another server process",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection unexpectedly",
        "could not receive data from server",
        "no connection to the server",
        "connection to server was lost",
    ]
    .iter()
    .any(|m| message.contains(m))
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_under_the_database_is_507_not_500() {
        use diesel::result::{DatabaseErrorKind as K, Error as D};
        let full = D::DatabaseError(K::Unknown, Box::new("database or disk is full".to_owned()));
        assert!(matches!(Error::from(full), Error::StorageFull(_)));
        let other = D::DatabaseError(K::Unknown, Box::new("disk I/O error".to_owned()));
        assert!(matches!(Error::from(other), Error::Internal(_)));
    }

    #[test]
    fn a_database_going_away_mid_request_is_503_not_500() {
        use diesel::result::{DatabaseErrorKind as K, Error as D};
        let shutdown = || {
            D::DatabaseError(
                K::Unknown,
                Box::new("terminating connection due to administrator command".to_owned()),
            )
        };
        assert!(matches!(Error::from(shutdown()), Error::Unavailable(_)));
        let cut = D::RollbackErrorOnCommit {
            rollback_error: Box::new(D::BrokenTransactionManager),
            commit_error: Box::new(shutdown()),
        };
        assert!(matches!(Error::from(cut), Error::Unavailable(_)));
        assert!(matches!(
            Error::from(D::BrokenTransactionManager),
            Error::Unavailable(_)
        ));
    }
}
