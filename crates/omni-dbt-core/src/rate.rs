//! The [`RateLimit`] setting: how many requests per minute one API key may send, parsed and shown.
//!
//! The limiter that enforces it (and slows below it when the server pushes back) is
//! [`KeyLimiter`](crate::KeyLimiter).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// The most requests per minute one API key may send: a ceiling, not a promise.
///
/// Omni documents 60 requests per minute per key (500 on request), which is the default. The
/// key's [`KeyLimiter`](crate::KeyLimiter) never exceeds it, and goes slower while the server
/// answers 429 (another runner on the same key, or a limit lower than configured).
///
/// ```
/// use std::num::NonZeroU32;
/// use omni_dbt_core::RateLimit;
/// let rate: RateLimit = "10/s".parse().unwrap();
/// assert_eq!(rate.to_string(), "600/min");
/// assert_eq!(rate.per_minute(), NonZeroU32::new(600));
/// assert_eq!("unlimited".parse::<RateLimit>().unwrap(), RateLimit::Unlimited);
/// assert_eq!(RateLimit::Unlimited.per_minute(), None);
/// assert_eq!(RateLimit::default().to_string(), "60/min");
/// assert!("fast".parse::<RateLimit>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimit {
    /// At most this many requests per minute, evenly spaced.
    PerMinute(NonZeroU32),
    /// No client-side ceiling: requests go unpaced until the server's first 429s teach the
    /// limiter a pace.
    Unlimited,
}

impl RateLimit {
    /// The ceiling in requests per minute; `None` when unlimited.
    pub fn per_minute(&self) -> Option<NonZeroU32> {
        match self {
            Self::PerMinute(n) => Some(*n),
            Self::Unlimited => None,
        }
    }
}

/// Omni's documented limit: 60 requests per minute per API key.
const DEFAULT_PER_MINUTE: NonZeroU32 = match NonZeroU32::new(60) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

impl Default for RateLimit {
    /// 60 requests per minute, Omni's documented limit.
    fn default() -> Self {
        Self::PerMinute(DEFAULT_PER_MINUTE)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PerMinute(n) => write!(f, "{n}/min"),
            Self::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// Why a rate limit could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate limit {input:?}: expected N/min, N/s or unlimited (for example 60/min)")]
pub struct ParseRateLimitError {
    input: String,
}

impl FromStr for RateLimit {
    type Err = ParseRateLimitError;

    /// Parses `N/min` (also `N/m`, `N/minute`), `N/s` (also `N/sec`, `N/second`) or `unlimited`,
    /// in the rate grammar every crate of the workspace shares (`omni-dbt-units`). The client
    /// paces per minute, so only windows of one second or one minute are accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ParseRateLimitError {
            input: s.to_owned(),
        };
        let quota = match s.parse::<omni_dbt_units::Rate>().map_err(|_| error())? {
            omni_dbt_units::Rate::Unlimited => return Ok(Self::Unlimited),
            omni_dbt_units::Rate::Limited(quota) => quota,
        };
        let per_window = quota.count().get();
        let per_minute = match quota.window() {
            window if window == Duration::from_secs(60) => Some(per_window),
            window if window == Duration::from_secs(1) => per_window.checked_mul(60),
            _ => None,
        };
        per_minute
            .and_then(NonZeroU32::new)
            .map(Self::PerMinute)
            .ok_or_else(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let per_min = |n| RateLimit::PerMinute(NonZeroU32::new(n).unwrap());
        assert_eq!("60/min".parse::<RateLimit>().unwrap(), per_min(60));
        assert_eq!(" 500/MIN ".parse::<RateLimit>().unwrap(), per_min(500));
        assert_eq!("10/s".parse::<RateLimit>().unwrap(), per_min(600));
        assert_eq!(
            "Unlimited".parse::<RateLimit>().unwrap(),
            RateLimit::Unlimited
        );
        for bad in [
            "0/min",
            "60",
            "60/h",
            "-1/min",
            "x/min",
            "",
            "99999999999/s",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["60/min", "500/min", "unlimited"] {
            assert_eq!(text.parse::<RateLimit>().unwrap().to_string(), text);
        }
    }
}
