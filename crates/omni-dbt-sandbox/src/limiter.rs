//! The per-token limiter that enforces a [`RateLimit`] in fixed or sliding windows ([`RateWindow`]).
//!
//! - **Fixed**: a token's window opens at its first request and lasts `window`; the first
//!   `requests` requests in it are admitted, later ones get 429 until the window ends. Exact and
//!   easy to reason about, and close to Omni's documented "60 requests per minute per API key".
//! - **Sliding**: a log of the instants of the token's admitted requests within the last
//!   `window`; a request is admitted when the log holds fewer than `requests`. Any span of
//!   `window` then holds at most `requests` admitted requests, the strictest reading of a limit,
//!   which a client pacing evenly just under the limit still never trips.
//!
//! A denied request does not count in either mode. Time is a parameter of [`RateLimiter::check_at`]
//! so that tests control it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::rate::{RateLimit, RateWindow};

/// The limiter's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead.
    Admitted,
    /// Over the limit; a request would be admitted again after `retry_after`.
    Limited { retry_after: Duration },
}

/// Per-token counters for one limit.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    mode: RateWindow,
    tokens: Mutex<HashMap<String, TokenState>>,
}

/// One token's record, in the shape its mode needs.
#[derive(Debug)]
enum TokenState {
    Fixed { opened: Instant, admitted: u32 },
    Sliding { admitted: VecDeque<Instant> },
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit, mode: RateWindow) -> Self {
        Self {
            limit,
            mode,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Admits or refuses one request by `token` now.
    pub(crate) fn check(&self, token: &str) -> Admission {
        if self.limit == RateLimit::Unlimited {
            return Admission::Admitted;
        }
        self.check_at(token, Instant::now())
    }

    /// Admits or refuses one request by `token` at instant `now`.
    pub(crate) fn check_at(&self, token: &str, now: Instant) -> Admission {
        let RateLimit::Limited { requests, window } = self.limit else {
            return Admission::Admitted;
        };
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let state = match tokens.get_mut(token) {
            Some(state) => state,
            None => tokens
                .entry(token.to_owned())
                .or_insert_with(|| self.fresh_state(now)),
        };
        match state {
            TokenState::Fixed { opened, admitted } => {
                if now.saturating_duration_since(*opened) >= window {
                    *opened = now;
                    *admitted = 0;
                }
                if *admitted < requests {
                    *admitted += 1;
                    Admission::Admitted
                } else {
                    Admission::Limited {
                        retry_after: (*opened + window).saturating_duration_since(now),
                    }
                }
            }
            TokenState::Sliding { admitted } => {
                while admitted
                    .front()
                    .is_some_and(|&at| now.saturating_duration_since(at) >= window)
                {
                    admitted.pop_front();
                }
                match admitted.front() {
                    Some(&oldest) if admitted.len() >= requests as usize => Admission::Limited {
                        retry_after: (oldest + window).saturating_duration_since(now),
                    },
                    _ => {
                        admitted.push_back(now);
                        Admission::Admitted
                    }
                }
            }
        }
    }

    fn fresh_state(&self, now: Instant) -> TokenState {
        match self.mode {
            RateWindow::Fixed => TokenState::Fixed {
                opened: now,
                admitted: 0,
            },
            RateWindow::Sliding => TokenState::Sliding {
                admitted: VecDeque::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(retry_after: Duration) -> Admission {
        Admission::Limited { retry_after }
    }

    fn limiter(requests: u32, secs: u64, mode: RateWindow) -> RateLimiter {
        RateLimiter::new(
            RateLimit::Limited {
                requests,
                window: Duration::from_secs(secs),
            },
            mode,
        )
    }

    fn seconds(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn the_request_after_the_limit_is_refused_until_the_window_ends() {
        let limiter = limiter(3, 60, RateWindow::Fixed);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.check_at("a", seconds(t0, i)), Admission::Admitted);
        }
        assert_eq!(
            limiter.check_at("a", seconds(t0, 10)),
            limited(Duration::from_secs(50))
        );
        assert_eq!(
            limiter.check_at("a", seconds(t0, 59)),
            limited(Duration::from_secs(1))
        );
        assert_eq!(
            limiter.check_at("a", seconds(t0, 60)),
            Admission::Admitted,
            "a new window opens"
        );
    }

    #[test]
    fn each_token_has_its_own_window() {
        for mode in [RateWindow::Fixed, RateWindow::Sliding] {
            let limiter = limiter(1, 60, mode);
            let t0 = Instant::now();
            assert_eq!(limiter.check_at("a", t0), Admission::Admitted);
            assert!(matches!(
                limiter.check_at("a", t0),
                Admission::Limited { .. }
            ));
            assert_eq!(limiter.check_at("b", t0), Admission::Admitted, "{mode}");
        }
    }

    #[test]
    fn unlimited_admits_everything() {
        for mode in [RateWindow::Fixed, RateWindow::Sliding] {
            let limiter = RateLimiter::new(RateLimit::Unlimited, mode);
            assert!((0..10_000).all(|_| limiter.check("a") == Admission::Admitted));
        }
    }

    /// Three requests at the end of one fixed window and three at the start of the next:
    /// six within two seconds under a limit of three per ten.
    fn burst_across_a_boundary(limiter: &RateLimiter, t0: Instant) -> Vec<bool> {
        let mut admitted = vec![limiter.check_at("a", t0) == Admission::Admitted];
        for s in [9, 9, 9, 10, 10, 10] {
            admitted.push(limiter.check_at("a", seconds(t0, s)) == Admission::Admitted);
        }
        admitted
    }

    #[test]
    fn fixed_windows_let_a_burst_through_a_boundary_and_sliding_ones_do_not() {
        let t0 = Instant::now();
        let fixed = limiter(3, 10, RateWindow::Fixed);
        assert_eq!(
            burst_across_a_boundary(&fixed, t0),
            [true, true, true, false, true, true, true],
            "the window opened at 0 s closes at 10 s"
        );
        let sliding = limiter(3, 10, RateWindow::Sliding);
        assert_eq!(
            burst_across_a_boundary(&sliding, t0),
            [true, true, true, false, true, false, false],
            "at 10 s only the request of 0 s has left the last ten seconds"
        );
    }

    #[test]
    fn sliding_windows_never_hold_more_than_the_limit_in_any_span() {
        let (requests, window) = (5u32, Duration::from_millis(1000));
        let limiter =
            RateLimiter::new(RateLimit::Limited { requests, window }, RateWindow::Sliding);
        let t0 = Instant::now();
        // A request every 70 ms for 20 s, admitted or not.
        let admitted: Vec<Instant> = (0..286)
            .map(|i| t0 + Duration::from_millis(70 * i))
            .filter(|&at| limiter.check_at("a", at) == Admission::Admitted)
            .collect();
        for (i, &start) in admitted.iter().enumerate() {
            let in_span = admitted[i..]
                .iter()
                .take_while(|&&at| at.duration_since(start) < window)
                .count();
            assert!(
                in_span <= requests as usize,
                "{in_span} within a window from {i}"
            );
        }
        // Each admitted request leaves room one window later, so the limit is also reached.
        assert!(admitted.len() >= 90, "{}", admitted.len());
    }

    #[test]
    fn sliding_retry_after_is_when_the_oldest_request_leaves_the_window() {
        let limiter = limiter(2, 60, RateWindow::Sliding);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("a", t0), Admission::Admitted);
        assert_eq!(limiter.check_at("a", seconds(t0, 20)), Admission::Admitted);
        assert_eq!(
            limiter.check_at("a", seconds(t0, 30)),
            limited(Duration::from_secs(30))
        );
        assert_eq!(limiter.check_at("a", seconds(t0, 60)), Admission::Admitted);
        assert_eq!(
            limiter.check_at("a", seconds(t0, 61)),
            limited(Duration::from_secs(19)),
            "now the one of 20 s is the oldest"
        );
    }
}
