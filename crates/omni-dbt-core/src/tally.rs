//! Request counters: [`Tally`] (a snapshot) and the atomic counters a client updates.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Counts of what a client did: for one scope ([`Client::tally`](crate::Client::tally)) or for
/// every clone and scope together ([`Client::stats`](crate::Client::stats)).
///
/// Per key, a run's summary takes requests and 429s from here and the pace the key ended at
/// from its limiter's [`status`](crate::KeyLimiter::status).
///
/// ```
/// use omni_dbt_core::Tally;
/// // Built by the client; summing several starts from the default.
/// let mut sum = Tally::default();
/// sum.requests += 3;
/// assert_eq!(sum.rate_limited, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tally {
    /// HTTP requests sent (every attempt, every list page).
    pub requests: u64,
    /// Retries decided after a retryable error: each is a re-send, except that after an
    /// ambiguous create it is a lookup by name first (and a re-send only if nothing is found).
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// The status of the last response received, if any.
    pub last_status: Option<u16>,
    /// Requests sent whose response (or failure) has not come back yet: while it is 0, a scope
    /// is waiting (for the rate limiter or a retry delay), not on the wire.
    pub on_the_wire: u64,
}

/// Counts one request as on the wire until dropped, so a cancelled send is not counted forever.
pub(crate) struct OnTheWire<'a>(&'a AtomicU64);

impl Drop for OnTheWire<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Live counters behind a [`Tally`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    /// 0 while no response has been seen.
    last_status: AtomicU32,
    on_the_wire: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn on_the_wire(&self) -> OnTheWire<'_> {
        self.on_the_wire.fetch_add(1, Ordering::Relaxed);
        OnTheWire(&self.on_the_wire)
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn response(&self, status: u16) {
        self.last_status.store(u32::from(status), Ordering::Relaxed);
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Tally {
        let status = self.last_status.load(Ordering::Relaxed);
        Tally {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            last_status: u16::try_from(status).ok().filter(|s| *s != 0),
            on_the_wire: self.on_the_wire.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_events() {
        let counters = Counters::default();
        assert_eq!(counters.snapshot(), Tally::default());
        counters.request();
        counters.response(429);
        counters.retry();
        counters.request();
        counters.response(201);
        let tally = counters.snapshot();
        assert_eq!(
            (tally.requests, tally.retries, tally.rate_limited),
            (2, 1, 1)
        );
        assert_eq!(tally.last_status, Some(201));
    }
}
