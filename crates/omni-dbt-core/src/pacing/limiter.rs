//! [`KeyLimiter`]: the handle every request of one API key waits on, one per key in a process.
//!
//! A request may go when three things allow it: no `Retry-After` pause is running, the adaptive
//! pace ([`Controller`], kept by [`Spacing`]) has a slot, and the fixed ceiling ([`Ceiling`])
//! has one. Responses feed the controller back through the crate-private hooks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::ceiling::Ceiling;
use super::controller::Controller;
use super::spacing::{interval, Spacing};
use super::status::KeyStatus;
use crate::rate::RateLimit;

/// A wait at least this long is logged at info: the user should know why nothing moves.
const LONG_WAIT: Duration = Duration::from_secs(5);

/// Live limiters by (SHA-256 of the token, ceiling, bits of the share).
type Registry = HashMap<([u8; 32], RateLimit, u64), Weak<Inner>>;

/// The rate limiter of one API key: a ceiling it never exceeds, and a pace under it that 429s
/// lower and successes raise again.
///
/// `--rate` is the ceiling ([`RateLimit`]). While the server accepts every request the key is
/// evenly paced at 98% of it; when the server answers 429 (another runner on the same key, or a
/// limit lower than configured) the pace drops to what the server was measured to allow, then
/// grows back slowly, probing, never above the ceiling. A `Retry-After` holds every request of
/// the key back until then. An [`Unlimited`](RateLimit::Unlimited) key goes unpaced until its
/// first 429s, then learns a pace the same way.
///
/// Cloning is cheap: clones are one limiter. Clients built with the same token and ceiling in one
/// process share one by default; pass one to
/// [`ClientBuilder::limiter`](crate::ClientBuilder::limiter) to share it explicitly.
///
/// ```
/// use omni_dbt_core::{KeyLimiter, RateLimit};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limiter = KeyLimiter::new("60/min".parse().unwrap());
/// let shared = limiter.clone();
/// assert!(limiter.try_acquire(), "the first request goes at once");
/// assert!(!shared.try_acquire(), "the next one waits about a second, clones included");
/// assert!(KeyLimiter::ptr_eq(&limiter, &shared));
/// assert_eq!(limiter.ceiling(), RateLimit::default());
/// # }
/// ```
#[derive(Clone)]
pub struct KeyLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    rate: RateLimit,
    /// The part of the ceiling given to [`KeyLimiter::with_share`], when less than the whole.
    share: Option<f64>,
    ceiling: Option<Ceiling>,
    state: Mutex<State>,
}

/// What changes with every request, under one lock so that a slot is checked and taken at once.
struct State {
    controller: Controller,
    spacing: Spacing,
    /// No request may start before this (a `Retry-After`).
    paused_until: Option<Instant>,
    /// The end of the longest long retry backoff under way for a request of this key.
    backoff_until: Option<Instant>,
    /// 429s seen.
    rate_limited: u64,
}

impl fmt::Debug for KeyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLimiter")
            .field("ceiling", &self.inner.rate)
            .finish_non_exhaustive()
    }
}

impl KeyLimiter {
    /// A limiter of its own under `ceiling`, shared with no other client until cloned.
    pub fn new(ceiling: RateLimit) -> Self {
        Self::with_share(ceiling, 1.0)
    }

    /// A limiter for a runner given `share` (0 to 1) of a key believed shared with other
    /// runners, each under `ceiling` (the key's limit): shards of one input on one key, for
    /// instance, each given its part of the rows.
    ///
    /// It starts at its share of the ceiling instead of the whole, then doubles until the server
    /// refuses. A runner with the key to itself so reaches its ceiling in a few doublings with no
    /// 429; runners that do share it meet one wall just above their shares and hold their
    /// shares from then on (so that runners given shares in proportion to their work finish
    /// together), probing above them only slowly. A lone 429 met at the share trims it by 1%;
    /// [`release_share`](Self::release_share) lets a runner that fell behind take the room of
    /// the others once they were planned to end. A share of 1, or one outside (0, 1), or an
    /// unlimited ceiling, is [`KeyLimiter::new`].
    ///
    /// ```
    /// use omni_dbt_core::{KeyLimiter, RateLimit};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = KeyLimiter::with_share("600/min".parse().unwrap(), 0.25);
    /// let status = limiter.status();
    /// assert!(status.slowed, "starts under its ceiling");
    /// assert_eq!(status.pace_per_minute, Some(147.0), "at a quarter of it, paced at 98%");
    /// assert_eq!(status.share, Some(0.25));
    /// # }
    /// ```
    pub fn with_share(ceiling: RateLimit, share: f64) -> Self {
        let paced = ceiling.per_minute().map(Ceiling::paced_per_second);
        let part = paced.and(Some(share)).filter(|s| *s > 0.0 && *s < 1.0);
        Self {
            inner: Arc::new(Inner {
                rate: ceiling,
                share: part,
                ceiling: ceiling.per_minute().map(Ceiling::new),
                state: Mutex::new(State {
                    controller: Controller::sharing(paced, share),
                    spacing: Spacing::default(),
                    paused_until: None,
                    backoff_until: None,
                    rate_limited: 0,
                }),
            }),
        }
    }

    /// The limiter shared by every client in this process that uses `token` under `ceiling`
    /// with `share` of it (see [`KeyLimiter::with_share`]).
    ///
    /// The registry is keyed by a SHA-256 of the token, never the token itself, and holds
    /// limiters weakly: one is dropped with the last client using it.
    pub(crate) fn shared(token: &SecretString, ceiling: RateLimit, share: f64) -> Self {
        static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
        let key: [u8; 32] = Sha256::digest(token.expose_secret().as_bytes()).into();
        let registry = REGISTRY.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = registry.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, limiter| limiter.strong_count() > 0);
        let entry = (key, ceiling, share.to_bits());
        if let Some(inner) = map.get(&entry).and_then(Weak::upgrade) {
            return Self { inner };
        }
        let limiter = Self::with_share(ceiling, share);
        map.insert(entry, Arc::downgrade(&limiter.inner));
        limiter
    }

    /// Whether `a` and `b` are the same limiter (clones of one another).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The ceiling this limiter never exceeds.
    pub fn ceiling(&self) -> RateLimit {
        self.inner.rate
    }

    /// What the limiter is doing now: pace, whether slowed, any pause, 429s seen.
    pub fn status(&self) -> KeyStatus {
        let state = self.state();
        let now = Instant::now();
        let slowed = state.controller.pace(now);
        let pace = slowed.or_else(|| self.inner.rate.per_minute().map(Ceiling::paced_per_second));
        let paused_for = state.pause_left(now);
        let backoff_for = state
            .backoff_until
            .filter(|until| *until > now)
            .map(|until| until - now);
        let wall_clock = |left: Duration| SystemTime::now().checked_add(left);
        KeyStatus {
            ceiling: self.inner.rate,
            share: self.inner.share,
            pace_per_minute: pace.map(|p| round_per_minute(p * 60.0)),
            slowed: slowed.is_some(),
            paused_for,
            paused_until: paused_for.and_then(wall_clock),
            backoff_until: backoff_for.and_then(wall_clock),
            rate_limited: state.rate_limited,
        }
    }

    /// Takes one request slot now if one is free; `false` if the caller would have to wait.
    pub fn try_acquire(&self) -> bool {
        self.take(Instant::now()).is_ok()
    }

    /// Waits until this key may send one more request, then takes the slot.
    pub async fn acquire(&self) {
        while let Err(wait) = self.take(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a slot at `now`, or says how long until one may be free.
    fn take(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.state();
        if let Some(wait) = state.pause_left(now) {
            return Err(wait);
        }
        let pace = state.controller.pace(now);
        if let Some(wait) = state.spacing.wait(now, pace) {
            return Err(wait);
        }
        if let Some(ceiling) = &self.inner.ceiling {
            ceiling.take()?;
        }
        state.spacing.take(now, pace);
        state.controller.on_send(now);
        Ok(())
    }

    /// The server answered 429 to a request sent at `sent_at`; `retry_after` is its
    /// `Retry-After`, already capped by the retry policy. Every user of the key slows down, and
    /// with `retry_after` holds back until then.
    pub(crate) fn on_throttled(&self, sent_at: Instant, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut state = self.state();
        state.rate_limited += 1;
        let before = state.controller.pace(now);
        state
            .controller
            .on_throttle(sent_at, now, retry_after.is_some());
        if let Some(delay) = retry_after {
            state.pause(now, delay);
        }
        let after = state.controller.pace(now);
        drop(state);
        if after != before {
            self.log_pace(after);
        }
    }

    /// How long `requests` take at this limiter's ceiling, evenly paced as it paces them;
    /// `None` for an unlimited ceiling.
    ///
    /// ```
    /// use std::time::Duration;
    /// use omni_dbt_core::KeyLimiter;
    /// let limiter = KeyLimiter::new("60/min".parse().unwrap());
    /// assert_eq!(limiter.time_for(49), Some(Duration::from_secs(50)), "paced at 98%");
    /// ```
    pub fn time_for(&self, requests: u64) -> Option<Duration> {
        let per_second = self
            .inner
            .rate
            .per_minute()
            .map(Ceiling::paced_per_second)?;
        Duration::try_from_secs_f64(requests as f64 / per_second).ok()
    }

    /// Tells a limiter made [`with_share`](Self::with_share) that the other runners on its key
    /// have probably finished, because their part of the work was planned to end by now (the
    /// shares being in proportion to the work, every runner was planned to end at once). A
    /// runner that fell behind (429s trim the share of the runner they fall on) then doubles its
    /// pace from where it is, as at its start, to take the room the others left; a 429 on the
    /// way shows they are still there, and it holds the pace it had. No effect on a limiter
    /// that holds no share.
    ///
    /// ```
    /// use omni_dbt_core::{KeyLimiter, RateLimit};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = KeyLimiter::new("600/min".parse().unwrap());
    /// limiter.release_share();
    /// assert!(!limiter.status().slowed, "a sole owner is unchanged");
    /// # }
    /// ```
    pub fn release_share(&self) {
        self.state().controller.release(Instant::now());
    }

    /// The server answered a request sent at `sent_at` with anything but 429.
    pub(crate) fn on_response(&self, sent_at: Instant) {
        self.state().controller.on_success(sent_at, Instant::now());
    }

    /// A request of this key waits `delay` before its retry: a long one shows in the status,
    /// so that a progress line can say what the run is waiting for.
    pub(crate) fn on_backoff(&self, delay: Duration) {
        if delay < LONG_WAIT {
            return;
        }
        let Some(until) = Instant::now().checked_add(delay) else {
            return;
        };
        let mut state = self.state();
        if state.backoff_until.is_none_or(|current| current < until) {
            state.backoff_until = Some(until);
        }
    }

    /// Holds every request of this key back for `delay` from now (extends, never shortens).
    #[cfg(test)]
    pub(crate) fn pause(&self, delay: Duration) {
        self.state().pause(Instant::now(), delay);
    }

    fn log_pace(&self, pace: Option<f64>) {
        let Some(pace) = pace else { return };
        let per_minute = round_per_minute(pace * 60.0);
        let every = interval(pace);
        if every >= LONG_WAIT {
            tracing::info!(
                pace_per_minute = per_minute,
                every_s = every.as_secs(),
                "rate limited (429): slowing this key to one request every {} s",
                every.as_secs()
            );
        } else {
            tracing::debug!(
                pace_per_minute = per_minute,
                "rate limited (429): pacing this key"
            );
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere cannot tear it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn pause_left(&self, now: Instant) -> Option<Duration> {
        self.paused_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    fn pause(&mut self, now: Instant, delay: Duration) {
        let Some(until) = now.checked_add(delay) else {
            return;
        };
        if self.paused_until.is_some_and(|current| current >= until) {
            return;
        }
        self.paused_until = Some(until);
        if delay >= LONG_WAIT {
            let until = SystemTime::now()
                .checked_add(delay)
                .map(httpdate::fmt_http_date)
                .unwrap_or_default();
            tracing::info!(
                wait_s = delay.as_secs(),
                until = %until,
                "rate limited (429, Retry-After): holding every request of this key for {} s",
                delay.as_secs()
            );
        }
    }
}

/// Requests per minute to one decimal, for display.
fn round_per_minute(per_minute: f64) -> f64 {
    (per_minute * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pacing::ceiling::{PACING, SLACK};

    #[tokio::test(start_paused = true)]
    async fn no_window_of_one_second_ever_holds_more_than_the_limit() {
        let limiter = KeyLimiter::new("100/s".parse().unwrap());
        let mut sent = Vec::new();
        for _ in 0..400 {
            limiter.acquire().await;
            sent.push(Instant::now());
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
        let limiter = KeyLimiter::new("100/s".parse().unwrap());
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
        let limiter = KeyLimiter::new("60/min".parse().unwrap());
        assert!(limiter.try_acquire());
        assert!(!limiter.try_acquire(), "burst must be 1");
        let start = Instant::now();
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
        let limiter = KeyLimiter::new(RateLimit::Unlimited);
        limiter.pause(Duration::from_secs(5));
        limiter.pause(Duration::from_secs(1));
        assert!(!limiter.try_acquire());
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(limiter.try_acquire());
    }

    #[test]
    fn same_token_rate_and_share_share_one_limiter() {
        let token = SecretString::from("rate-test-token-shared");
        let a = KeyLimiter::shared(&token, RateLimit::default(), 1.0);
        let b = KeyLimiter::shared(&token, RateLimit::default(), 1.0);
        let other = KeyLimiter::shared(&SecretString::from("another"), RateLimit::default(), 1.0);
        let quarter = KeyLimiter::shared(&token, RateLimit::default(), 0.25);
        assert!(KeyLimiter::ptr_eq(&a, &b));
        assert!(!KeyLimiter::ptr_eq(&a, &other));
        assert!(!KeyLimiter::ptr_eq(&a, &quarter));
        assert!(quarter.status().slowed && !a.status().slowed);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_every_user_and_shows_in_the_status() {
        let limiter = KeyLimiter::new(RateLimit::default());
        let clone = limiter.clone();
        assert!(limiter.try_acquire());
        limiter.on_throttled(Instant::now(), Some(Duration::from_secs(30)));
        let status = clone.status();
        assert_eq!(status.paused_for, Some(Duration::from_secs(30)));
        assert!(status.paused_until.is_some());
        assert_eq!(status.rate_limited, 1);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(!clone.try_acquire());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(clone.try_acquire());
        assert_eq!(clone.status().paused_for, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_backoff_shows_in_the_status_until_it_ends() {
        let limiter = KeyLimiter::new(RateLimit::default());
        limiter.on_backoff(Duration::from_secs(2));
        assert_eq!(limiter.status().backoff_until, None, "a short one does not");
        limiter.on_backoff(Duration::from_secs(20));
        limiter.on_backoff(Duration::from_secs(8));
        let until = limiter.status().backoff_until.unwrap();
        let left = until.duration_since(SystemTime::now()).unwrap();
        assert!(left > Duration::from_secs(19), "the longest wins: {left:?}");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(limiter.status().backoff_until, None);
        assert!(
            limiter.try_acquire(),
            "a backoff holds back only its own request"
        );
    }

    /// Sends as fast as the limiter lets one worker, against a server that refuses every
    /// request from `wall_from` to `wall_until`; returns the send instants.
    async fn drive(
        limiter: &KeyLimiter,
        until: Duration,
        wall: std::ops::Range<Duration>,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let mut sent = Vec::new();
        while start.elapsed() < until {
            limiter.acquire().await;
            let sent_at = Instant::now();
            sent.push(sent_at - start);
            tokio::time::sleep(Duration::from_millis(10)).await;
            if wall.contains(&(sent_at - start)) {
                limiter.on_throttled(sent_at, None);
            } else {
                limiter.on_response(sent_at);
            }
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_on_a_burst_of_429s_recovers_after_and_never_exceeds_the_ceiling() {
        let limiter = KeyLimiter::new("600/min".parse().unwrap());
        let secs = Duration::from_secs;
        let sent = drive(&limiter, secs(600), secs(5)..secs(7)).await;
        let in_range = |from: u64, to: u64| {
            sent.iter()
                .filter(|t| (secs(from)..secs(to)).contains(t))
                .count()
        };
        let paced = 600.0 * PACING / 60.0;
        // Before the wall: the ceiling, evenly.
        assert!((in_range(0, 5) as f64 - 5.0 * paced).abs() <= 1.0);
        // In the wall: a few probes, at doubling intervals, instead of 20 requests.
        let probes = in_range(5, 7);
        assert!(probes <= 6, "{probes} requests into the wall");
        assert!(limiter.status().rate_limited <= 6);
        // After it: back to the ceiling, on the server's clock (this wall looked like a window
        // of about 7 s, and growth takes a few dozen of those).
        assert!(!limiter.status().slowed, "{:?}", limiter.status());
        assert!((in_range(595, 600) as f64 - 5.0 * paced).abs() <= 1.0);
        // Never above the ceiling, in any second.
        for from in 0..599 {
            assert!(
                in_range(from, from + 1) as f64 <= paced.ceil(),
                "second {from}"
            );
        }
    }
}
