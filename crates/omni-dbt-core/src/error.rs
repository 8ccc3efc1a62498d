//! The one error type of the core crate and its classification (retryable, ambiguous).

use std::fmt;
use std::time::Duration;

use crate::model::ConnectionId;
use crate::validate::ValidationErrors;

/// Longest error body kept in [`Error::Api::body`], in bytes.
pub(crate) const MAX_ERROR_BODY: usize = 1024;

/// A cause kept as an error's `source`.
type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to Omni.
///
/// No variant ever holds the API token or a secret variable value: request bodies are not kept,
/// response bodies never contain secrets (Omni returns them as `null`), and text that comes back
/// from the server (bodies, `Location`) has the token and the request's secret values replaced
/// by `[REDACTED]`. Each variant that has a cause keeps it as
/// [`source`](std::error::Error::source); `Display` stays one human sentence.
///
/// Match on [`is_retryable`](Self::is_retryable), [`is_ambiguous`](Self::is_ambiguous) and
/// [`status`](Self::status) rather than on every variant: more may be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request failed client-side validation and was not sent.
    #[error("invalid request: {0}")]
    Invalid(ValidationErrors),

    /// The client's configuration is unusable (bad base URL, plain HTTP to a remote host, ...).
    #[error(transparent)]
    Config(ConfigError),

    /// Omni answered with a non-success status other than 429 and 3xx.
    #[error("HTTP {status}: {message}")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The message from the body's `detail`, `message` or `error` field, else the status text.
        message: String,
        /// The start of the body as received (at most 1 KiB).
        body: String,
    },

    /// Omni answered 429 Too Many Requests.
    #[error("rate limited (HTTP 429){}", retry_after_text(*.retry_after))]
    RateLimited {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },

    /// The address answered with a redirect, which the client refuses to follow: the request
    /// would carry the API token to wherever it points.
    #[error("{}", redirect_text(*.status, .location.as_deref(), .suggested_base_url.as_deref(), *.followed))]
    Redirect {
        /// The redirect's status (300-399); when `followed`, the status of the last response.
        status: u16,
        /// Where it pointed (its `Location`), with the token and secret values redacted.
        location: Option<String>,
        /// The base URL to use instead, when the redirect points at the same API elsewhere.
        suggested_base_url: Option<String>,
        /// `true` when an HTTP client supplied with
        /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client) followed the redirect
        /// before it could be refused: the request then reached the new address, with what
        /// effect is unknown.
        followed: bool,
    },

    /// No complete response arrived within the request timeout.
    #[error("timed out after {0:?} waiting for Omni")]
    Timeout(Duration),

    /// The connection failed.
    #[error("network error: {message}")]
    Transport {
        /// What failed, without the URL or any header.
        message: String,
        /// `true` when the request may have reached the server (the connection broke after
        /// it was sent); `false` when it certainly did not (connection refused, DNS, TLS).
        maybe_sent: bool,
        /// The HTTP client's error.
        source: Cause,
    },

    /// A success status came back, but its body is not the JSON expected (not JSON at all, or
    /// missing a field such as `id`). The request was applied; what it returned is unknown.
    #[error("unexpected response from Omni: {source}")]
    Decode {
        /// Why the body could not be read.
        source: serde_json::Error,
    },

    /// A success status came back with a body larger than the client reads for this kind of
    /// answer. The request was applied; what it returned is unknown. An endless or enormous
    /// body from a misbehaving server or proxy ends here instead of filling memory.
    #[error(
        "Omni's answer ({what}) is larger than {}, the most this client reads for it; \
         the server or a proxy in between is misbehaving",
        byte_size(*.limit)
    )]
    ResponseTooLarge {
        /// What was being read: `"a list page"` or `"an environment"`.
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
    },

    /// Listing a connection's environments did not come to an end.
    #[error("listing the environments of connection {connection} stopped: {problem}")]
    Pagination {
        /// The connection being listed.
        connection: ConnectionId,
        /// What was wrong with the pages.
        problem: PaginationProblem,
    },

    /// A retryable error that was not retried: the run's [`RetryBudget`](crate::RetryBudget) is
    /// spent because too many requests failed recently. Not retryable; ambiguous (and its
    /// status) as its source is.
    #[error("not retried: the run's retry budget is spent because too many requests failed recently; last error: {source}")]
    RetryBudgetExhausted {
        /// The error that would have been retried.
        source: Box<Error>,
    },
}

/// Why a listing was stopped: its pages would not have ended, or not correctly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaginationProblem {
    /// The server handed out a cursor it had already given (a loop).
    RepeatedCursor {
        /// The cursor (at most 100 characters of it).
        cursor: String,
    },
    /// A page said more pages follow but gave no cursor to fetch them with.
    MissingCursor,
    /// More records arrived than the pages' `totalRecords` announced, by more than a page.
    BeyondTotal {
        /// Records received so far.
        received: u64,
        /// The `totalRecords` of the last page.
        total: u64,
    },
    /// The listing reached the client's page limit with more pages still announced.
    TooManyPages {
        /// The limit ([`ClientBuilder::max_pages`](crate::ClientBuilder::max_pages)).
        limit: u32,
    },
}

impl fmt::Display for PaginationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RepeatedCursor { cursor } => write!(
                f,
                "the server returned cursor {cursor:?} twice; stopping to avoid a loop"
            ),
            Self::MissingCursor => f.write_str(
                "a page announced another page but gave no cursor; the listing would be incomplete",
            ),
            Self::BeyondTotal { received, total } => write!(
                f,
                "{received} records received although the server announced {total}; \
                 stopping a listing that does not end"
            ),
            Self::TooManyPages { limit } => write!(
                f,
                "still more pages after {limit} pages, the most this client reads for one \
                 connection; stopping a listing that does not end"
            ),
        }
    }
}

/// An unusable client configuration: what is wrong and what to do, with the underlying cause
/// (such as the URL parser's error) as its [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct ConfigError {
    message: String,
    source: Option<Cause>,
}

impl ConfigError {
    /// A configuration problem described by `message`.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A configuration problem caused by `source`.
    pub(crate) fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What is wrong, without the `configuration:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(", retry after {d:?}"))
}

fn redirect_text(
    status: u16,
    location: Option<&str>,
    suggested: Option<&str>,
    followed: bool,
) -> String {
    let target = location.map_or_else(
        || " without saying where".to_owned(),
        |l| format!(" to {l}"),
    );
    let advice = match suggested {
        Some(base) => format!("use the base URL {base} instead"),
        None => "check the base URL: it should be the Omni instance itself, such as \
                 https://<instance>.omniapp.co"
            .to_owned(),
    };
    if followed {
        format!(
            "the request was redirected{target} (HTTP {status} at the end) by the HTTP client \
             supplied to this client; redirects are refused because they would carry the API \
             token elsewhere: {advice}, and build that HTTP client without redirects"
        )
    } else {
        format!(
            "Omni's address answered HTTP {status}, a redirect{target}; redirects are refused \
             because they would carry the API token elsewhere: {advice}"
        )
    }
}

/// `n` bytes in the largest binary unit that divides it evenly (`32 MiB`, `65 KiB`, `1000 bytes`).
fn byte_size(n: u64) -> String {
    const KIB: u64 = 1024;
    for (unit, size) in [("GiB", KIB * KIB * KIB), ("MiB", KIB * KIB), ("KiB", KIB)] {
        if n >= size && n % size == 0 {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

impl Error {
    /// The HTTP status of the response that caused this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Redirect { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::RetryBudgetExhausted { source } => source.status(),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: 429, 500, 502, 503, 504, timeouts and
    /// network errors. Never 400, 401, 403, 404, 409 or 422, redirects, or bodies that could not
    /// be read.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout(_) | Self::Transport { .. } => true,
            Self::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether the request may have been applied although no usable success came back: a
    /// timeout, a connection broken after sending, a 5xx, a success whose body could not be
    /// read, or a redirect the supplied HTTP client followed. A write whose error is ambiguous
    /// must not be re-sent before checking whether it took effect.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Transport { maybe_sent, .. } => *maybe_sent,
            Self::Api { status, .. } => *status >= 500,
            Self::Redirect { followed, .. } => *followed,
            Self::Decode { .. } | Self::ResponseTooLarge { .. } => true,
            Self::RetryBudgetExhausted { source } => source.is_ambiguous(),
            _ => false,
        }
    }

    /// Whether the server answered the request (a success, or a redirect it went through) but
    /// the answer cannot be used: retrying cannot help, looking the result up can.
    pub(crate) fn is_unusable_answer(&self) -> bool {
        matches!(
            self,
            Self::Decode { .. }
                | Self::ResponseTooLarge { .. }
                | Self::Redirect { followed: true, .. }
        )
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config(ConfigError::new(message))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            message: String::new(),
            body: String::new(),
        }
    }

    fn decode_error() -> Error {
        let source = serde_json::from_str::<u8>("<html>").unwrap_err();
        Error::Decode { source }
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
            source: std::io::Error::other("connection refused").into(),
        };
        assert!(refused.is_retryable() && !refused.is_ambiguous());
        assert!(refused.source().is_some());
        assert!(Error::Timeout(Duration::from_secs(1)).is_ambiguous());
    }

    #[test]
    fn unreadable_answers_are_ambiguous_but_not_retryable() {
        let too_large = Error::ResponseTooLarge {
            what: "a list page",
            limit: 32 << 20,
        };
        let followed = Error::Redirect {
            status: 200,
            location: None,
            suggested_base_url: None,
            followed: true,
        };
        for error in [decode_error(), too_large, followed] {
            assert!(error.is_ambiguous() && !error.is_retryable(), "{error:?}");
            assert!(error.is_unusable_answer(), "{error:?}");
        }
        let refused = Error::Redirect {
            status: 307,
            location: None,
            suggested_base_url: None,
            followed: false,
        };
        assert!(!refused.is_ambiguous() && !refused.is_retryable());
        assert_eq!(refused.status(), Some(307));
    }

    #[test]
    fn causes_are_kept_as_source_and_display_stays_one_sentence() {
        let decode = decode_error();
        assert!(decode.source().is_some_and(|s| s.is::<serde_json::Error>()));
        let url = url::Url::parse("https://a b").unwrap_err();
        let config = Error::Config(ConfigError::caused_by("bad base URL", url));
        assert_eq!(config.to_string(), "configuration: bad base URL");
        assert!(config.source().is_some_and(|s| s.is::<url::ParseError>()));
        assert!(Error::config("x").source().is_none());
    }

    #[test]
    fn sizes_are_shown_in_the_largest_even_unit() {
        assert_eq!(byte_size(32 << 20), "32 MiB");
        assert_eq!(byte_size(64 << 10), "64 KiB");
        assert_eq!(byte_size(1000), "1000 bytes");
        assert_eq!(byte_size(3 << 30), "3 GiB");
        let error = Error::ResponseTooLarge {
            what: "a list page",
            limit: 32 << 20,
        };
        assert!(error.to_string().contains("32 MiB"), "{error}");
    }

    #[test]
    fn a_redirect_says_it_is_refused_where_it_pointed_and_what_to_use() {
        let error = Error::Redirect {
            status: 307,
            location: Some("https://acme.omniapp.co/api/v1/connections/x".into()),
            suggested_base_url: Some("https://acme.omniapp.co".into()),
            followed: false,
        };
        let text = error.to_string();
        for part in [
            "HTTP 307",
            "redirects are refused",
            "to https://acme.omniapp.co/api/v1/connections/x",
            "use the base URL https://acme.omniapp.co instead",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
