//! Per-token request limits: the [`RateLimit`] setting and the fixed-window limiter that enforces it.
//!
//! The sandbox counts requests per API token in fixed windows: a token's window opens at its
//! first request and lasts `window`; the first `requests` requests in it are admitted, later ones
//! get 429 until the window ends (a denied request does not count). This mirrors Omni's documented
//! "60 requests per minute per API key" closely enough to exercise a client's backoff, and is
//! exact and easy to reason about in tests.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::duration::{format_duration, parse_duration};

/// How many requests one token may make per window.
///
/// Parses from `"60/min"`, `"500/min"`, `"10/s"`, `"1000/h"`, `"5/30s"` or `"unlimited"`
/// (also `"none"`, `"off"`).
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
    /// At most `requests` requests per token in each fixed window of `window`.
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
}

impl Default for RateLimit {
    /// 60 requests per minute, Omni's documented limit.
    fn default() -> Self {
        RateLimit::per_minute(60)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RateLimit::Unlimited => f.write_str("unlimited"),
            RateLimit::Limited { requests, window } if window == Duration::from_secs(60) => {
                write!(f, "{requests}/min")
            }
            RateLimit::Limited { requests, window } => {
                write!(f, "{requests}/{}", format_duration(window))
            }
        }
    }
}

/// A rate limit that could not be parsed, with the text and the reason.
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
        let trimmed = text.trim();
        if ["unlimited", "none", "off"]
            .iter()
            .any(|word| trimmed.eq_ignore_ascii_case(word))
        {
            return Ok(RateLimit::Unlimited);
        }
        let (count, per) = trimmed
            .split_once('/')
            .ok_or_else(|| RateLimitParseError::new(text, "missing `/`"))?;
        let requests: u32 = count
            .trim()
            .parse()
            .map_err(|_| RateLimitParseError::new(text, "the request count must be an integer"))?;
        let window = match per.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => parse_duration(other)
                .ok_or_else(|| RateLimitParseError::new(text, "unknown window unit"))?,
        };
        let limit = RateLimit::Limited { requests, window };
        limit.validate().map_err(|_| {
            RateLimitParseError::new(text, "the count and the window must be above zero")
        })?;
        Ok(limit)
    }
}

/// The limiter's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead.
    Admitted,
    /// Over the limit; the window reopens after `retry_after`.
    Limited { retry_after: Duration },
}

/// Fixed-window counters per token.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    admitted: u32,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Admits or refuses one request by `token` now.
    pub(crate) fn check(&self, token: &str) -> Admission {
        if self.limit == RateLimit::Unlimited {
            return Admission::Admitted;
        }
        self.check_at(token, Instant::now())
    }

    /// Admits or refuses one request by `token` at instant `now` (the clock is a parameter so
    /// that tests control time).
    pub(crate) fn check_at(&self, token: &str, now: Instant) -> Admission {
        let RateLimit::Limited { requests, window } = self.limit else {
            return Admission::Admitted;
        };
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let state = match windows.get_mut(token) {
            Some(state) => state,
            None => windows.entry(token.to_owned()).or_insert(Window {
                opened: now,
                admitted: 0,
            }),
        };
        if now.saturating_duration_since(state.opened) >= window {
            *state = Window {
                opened: now,
                admitted: 0,
            };
        }
        if state.admitted < requests {
            state.admitted += 1;
            Admission::Admitted
        } else {
            let reopens = state.opened + window;
            Admission::Limited {
                retry_after: reopens.saturating_duration_since(now),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(retry_after: Duration) -> Admission {
        Admission::Limited { retry_after }
    }

    #[test]
    fn the_request_after_the_limit_is_refused_until_the_window_ends() {
        let limiter = RateLimiter::new(RateLimit::Limited {
            requests: 3,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                limiter.check_at("a", t0 + Duration::from_secs(i)),
                Admission::Admitted
            );
        }
        assert_eq!(
            limiter.check_at("a", t0 + Duration::from_secs(10)),
            limited(Duration::from_secs(50))
        );
        assert_eq!(
            limiter.check_at("a", t0 + Duration::from_secs(59)),
            limited(Duration::from_secs(1))
        );
        assert_eq!(
            limiter.check_at("a", t0 + Duration::from_secs(60)),
            Admission::Admitted,
            "a new window opens"
        );
    }

    #[test]
    fn each_token_has_its_own_window() {
        let limiter = RateLimiter::new(RateLimit::Limited {
            requests: 1,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("a", t0), Admission::Admitted);
        assert!(matches!(
            limiter.check_at("a", t0),
            Admission::Limited { .. }
        ));
        assert_eq!(limiter.check_at("b", t0), Admission::Admitted);
    }

    #[test]
    fn unlimited_admits_everything() {
        let limiter = RateLimiter::new(RateLimit::Unlimited);
        assert!((0..10_000).all(|_| limiter.check("a") == Admission::Admitted));
    }

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
}
