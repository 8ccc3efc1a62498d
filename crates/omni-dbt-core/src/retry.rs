//! Retry policy as data ([`RetryPolicy`]) and the backoff loop that applies it (with backon).
//!
//! This module decides how long to wait and whether budget remains (the policy's attempts and
//! time, and the run's [`RetryBudget`]); which errors are worth retrying is the caller's
//! decision (see [`crate::Error::is_retryable`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use backon::Retryable;
use tokio::time::Instant;

use crate::budget::RetryBudget;
use crate::error::{Error, Result};

/// How failed requests are retried: exponential backoff with full jitter, capped, with a count
/// and a time budget. `Retry-After` from the server wins over the computed delay.
///
/// Defaults: first delay 1 s, factor 2, delays capped at 30 s, 6 attempts in all (the first
/// included), 5 minutes of total elapsed time, `Retry-After` honoured up to 120 s.
///
/// A 429 is not a failure of the request but a signal to slow down (it was certainly not
/// applied), and a rate limiter's window can outlast a handful of short retries; so once
/// retries are allowed at all (`max_attempts > 1`), 429s do not count against `max_attempts`
/// and are retried until `max_elapsed` runs out (or, with no time budget, within the count).
///
/// ```
/// use std::time::Duration;
/// use omni_dbt_core::RetryPolicy;
/// let policy = RetryPolicy::default();
/// // Full jitter: the delay is a random fraction of min(max_delay, initial * factor^n).
/// assert_eq!(policy.delay(2, None, 0.5), Duration::from_secs(2));
/// // A server's Retry-After wins, capped at max_retry_after.
/// assert_eq!(policy.delay(0, Some(Duration::from_secs(600)), 0.5), Duration::from_secs(120));
/// assert_eq!(RetryPolicy::none().max_attempts, 1);
///
/// // Built from the defaults (struct literals are not available outside this crate).
/// let patient = RetryPolicy::default()
///     .with_initial_delay(Duration::from_millis(500))
///     .with_max_delay(Duration::from_secs(10))
///     .with_max_attempts(10)
///     .with_max_retry_after(Duration::from_secs(600));
/// assert_eq!(patient.delay(0, Some(Duration::from_secs(600)), 0.5), Duration::from_secs(600));
/// ```
///
/// A wait of more than a few seconds before a retry is logged at info level, with when it ends.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Upper bound of the first retry's delay (default 1 s).
    pub initial_delay: Duration,
    /// Growth of the upper bound per retry (default 2).
    pub factor: f32,
    /// Cap on the upper bound of any computed delay (default 30 s).
    pub max_delay: Duration,
    /// Attempts in all, the first included, not counting retries after a 429 (default 6).
    /// 0 is treated as 1; 1 means no retry at all, 429s included.
    pub max_attempts: u32,
    /// No retry starts once this much time has passed since the first attempt (default 5 min).
    pub max_elapsed: Option<Duration>,
    /// Cap on a server's `Retry-After` (default 120 s): a longer one is waited for this long,
    /// then the request is tried again.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            max_attempts: 6,
            max_elapsed: Some(Duration::from_secs(300)),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// This policy with `delay` as the upper bound of the first retry's delay.
    pub fn with_initial_delay(self, delay: Duration) -> Self {
        Self {
            initial_delay: delay,
            ..self
        }
    }

    /// This policy with the bound growing by `factor` per retry (below 1 counts as 1).
    pub fn with_factor(self, factor: f32) -> Self {
        Self { factor, ..self }
    }

    /// This policy with computed delays capped at `delay`.
    pub fn with_max_delay(self, delay: Duration) -> Self {
        Self {
            max_delay: delay,
            ..self
        }
    }

    /// This policy with `attempts` in all, the first included (429s aside; 1: no retry).
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        Self {
            max_attempts: attempts,
            ..self
        }
    }

    /// This policy with no retry starting later than `elapsed` after the first attempt
    /// (`None`: no time limit).
    pub fn with_max_elapsed(self, elapsed: Option<Duration>) -> Self {
        Self {
            max_elapsed: elapsed,
            ..self
        }
    }

    /// This policy with a server's `Retry-After` capped at `cap`.
    pub fn with_max_retry_after(self, cap: Duration) -> Self {
        Self {
            max_retry_after: cap,
            ..self
        }
    }

    /// The delay before retry number `retry_number` (0 for the first retry).
    ///
    /// With a server's `retry_after`, that value capped at [`max_retry_after`](Self::max_retry_after);
    /// otherwise full jitter: `rand_unit * min(max_delay, initial_delay * factor^retry_number)`,
    /// with `rand_unit` in `[0, 1)` (clamped). Pure, so it can be tested without sleeping.
    pub fn delay(
        &self,
        retry_number: u32,
        retry_after: Option<Duration>,
        rand_unit: f64,
    ) -> Duration {
        if let Some(retry_after) = retry_after {
            return retry_after.min(self.max_retry_after);
        }
        let exponent = i32::try_from(retry_number).unwrap_or(i32::MAX);
        let growth = f64::from(self.factor.max(1.0)).powi(exponent);
        let ceiling = (self.initial_delay.as_secs_f64() * growth).min(self.max_delay.as_secs_f64());
        let unit = if rand_unit.is_finite() {
            rand_unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Duration::try_from_secs_f64(ceiling.max(0.0) * unit)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The computed (jittered) delays of this policy, one per allowed retry: a backon
    /// [`Backoff`](backon::Backoff).
    pub fn backoff(&self) -> PolicyBackoff {
        PolicyBackoff {
            policy: *self,
            retries: 0,
            limit: Some(self.max_attempts.saturating_sub(1)),
        }
    }

    /// The same delays with no count limit (the retry loop counts attempts itself, since 429s
    /// are not counted); none at all when the policy allows no retry.
    fn unbounded_backoff(&self) -> PolicyBackoff {
        PolicyBackoff {
            limit: (self.max_attempts <= 1).then_some(0),
            ..self.backoff()
        }
    }

    /// Whether a retry that would start after `delay`, `elapsed` into the operation, is in budget.
    pub fn within_elapsed(&self, elapsed: Duration, delay: Duration) -> bool {
        self.max_elapsed
            .is_none_or(|max| elapsed.saturating_add(delay) <= max)
    }
}

/// The jittered delays of a [`RetryPolicy`]: `max_attempts - 1` of them, then `None`.
#[derive(Clone, Debug)]
pub struct PolicyBackoff {
    policy: RetryPolicy,
    retries: u32,
    /// How many delays to yield; `None` for no limit.
    limit: Option<u32>,
}

impl Iterator for PolicyBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.limit.is_some_and(|limit| self.retries >= limit) {
            return None;
        }
        let delay = self.policy.delay(self.retries, None, rand::random::<f64>());
        self.retries += 1;
        Some(delay)
    }
}

/// The server's `Retry-After` carried by an error, if any.
pub(crate) fn retry_after_of(error: &Error) -> Option<Duration> {
    match error {
        Error::RateLimited { retry_after } => *retry_after,
        _ => None,
    }
}

/// Runs `operation` until it succeeds, fails with an error `should_retry` rejects, or the
/// policy's attempts or time are spent. `on_retry` hears each error retried and the delay chosen,
/// before the wait.
///
/// Every retry is paid for from `budget` (429s are free); when it cannot pay, the error is
/// returned at once as [`Error::RetryBudgetExhausted`]. A success gives back to it.
pub(crate) async fn run<T, Op, Fut>(
    policy: &RetryPolicy,
    budget: &RetryBudget,
    should_retry: impl FnMut(&Error) -> bool,
    mut on_retry: impl FnMut(&Error, Duration),
    operation: Op,
) -> Result<T>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    // Shared with the closures below across awaits, hence atomics (the future must be Send).
    let counted_retries = AtomicU32::new(0);
    // What the last paid retry cost (0: none yet), and whether the budget refused one.
    let last_cost = AtomicU32::new(0);
    let refused = AtomicBool::new(false);
    let result = operation
        .retry(policy.unbounded_backoff())
        .when(should_retry)
        .adjust(|error, computed| {
            let computed = computed?;
            let throttled = matches!(error, Error::RateLimited { .. });
            if !throttled || policy.max_elapsed.is_none() {
                let counted = counted_retries.fetch_add(1, Ordering::Relaxed) + 1;
                if counted >= policy.max_attempts {
                    return None;
                }
            }
            let delay = match retry_after_of(error) {
                Some(retry_after) => policy.delay(0, Some(retry_after), 0.0),
                None => computed,
            };
            if !policy.within_elapsed(started.elapsed(), delay) {
                return None;
            }
            match budget.withdraw(error) {
                Some(0) => {}
                Some(cost) => last_cost.store(cost, Ordering::Relaxed),
                None => {
                    refused.store(true, Ordering::Relaxed);
                    return None;
                }
            }
            Some(delay)
        })
        .notify(|error, delay| on_retry(error, delay))
        .await;
    match result {
        Ok(value) => {
            let cost = last_cost.load(Ordering::Relaxed);
            budget.succeeded((cost > 0).then_some(cost));
            Ok(value)
        }
        Err(error) if refused.load(Ordering::Relaxed) => Err(Error::RetryBudgetExhausted {
            source: Box::new(error),
        }),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            ..RetryPolicy::default()
        }
    }

    /// Ten 429s, then a success: every one is retried under `policy`, spending from `budget`.
    async fn assert_ten_rate_limits_then_a_success(policy: &RetryPolicy, budget: &RetryBudget) {
        let calls = AtomicU32::new(0);
        let result = run(
            policy,
            budget,
            Error::is_retryable,
            |_, _| {},
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..10 => Err(Error::RateLimited { retry_after: None }),
                    _ => Ok(7),
                }
            },
        )
        .await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 11);
    }

    #[test]
    fn full_jitter_grows_exponentially_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(0, None, 0.5), Duration::from_millis(500));
        assert_eq!(policy.delay(3, None, 0.5), Duration::from_secs(4));
        assert_eq!(policy.delay(10, None, 0.5), Duration::from_secs(15));
        assert_eq!(policy.delay(u32::MAX, None, 0.5), Duration::from_secs(15));
        assert_eq!(policy.delay(4, None, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(1, None, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(5, Some(Duration::from_secs(7)), 0.9),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3600)), 0.9),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn backoff_yields_one_delay_per_retry() {
        assert_eq!(RetryPolicy::default().backoff().count(), 5);
        assert_eq!(RetryPolicy::none().backoff().count(), 0);
        let zero = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(zero.backoff().count(), 0);
        assert!(RetryPolicy::default()
            .backoff()
            .all(|d| d < Duration::from_secs(30)));
    }

    #[tokio::test(start_paused = true)]
    async fn run_stops_at_max_attempts() {
        let calls = AtomicU32::new(0);
        let mut retried = 0;
        let result: Result<()> = run(
            &fast(),
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| retried += 1,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::Timeout(Duration::from_secs(1)))
            },
        )
        .await;
        assert!(matches!(result, Err(Error::Timeout(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(retried, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn run_sleeps_for_retry_after() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result = run(
            &fast(),
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| {},
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(Error::RateLimited {
                        retry_after: Some(Duration::from_secs(3)),
                    })
                } else {
                    Ok(7)
                }
            },
        )
        .await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn run_gives_up_when_elapsed_budget_is_spent() {
        let policy = RetryPolicy {
            max_elapsed: Some(Duration::from_secs(5)),
            max_attempts: 100,
            ..fast()
        };
        let calls = AtomicU32::new(0);
        let result: Result<()> = run(
            &policy,
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::RateLimited {
                    retry_after: Some(Duration::from_secs(2)),
                })
            },
        )
        .await;
        assert!(result.is_err());
        // Retries at 2 s and 4 s fit in 5 s; the one at 6 s does not.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_are_retried_beyond_max_attempts_within_the_time_budget() {
        let policy = RetryPolicy {
            max_attempts: 3,
            max_elapsed: Some(Duration::from_secs(60)),
            ..fast()
        };
        assert_ten_rate_limits_then_a_success(&policy, &RetryBudget::default()).await;
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_still_count_after_rate_limits() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..fast()
        };
        let calls = AtomicU32::new(0);
        let result: Result<()> = run(
            &policy,
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| {},
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..4 => Err(Error::RateLimited { retry_after: None }),
                    _ => Err(Error::Timeout(Duration::from_secs(1))),
                }
            },
        )
        .await;
        assert!(matches!(result, Err(Error::Timeout(_))));
        // 4 rate-limited attempts, then 3 timeouts: the first and two counted retries.
        assert_eq!(calls.load(Ordering::SeqCst), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn one_attempt_means_no_retry_even_after_a_429() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = run(
            &RetryPolicy::none(),
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::RateLimited { retry_after: None })
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn run_does_not_retry_what_the_caller_rejects() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = run(
            &fast(),
            &RetryBudget::default(),
            Error::is_retryable,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::Api {
                    status: 404,
                    message: "not found".into(),
                    body: String::new(),
                })
            },
        )
        .await;
        assert_eq!(result.err().and_then(|e| e.status()), Some(404));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    fn unavailable() -> Error {
        Error::Api {
            status: 503,
            message: "unavailable".into(),
            body: String::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_budget_returns_the_error_at_once_wrapped() {
        let budget = RetryBudget::new(7);
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result: Result<()> = run(
            &fast(),
            &budget,
            Error::is_retryable,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unavailable())
            },
        )
        .await;
        // One retry paid (5 of 7 tokens), the next refused: two attempts, no wait after the second.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(start.elapsed() <= fast().max_delay, "{:?}", start.elapsed());
        let error = result.unwrap_err();
        assert!(
            matches!(&error, Error::RetryBudgetExhausted { source } if source.status() == Some(503))
        );
        assert!(!error.is_retryable());
        assert!(error.is_ambiguous(), "as its source");
        assert!(
            error.to_string().contains("retry budget is spent"),
            "{error}"
        );
        assert_eq!(budget.available(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_do_not_spend_the_budget() {
        let budget = RetryBudget::new(0);
        let policy = RetryPolicy {
            max_elapsed: Some(Duration::from_secs(60)),
            ..fast()
        };
        assert_ten_rate_limits_then_a_success(&policy, &budget).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_after_a_retry_gives_its_cost_back() {
        let budget = RetryBudget::new(20);
        let calls = AtomicU32::new(0);
        let result = run(
            &fast(),
            &budget,
            Error::is_retryable,
            |_, _| {},
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(Error::Timeout(Duration::from_secs(1))),
                    _ => Ok(7),
                }
            },
        )
        .await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(budget.available(), 20);
        // A first-try success earns one token, never beyond the capacity.
        budget.withdraw(&unavailable());
        let ok: Result<u8> = run(
            &fast(),
            &budget,
            Error::is_retryable,
            |_, _| {},
            || async { Ok(1) },
        )
        .await;
        assert!(ok.is_ok());
        assert_eq!(budget.available(), 16);
    }
}
