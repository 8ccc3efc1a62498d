//! The one error type of the core crate and its classification (retryable, ambiguous).

use std::time::Duration;

use crate::validate::ValidationErrors;

/// Longest error body kept in [`Error::Api::body`], in bytes.
pub const MAX_ERROR_BODY: usize = 1024;

/// Everything that can go wrong talking to Omni.
///
/// No variant ever holds the API token or a secret variable value: request bodies are not kept,
/// and response bodies never contain secrets (Omni returns them as `null`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request failed client-side validation and was not sent.
    #[error("invalid request: {0}")]
    Invalid(ValidationErrors),

    /// The client's configuration is unusable (bad base URL, plain HTTP to a remote host, ...).
    #[error("configuration: {0}")]
    Config(String),

    /// Omni answered with a non-success status other than 429.
    #[error("HTTP {status}: {message}")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The message from the body's `detail`, `message` or `error` field, else the status text.
        message: String,
        /// The body as received, truncated to [`MAX_ERROR_BODY`] bytes.
        body: String,
    },

    /// Omni answered 429 Too Many Requests.
    #[error("rate limited (HTTP 429){}", retry_after_text(*.retry_after))]
    RateLimited {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },

    /// No complete response arrived within the request timeout.
    #[error("timed out after {0:?} waiting for Omni")]
    Timeout(Duration),

    /// The connection failed.
    #[error("network error: {message}")]
    Transport {
        /// What failed, without the URL's query or any header.
        message: String,
        /// `true` when the request may have reached the server (the connection broke after
        /// it was sent); `false` when it certainly did not (connection refused, DNS, TLS).
        maybe_sent: bool,
    },

    /// The response could not be read as the expected JSON.
    #[error("unexpected response from Omni: {0}")]
    Decode(String),

    /// A retryable error that was not retried: the run's [`RetryBudget`](crate::RetryBudget) is
    /// spent because too many requests failed recently. Not retryable; ambiguous (and its
    /// status) as its source is.
    #[error("not retried: the run's retry budget is spent because too many requests failed recently; last error: {source}")]
    RetryBudgetExhausted {
        /// The error that would have been retried.
        source: Box<Error>,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(", retry after {d:?}"))
}

impl Error {
    /// The HTTP status of the response that caused this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::RetryBudgetExhausted { source } => source.status(),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: 429, 500, 502, 503, 504, timeouts and
    /// network errors. Never 400, 401, 403, 404, 409 or 422.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout(_) | Self::Transport { .. } => true,
            Self::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether the request may have been applied although no success came back: a timeout, a
    /// connection broken after sending, or a 5xx. A write whose error is ambiguous must not be
    /// re-sent before checking whether it took effect.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Transport { maybe_sent, .. } => *maybe_sent,
            Self::Api { status, .. } => *status >= 500,
            Self::RetryBudgetExhausted { source } => source.is_ambiguous(),
            _ => false,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            message: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn classification_follows_the_status_table() {
        for status in [500, 502, 503, 504] {
            assert!(api(status).is_retryable(), "{status}");
            assert!(api(status).is_ambiguous(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!api(status).is_retryable(), "{status}");
            assert!(!api(status).is_ambiguous(), "{status}");
        }
        let limited = Error::RateLimited { retry_after: None };
        assert!(limited.is_retryable() && !limited.is_ambiguous());
        assert_eq!(limited.status(), Some(429));
    }

    #[test]
    fn refused_connections_are_retryable_but_not_ambiguous() {
        let refused = Error::Transport {
            message: "connection refused".into(),
            maybe_sent: false,
        };
        assert!(refused.is_retryable() && !refused.is_ambiguous());
        assert!(Error::Timeout(Duration::from_secs(1)).is_ambiguous());
    }
}
