//! Even spacing of requests at a pace that may change between two requests.
//!
//! Hand-written rather than a second governor limiter: a governor quota is fixed when the
//! limiter is built, and rebuilding one at every change of pace would forget when the last
//! request went (the new one would allow a request at once). This keeps that one instant and
//! reads the pace at every check, so a cut applies to the very next request.

use std::time::Duration;

use tokio::time::Instant;

use super::ceiling::SLACK;

/// When the last request went, on an ideal timeline that late wake-ups do not push back.
#[derive(Debug, Default)]
pub(crate) struct Spacing {
    /// The timeline instant of the last request; `None` before the first.
    last: Option<Instant>,
}

impl Spacing {
    /// How long until a request may go at `pace` (requests per second), if it may not go now.
    ///
    /// A request may go up to [`SLACK`] early, so that a timer firing a little late for one
    /// request does not make the next one late too.
    pub(crate) fn wait(&self, now: Instant, pace: Option<f64>) -> Option<Duration> {
        let next = self.last? + interval(pace?);
        let allowed_from = next.checked_sub(SLACK).unwrap_or(next);
        (allowed_from > now).then(|| allowed_from - now)
    }

    /// Records a request going now at `pace` (`None`: unpaced, the timeline restarts from now).
    pub(crate) fn take(&mut self, now: Instant, pace: Option<f64>) {
        let base = now.checked_sub(SLACK).unwrap_or(now);
        self.last = Some(match (self.last, pace) {
            (Some(last), Some(pace)) => (last + interval(pace)).max(base),
            _ => now,
        });
    }
}

/// The time between two requests at `pace` requests per second (a day at most).
pub(crate) fn interval(pace: f64) -> Duration {
    const LONGEST: Duration = Duration::from_secs(86_400);
    if pace > 0.0 {
        Duration::try_from_secs_f64(1.0 / pace)
            .unwrap_or(LONGEST)
            .min(LONGEST)
    } else {
        LONGEST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_at_the_pace_read_at_each_check() {
        let mut spacing = Spacing::default();
        let start = Instant::now();
        assert_eq!(spacing.wait(start, Some(10.0)), None, "first goes at once");
        spacing.take(start, Some(10.0));
        let wait = spacing.wait(start, Some(10.0)).unwrap();
        assert_eq!(wait, Duration::from_millis(100) - SLACK);
        // A cut applies to the very next request.
        assert_eq!(
            spacing.wait(start, Some(2.0)),
            Some(Duration::from_millis(500) - SLACK)
        );
        assert_eq!(spacing.wait(start, None), None, "unpaced");
    }

    #[tokio::test(start_paused = true)]
    async fn late_requests_keep_the_ideal_timeline() {
        let mut spacing = Spacing::default();
        let start = Instant::now();
        spacing.take(start, Some(10.0));
        // Two milliseconds late: the next slot stays at 200 ms, not 202 ms.
        spacing.take(start + Duration::from_millis(102), Some(10.0));
        let at = start + Duration::from_millis(150);
        assert_eq!(
            spacing.wait(at, Some(10.0)),
            Some(Duration::from_millis(50) - SLACK)
        );
    }

    #[test]
    fn interval_is_bounded() {
        assert_eq!(interval(4.0), Duration::from_millis(250));
        assert_eq!(interval(0.0), Duration::from_secs(86_400));
        assert_eq!(interval(f64::NAN), Duration::from_secs(86_400));
        assert_eq!(interval(1e-12), Duration::from_secs(86_400));
    }
}
