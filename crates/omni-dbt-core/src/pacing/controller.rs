//! The adaptive pace of one key: cut by 429s, grown back over time, never above the ceiling.
//!
//! In the spirit of the AWS SDKs' adaptive retry mode (a fill rate that follows CUBIC and is cut
//! multiplicatively on a throttle), adapted to a server that counts requests in windows of
//! unknown length and says nothing but 429:
//!
//! - **A streak of 429s is a wall.** A windowed server refuses everything until its window moves
//!   on. Each fresh 429 halves the pace, but probes are never spaced further apart than the
//!   wall is old: an exponential backoff for every user of the key that overshoots the wall's
//!   end by at most its length.
//! - **A deep wall measures the share.** The first success after a wall that lasted a good part
//!   of the period measured shows the server's window has moved on. The key's successes since
//!   the period began, divided by the time to the middle of the wall's last gap and to its last
//!   429, bracket what the server lets this key have: the pace restarts just under the first and
//!   grows towards the second. So four runners on one key each learn about a quarter in one
//!   wall, and a runner with no ceiling learns the limit the same way. A shallow wall (a probe
//!   just over the limit) restarts under the rate it was met at, as CUBIC does.
//! - **Growth is CUBIC's, on the server's clock.** `target + c (t - k)^3`: concave back up to
//!   the target, flat near it, then convex above it. The key's first wall shows how long the
//!   server remembers (from the first request to the wall's end); `c` is set so that a runner at
//!   the key's ceiling, cut by [`BETA`], is back after [`PROBE_WINDOWS`] of those. `c` is
//!   absolute, not relative to each runner's pace, so that a runner with a small share regrows
//!   faster than one with a large share, as in TCP CUBIC.
//! - **Room found is taken fast.** Growth [`ROOM_MARGIN`] above the target with no 429 on the
//!   way shows the key has room it did not have (another runner on it finished): from there
//!   the pace doubles every [`DOUBLE_WINDOWS`] windows, so a departed runner's share is taken
//!   in a few windows instead of the minutes the cubic would take. The wall such growth meets is
//!   measured by what went through over the server's last window, not by the pace it was met
//!   at, which runs ahead of what the window admits by the time it refuses.
//! - **The first wall is probed sparingly.** A key's very first 429 cuts its pace to
//!   [`FIRST_COLLAPSE`] (later ones to [`COLLAPSE`]): the first wall is usually deep (runners
//!   starting together, a ceiling above the limit), and every probe into it is a 429.
//!
//! - **429s that come whatever the pace do not ratchet the key down.** Some servers and proxies
//!   refuse a share of requests at random. Two or three of those in a row are chance, so a deep
//!   wall takes [`DEEP_WALL_PROBES`] probes (the key's first, probed more sparingly,
//!   [`FIRST_DEEP_WALL_PROBES`]); and shallow walls alone never take the pace below
//!   [`SHALLOW_FLOOR`] of what the key last had evidence for (its ceiling, or the share its last
//!   deep wall measured). A limit truly lower than that shows itself as a deep wall.
//!
//! - **A runner given a share starts there.** Runners that share a key and each start at the
//!   full ceiling all meet one deep wall, measure unequal shares in it (a few milliseconds
//!   apart at the start are a large part of one window), and then finish at different times.
//!   A runner told its share (shards of one input, each given its part of the rows) starts at
//!   it and doubles from there: alone on the key it is at its ceiling after a few doublings
//!   with no 429; among the others it meets a shallow wall at once, which shows the key is
//!   shared, and it holds its share from then on, probing above it only every
//!   [`SHARE_ROOM_WINDOWS`]. Shares in proportion to the work make the runners end together.
//! - **Requests bunch up, and always on the same runner.** Shares that add up to 98% of a
//!   window still overflow it now and then, and the request that overflows is, time after
//!   time, the one of the runner whose share is just over a whole number of requests per
//!   window. A lone 429 at a held share trims it by [`TRIM`] at once, without the dip of a
//!   streak; that runner then falls behind the plan, and catches up once the others were
//!   planned to end ([`Controller::release`]): it doubles from where it is into the room they
//!   left, or, if they are still there, holds its pace after the first 429.
//!
//! Responses to requests sent before the last cut say nothing about the new pace, so they
//! neither cut again nor end a streak (as TCP cuts once per window of losses).
//!
//! Hand-written because the crates that pace adaptively (such as the AWS SDK's runtime) bring a
//! whole SDK with them; this is a page of arithmetic, tested on paused time and against a
//! simulated server (`sim.rs`), where the constants below were chosen.

use std::time::Duration;

use tokio::time::Instant;

use super::admitted::Admitted;
use super::spacing::interval;

/// Pace restarted at after a wall, as a share of the rate believed sustainable.
const BETA: f64 = 0.9;

/// After a shallow wall, the rate believed sustainable, as a share of the rate it was met at.
const SHALLOW_TARGET: f64 = 0.97;

/// Server windows it takes a runner at the key's ceiling, cut by `1 - BETA`, to grow back.
const PROBE_WINDOWS: f64 = 25.0;

/// The server's window as learned is taken to hold at least this many requests at the key's
/// reference rate (its ceiling, else the first share measured)...
const MIN_WINDOW_REQUESTS: f64 = 10.0;

/// ...and at most this many.
const MAX_WINDOW_REQUESTS: f64 = 200.0;

/// The pace after the first 429 of a streak, as a share of the pace before it (the probes that
/// follow are spaced by the wall's age)...
const COLLAPSE: f64 = 0.5;

/// ...and after the key's very first 429, when it knows nothing of the server yet.
const FIRST_COLLAPSE: f64 = 0.25;

/// Growth this far above the target with no 429 on the way shows the key has room it did not
/// have...
const ROOM_MARGIN: f64 = 0.1;

/// ...and from there the pace doubles every this many server windows.
const DOUBLE_WINDOWS: f64 = 2.0;

/// The lowest shallow walls alone take the pace, as a share of the rate last established.
const SHALLOW_FLOOR: f64 = 0.5;

/// A wall lasting this share of the period measured is deep: it says what the key's share is...
const DEEP_WALL: f64 = 0.2;

/// ...if it took at least this many fresh 429s...
const DEEP_WALL_PROBES: u32 = 4;

/// ...or this many for the key's first wall, probed more sparingly (see [`FIRST_COLLAPSE`]).
const FIRST_DEEP_WALL_PROBES: u32 = 3;

/// The server's window a key believed shared assumes before any wall, in requests at its
/// ceiling: short, so that a runner with the key to itself finds its room soon.
const ASSUMED_WINDOW_REQUESTS: f64 = 10.0;

/// Server windows a runner holding its share of a key takes to probe [`ROOM_MARGIN`] above it:
/// every probe that finds the others still there costs a 429.
const SHARE_ROOM_WINDOWS: f64 = 160.0;

/// A 429 met at a runner's share rather than above it trims the share by this much.
const TRIM: f64 = 0.01;

/// The slowest the key is ever paced: one request a minute, in requests per second.
const MIN_PACE: f64 = 1.0 / 60.0;

/// A gap between two requests this many times the current interval means the key was idle,
/// and its measurement restarts (an idle key's low success rate says nothing of the server).
const IDLE_GAPS: u32 = 4;

/// The shortest gap counted as idle, for an unpaced key.
const MIN_IDLE_GAP: Duration = Duration::from_millis(100);

/// The pace of one key and what it learned from the server.
#[derive(Debug)]
pub(crate) struct Controller {
    /// The configured ceiling at its pacing share, in requests per second; `None` if unlimited.
    ceiling: Option<f64>,
    phase: Phase,
    /// When the pace was last cut; responses to requests sent before it are stale.
    last_cut: Option<Instant>,
    /// Sends and successes since the last streak ended (or the key was last idle).
    measure: Measure,
    /// CUBIC's coefficient and the server's window, learned when the key's first streak ends.
    cubic: Option<Cubic>,
    /// When the key's recent requests were accepted.
    admitted: Admitted,
    /// The rate the key last had evidence for: its ceiling, then the share its last deep wall
    /// measured. Shallow walls alone never take the pace below [`SHALLOW_FLOOR`] of it.
    established: Option<f64>,
    /// A key believed shared: the share it was given (requests per second), until its first
    /// wall says whether it is shared indeed.
    presumed: Option<f64>,
    /// A key shown to be shared: the share it holds through shallow walls.
    anchor: Option<Anchor>,
}

/// The share a runner on a shared key holds: the one it was given, trimmed by 429s met at it.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    /// Requests per second.
    share: f64,
    /// When a 429 last trimmed it.
    trimmed: Option<Instant>,
}

impl Anchor {
    fn new(share: f64) -> Self {
        Self {
            share,
            trimmed: None,
        }
    }

    /// Whether a 429 at a pace of `current` was met at the share, not above it.
    fn met_at(&self, current: f64) -> bool {
        current <= self.share * (1.0 + TRIM)
    }

    /// Whether no 429 has trimmed the share within `window` of `now`.
    fn quiet_for(&self, window: Duration, now: Instant) -> bool {
        self.trimmed
            .is_none_or(|trimmed| now.saturating_duration_since(trimmed) > window)
    }

    /// Trims the share by [`TRIM`] at `now`.
    fn trim(&mut self, now: Instant) {
        self.share = (self.share * (1.0 - TRIM)).max(MIN_PACE);
        self.trimmed = Some(now);
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No 429 yet: the ceiling alone applies (or nothing, for an unlimited key).
    Unslowed,
    /// Nothing sent yet by a key believed shared: its first request starts from this share.
    Sharing { share: f64 },
    /// A key believed shared, doubling from its share until the server refuses.
    Starting {
        since: Instant,
        share: f64,
        /// Requests sent at the ceiling since growth reached it.
        at_ceiling: u32,
    },
    /// 429s unanswered by a fresh success.
    Streak {
        /// The rate requests were going at when the wall was met, in requests per second.
        hit: f64,
        /// The first fresh 429.
        since: Instant,
        /// The pace the probes are spaced at.
        pace: f64,
        /// Fresh 429s in the streak.
        probes: u32,
        /// Whether the wall was met while growth was taking room it had found.
        roomy: bool,
    },
    /// Growing again after a streak.
    Growing {
        /// When, and at what pace, growth started.
        since: Instant,
        restart: f64,
        /// The rate believed sustainable: growth climbs to it, then probes above.
        target: f64,
    },
}

/// What the key's first wall taught about the server's clock.
#[derive(Clone, Copy, Debug)]
struct Cubic {
    /// CUBIC's coefficient, in requests per second per second cubed.
    coefficient: f64,
    /// How long the server remembers requests.
    window: Duration,
}

/// Counts over the current measurement period.
#[derive(Debug, Default)]
struct Measure {
    /// When the period began (its first request); `None` before one.
    start: Option<Instant>,
    /// The last request sent, to notice an idle key.
    last_send: Option<Instant>,
    sends: u64,
    successes: u64,
}

impl Measure {
    fn restart(&mut self, now: Instant) {
        *self = Self {
            start: Some(now),
            last_send: self.last_send,
            ..Self::default()
        };
    }

    /// Requests per second over the period up to `end`, by `count` of them; `None` if too
    /// short to say.
    fn rate(&self, count: u64, end: Instant) -> Option<f64> {
        let elapsed = end.saturating_duration_since(self.start?).as_secs_f64();
        (elapsed > 0.0 && count > 0).then(|| count as f64 / elapsed)
    }
}

impl Controller {
    /// A controller under `ceiling` requests per second (`None`: unlimited), not slowed.
    pub(crate) fn new(ceiling: Option<f64>) -> Self {
        Self {
            ceiling,
            phase: Phase::Unslowed,
            last_cut: None,
            measure: Measure::default(),
            cubic: None,
            admitted: Admitted::default(),
            established: ceiling,
            presumed: None,
            anchor: None,
        }
    }

    /// A controller for a runner given `share` (0 to 1) of a key it is believed to share with
    /// others, each under `ceiling` (the key's limit). It starts at its share of the ceiling and
    /// doubles from there until the server refuses: a runner with the key to itself so reaches
    /// its ceiling in a few doublings, and runners that do share it meet one wall just above
    /// their shares, which shows the key is shared: each holds its share from then on, probing
    /// above it slowly. A key that allows less than the shares add up to shows it in the walls
    /// that follow, deep ones, which are measured as any other.
    pub(crate) fn sharing(ceiling: Option<f64>, share: f64) -> Self {
        let Some(ceiling) = ceiling.filter(|_| share > 0.0 && share < 1.0) else {
            return Self::new(ceiling);
        };
        let share = (ceiling * share).max(MIN_PACE);
        let cubic = Cubic {
            coefficient: 0.0,
            window: Duration::from_secs_f64(ASSUMED_WINDOW_REQUESTS / ceiling),
        };
        let mut controller = Self {
            phase: Phase::Sharing { share },
            cubic: Some(cubic),
            presumed: Some(share),
            ..Self::new(Some(ceiling))
        };
        controller.admitted.keep_for(cubic.window);
        controller
    }

    /// The other runners on a shared key have probably finished (their part of the work was
    /// planned to end by now): probe for the room they left by doubling from the pace now, as
    /// at the start. A wall on the way shows they are still there, and the pace goes back to
    /// where it was.
    pub(crate) fn release(&mut self, now: Instant) {
        if self.anchor.is_none() || !matches!(self.phase, Phase::Growing { .. }) {
            return;
        }
        let Some(pace) = self.pace(now) else { return };
        self.phase = Phase::Starting {
            since: now,
            share: pace,
            at_ceiling: 0,
        };
        self.presumed = Some(pace);
        self.anchor = None;
    }

    /// The pace requests must keep at `now`, when slower than the ceiling; `None` otherwise.
    pub(crate) fn pace(&self, now: Instant) -> Option<f64> {
        let pace = match self.phase {
            Phase::Unslowed => return None,
            Phase::Sharing { share } => share,
            Phase::Starting { since, share, .. } => {
                let doubling = self.doubling().unwrap_or(Duration::MAX).as_secs_f64();
                share * 2f64.powf(now.saturating_duration_since(since).as_secs_f64() / doubling)
            }
            Phase::Streak { pace, .. } => pace,
            Phase::Growing {
                since,
                restart,
                target,
            } => self.grown_pace(now.saturating_duration_since(since), restart, target),
        };
        let pace = if pace.is_finite() { pace } else { MIN_PACE }.max(MIN_PACE);
        match self.ceiling {
            Some(ceiling) if pace >= ceiling => None,
            _ => Some(pace),
        }
    }

    /// A request is leaving now.
    pub(crate) fn on_send(&mut self, now: Instant) {
        match self.phase {
            Phase::Sharing { share } => {
                self.phase = Phase::Starting {
                    since: now,
                    share,
                    at_ceiling: 0,
                }
            }
            Phase::Starting {
                since,
                share,
                at_ceiling,
            } if self.pace(now).is_none() => {
                // At the ceiling for as long as any server's window (in requests) with no 429:
                // the key was not shared after all.
                if f64::from(at_ceiling) >= MAX_WINDOW_REQUESTS {
                    self.phase = Phase::Unslowed;
                    self.presumed = None;
                } else {
                    self.phase = Phase::Starting {
                        since,
                        share,
                        at_ceiling: at_ceiling + 1,
                    };
                }
            }
            _ => {}
        }
        let idle_gap = self
            .pace(now)
            .or(self.ceiling)
            .map_or(MIN_IDLE_GAP, |pace| interval(pace) * IDLE_GAPS)
            .max(MIN_IDLE_GAP);
        let idle = self
            .measure
            .last_send
            .is_some_and(|last| now.saturating_duration_since(last) > idle_gap);
        let in_streak = matches!(self.phase, Phase::Streak { .. });
        if self.measure.start.is_none() || (idle && !in_streak) {
            self.measure.restart(now);
        }
        self.measure.last_send = Some(now);
        self.measure.sends += 1;
    }

    /// The server answered 429 to a request sent at `sent_at`. With `retry_after` the caller
    /// pauses the key until then, so the probes are not spaced out on top of it.
    pub(crate) fn on_throttle(&mut self, sent_at: Instant, now: Instant, retry_after: bool) {
        if self.is_stale(sent_at) {
            return;
        }
        let current = self.current_rate(now);
        let (hit, since, probes, roomy) = match self.phase {
            Phase::Streak {
                hit,
                since,
                probes,
                roomy,
                ..
            } => (hit, since, probes, roomy),
            _ => (current, now, 0, self.taking_room(now)),
        };
        // The next probe comes no later than the wall is old, so that the probe that finds it
        // over overshoots its end by at most its length.
        let age = now.saturating_duration_since(since).as_secs_f64();
        let floor = if age > 0.0 { 1.0 / age } else { 0.0 };
        let collapse = match self.phase {
            Phase::Unslowed => FIRST_COLLAPSE,
            _ => COLLAPSE,
        };
        if !retry_after && self.trim_share(current, now) {
            return;
        }
        let pace = if retry_after {
            current
        } else {
            (current * collapse).max(floor)
        };
        self.phase = Phase::Streak {
            hit,
            since,
            pace,
            probes: probes.saturating_add(1),
            roomy,
        };
        self.last_cut = Some(now);
    }

    /// A lone 429 met at the share a runner holds on a shared key, with no other within a
    /// server window: the runners' shares add up to a little more than the key allows (their
    /// requests bunch up in a window, which takes the same runner's request every time), so
    /// that runner trims its share by [`TRIM`] and goes on at once, without the dip of a streak
    /// that would put it further behind the others. Whether it did.
    fn trim_share(&mut self, current: f64, now: Instant) -> bool {
        let window = self.window();
        let Some(anchor) = &mut self.anchor else {
            return false;
        };
        let lone = !matches!(self.phase, Phase::Streak { .. })
            && anchor.met_at(current)
            && anchor.quiet_for(window, now);
        if !lone {
            return false;
        }
        anchor.trim(now);
        self.phase = Phase::Growing {
            since: now,
            restart: anchor.share,
            target: anchor.share,
        };
        self.last_cut = Some(now);
        true
    }

    /// The server answered a request sent at `sent_at` with anything but 429.
    pub(crate) fn on_success(&mut self, sent_at: Instant, now: Instant) {
        self.admitted.record(now);
        match self.phase {
            Phase::Streak {
                hit,
                since,
                probes,
                roomy,
                ..
            } if !self.is_stale(sent_at) => {
                let hit = if roomy {
                    self.went_through(hit, since)
                } else {
                    hit
                };
                self.end_streak(hit, since, probes, now);
            }
            _ => self.measure.successes += 1,
        }
    }

    /// The first fresh success after a streak of 429s: restart under what the server allowed.
    fn end_streak(&mut self, hit: f64, since: Instant, probes: u32, now: Instant) {
        let start = self.measure.start.unwrap_or(since);
        let last_429 = self.last_cut.unwrap_or(now);
        // The wall ended between the last 429 and this success.
        let wall_end = last_429 + (now - last_429) / 2;
        let period = now.saturating_duration_since(start).as_secs_f64();
        let wall = now.saturating_duration_since(since).as_secs_f64();
        // Two 429s in a row can be chance (a server may refuse a share of requests whatever
        // the pace); a wall is several probes long.
        let needed = if self.cubic.is_none() {
            FIRST_DEEP_WALL_PROBES
        } else {
            DEEP_WALL_PROBES
        };
        let deep = wall >= period * DEEP_WALL && probes >= needed;
        let successes = self.measure.successes;
        let share = (
            self.measure.rate(successes, wall_end),
            self.measure.rate(successes, last_429),
        );
        let presumed = self.presumed.take();
        let (restart, target) = match (share, presumed) {
            // The first wall since the share was given (or released): the key is shared as
            // believed, and the share is held.
            (_, Some(share)) => {
                self.anchor = Some(Anchor::new(share));
                self.established = Some(share);
                self.probe_slowly_above(share);
                (share, share)
            }
            ((Some(likely), Some(upper)), _) if deep => {
                self.established = Some(likely);
                self.anchor = None;
                (likely * BETA, upper.min(hit))
            }
            _ => {
                // 429s that come whatever the pace (a proxy, an injected fault) must not
                // ratchet the key down wall after wall; a real limit lower than this shows
                // itself as a deep wall, which resets the floor. A runner sharing a key gives
                // up no more than a trim of its share to a shallow wall met at it.
                let floor = match &mut self.anchor {
                    Some(anchor) => {
                        if anchor.met_at(hit) {
                            anchor.trim(now);
                        }
                        anchor.share
                    }
                    None => self.established.unwrap_or(hit) * SHALLOW_FLOOR,
                };
                ((hit * BETA).max(floor), (hit * SHALLOW_TARGET).max(floor))
            }
        };
        let target = target.max(MIN_PACE);
        if self.cubic.is_none() {
            let cubic = self.learn_cubic(wall_end.saturating_duration_since(start), target);
            self.admitted.keep_for(cubic.window);
            self.cubic = Some(cubic);
        }
        self.phase = Phase::Growing {
            since: now,
            restart: restart.max(MIN_PACE).min(target),
            target,
        };
        self.measure.restart(now);
        self.measure.successes = 1;
    }

    /// Sets CUBIC's coefficient so that growth from `share` is [`ROOM_MARGIN`] above it after
    /// [`SHARE_ROOM_WINDOWS`]: runners holding their shares of a key probe above them rarely.
    fn probe_slowly_above(&mut self, share: f64) {
        if let Some(cubic) = &mut self.cubic {
            let room = SHARE_ROOM_WINDOWS * cubic.window.as_secs_f64();
            cubic.coefficient = share * ROOM_MARGIN / room.powi(3);
        }
    }

    /// The server's window as learned (or assumed); a second before the key knows anything.
    fn window(&self) -> Duration {
        self.cubic
            .map_or(Duration::from_secs(1), |cubic| cubic.window)
    }

    /// How long the pace takes to double when taking room: [`DOUBLE_WINDOWS`] of the server's.
    fn doubling(&self) -> Option<Duration> {
        self.cubic.map(|cubic| cubic.window.mul_f64(DOUBLE_WINDOWS))
    }

    /// CUBIC's coefficient for this key, from its first wall's `period` (about how long the
    /// server remembers, measured from the key's first request) and the `share` it measured.
    fn learn_cubic(&self, period: Duration, share: f64) -> Cubic {
        let reference = self.ceiling.unwrap_or(share).max(MIN_PACE);
        let window = period.as_secs_f64().clamp(
            MIN_WINDOW_REQUESTS / reference,
            MAX_WINDOW_REQUESTS / reference,
        );
        let regrow = PROBE_WINDOWS * window;
        Cubic {
            coefficient: (1.0 - BETA) * reference / regrow.powi(3),
            window: Duration::from_secs_f64(window),
        }
    }

    /// The pace `elapsed` into growth from `restart` towards `target`: CUBIC's
    /// `target + c (t - k)^3`, where `k` is when it is back at `target`, until it is
    /// [`ROOM_MARGIN`] above `target`; doubling every [`DOUBLE_WINDOWS`] from there.
    fn grown_pace(&self, elapsed: Duration, restart: f64, target: f64) -> f64 {
        let Some(cubic) = self.cubic.filter(|c| c.coefficient > 0.0) else {
            return target;
        };
        let c = cubic.coefficient;
        let t = elapsed.as_secs_f64();
        let k = ((target - restart).max(0.0) / c).cbrt();
        let grown = target + c * (t - k).powi(3);
        let room_at = Self::room_at(k, target, c);
        if t <= room_at {
            return grown;
        }
        let doubling = cubic.window.as_secs_f64() * DOUBLE_WINDOWS;
        let roomy = target * (1.0 + ROOM_MARGIN);
        grown.max(roomy * 2f64.powf((t - room_at) / doubling))
    }

    /// When growth that is back at `target` after `k` seconds is [`ROOM_MARGIN`] above it.
    fn room_at(k: f64, target: f64, c: f64) -> f64 {
        k + (target * ROOM_MARGIN / c).cbrt()
    }

    /// Whether growth is taking room it found at `now` (past [`ROOM_MARGIN`] with no 429).
    fn taking_room(&self, now: Instant) -> bool {
        let (
            Phase::Growing {
                since,
                restart,
                target,
            },
            Some(cubic),
        ) = (self.phase, self.cubic)
        else {
            return false;
        };
        let c = cubic.coefficient;
        if c <= 0.0 {
            return false;
        }
        let k = ((target - restart).max(0.0) / c).cbrt();
        now.saturating_duration_since(since).as_secs_f64() > Self::room_at(k, target, c)
    }

    /// What went through over the server's last window before `since`, if less than `hit`.
    fn went_through(&self, hit: f64, since: Instant) -> f64 {
        self.cubic
            .and_then(|cubic| self.admitted.rate(since, cubic.window))
            .map_or(hit, |lately| hit.min(lately))
    }

    /// The rate requests are going at now: the pace, else the ceiling, else as measured.
    fn current_rate(&self, now: Instant) -> f64 {
        self.pace(now)
            .or(self.ceiling)
            .or_else(|| self.measure.rate(self.measure.sends, now))
            .unwrap_or(MIN_PACE)
    }

    fn is_stale(&self, sent_at: Instant) -> bool {
        self.last_cut.is_some_and(|cut| sent_at < cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends one request at `at` and answers it 10 ms later; returns the answer's instant.
    fn exchange(c: &mut Controller, at: Instant, ok: bool) -> Instant {
        c.on_send(at);
        let now = at + ms(10);
        if ok {
            c.on_success(at, now);
        } else {
            c.on_throttle(at, now, false);
        }
        now
    }

    /// The next request after one answered at `now`, at the controller's pace or `unslowed`.
    fn next(c: &Controller, now: Instant, unslowed: Duration) -> Instant {
        now + c.pace(now).map_or(unslowed, interval)
    }

    #[tokio::test(start_paused = true)]
    async fn no_429_means_no_change() {
        let mut c = Controller::new(Some(10.0));
        let start = Instant::now();
        for i in 0..1000 {
            exchange(&mut c, start + ms(100 * i), true);
        }
        assert_eq!(c.pace(start + ms(100_000)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deep_wall_is_probed_a_few_times_then_the_share_is_measured() {
        let mut c = Controller::new(Some(10.0));
        let start = Instant::now();
        // 5 successes in the first half second, then a wall until 2 s: four runners' share.
        for i in 0..5 {
            exchange(&mut c, start + ms(100 * i), true);
        }
        let mut at = start + ms(500);
        let mut throttles = 0;
        while at < start + ms(2000) {
            let now = exchange(&mut c, at, false);
            throttles += 1;
            at = next(&c, now, ms(100));
        }
        assert!(throttles <= 4, "{throttles} 429s in the wall");
        let back = exchange(&mut c, at, true);
        let pace = c.pace(back).unwrap();
        assert!(
            pace > 2.5 * 0.5 && pace < 2.5 * 1.1,
            "{pace}/s, the share is 2.5/s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_wall_the_pace_grows_back_to_the_ceiling_and_never_above() {
        let mut c = Controller::new(Some(10.0));
        let start = Instant::now();
        for i in 0..20 {
            exchange(&mut c, start + ms(100 * i), true);
        }
        let now = exchange(&mut c, start + ms(2000), false);
        let probe = next(&c, now, ms(100));
        let mut at = exchange(&mut c, probe, true);
        let mut paces = Vec::new();
        while let Some(pace) = c.pace(at) {
            paces.push(pace);
            at = exchange(&mut c, at + interval(pace), true);
            assert!(paces.len() < 10_000, "never recovered");
        }
        assert!(
            paces.windows(2).all(|w| w[1] >= w[0]),
            "grows monotonically"
        );
        assert!(paces.iter().all(|p| *p < 10.0), "never above the ceiling");
        assert!(paces.len() >= 20, "gently: {}", paces.len());
    }

    #[tokio::test(start_paused = true)]
    async fn responses_to_requests_sent_before_a_cut_do_not_cut_again() {
        let mut c = Controller::new(None);
        let start = Instant::now();
        for _ in 0..8 {
            c.on_send(start);
        }
        let now = start + ms(10);
        c.on_throttle(start, now, false);
        let after_one = c.pace(now).unwrap();
        for _ in 0..7 {
            c.on_throttle(start, now, false);
        }
        assert_eq!(c.pace(now), Some(after_one));
        // Nor does a stale success end the streak.
        c.on_success(start, now);
        assert_eq!(c.pace(now), Some(after_one));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unlimited_key_learns_a_pace_from_its_first_429s() {
        let mut c = Controller::new(None);
        let start = Instant::now();
        assert_eq!(c.pace(start), None);
        // 20 requests in 20 ms are taken, then the server refuses until 2 s.
        for i in 0..20 {
            exchange(&mut c, start + ms(i), true);
        }
        let mut at = start + ms(20);
        while at < start + ms(2000) {
            let now = exchange(&mut c, at, false);
            at = next(&c, now, ms(1));
        }
        let back = exchange(&mut c, at, true);
        let pace = c.pace(back).unwrap();
        assert!(
            pace > 4.0 && pace < 12.0,
            "learned {pace}/s, the server allows 10/s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_below_the_floor() {
        let mut c = Controller::new(Some(10.0));
        let start = Instant::now();
        let mut at = start;
        for _ in 0..200 {
            at = exchange(&mut c, at, false);
        }
        assert!(c.pace(at).unwrap() >= MIN_PACE);
    }

    /// Sends at the controller's pace from `start` with every request accepted; returns the
    /// seconds it took to reach `pace` (per second).
    fn seconds_to_reach(c: &mut Controller, start: Instant, pace: f64) -> f64 {
        let mut at = start;
        loop {
            let now = exchange(c, at, true);
            match c.pace(now) {
                Some(current) if current < pace => at = now + interval(current),
                _ => return (now - start).as_secs_f64(),
            }
            assert!(now - start < Duration::from_secs(3600), "never grew");
        }
    }

    /// A key under a ceiling of 40/s that met a wall at 10/s after a 2 s window.
    fn walled_at_ten(start: Instant) -> (Controller, Instant) {
        let mut c = Controller::new(Some(40.0));
        for i in 0..20 {
            exchange(&mut c, start + ms(100 * i), true);
        }
        let mut at = start + ms(2000);
        for _ in 0..DEEP_WALL_PROBES {
            let now = exchange(&mut c, at, false);
            at = next(&c, now, ms(100));
        }
        let back = exchange(&mut c, at, true);
        (c, back)
    }

    #[tokio::test(start_paused = true)]
    async fn once_growth_finds_room_the_pace_doubles_every_few_windows() {
        let start = Instant::now();
        let (mut c, back) = walled_at_ten(start);
        let mut at = back;
        while !c.taking_room(at) {
            at = exchange(&mut c, at, true) + interval(c.pace(at).unwrap_or(40.0));
        }
        let found = c.pace(at).unwrap();
        let taken = seconds_to_reach(&mut c, at, 3.0 * found);
        let window = c.cubic.unwrap().window.as_secs_f64();
        // Tripling takes under two doublings, plus the last request's interval...
        assert!(
            taken <= 2.0 * DOUBLE_WINDOWS * window + 0.2,
            "{taken} s to triple {found}/s"
        );
        // ...where the cubic alone would have taken minutes to add as much.
        let cubic_alone = (2.0 * found / c.cubic.unwrap().coefficient).cbrt();
        assert!(
            cubic_alone > 10.0 * taken,
            "the cubic alone: {cubic_alone} s"
        );
        assert!(
            c.pace(at + Duration::from_secs(600)).is_none(),
            "never above the ceiling"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wall_met_while_taking_room_restarts_under_what_went_through() {
        let start = Instant::now();
        let (mut c, back) = walled_at_ten(start);
        // Grow until doubling, then meet a wall: the pace is well above what the server's
        // window admitted (about 10/s) by then.
        let mut at = back;
        while !c.taking_room(at) {
            at = exchange(&mut c, at, true) + interval(c.pace(at).unwrap_or(40.0));
        }
        for _ in 0..12 {
            at = exchange(&mut c, at, true) + interval(c.pace(at).unwrap_or(40.0));
        }
        let met_at = c.pace(at).unwrap_or(40.0);
        let now = exchange(&mut c, at, false);
        let probe = next(&c, now, ms(100));
        let restarted = exchange(&mut c, probe, true);
        let pace = c.pace(restarted).unwrap();
        assert!(pace < met_at * BETA, "{pace}/s, met at {met_at}/s");
    }

    /// A controller given a quarter of a 10/s ceiling.
    fn quarter_of_ten() -> Controller {
        Controller::sharing(Some(10.0), 0.25)
    }

    #[tokio::test(start_paused = true)]
    async fn a_runner_given_a_share_with_the_key_to_itself_doubles_to_its_ceiling() {
        let mut c = quarter_of_ten();
        let start = Instant::now();
        assert_eq!(c.pace(start), Some(2.5), "starts at its share");
        let taken = seconds_to_reach(&mut c, start, 10.0);
        let doubling = c.doubling().unwrap().as_secs_f64();
        assert!(
            taken <= 2.0 * doubling + 0.5,
            "{taken} s to quadruple, doubling every {doubling} s"
        );
        // Once it has sent a server's window at its ceiling with no 429, it is a sole owner: a
        // later 429 no longer takes it to its share.
        let mut at = start + Duration::from_secs_f64(taken);
        for _ in 0..=(MAX_WINDOW_REQUESTS as u32) {
            at = exchange(&mut c, at, true) + ms(100);
        }
        assert_eq!(c.pace(at), None);
        let now = exchange(&mut c, at, false);
        let probe = next(&c, now, ms(100));
        let back = exchange(&mut c, probe, true);
        assert!(c.pace(back).unwrap() > 5.0, "{:?}", c.pace(back));
    }

    /// A quarter-of-ten controller that met the others on its key 1 s in; returns the instant
    /// its first success after the wall was answered.
    fn met_the_others(c: &mut Controller, start: Instant) -> Instant {
        let mut at = start;
        while at < start + ms(1000) {
            at = exchange(c, at, true) + interval(c.pace(at).unwrap_or(10.0));
        }
        let now = exchange(c, at, false);
        let probe = next(c, now, ms(100));
        exchange(c, probe, true)
    }

    #[tokio::test(start_paused = true)]
    async fn runners_sharing_a_key_hold_their_shares_after_the_first_wall() {
        let mut c = quarter_of_ten();
        let start = Instant::now();
        let mut at = met_the_others(&mut c, start);
        assert_eq!(c.pace(at), Some(2.5), "back at its share");
        // Probing above it is slow: a minute later it is still within ROOM_MARGIN of it.
        let minute = at + Duration::from_secs(60);
        while at < minute {
            let pace = c.pace(at).unwrap();
            assert!(
                (2.5..=2.5 * (1.0 + ROOM_MARGIN)).contains(&pace),
                "{pace}/s"
            );
            at = exchange(&mut c, at, true) + interval(pace);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_429_at_the_share_trims_it_with_no_dip() {
        let mut c = quarter_of_ten();
        let start = Instant::now();
        let at = met_the_others(&mut c, start);
        let now = exchange(&mut c, at, false);
        let trimmed = 2.5 * (1.0 - TRIM);
        let pace = c.pace(now).unwrap();
        assert!(
            (pace - trimmed).abs() < 1e-9,
            "{pace}/s, trimmed from 2.5/s"
        );
        // A second one within the server's window is a wall: the pace drops while it lasts.
        let now = exchange(&mut c, now + interval(pace), false);
        assert!(
            c.pace(now).unwrap() < trimmed * COLLAPSE * 1.01,
            "{:?}",
            c.pace(now)
        );
        let probe = next(&c, now, ms(100));
        let back = exchange(&mut c, probe, true);
        let pace = c.pace(back).unwrap();
        assert!(
            (pace - trimmed * (1.0 - TRIM)).abs() < 1e-9,
            "{pace}/s: back at the share, trimmed once more"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn released_it_doubles_for_the_room_the_others_left_and_a_wall_takes_it_back() {
        let start = Instant::now();
        // The others are gone: no 429 on the way up to the ceiling.
        let mut c = quarter_of_ten();
        let at = met_the_others(&mut c, start);
        c.release(at);
        let taken = seconds_to_reach(&mut c, at, 10.0);
        assert!(
            taken <= 2.0 * c.doubling().unwrap().as_secs_f64() + 0.5,
            "{taken} s"
        );
        // They are still there: the first 429 takes it back to the share it held.
        let mut c = quarter_of_ten();
        let mut at = met_the_others(&mut c, start);
        c.release(at);
        for _ in 0..5 {
            at = exchange(&mut c, at, true) + interval(c.pace(at).unwrap());
        }
        assert!(c.pace(at).unwrap() > 2.5, "doubling");
        let now = exchange(&mut c, at, false);
        let probe = next(&c, now, ms(100));
        let back = exchange(&mut c, probe, true);
        assert!(
            (c.pace(back).unwrap() - 2.5).abs() < 0.2,
            "{:?}",
            c.pace(back)
        );
        // A controller with no share is not released.
        let mut own = Controller::new(Some(10.0));
        own.release(back);
        assert_eq!(own.pace(back), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_share_of_the_whole_key_is_no_share() {
        let mut whole = Controller::sharing(Some(10.0), 1.0);
        assert_eq!(whole.pace(Instant::now()), None);
        let mut unlimited = Controller::sharing(None, 0.25);
        assert_eq!(unlimited.pace(Instant::now()), None);
        whole.on_send(Instant::now());
        unlimited.on_send(Instant::now());
        assert_eq!(whole.pace(Instant::now()), None);
        assert_eq!(unlimited.pace(Instant::now()), None);
    }
}
