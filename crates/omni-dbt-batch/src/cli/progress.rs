//! Progress for people: an indicatif bar on a terminal, a log line at a steady interval elsewhere.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use omni_dbt_batch::Summary;
use omni_dbt_batch::{KeyWatch, Phase, Reporter};
use omni_dbt_batch::{RowRecord, Status};

use super::pacing_note::pacing_note;

/// How often a progress line is logged when stderr is not a terminal.
pub(super) const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How often the bar's message is redrawn between rows, so that a pause shows while nothing
/// finishes.
const BAR_REFRESH: Duration = Duration::from_secs(1);

/// Counts per status, shared by the bar and the log lines.
#[derive(Default)]
struct Counts {
    by_status: [AtomicU64; Status::ALL.len()],
    total: AtomicU64,
}

impl Counts {
    fn line(&self) -> String {
        Status::ALL
            .iter()
            .zip(&self.by_status)
            .filter_map(|(status, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then(|| format!("{status} {n}"))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    fn done(&self) -> u64 {
        self.by_status
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }
}

/// The CLI's reporter.
pub(super) struct CliReporter {
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    /// The run's keys, once known: their pacing is part of the line.
    keys: Mutex<Option<KeyWatch>>,
    started: Mutex<Option<Instant>>,
    /// What the execute phase is called: "applying", or "planning" when nothing is written.
    executing: &'static str,
}

impl CliReporter {
    /// A bar when stderr is a terminal and not quiet; log lines otherwise (none when quiet).
    /// The execute phase shows as `executing` ("applying", "planning").
    pub(super) fn new(quiet: bool, executing: &'static str) -> Arc<Self> {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let reporter = Arc::new(Self {
            counts: Arc::new(Counts::default()),
            bar,
            keys: Mutex::new(None),
            started: Mutex::new(None),
            executing,
        });
        if !quiet && reporter.bar.is_none() {
            reporter.spawn_log_lines();
        }
        if reporter.bar.is_some() {
            reporter.spawn_bar_refresh();
        }
        reporter
    }

    /// What the keys' pacing adds to a line, if anything: ` · key OMNI_KEY_2 slowed to 41/min`.
    fn pacing(&self) -> String {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.as_ref()
            .and_then(|keys| pacing_note(&keys.statuses()))
            .map_or_else(String::new, |note| format!(" · {note}"))
    }

    /// The bar's message: counts per status, then the keys' pacing.
    fn message(&self) -> String {
        format!("{}{}", self.counts.line(), self.pacing())
    }

    fn spawn_bar_refresh(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(BAR_REFRESH);
            loop {
                ticks.tick().await;
                let Some(me) = me.upgrade() else { return };
                if let Some(bar) = &me.bar {
                    if bar.is_finished() {
                        return;
                    }
                    if me.counts.total.load(Ordering::Relaxed) > 0 {
                        bar.set_message(me.message());
                    }
                }
            }
        });
    }

    fn spawn_log_lines(self: &Arc<Self>) {
        let counts = Arc::clone(&self.counts);
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LOG_INTERVAL);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(me) = me.upgrade() else { return };
                let total = counts.total.load(Ordering::Relaxed);
                if total == 0 {
                    continue;
                }
                let done = counts.done();
                let elapsed = me.elapsed();
                let per_min = done as f64 * 60.0 / elapsed.as_secs_f64().max(0.001);
                let eta = (per_min > 0.0).then(|| {
                    Duration::from_secs_f64((total - done.min(total)) as f64 * 60.0 / per_min)
                });
                tracing::info!(
                    "progress: {done}/{total} rows ({}), {per_min:.1} rows/min, ETA {}{}",
                    counts.line(),
                    eta.map_or_else(
                        || "unknown".into(),
                        |d| omni_dbt_units::format_duration(round(d))
                    ),
                    me.pacing(),
                );
            }
        });
    }

    fn elapsed(&self) -> Duration {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Runs `print` with the bar hidden, so that what it prints is not drawn over.
    pub(super) fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Removes the bar, for a command whose library call reports no [`Summary`].
    pub(super) fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Prints a line above the bar (or plainly when there is none).
    pub(super) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// While reading and checking rows: no count is known yet.
fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:10} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Listing connections and applying rows: a bar with counts, rate per minute and ETA.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix:10} [{bar:30}] {pos}/{len} {msg} · {per_min} · ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "per_min",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/min", state.per_sec() * 60.0);
        },
    )
    .progress_chars("=> ")
}

impl Reporter for CliReporter {
    fn keys(&self, keys: &KeyWatch) {
        *self.keys.lock().unwrap_or_else(PoisonError::into_inner) = Some(keys.clone());
    }

    fn phase(&self, phase: Phase) {
        match phase {
            Phase::Validating => {
                if let Some(bar) = &self.bar {
                    bar.set_prefix("validating");
                    bar.set_message("reading and checking every row; nothing is sent yet");
                }
            }
            Phase::Planning { connections } => {
                if let Some(bar) = &self.bar {
                    bar.set_style(bar_style());
                    bar.set_prefix("listing");
                    bar.set_length(connections);
                    bar.set_position(0);
                    bar.set_message("connections");
                } else {
                    tracing::info!("listing {connections} connections");
                }
            }
            Phase::Executing { rows } => {
                *self.started.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                self.counts.total.store(rows, Ordering::Relaxed);
                if let Some(bar) = &self.bar {
                    bar.set_message("");
                    bar.set_prefix(self.executing);
                    bar.set_length(rows);
                    bar.reset();
                } else {
                    tracing::info!("{} {rows} rows", self.executing);
                }
            }
        }
    }

    fn connection_listed(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn row_finished(&self, record: &RowRecord) {
        if let Some(i) = Status::ALL.iter().position(|s| *s == record.status) {
            self.counts.by_status[i].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(self.message());
        }
    }

    fn finished(&self, _summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
