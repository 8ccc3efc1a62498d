//! [`KeyStatus`]: a read-only snapshot of one key's pacing, for progress lines and summaries.

use std::time::{Duration, SystemTime};

use crate::rate::RateLimit;

/// What one key's limiter is doing now: returned by
/// [`KeyLimiter::status`](crate::KeyLimiter::status).
///
/// ```
/// use omni_dbt_core::{KeyLimiter, RateLimit};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limiter = KeyLimiter::new("600/min".parse().unwrap());
/// let status = limiter.status();
/// assert_eq!(status.ceiling, "600/min".parse::<RateLimit>().unwrap());
/// assert!(!status.slowed);
/// assert_eq!(status.pace_per_minute, Some(588.0)); // evenly paced at 98% of the ceiling
/// assert_eq!(status.paused_for, None);
/// assert_eq!(status.backoff_until, None);
/// assert_eq!(status.rate_limited, 0);
/// assert_eq!(status.share, None, "the whole key");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// The configured ceiling (`--rate`).
    pub ceiling: RateLimit,
    /// The part of the ceiling the key started at, when it is shared with other runners (see
    /// [`KeyLimiter::with_share`](crate::KeyLimiter::with_share)); `None` for the whole key.
    pub share: Option<f64>,
    /// The pace requests are held to now, in requests per minute; `None` while an unlimited key
    /// has not met a 429 (it is not paced at all).
    pub pace_per_minute: Option<f64>,
    /// Whether the key is paced below its ceiling: by 429s, or by its [`share`](Self::share)
    /// of a shared key (for an unlimited key: whether it is paced at all).
    pub slowed: bool,
    /// How much longer every request of the key is held back because the server sent
    /// `Retry-After`, if it is.
    pub paused_for: Option<Duration>,
    /// When that pause ends, by the system clock (for showing "until when").
    pub paused_until: Option<SystemTime>,
    /// When the longest retry backoff now under way for a request of this key ends, by the
    /// system clock, if one of at least 5 s is (a failing server's backoff, not a 429's pause).
    pub backoff_until: Option<SystemTime>,
    /// 429 responses this limiter has seen, from every client sharing it.
    pub rate_limited: u64,
}
