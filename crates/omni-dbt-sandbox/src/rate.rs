//! The rate-limit settings: [`RateLimit`] (how many requests per window) and [`RateWindow`] (how windows are counted).
//!
//! The text forms are parsed by `omni-dbt-units`, the one parser of rates for the whole
//! workspace; this module only maps its value onto the sandbox's setting.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use omni_dbt_units::Rate;

/// How many requests one token may make per window.
///
/// Parses from `"60/min"`, `"500/min"`, `"10/s"`, `"1000/h"`, `"5/30s"` or `"unlimited"`
/// (also `"none"`, `"off"`), the rate grammar of `omni_dbt_units::Rate`.
///
/// ```
/// use omni_dbt_sandbox::RateLimit;
/// use std::time::Duration;
///
/// let limit: RateLimit = "60/min".parse().unwrap();
/// assert_eq!(limit, RateLimit::per_minute(60));
/// assert_eq!("unlimited".parse::<RateLimit>().unwrap(), RateLimit::Unlimited);
/// assert_eq!(
///     "5/30s".parse::<RateLimit>().unwrap(),
///     RateLimit::Limited { requests: 5, window: Duration::from_secs(30) }
/// );
/// assert!("0/min".parse::<RateLimit>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// No limit.
    Unlimited,
    /// At most `requests` requests per token per window of `window` (counted as the
    /// [`RateWindow`] setting says).
    Limited {
        /// Requests admitted per window (at least 1).
        requests: u32,
        /// The window length (more than zero).
        window: Duration,
    },
}

impl RateLimit {
    /// `requests` per minute: Omni's documented default is 60, 500 on request.
    pub const fn per_minute(requests: u32) -> Self {
        RateLimit::Limited {
            requests,
            window: Duration::from_secs(60),
        }
    }

    /// Checks that a limited setting admits at least one request in a non-empty window.
    pub(crate) fn validate(&self) -> Result<(), RateLimitParseError> {
        match *self {
            RateLimit::Limited { requests: 0, .. } => Err(RateLimitParseError::new(
                &self.to_string(),
                "the request count must be at least 1",
            )),
            RateLimit::Limited { window, .. } if window.is_zero() => Err(RateLimitParseError::new(
                &self.to_string(),
                "the window must be longer than zero",
            )),
            _ => Ok(()),
        }
    }

    fn as_rate(&self) -> Option<Rate> {
        match *self {
            RateLimit::Unlimited => Some(Rate::Unlimited),
            RateLimit::Limited { requests, window } => {
                let count = std::num::NonZeroU32::new(requests)?;
                omni_dbt_units::Quota::new(count, window).map(Rate::Limited)
            }
        }
    }
}

impl Default for RateLimit {
    /// 60 requests per minute, Omni's documented limit.
    fn default() -> Self {
        RateLimit::per_minute(60)
    }
}

impl fmt::Display for RateLimit {
    /// The rate grammar's form (`60/min`, `10/s`, `5/30s`, `unlimited`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.as_rate(), *self) {
            (Some(rate), _) => rate.fmt(f),
            // Invalid settings (refused at start) still print something readable.
            (None, RateLimit::Limited { requests, window }) => {
                write!(f, "{requests}/{}", omni_dbt_units::format_duration(window))
            }
            (None, RateLimit::Unlimited) => f.write_str("unlimited"),
        }
    }
}

/// A rate limit that could not be parsed or makes no sense, with the text and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate limit `{text}`: {reason} (expected e.g. `60/min`, `10/s`, `5/30s` or `unlimited`)")]
pub struct RateLimitParseError {
    text: String,
    reason: String,
}

impl RateLimitParseError {
    fn new(text: &str, reason: &str) -> Self {
        Self {
            text: text.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<Rate>() {
            Ok(Rate::Unlimited) => Ok(RateLimit::Unlimited),
            Ok(Rate::Limited(quota)) => Ok(RateLimit::Limited {
                requests: quota.count().get(),
                window: quota.window(),
            }),
            Err(error) => Err(RateLimitParseError::new(text, &error.kind().to_string())),
        }
    }
}

/// How the sandbox counts a token's requests against its [`RateLimit`] of N per window.
///
/// Parses from `fixed` or `sliding`.
///
/// ```
/// use omni_dbt_sandbox::RateWindow;
///
/// assert_eq!("sliding".parse::<RateWindow>().unwrap(), RateWindow::Sliding);
/// assert_eq!(RateWindow::default(), RateWindow::Fixed);
/// assert_eq!(RateWindow::Fixed.to_string(), "fixed");
/// assert!("leaky".parse::<RateWindow>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateWindow {
    /// A token's window opens at its first request and lasts the window's length; N requests
    /// are admitted in it, then 429 until it ends and a new one opens. Up to 2N requests can
    /// pass within one window's length across a boundary. The default.
    #[default]
    Fixed,
    /// At most N requests in *any* span of the window's length: a request is admitted only if
    /// fewer than N were admitted in the window's length before it. Stricter than fixed
    /// windows: no burst across a boundary.
    Sliding,
}

impl RateWindow {
    /// The name in the `fixed|sliding` grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            RateWindow::Fixed => "fixed",
            RateWindow::Sliding => "sliding",
        }
    }
}

impl fmt::Display for RateWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rate window mode that is neither `fixed` nor `sliding`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate window `{0}`: expected `fixed` or `sliding`")]
pub struct RateWindowParseError(String);

impl FromStr for RateWindow {
    type Err = RateWindowParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fixed" => Ok(RateWindow::Fixed),
            "sliding" => Ok(RateWindow::Sliding),
            _ => Err(RateWindowParseError(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_the_cli_forms() {
        assert_eq!("500/min".parse(), Ok(RateLimit::per_minute(500)));
        assert_eq!(
            "10/s".parse(),
            Ok(RateLimit::Limited {
                requests: 10,
                window: Duration::from_secs(1)
            })
        );
        assert_eq!("OFF".parse(), Ok(RateLimit::Unlimited));
        for text in ["60/min", "unlimited", "5/30s", "7/250ms"] {
            let limit: RateLimit = text.parse().unwrap();
            assert_eq!(limit.to_string(), text);
        }
        assert!("60".parse::<RateLimit>().is_err());
        assert!("x/min".parse::<RateLimit>().is_err());
        assert!("6/fortnight".parse::<RateLimit>().is_err());
        assert!("6/0s".parse::<RateLimit>().is_err());
    }

    #[test]
    fn errors_name_the_text_and_the_reason() {
        let message = "6/0s".parse::<RateLimit>().unwrap_err().to_string();
        assert!(message.contains("`6/0s`"), "{message}");
        assert!(message.contains("longer than zero"), "{message}");
        let zero = RateLimit::Limited {
            requests: 0,
            window: Duration::from_secs(60),
        };
        assert!(zero.validate().is_err());
        assert_eq!(zero.to_string(), "0/1m");
    }
}
