//! [`RetryBudget`]: the run-wide allowance of retries that failures spend and successes refill.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::error::Error;

/// Tokens a retry costs after an error response (a 5xx).
const RETRY_COST: u32 = 5;

/// Tokens a retry costs after a timeout or a broken connection: a server that does not answer
/// at all is in worse shape than one that answers with an error.
const TIMEOUT_RETRY_COST: u32 = 10;

/// Tokens a request that succeeds at its first attempt puts back.
const SUCCESS_REWARD: u32 = 1;

/// How many retries a whole run may still make, as in the AWS SDKs' standard retry mode.
///
/// Each retry spends tokens (5 after an error response, 10 after a timeout or a broken
/// connection); a request that succeeds at its first attempt puts one back, and one that
/// succeeds after retries gives back what its last retry cost. When the
/// budget cannot pay for a retry, the error is returned at once, wrapped in
/// [`Error::RetryBudgetExhausted`], instead of sending more requests to a server that is failing
/// most of them. First attempts are never refused: a server that recovers earns the budget back.
///
/// 429s do not spend from it: they are a signal to slow down, which the key's
/// [`KeyLimiter`](crate::KeyLimiter) acts on, not a failure; a key shared with other runners
/// meets them all the time and must not exhaust the run.
///
/// The default holds [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) tokens: 100 retries after
/// error responses in a row, or 50 after timeouts. Clones share one budget; give one to every
/// client of a run with [`ClientBuilder::retry_budget`](crate::ClientBuilder::retry_budget) (each
/// client otherwise has its own).
///
/// ```
/// use omni_dbt_core::RetryBudget;
/// let budget = RetryBudget::new(20);
/// let shared = budget.clone();
/// assert_eq!((shared.available(), shared.capacity()), (20, 20));
/// assert_eq!(RetryBudget::default().capacity(), RetryBudget::DEFAULT_CAPACITY);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Tokens>,
}

struct Tokens {
    capacity: u32,
    available: AtomicU32,
}

impl RetryBudget {
    /// Tokens in a default budget.
    pub const DEFAULT_CAPACITY: u32 = 500;

    /// A full budget of `capacity` tokens (0: no retry except after 429s).
    pub fn new(capacity: u32) -> Self {
        Self {
            inner: Arc::new(Tokens {
                capacity,
                available: AtomicU32::new(capacity),
            }),
        }
    }

    /// Tokens the budget holds when full.
    pub fn capacity(&self) -> u32 {
        self.inner.capacity
    }

    /// Tokens left now.
    pub fn available(&self) -> u32 {
        self.inner.available.load(Ordering::Relaxed)
    }

    /// Whether `a` and `b` are one budget (clones of one another).
    ///
    /// ```
    /// use omni_dbt_core::RetryBudget;
    /// let budget = RetryBudget::new(20);
    /// assert!(RetryBudget::ptr_eq(&budget, &budget.clone()));
    /// assert!(!RetryBudget::ptr_eq(&budget, &RetryBudget::new(20)));
    /// ```
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Pays for a retry its caller decides on after `error`, such as re-sending a create that
    /// a listing showed was not applied, at the price the client's own retries pay (5 after an
    /// error response, 10 after a timeout or broken connection, nothing after a 429); `false`,
    /// with nothing spent, when the budget cannot pay.
    ///
    /// ```
    /// use omni_dbt_core::{Error, RetryBudget};
    /// let budget = RetryBudget::new(7);
    /// let lost = Error::Api { status: 500, message: "lost".into(), body: String::new() };
    /// assert!(budget.try_withdraw(&lost));
    /// assert!(!budget.try_withdraw(&lost), "2 left, 5 needed");
    /// assert_eq!(budget.available(), 2);
    /// ```
    pub fn try_withdraw(&self, error: &Error) -> bool {
        self.withdraw(error).is_some()
    }

    /// Gives back what a retry after `error` cost (see [`try_withdraw`](Self::try_withdraw)),
    /// once that retry succeeded: a server that recovers earns the budget back. Never beyond
    /// the capacity.
    ///
    /// ```
    /// use omni_dbt_core::{Error, RetryBudget};
    /// let budget = RetryBudget::new(10);
    /// let lost = Error::Timeout(std::time::Duration::from_secs(30));
    /// assert!(budget.try_withdraw(&lost));
    /// assert_eq!(budget.available(), 0);
    /// budget.repay(&lost);
    /// assert_eq!(budget.available(), 10);
    /// ```
    pub fn repay(&self, error: &Error) {
        self.succeeded(Some(retry_cost(error)));
    }

    /// Pays for retrying after `error`: `Some(cost)` if it could (0 for a 429, which is free),
    /// `None` if the budget cannot pay.
    pub(crate) fn withdraw(&self, error: &Error) -> Option<u32> {
        let cost = retry_cost(error);
        self.inner
            .available
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(cost)
            })
            .ok()
            .map(|_| cost)
    }

    /// An operation succeeded: it gives back what its last retry cost (`last_retry_cost`), or
    /// [`SUCCESS_REWARD`] if it needed none; never beyond the capacity.
    pub(crate) fn succeeded(&self, last_retry_cost: Option<u32>) {
        let refund = last_retry_cost.unwrap_or(SUCCESS_REWARD);
        let capacity = self.inner.capacity;
        // The closure always returns Some, so the update cannot fail.
        let _ = self
            .inner
            .available
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_add(refund).min(capacity))
            });
    }
}

impl Default for RetryBudget {
    /// A budget of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) tokens.
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("available", &self.available())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// What retrying after `error` costs.
fn retry_cost(error: &Error) -> u32 {
    match error {
        Error::RateLimited { .. } => 0,
        Error::Timeout(_) | Error::Transport { .. } => TIMEOUT_RETRY_COST,
        _ => RETRY_COST,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn unavailable() -> Error {
        Error::Api {
            status: 503,
            message: "unavailable".into(),
            body: String::new(),
        }
    }

    #[test]
    fn retries_spend_by_kind_of_failure() {
        let budget = RetryBudget::new(100);
        assert_eq!(budget.withdraw(&unavailable()), Some(RETRY_COST));
        assert_eq!(
            budget.withdraw(&Error::Timeout(Duration::from_secs(1))),
            Some(TIMEOUT_RETRY_COST)
        );
        let broken = Error::Transport {
            message: "reset".into(),
            maybe_sent: true,
            source: std::io::Error::other("reset").into(),
        };
        assert_eq!(budget.withdraw(&broken), Some(TIMEOUT_RETRY_COST));
        assert_eq!(budget.available(), 75);
    }

    #[test]
    fn rate_limits_are_free() {
        let budget = RetryBudget::new(0);
        let limited = Error::RateLimited { retry_after: None };
        for _ in 0..1000 {
            assert_eq!(budget.withdraw(&limited), Some(0));
        }
    }

    #[test]
    fn an_empty_budget_refuses_and_stays_whole() {
        let budget = RetryBudget::new(12);
        assert_eq!(budget.withdraw(&unavailable()), Some(5));
        assert_eq!(budget.withdraw(&unavailable()), Some(5));
        assert_eq!(budget.withdraw(&unavailable()), None, "2 left, 5 needed");
        assert_eq!(budget.available(), 2);
    }

    #[test]
    fn successes_refill_up_to_the_capacity() {
        let budget = RetryBudget::new(10);
        budget.withdraw(&Error::Timeout(Duration::from_secs(1)));
        assert_eq!(budget.available(), 0);
        budget.succeeded(None);
        assert_eq!(budget.available(), 1, "a first-try success earns one");
        budget.succeeded(Some(5));
        assert_eq!(
            budget.available(),
            6,
            "a success after a retry gives its cost back"
        );
        budget.succeeded(Some(10));
        assert_eq!(budget.available(), 10, "never above the capacity");
    }

    #[test]
    fn clones_share_one_budget() {
        let budget = RetryBudget::new(10);
        let clone = budget.clone();
        clone.withdraw(&unavailable());
        assert_eq!(budget.available(), 5);
        assert_eq!(
            format!("{budget:?}"),
            "RetryBudget { available: 5, capacity: 10 }"
        );
    }
}
