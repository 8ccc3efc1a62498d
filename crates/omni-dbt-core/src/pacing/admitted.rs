//! [`Admitted`]: when the key's last requests were accepted, for the rate the server let it have
//! over its last window.
//!
//! The pace a 429 arrives at can be well above what went through (growth went on while the
//! server's window filled up); restarting under the pace would meet the wall again at once.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The most instants kept, whatever the window: a bound on memory for a fast key.
const MAX_KEPT: usize = 10_000;

/// The instants of the key's recent successes.
#[derive(Debug, Default)]
pub(crate) struct Admitted {
    at: VecDeque<Instant>,
    /// How far back instants are kept (the server's window once known).
    keep: Option<Duration>,
    /// When counting began, so that a rate over a window not yet covered is not claimed.
    since: Option<Instant>,
}

impl Admitted {
    /// Keeps instants for two of `window` (the server's window, once learned): a rate is asked
    /// for the window before a wall began, which may have been a while ago.
    pub(crate) fn keep_for(&mut self, window: Duration) {
        self.keep = Some(window * 2);
    }

    /// A request was accepted at `now`.
    pub(crate) fn record(&mut self, now: Instant) {
        self.since.get_or_insert(now);
        self.at.push_back(now);
        if self.at.len() > MAX_KEPT {
            self.at.pop_front();
        }
        if let Some(keep) = self.keep {
            while self
                .at
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > keep)
            {
                self.at.pop_front();
            }
        }
    }

    /// Requests per second accepted over the `window` before `end`; `None` when counting began
    /// less than a window before it or the instants kept do not reach back that far.
    pub(crate) fn rate(&self, end: Instant, window: Duration) -> Option<f64> {
        let from = end.checked_sub(window)?;
        let oldest = self.at.front()?;
        let trimmed = self.at.len() == MAX_KEPT || self.keep.is_some();
        if self.since.is_none_or(|since| since > from) || (trimmed && *oldest > from) {
            return None;
        }
        let count = self.at.iter().filter(|t| **t > from && **t <= end).count();
        Some(count as f64 / window.as_secs_f64().max(f64::EPSILON))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_the_last_window_once_it_is_covered() {
        let start = Instant::now();
        let mut admitted = Admitted::default();
        admitted.keep_for(Duration::from_secs(2));
        for i in 0..40 {
            admitted.record(start + Duration::from_millis(100 * i));
        }
        let now = start + Duration::from_millis(3950);
        assert_eq!(admitted.rate(now, Duration::from_secs(2)), Some(10.0));
        let earlier = start + Duration::from_millis(2950);
        assert_eq!(
            admitted.rate(earlier, Duration::from_secs(2)),
            Some(10.0),
            "a window ending before the last success"
        );
        assert_eq!(
            admitted.rate(start + Duration::from_secs(1), Duration::from_secs(2)),
            None
        );
        assert!(admitted.at.len() <= 41, "older instants are dropped");
    }
}
