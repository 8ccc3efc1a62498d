//! [`SandboxError`]: why a sandbox could not start or keep running.

use crate::faults::FaultSpecError;
use crate::rate::RateLimitParseError;

/// Why a sandbox could not start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listening socket could not be bound (port in use, or no permission).
    #[error("cannot listen on 127.0.0.1:{port}: {source} (choose another port, or 0 for any)")]
    Bind {
        /// The requested port.
        port: u16,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A setting makes no sense (the reason says which).
    #[error("invalid sandbox configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The fault configuration is invalid.
    #[error(transparent)]
    Faults(#[from] FaultSpecError),
    /// The rate limit is invalid.
    #[error(transparent)]
    RateLimit(#[from] RateLimitParseError),
    /// Waiting for Ctrl-C or SIGTERM failed.
    #[error("cannot listen for Ctrl-C: {0}")]
    Signal(#[source] std::io::Error),
}
