//! Client-side rate limiting: the [`RateLimit`] setting and the per-token limiter every request waits for.
//!
//! One [`TokenLimiter`] exists per (API token, rate) in the process: every clone of a client and
//! every client built with the same token and rate share it, so they share Omni's per-key budget.
//! Requests are evenly paced, slightly under the nominal rate ([`PACING`]) so that a server counting
//! in fixed windows never sees one request too many, with a few milliseconds of slack ([`SLACK`])
//! so that late timer wake-ups do not push every later request back. A 429 pauses the limiter so
//! that every worker using the key slows down, not only the one that was refused.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use governor::clock::Clock;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How many requests per minute one API token may send.
///
/// Omni documents 60 requests per minute per key (500 on request), which is the default.
///
/// ```
/// use omni_dbt_core::RateLimit;
/// let rate: RateLimit = "10/s".parse().unwrap();
/// assert_eq!(rate.to_string(), "600/min");
/// assert_eq!("unlimited".parse::<RateLimit>().unwrap(), RateLimit::Unlimited);
/// assert_eq!(RateLimit::default().to_string(), "60/min");
/// assert!("fast".parse::<RateLimit>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimit {
    /// At most this many requests per minute, evenly spaced.
    PerMinute(NonZeroU32),
    /// No client-side limit (a 429 still pauses the token's requests).
    Unlimited,
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

    /// Parses `N/min` (also `N/m`, `N/minute`), `N/s` (also `N/sec`, `N/second`) or `unlimited`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ParseRateLimitError {
            input: s.to_owned(),
        };
        let text = s.trim().to_ascii_lowercase();
        if text == "unlimited" {
            return Ok(Self::Unlimited);
        }
        let (count, unit) = text.split_once('/').ok_or_else(error)?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        let per_minute = match unit.trim() {
            "min" | "m" | "minute" => Some(count),
            "s" | "sec" | "second" => count.checked_mul(60),
            _ => None,
        };
        per_minute
            .and_then(NonZeroU32::new)
            .map(Self::PerMinute)
            .ok_or_else(error)
    }
}

/// The share of the nominal rate requests are paced at. A fixed-window counter on the server sees
/// requests as they arrive, and network latency can bunch them; pacing 2% under the limit keeps a
/// window from ever holding one request too many, for a 2% loss of throughput.
pub const PACING: f64 = 0.98;

/// Timer slack the limiter absorbs. tokio wakes a sleeper a millisecond or so late; with no slack
/// at all every late wake-up would push all later requests back (about 11% lost at 6000/min).
pub const SLACK: Duration = Duration::from_millis(5);

/// The governor quota for `per_minute`, paced at [`PACING`], and the cells one request costs.
///
/// Governor only allows whole-request bursts, so a request is made of `cells` cells of
/// `interval / cells` each, and the burst is one request plus one cell: [`SLACK`] of tolerance,
/// never a second request at once.
fn paced_quota(per_minute: NonZeroU32) -> (Quota, NonZeroU32) {
    let interval = Duration::from_secs_f64(60.0 / (f64::from(per_minute.get()) * PACING));
    let cells = u32::try_from(interval.as_nanos() / SLACK.as_nanos())
        .unwrap_or(u32::MAX)
        .clamp(1, 100_000);
    let cell = interval / cells;
    let quota = Quota::with_period(cell)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(NonZeroU32::new(cells.saturating_add(1)).unwrap_or(NonZeroU32::MAX));
    (quota, NonZeroU32::new(cells).unwrap_or(NonZeroU32::MIN))
}

/// A governor clock on tokio's time, so that paused test time paces the limiter too.
#[derive(Clone, Debug)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Governor = governor::RateLimiter<
    NotKeyed,
    InMemoryState,
    TokioClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// Live limiters by (SHA-256 of the token, rate).
type Registry = HashMap<([u8; 32], RateLimit), Weak<TokenLimiter>>;

/// The limiter of one API token: an evenly paced quota plus a pause that 429s extend.
pub struct TokenLimiter {
    rate: RateLimit,
    clock: TokioClock,
    governor: Option<Governor>,
    /// Governor cells one request costs (see [`paced_quota`]).
    cells: NonZeroU32,
    /// Nanoseconds since `clock.origin` before which no request may start.
    paused_until: AtomicU64,
}

impl fmt::Debug for TokenLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenLimiter")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl TokenLimiter {
    /// A limiter of its own, shared with no other client.
    pub fn new(rate: RateLimit) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        let (governor, cells) = match rate {
            RateLimit::PerMinute(n) => {
                let (quota, cells) = paced_quota(n);
                let governor =
                    governor::RateLimiter::new(quota, InMemoryState::default(), clock.clone());
                (Some(governor), cells)
            }
            RateLimit::Unlimited => (None, NonZeroU32::MIN),
        };
        Self {
            rate,
            clock,
            governor,
            cells,
            paused_until: AtomicU64::new(0),
        }
    }

    /// The limiter shared by every client in this process that uses `token` at `rate`.
    ///
    /// The registry is keyed by a SHA-256 of the token, never the token itself, and holds
    /// limiters weakly: one is dropped with the last client using it.
    pub fn shared(token: &SecretString, rate: RateLimit) -> Arc<Self> {
        static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
        let key: [u8; 32] = Sha256::digest(token.expose_secret().as_bytes()).into();
        let registry = REGISTRY.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, limiter| limiter.strong_count() > 0);
        if let Some(limiter) = map.get(&(key, rate)).and_then(Weak::upgrade) {
            return limiter;
        }
        let limiter = Arc::new(Self::new(rate));
        map.insert((key, rate), Arc::downgrade(&limiter));
        limiter
    }

    /// The rate this limiter enforces.
    pub fn rate(&self) -> RateLimit {
        self.rate
    }

    /// Takes one request slot now if one is free; `false` if the caller would have to wait.
    pub fn try_acquire(&self) -> bool {
        self.wait_needed().is_none()
            && self
                .governor
                .as_ref()
                .is_none_or(|g| matches!(g.check_n(self.cells), Ok(Ok(()))))
    }

    /// Waits until this token may send one more request, then takes the slot.
    pub async fn acquire(&self) {
        loop {
            if let Some(wait) = self.wait_needed() {
                tokio::time::sleep(wait).await;
                continue;
            }
            let Some(governor) = &self.governor else {
                return;
            };
            match governor.check_n(self.cells) {
                // A request always fits the burst (cells + 1), so capacity is never short.
                Ok(Ok(())) | Err(_) => return,
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Holds every request of this token back for `delay` from now (extends, never shortens).
    pub fn pause(&self, delay: Duration) {
        let until = self.clock.now().saturating_add(delay);
        let nanos = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        self.paused_until.fetch_max(nanos, Ordering::Relaxed);
    }

    /// How long the current pause still lasts, if any.
    fn wait_needed(&self) -> Option<Duration> {
        let until = Duration::from_nanos(self.paused_until.load(Ordering::Relaxed));
        let now = self.clock.now();
        (until > now).then(|| until - now)
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

    #[tokio::test(start_paused = true)]
    async fn no_window_of_one_second_ever_holds_more_than_the_limit() {
        let limiter = TokenLimiter::new("100/s".parse().unwrap());
        let mut sent = Vec::new();
        for _ in 0..400 {
            limiter.acquire().await;
            sent.push(tokio::time::Instant::now());
        }
        for window in sent.windows(101) {
            assert!(
                window[100] - window[0] >= Duration::from_secs(1),
                "101 requests within 1 s"
            );
        }
        let rate = 399.0 / (sent[399] - sent[0]).as_secs_f64();
        assert!((rate - 100.0 * PACING).abs() < 0.5, "paced at {rate}/s");
    }

    #[tokio::test(start_paused = true)]
    async fn late_wake_ups_are_absorbed_not_carried_forward() {
        // A timer that only fires every 3 ms, as a busy runtime's would: with no slack each
        // request would start up to 3 ms after its slot and push every later slot back.
        let limiter = TokenLimiter::new("100/s".parse().unwrap());
        let mut sent = 0;
        for _ in 0..1000 {
            if limiter.try_acquire() {
                sent += 1;
            }
            tokio::time::advance(Duration::from_millis(3)).await;
        }
        let ideal = 3.0 * 100.0 * PACING;
        assert!(
            (f64::from(sent) - ideal).abs() <= 2.0,
            "{sent} requests in 3 s, ideal {ideal}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn evenly_paced_with_no_initial_burst() {
        let limiter = TokenLimiter::new("60/min".parse().unwrap());
        assert!(limiter.try_acquire());
        assert!(!limiter.try_acquire(), "burst must be 1");
        let start = tokio::time::Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        let interval = Duration::from_secs_f64(1.0 / PACING);
        assert!(
            start.elapsed() >= interval * 2 - SLACK,
            "{:?}",
            start.elapsed()
        );
        assert!(start.elapsed() <= interval * 2, "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_back_even_an_unlimited_token() {
        let limiter = TokenLimiter::new(RateLimit::Unlimited);
        limiter.pause(Duration::from_secs(5));
        limiter.pause(Duration::from_secs(1));
        assert!(!limiter.try_acquire());
        let start = tokio::time::Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(limiter.try_acquire());
    }

    #[test]
    fn same_token_and_rate_share_one_limiter() {
        let token = SecretString::from("rate-test-token-shared");
        let a = TokenLimiter::shared(&token, RateLimit::default());
        let b = TokenLimiter::shared(&token, RateLimit::default());
        let other = TokenLimiter::shared(&SecretString::from("another"), RateLimit::default());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
