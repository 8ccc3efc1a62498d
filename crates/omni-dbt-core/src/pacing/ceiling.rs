//! The fixed ceiling of a key: governor pacing requests evenly just under the configured rate.
//!
//! Requests are evenly paced, slightly under the nominal rate ([`PACING`]) so that a server
//! counting in fixed windows never sees one request too many, with a few milliseconds of slack
//! ([`SLACK`]) so that late timer wake-ups do not push every later request back.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;

/// The share of the nominal rate requests are paced at. A fixed-window counter on the server sees
/// requests as they arrive, and network latency can bunch them; pacing 2% under the limit keeps a
/// window from ever holding one request too many, for a 2% loss of throughput.
pub(crate) const PACING: f64 = 0.98;

/// Timer slack the limiter absorbs. tokio wakes a sleeper a millisecond or so late; with no slack
/// at all every late wake-up would push all later requests back (about 11% lost at 6000/min).
pub(crate) const SLACK: Duration = Duration::from_millis(5);

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

/// Requests per minute at most, evenly spaced at [`PACING`] of the rate.
pub(crate) struct Ceiling {
    clock: TokioClock,
    governor: Governor,
    /// Governor cells one request costs (see [`paced_quota`]).
    cells: NonZeroU32,
}

impl Ceiling {
    pub(crate) fn new(per_minute: NonZeroU32) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        let (quota, cells) = paced_quota(per_minute);
        let governor = governor::RateLimiter::new(quota, InMemoryState::default(), clock.clone());
        Self {
            clock,
            governor,
            cells,
        }
    }

    /// The paced rate in requests per second ([`PACING`] of the nominal one).
    pub(crate) fn paced_per_second(per_minute: NonZeroU32) -> f64 {
        f64::from(per_minute.get()) * PACING / 60.0
    }

    /// Takes one request slot if one is free now; otherwise how long until one is.
    pub(crate) fn take(&self) -> Result<(), Duration> {
        match self.governor.check_n(self.cells) {
            // A request always fits the burst (cells + 1), so capacity is never short.
            Ok(Ok(())) | Err(_) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
        }
    }
}

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
