//! A deterministic simulation on paused time: runners sharing one key against a model server.
//!
//! The model server counts one key's requests in fixed windows (opened by the first request,
//! as the sandbox does) or in a sliding window (a log of the last window's admitted requests),
//! answers after a fixed latency and refuses what is over the limit with 429, with or without
//! `Retry-After`. Each simulated process has its own [`KeyLimiter`] (as separate processes on one
//! key would) and a few workers sending as fast as it lets them, retrying 429s the way the
//! client does. Virtual time makes a two-minute run take milliseconds, and the same inputs give
//! the same figures.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::KeyLimiter;
use crate::rate::RateLimit;
use crate::retry::RetryPolicy;

/// How the model server counts requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    /// `limit` per window; a window opens with the first request after the last one ended.
    Fixed,
    /// At most `limit` admitted in any span of one window length.
    Sliding,
}

/// The server's limit on the key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub(crate) window: Window,
    pub(crate) requests: u32,
    pub(crate) length: Duration,
    pub(crate) retry_after: bool,
    /// Share of requests refused with 429 whatever the rate (a proxy, an injected fault).
    pub(crate) noise: f64,
}

impl Limit {
    /// `per_minute` as `requests` per window of `seconds`, without `Retry-After`.
    pub(crate) fn new(window: Window, per_minute: u32, seconds: u64) -> Self {
        let requests = u32::try_from(u64::from(per_minute) * seconds / 60).unwrap_or(u32::MAX);
        Self {
            window,
            requests,
            length: Duration::from_secs(seconds),
            retry_after: false,
            noise: 0.0,
        }
    }

    /// No limit, but `noise` of the requests refused with 429 at random.
    pub(crate) fn noisy(noise: f64) -> Self {
        Self {
            window: Window::Fixed,
            requests: u32::MAX,
            length: Duration::from_secs(1),
            retry_after: false,
            noise,
        }
    }

    fn per_second(&self) -> f64 {
        f64::from(self.requests) / self.length.as_secs_f64()
    }
}

/// The model server's counters for one key.
struct Server {
    limit: Limit,
    state: Mutex<Counter>,
}

#[derive(Default)]
struct Counter {
    /// Fixed windows: when the current one opened, and how many it admitted.
    opened: Option<Instant>,
    admitted: u32,
    /// Sliding window: when each admitted request of the last window arrived.
    log: VecDeque<Instant>,
    /// Draws the random 429s.
    noise: Option<StdRng>,
}

impl Server {
    /// Admits a request arriving now, or says when the limit reopens.
    fn admit(&self, now: Instant) -> Result<(), Duration> {
        let limit = self.limit;
        let mut c = self.state.lock().unwrap();
        let noise = c.noise.get_or_insert_with(|| StdRng::seed_from_u64(7));
        if noise.random::<f64>() < limit.noise {
            return Err(Duration::from_secs(1));
        }
        if limit.requests == u32::MAX {
            return Ok(());
        }
        match limit.window {
            Window::Fixed => {
                let opened = *c.opened.get_or_insert(now);
                if now - opened >= limit.length {
                    c.opened = Some(now);
                    c.admitted = 0;
                }
                if c.admitted < limit.requests {
                    c.admitted += 1;
                    return Ok(());
                }
                Err(c.opened.unwrap_or(now) + limit.length - now)
            }
            Window::Sliding => {
                while c.log.front().is_some_and(|t| now - *t >= limit.length) {
                    c.log.pop_front();
                }
                if c.log.len() < limit.requests as usize {
                    c.log.push_back(now);
                    return Ok(());
                }
                Err(c
                    .log
                    .front()
                    .map_or(Duration::ZERO, |t| *t + limit.length - now))
            }
        }
    }
}

/// One simulated run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scenario {
    pub(crate) limit: Limit,
    /// Processes on the key, each with its own limiter.
    pub(crate) processes: usize,
    /// Each process's `--rate`.
    pub(crate) ceiling: RateLimit,
    /// Whether each process is told its share of the key, its part of the rows (as
    /// `--shard K/N` tells it).
    pub(crate) told: bool,
    /// Whether each process has a key of its own (a server each, with the same limit).
    pub(crate) own_keys: bool,
    /// Requests in flight at most per process.
    pub(crate) workers: usize,
    /// Rows in all, split between the processes as `split` says; each needs one accepted
    /// request.
    pub(crate) rows: u64,
    /// How the rows are split: `Even`, or in proportion to weights (as shards of one input
    /// split by connection hash are).
    pub(crate) split: Split,
    pub(crate) latency: Duration,
    /// Process `i` starts `i` times this after the first (processes never start at once).
    pub(crate) stagger: Duration,
    /// Seeds the latency jitter and the retry delays' jitter.
    pub(crate) seed: u64,
    /// Prints each process's pace, rows left and 429s every second (for tuning).
    pub(crate) trace: bool,
}

impl Scenario {
    /// `processes` runners at `ceiling`, 8 workers each, 10 ms latency.
    pub(crate) fn new(limit: Limit, processes: usize, ceiling: RateLimit, rows: u64) -> Self {
        Self {
            limit,
            processes,
            ceiling,
            told: true,
            own_keys: false,
            workers: 8,
            rows,
            split: Split::Even,
            latency: Duration::from_millis(10),
            stagger: Duration::from_millis(7),
            seed: 0,
            trace: false,
        }
    }
}

/// How a scenario's rows are split between its processes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Split {
    /// The same number each.
    Even,
    /// In proportion to these weights (the first `processes` of them).
    Weighted(&'static [u64]),
}

impl Split {
    /// The rows of each of `processes` processes, `rows` in all.
    fn rows(self, rows: u64, processes: usize) -> Vec<u64> {
        match self {
            Split::Even => vec![rows / processes as u64; processes],
            Split::Weighted(weights) => {
                let weights = &weights[..processes];
                let total: u64 = weights.iter().sum();
                weights.iter().map(|w| rows * w / total).collect()
            }
        }
    }
}

/// What a run cost and achieved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figures {
    pub(crate) requests: u64,
    pub(crate) rate_limited: u64,
    pub(crate) elapsed: Duration,
    rows: u64,
    limit_per_second: f64,
}

impl Figures {
    /// 429s as a share of requests.
    pub(crate) fn rate_limited_share(&self) -> f64 {
        self.rate_limited as f64 / self.requests.max(1) as f64
    }

    /// Rows per second as a share of the server's limit.
    pub(crate) fn throughput(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64() / self.limit_per_second
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} 429s ({:.1}%), {:.1} s, throughput {:.3}",
            self.requests,
            self.rate_limited,
            100.0 * self.rate_limited_share(),
            self.elapsed.as_secs_f64(),
            self.throughput()
        )
    }
}

/// Runs `scenario` to its last row on paused time (the caller's runtime must be paused).
pub(crate) async fn run(scenario: Scenario) -> Figures {
    let new_server = || {
        Arc::new(Server {
            limit: scenario.limit,
            state: Mutex::new(Counter::default()),
        })
    };
    let shared_server = new_server();
    let requests = Arc::new(AtomicU64::new(0));
    let rate_limited = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let split = scenario.split.rows(scenario.rows, scenario.processes);
    let mut tasks = Vec::new();
    let mut releases = Vec::new();
    let mut traced = Vec::new();
    for (process, rows) in split.iter().enumerate() {
        let total: u64 = split.iter().sum();
        let share = if scenario.told && total > 0 {
            *rows as f64 / total as f64
        } else {
            1.0
        };
        let limiter = KeyLimiter::with_share(scenario.ceiling, share);
        // Every process's part of the key is its part of the rows, so all were planned to end
        // when the rows would take at the ceiling: past that, the others have probably gone.
        // As the batch runner does: released then, and every fortieth of that again.
        if let Some(planned) = limiter.time_for(total).filter(|_| share < 1.0) {
            let limiter = limiter.clone();
            releases.push(tokio::spawn(async move {
                tokio::time::sleep(planned + scenario.stagger * process as u32).await;
                loop {
                    limiter.release_share();
                    tokio::time::sleep(planned / 40).await;
                }
            }));
        }
        let server = if scenario.own_keys {
            new_server()
        } else {
            Arc::clone(&shared_server)
        };
        let rows = Arc::new(AtomicU64::new(*rows));
        traced.push((limiter.clone(), Arc::clone(&rows)));
        for worker in 0..scenario.workers {
            let seed = scenario.seed * 1_000_000 + (process * 1000 + worker) as u64;
            let worker = Worker {
                limiter: limiter.clone(),
                server: Arc::clone(&server),
                rows: Arc::clone(&rows),
                requests: Arc::clone(&requests),
                rate_limited: Arc::clone(&rate_limited),
                latency: scenario.latency,
                rng: StdRng::seed_from_u64(seed),
                delay: scenario.stagger * u32::try_from(process).unwrap_or(u32::MAX),
            };
            tasks.push(tokio::spawn(worker.work()));
        }
    }
    let tracer = scenario.trace.then(|| tokio::spawn(trace(traced)));
    for task in tasks {
        task.await.unwrap();
    }
    if let Some(tracer) = tracer {
        tracer.abort();
    }
    releases.iter().for_each(tokio::task::JoinHandle::abort);
    Figures {
        requests: requests.load(Ordering::SeqCst),
        rate_limited: rate_limited.load(Ordering::SeqCst),
        elapsed: start.elapsed(),
        rows: split.iter().sum(),
        limit_per_second: scenario.limit.per_second()
            * if scenario.own_keys {
                scenario.processes as f64
            } else {
                1.0
            },
    }
}

/// Prints, every second, each process's pace per minute (`*` when slowed), rows left and 429s.
async fn trace(processes: Vec<(KeyLimiter, Arc<AtomicU64>)>) {
    let start = Instant::now();
    loop {
        let line: Vec<String> = processes
            .iter()
            .map(|(limiter, rows)| {
                let status = limiter.status();
                format!(
                    "{:>6.1}{} {:>4} {:>3}",
                    status.pace_per_minute.unwrap_or(f64::INFINITY),
                    if status.slowed { '*' } else { ' ' },
                    rows.load(Ordering::SeqCst),
                    status.rate_limited
                )
            })
            .collect();
        println!(
            "{:>5.0}s | {}",
            start.elapsed().as_secs_f64(),
            line.join(" | ")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One in-flight slot of a process: takes rows and sends each until it is accepted.
struct Worker {
    limiter: KeyLimiter,
    server: Arc<Server>,
    rows: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    rate_limited: Arc<AtomicU64>,
    latency: Duration,
    rng: StdRng,
    /// When this worker's process starts.
    delay: Duration,
}

impl Worker {
    async fn work(mut self) {
        let policy = RetryPolicy::default();
        tokio::time::sleep(self.delay).await;
        while self
            .rows
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let mut retries = 0;
            loop {
                self.limiter.acquire().await;
                let sent_at = Instant::now();
                self.requests.fetch_add(1, Ordering::SeqCst);
                // The sandbox waits its latency, then counts the request, then answers.
                let jitter = Duration::from_micros(self.rng.random_range(0..=2000));
                tokio::time::sleep(self.latency + jitter).await;
                match self.server.admit(Instant::now()) {
                    Ok(()) => {
                        self.limiter.on_response(sent_at);
                        break;
                    }
                    Err(reopens) => {
                        self.rate_limited.fetch_add(1, Ordering::SeqCst);
                        // Whole seconds, rounded up, as the sandbox sends it.
                        let header = self.server.limit.retry_after.then(|| {
                            Duration::from_secs(
                                reopens.as_secs() + u64::from(reopens.subsec_nanos() > 0),
                            )
                        });
                        let capped = header.map(|d| policy.delay(0, Some(d), 0.0));
                        self.limiter.on_throttled(sent_at, capped);
                        // As the client's retry loop: the capped Retry-After, else full jitter.
                        let delay = policy.delay(retries, capped, self.rng.random());
                        retries += 1;
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_minute(n: u32) -> RateLimit {
        RateLimit::PerMinute(std::num::NonZeroU32::new(n).unwrap())
    }

    /// The stand-in of the benchmark: 600/min counted over 2 s, 10 ms latency, 1,200 rows.
    fn strict(window: Window) -> Limit {
        Limit::new(window, 600, 2)
    }

    /// `scenario` with its seed and stagger varied, `seeds` times.
    async fn runs(scenario: Scenario, seeds: u64) -> Vec<Figures> {
        let mut all = Vec::new();
        for seed in 0..seeds {
            all.push(
                run(Scenario {
                    seed,
                    stagger: Duration::from_millis(7 + 13 * seed),
                    ..scenario
                })
                .await,
            );
        }
        all
    }

    /// Every run of `all` kept 429s to 3% of its requests and reached `throughput` of the limit.
    fn assert_every_run(all: &[Figures], window: Window, throughput: f64) {
        for figures in all {
            assert!(
                figures.rate_limited_share() <= 0.03,
                "{window:?}: {figures}"
            );
            assert!(figures.throughput() >= throughput, "{window:?}: {figures}");
        }
    }

    /// The runs of `all` kept 429s to `rate_limited` of their requests and reached `throughput`
    /// of the limit, on average.
    fn assert_on_average(all: &[Figures], window: Window, rate_limited: f64, throughput: f64) {
        let share = mean(all, Figures::rate_limited_share);
        let reached = mean(all, Figures::throughput);
        assert!(share <= rate_limited, "{window:?}: 429s {share}");
        assert!(reached >= throughput, "{window:?}: throughput {reached}");
    }

    fn mean(all: &[Figures], figure: impl Fn(&Figures) -> f64) -> f64 {
        all.iter().map(figure).sum::<f64>() / all.len() as f64
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_owner_at_the_limit_keeps_its_pace_and_meets_no_429() {
        for window in [Window::Fixed, Window::Sliding] {
            let figures = run(Scenario::new(strict(window), 1, per_minute(600), 1200)).await;
            assert_eq!(figures.rate_limited, 0, "{window:?}: {figures}");
            assert!(figures.throughput() >= 0.97, "{window:?}: {figures}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_ceiling_twice_the_limit_learns_the_limit() {
        for window in [Window::Fixed, Window::Sliding] {
            let scenario = Scenario::new(strict(window), 1, per_minute(1200), 1200);
            assert_every_run(&runs(scenario, 3).await, window, 0.92);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unlimited_runner_learns_the_limit() {
        for window in [Window::Fixed, Window::Sliding] {
            let scenario = Scenario::new(strict(window), 1, RateLimit::Unlimited, 1200);
            assert_every_run(&runs(scenario, 3).await, window, 0.92);
        }
    }

    /// As the benchmark's shards of 1,200 rows over 48 connections split: 300/325/300/275...
    const NEAR_EVEN: &[u64] = &[12, 13, 12, 11];
    /// ...and 400/300/275/225.
    const UNEVEN: &[u64] = &[16, 12, 11, 9];

    /// Four runners each at the full limit, each told its share (its part of the rows, split
    /// as the benchmark's shards): they start at their shares, meet one shallow wall, hold
    /// them, and the one that 429s fall on catches up once the others were planned to end.
    #[tokio::test(start_paused = true)]
    async fn four_runners_told_their_shares_use_the_key_fully_with_few_429s() {
        for window in [Window::Fixed, Window::Sliding] {
            let scenario = Scenario {
                split: Split::Weighted(NEAR_EVEN),
                ..Scenario::new(strict(window), 4, per_minute(600), 1200)
            };
            assert_every_run(&runs(scenario, 4).await, window, 0.92);
        }
    }

    /// Shares in proportion to uneven work still end close together.
    #[tokio::test(start_paused = true)]
    async fn runners_given_shares_of_uneven_work_finish_close_together() {
        for window in [Window::Fixed, Window::Sliding] {
            let scenario = Scenario {
                split: Split::Weighted(UNEVEN),
                ..Scenario::new(strict(window), 4, per_minute(600), 1200)
            };
            assert_on_average(&runs(scenario, 4).await, window, 0.03, 0.90);
        }
    }

    /// Four runners each at the full limit and not told they share the key: 429s stay rare
    /// and the key is mostly used, but short of 0.92. Runners that start a few milliseconds
    /// apart measure unequal shares at their first wall, so they finish at different times,
    /// and the last ones alone use the key fully only once their growth finds the room the
    /// others left. These bounds record where it stands.
    #[tokio::test(start_paused = true)]
    async fn four_runners_not_told_they_share_a_key_share_it_with_few_429s() {
        for window in [Window::Fixed, Window::Sliding] {
            let scenario = Scenario {
                told: false,
                ..Scenario::new(strict(window), 4, per_minute(600), 1200)
            };
            assert_on_average(&runs(scenario, 4).await, window, 0.035, 0.80);
        }
    }

    /// Runners told a share of a key that is in fact their own: no 429, and each is at its
    /// ceiling after a few doublings, so the four keys are used almost fully.
    #[tokio::test(start_paused = true)]
    async fn runners_told_a_share_of_a_key_of_their_own_reach_their_ceilings() {
        let scenario = Scenario {
            own_keys: true,
            ..Scenario::new(strict(Window::Sliding), 4, per_minute(600), 4800)
        };
        let figures = run(scenario).await;
        assert_eq!(figures.rate_limited, 0, "{figures}");
        assert!(figures.throughput() >= 0.90, "{figures}");
    }

    /// 429s that come whatever the pace (5% of requests here) do not ratchet the key down after
    /// each: it keeps about half its ceiling (the floor of shallow walls), less the 429s.
    #[tokio::test(start_paused = true)]
    async fn random_429s_do_not_ratchet_the_pace_down() {
        let scenario = Scenario::new(Limit::noisy(0.05), 1, per_minute(6000), 2000);
        let figures = run(scenario).await;
        let rows_per_second = 2000.0 / figures.elapsed.as_secs_f64();
        assert!(
            rows_per_second >= 0.4 * 98.0,
            "{rows_per_second}/s: {figures}"
        );
    }

    /// Prints how four shards share a key, second by second, for tuning:
    /// `cargo test -p omni-dbt-core --lib sim_trace -- --ignored --nocapture`. The shards are
    /// uneven as the benchmark's (400/300/275/225 rows) unless `SIM_EVEN` is set; the window
    /// slides unless `SIM_FIXED` is set; `SIM_SEED=N` picks the seed.
    #[tokio::test(start_paused = true)]
    #[ignore = "a report for tuning, not a check"]
    async fn sim_trace() {
        let window = if std::env::var("SIM_FIXED").is_ok() {
            Window::Fixed
        } else {
            Window::Sliding
        };
        let split = if std::env::var("SIM_EVEN").is_ok() {
            Split::Even
        } else if std::env::var("SIM_NEAR").is_ok() {
            Split::Weighted(NEAR_EVEN)
        } else {
            Split::Weighted(UNEVEN)
        };
        let seed: u64 = std::env::var("SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let scenario = Scenario {
            split,
            trace: true,
            seed,
            stagger: Duration::from_millis(7 + 13 * seed),
            ..if std::env::var("SIM_FAST").is_ok() {
                Scenario::new(Limit::new(window, 6000, 1), 4, per_minute(6000), 1200)
            } else {
                Scenario::new(strict(window), 4, per_minute(600), 1200)
            }
        };
        println!("{}", run(scenario).await);
    }

    /// Prints the figures of every case, averaged over seeds (and the worst seed), for tuning:
    /// `cargo test -p omni-dbt-core --lib sim_report -- --ignored --nocapture`. `SIM_QUICK`
    /// keeps to the benchmark's own limit and row count; `SIM_NSEEDS=N` averages over N seeds
    /// (6 by default); `SIM_SEEDS` prints every seed's figures.
    #[tokio::test(start_paused = true)]
    #[ignore = "a report for tuning, not a check"]
    async fn sim_report() {
        // SIM_QUICK: only the benchmark's own case (600/min per 2 s, 1,200 rows).
        let quick = std::env::var("SIM_QUICK").is_ok();
        let limits: &[(u32, u64)] = if quick {
            &[(600, 2)]
        } else {
            &[(600, 2), (6000, 1)]
        };
        let row_counts: &[u64] = if quick { &[1200] } else { &[200, 1200] };
        for &(limit_per_minute, seconds) in limits {
            for window in [Window::Fixed, Window::Sliding] {
                let limit = Limit::new(window, limit_per_minute, seconds);
                for &rows in row_counts {
                    let cases = [
                        ("single owner", 1, per_minute(limit_per_minute), Split::Even),
                        (
                            "4 shards",
                            4,
                            per_minute(limit_per_minute),
                            Split::Weighted(NEAR_EVEN),
                        ),
                        (
                            "4 uneven shards",
                            4,
                            per_minute(limit_per_minute),
                            Split::Weighted(UNEVEN),
                        ),
                        (
                            "2x ceiling",
                            1,
                            per_minute(limit_per_minute * 2),
                            Split::Even,
                        ),
                        ("unlimited", 1, RateLimit::Unlimited, Split::Even),
                    ];
                    for (name, processes, ceiling, split) in cases {
                        let scenario = Scenario {
                            split,
                            ..Scenario::new(limit, processes, ceiling, rows)
                        };
                        let seeds = std::env::var("SIM_NSEEDS")
                            .ok()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(6);
                        let all = runs(scenario, seeds).await;
                        if std::env::var("SIM_SEEDS").is_ok() {
                            let each: Vec<String> = all
                                .iter()
                                .map(|f| {
                                    format!(
                                        "{:.3}/{:.1}%",
                                        f.throughput(),
                                        100.0 * f.rate_limited_share()
                                    )
                                })
                                .collect();
                            println!("    {name}: {}", each.join(" "));
                        }
                        let worst_share = all
                            .iter()
                            .map(Figures::rate_limited_share)
                            .fold(0.0, f64::max);
                        let worst_throughput =
                            all.iter().map(Figures::throughput).fold(f64::MAX, f64::min);
                        println!(
                            "{limit_per_minute}/min per {seconds} s, {window:?}, {rows} rows, \
                             {name}: 429s {:.1}% (worst {:.1}%), throughput {:.3} (worst {:.3})",
                            100.0 * mean(&all, Figures::rate_limited_share),
                            100.0 * worst_share,
                            mean(&all, Figures::throughput),
                            worst_throughput,
                        );
                    }
                }
            }
        }
    }
}
