//! The `shared-key` scenarios: runners that do not know the key's real limit, or do not own it,
//! against a strict sandbox counting in fixed or in sliding windows.
//!
//! Each case is one key limited to [`LIMIT_PER_MIN`] in windows of [`WINDOW`], without
//! `Retry-After` (as Omni), 10 ms latency:
//!
//! - **single owner**: one runner, `--rate` at the limit (the baseline: no 429 at all);
//! - **4 shards**: four processes, `--shard K/4` of one input, each `--rate` at the full limit
//!   (each so starts at its part of it, its share of the rows, as shards sharing a key do), on
//!   an input whose connections split about evenly (300/325/300/275 rows);
//! - **4 uneven shards**: the same on an input that splits as unevenly as connection hashing
//!   can (400/300/275/225 rows), so that shards finish at different times;
//! - **2x ceiling**: one runner, `--rate` twice the limit;
//! - **unlimited**: one runner, `--rate unlimited`.
//!
//! The ten cases (five, in both window modes) run at the same time, each against its own
//! sandbox: a case sends about ten requests a second, so they hardly compete for the CPU, and the
//! whole group takes as long as its slowest case.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::try_join_all;
use omni_dbt_sandbox::{RateLimit, RateWindow, Sandbox, SandboxConfig, Snapshot};

use crate::gen::GenSpec;
use crate::harness::{Context, Invocation, Outcome};
use crate::table::BenchRow;

/// The key's limit, per minute...
pub const LIMIT_PER_MIN: u32 = 600;
/// ...counted over windows of this length (20 requests per window).
pub const WINDOW: Duration = Duration::from_secs(2);

/// Rows of every case: two minutes at the limit, 60 of its windows (see the table's notes).
const ROWS: u64 = 1_200;
/// Connections the rows spread over (the shards split them by hash).
const CONNECTIONS: u64 = 48;
/// The generator's seed of an input whose connections split about evenly over 4 shards...
const EVEN_SEED: u64 = 21;
/// ...and of one they split unevenly.
const UNEVEN_SEED: u64 = 10;
/// Said once in the table's notes, of every case.
const ABOUT_THE_CASES: &str = "every shared-key case: 1,200 rows, two minutes at the limit \
(60 of its windows), so the first wall (a few 429s per runner, whatever the run's length) \
weighs under 1% of the requests, as in a real run, not several % as in 200 rows; ratio is accepted requests per second over the limit, from the first start to the \
last exit; the ten cases run side by side, each against its own sandbox";
const TOKEN: &str = "bench-shared-key-token";
const TOKEN_ENV: &str = "BENCH_SHARED_KEY";

/// One case: how many processes share the key, each one's `--rate`, and the input's seed.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    processes: u32,
    rate: &'static str,
    seed: u64,
    /// Whether this is the baseline that must meet no 429 at all.
    owner: Ownership,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ownership {
    /// The runner owns the key and knows its limit.
    Sole,
    /// Other runners use the key, or the runner's `--rate` is not the key's limit.
    Shared,
}

const CASES: [Case; 5] = [
    Case {
        name: "single-owner",
        processes: 1,
        rate: "600/min",
        seed: UNEVEN_SEED,
        owner: Ownership::Sole,
    },
    Case {
        name: "4-shards",
        processes: 4,
        rate: "600/min",
        seed: EVEN_SEED,
        owner: Ownership::Shared,
    },
    Case {
        name: "4-uneven-shards",
        processes: 4,
        rate: "600/min",
        seed: UNEVEN_SEED,
        owner: Ownership::Shared,
    },
    Case {
        name: "2x-ceiling",
        processes: 1,
        rate: "1200/min",
        seed: UNEVEN_SEED,
        owner: Ownership::Shared,
    },
    Case {
        name: "unlimited",
        processes: 1,
        rate: "unlimited",
        seed: UNEVEN_SEED,
        owner: Ownership::Shared,
    },
];

/// Runs every case in both window modes at once and returns one row per case.
pub async fn run(ctx: &Context) -> Result<Vec<BenchRow>> {
    let input = |seed| {
        ctx.input(GenSpec {
            rows: ROWS,
            connections: CONNECTIONS,
            seed,
        })
    };
    let (even, uneven) = (input(EVEN_SEED)?, input(UNEVEN_SEED)?);
    let mut cases = Vec::new();
    for window in [RateWindow::Fixed, RateWindow::Sliding] {
        for case in CASES {
            let input = if case.seed == EVEN_SEED {
                &even
            } else {
                &uneven
            };
            cases.push(run_case(ctx, input, window, case));
        }
    }
    try_join_all(cases).await
}

async fn run_case(
    ctx: &Context,
    input: &std::path::Path,
    window: RateWindow,
    case: Case,
) -> Result<BenchRow> {
    let label = format!("shared-key/{window}/{}", case.name);
    let limit = RateLimit::Limited {
        requests: LIMIT_PER_MIN * u32::try_from(WINDOW.as_secs())? / 60,
        window: WINDOW,
    };
    let config = SandboxConfig::default()
        .with_token(TOKEN)
        .with_rate_limit(limit)
        .with_rate_window(window)
        .with_faults("latency=10ms".parse()?);
    let sandbox = Sandbox::start(config).await?;
    let started = Instant::now();
    let runs = (1..=case.processes).map(|shard| {
        let call = shard_call(ctx, &label, input, &sandbox, case, shard);
        ctx.invoke(call, None)
    });
    let outcomes = try_join_all(runs).await?;
    let wall = started.elapsed();
    let snapshot = sandbox.snapshot();
    sandbox.shutdown().await;
    Ok(row(&label, case, wall, &outcomes, &snapshot))
}

/// `run INPUT` against `sandbox` with the one key, as shard `shard` of the case's processes.
fn shard_call(
    ctx: &Context,
    label: &str,
    input: &std::path::Path,
    sandbox: &Sandbox,
    case: Case,
    shard: u32,
) -> Invocation {
    let file_label = if case.processes > 1 {
        format!("{}-shard-{shard}", label.replace('/', "-"))
    } else {
        label.replace('/', "-")
    };
    let token = vec![(TOKEN_ENV.to_owned(), TOKEN.to_owned())];
    let call = Invocation::run(ctx, &file_label, input, sandbox.base_url(), token)
        .arg(["--rate", case.rate]);
    if case.processes > 1 {
        call.arg(["--shard".to_owned(), format!("{shard}/{}", case.processes)])
    } else {
        call
    }
}

/// The case's row: key use (admitted requests per second over the limit), 429s as a share of
/// every request, duplicates, and each process's rows.
fn row(
    label: &str,
    case: Case,
    wall: Duration,
    outcomes: &[Outcome],
    snapshot: &Snapshot,
) -> BenchRow {
    let wall_s = wall.as_secs_f64();
    let requests = snapshot.total_requests();
    let rate_limited = snapshot.rate_limited;
    let admitted = requests.saturating_sub(rate_limited);
    let limit_per_s = f64::from(LIMIT_PER_MIN) / 60.0;
    let ratio = admitted as f64 / wall_s.max(f64::EPSILON) / limit_per_s;
    let share_429 = rate_limited as f64 / requests.max(1) as f64;
    let distinct =
        (snapshot.environment_count() as u64).saturating_sub(snapshot.duplicates_created);
    let failed_processes = outcomes
        .iter()
        .filter(|o| !o.measured.status.success())
        .count();
    let shard_rows: Vec<String> = outcomes
        .iter()
        .map(|o| o.summary.as_ref().map_or(0, |s| s.rows).to_string())
        .collect();
    let mut notes = vec![
        format!("429s {:.1}% of requests", 100.0 * share_429),
        format!("duplicates {}", snapshot.duplicates_created),
    ];
    if case.processes > 1 {
        notes.push(format!("rows per shard {}", shard_rows.join("/")));
    }
    if case.owner == Ownership::Sole && label.contains("fixed") {
        notes.push(ABOUT_THE_CASES.to_owned());
    }
    if distinct != ROWS {
        notes.push(format!("{distinct} of {ROWS} rows created"));
    }
    if failed_processes > 0 {
        notes.push(format!("{failed_processes} runner(s) exited non-zero"));
    }
    let all_created = distinct == ROWS && failed_processes == 0;
    let (target, met) = match case.owner {
        Ownership::Sole => (
            "ratio >= 0.97, 0 429s, 0 duplicates".to_owned(),
            ratio >= 0.97 && rate_limited == 0,
        ),
        Ownership::Shared => (
            "ratio >= 0.92, 429s <= 3%, 0 duplicates".to_owned(),
            ratio >= 0.92 && share_429 <= 0.03,
        ),
    };
    BenchRow {
        scenario: label.to_owned(),
        rows: ROWS,
        wall_s,
        rows_per_s: ROWS as f64 / wall_s.max(f64::EPSILON),
        requests,
        requests_per_s: requests as f64 / wall_s.max(f64::EPSILON),
        ideal: Some(limit_per_s),
        ideal_unit: "req/s",
        ratio: Some(ratio),
        rate_limited,
        peak_rss_mib: outcomes
            .iter()
            .map(|o| o.measured.peak_rss_kib as f64 / 1024.0)
            .fold(0.0, f64::max),
        runner_cpu_s: outcomes.iter().map(|o| o.measured.cpu.as_secs_f64()).sum(),
        // The cases share the bench process, so its CPU cannot be told apart per case.
        sandbox_cpu_s: 0.0,
        target,
        met: met && all_created && snapshot.duplicates_created == 0,
        notes: notes.join("; "),
    }
}
