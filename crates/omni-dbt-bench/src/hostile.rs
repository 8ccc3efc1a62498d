//! The `hostile` scenario: the runner against a server or proxy that sends huge or endless bodies
//! and pages that never end. Each case must end on its own, in bounded memory, as it should.

use std::time::Duration;

use anyhow::Result;
use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig};

use crate::gen::GenSpec;
use crate::harness::{Context, Invocation, Outcome};
use crate::table::BenchRow;

/// Peak RSS every case must stay under, in MiB.
const RSS_LIMIT_MIB: f64 = 100.0;

/// A run still going after this is taken as hung and killed. Every case ends within a few
/// seconds when the caps and bounds hold (the 64-connection one reads 2 GiB, 32 MiB at a time);
/// the request timeout and retries below end even a stalled body long before it.
const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Few attempts, short backoff and a short request timeout, so that each case is over quickly
/// whatever it ends with.
const RUN_OPTIONS: [&str; 10] = [
    "--rate",
    "unlimited",
    "--max-attempts",
    "2",
    "--backoff-initial",
    "10ms",
    "--backoff-max",
    "50ms",
    "--timeout",
    "5s",
];

const TOKEN_ENV: &str = "BENCH_HOSTILE_KEY";
const TOKEN: &str = "bench-hostile-token";

/// What a case must end with, besides bounded memory and an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// Nothing can be read from the server: every row failed (exit 1), nothing was created.
    AllFailed,
    /// Creates take effect but their answers cannot be read: each row is adopted (created) or
    /// failed as ambiguous, and no environment is created twice.
    CreatedOnce,
}

impl Expected {
    fn target(self) -> String {
        let outcome = match self {
            Expected::AllFailed => "every row failed, nothing created",
            Expected::CreatedOnce => "rows created or failed, 0 duplicates",
        };
        format!(
            "RSS <= {RSS_LIMIT_MIB:.0} MiB, ends within {} s, {outcome}",
            HANG_LIMIT.as_secs()
        )
    }
}

/// One misbehaviour and the input it is tried on.
struct Case {
    label: &'static str,
    faults: &'static str,
    connections: u64,
    /// `--concurrency`: connections are listed this many at once.
    concurrency: u32,
    expected: Expected,
}

/// The runner's default `--concurrency`.
const DEFAULT_CONCURRENCY: u32 = 8;

/// Two rows per connection. The eight- and 64-connection cases list every connection at once,
/// so they show whether the caps of reads in flight add up.
const CASES: [Case; 9] = [
    Case {
        label: "hostile/list-2GiB",
        faults: "get:huge-body=1:2GiB",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/list-2GiB-8conns",
        faults: "get:huge-body=1:2GiB",
        connections: 8,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/list-2GiB-64conns",
        faults: "get:huge-body=1:2GiB",
        connections: 64,
        concurrency: 64,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/list-endless",
        faults: "get:endless-body=1",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/create-endless-201",
        faults: "post:endless-body=1",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::CreatedOnce,
    },
    Case {
        label: "hostile/create-2GiB-201",
        faults: "post:huge-body=1:2GiB",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::CreatedOnce,
    },
    Case {
        label: "hostile/502-2GiB",
        faults: "huge-502=1:2GiB",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/502-endless",
        faults: "endless-502=1",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
    Case {
        label: "hostile/endless-pages",
        faults: "get:endless-pages=1",
        connections: 2,
        concurrency: DEFAULT_CONCURRENCY,
        expected: Expected::AllFailed,
    },
];

/// Runs every case in turn, one row each.
pub async fn hostile(ctx: &Context) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::with_capacity(CASES.len());
    for case in &CASES {
        rows.push(run_case(ctx, case).await?);
    }
    Ok(rows)
}

async fn run_case(ctx: &Context, case: &Case) -> Result<BenchRow> {
    let spec = GenSpec {
        rows: 2 * case.connections,
        connections: case.connections,
        seed: 9,
    };
    let input = ctx.input(spec)?;
    let config = SandboxConfig::default()
        .with_token(TOKEN)
        .with_rate_limit(RateLimit::Unlimited)
        .with_faults(case.faults.parse()?);
    let sandbox = Sandbox::start(config).await?;
    let call = run_invocation(ctx, case, &input, &sandbox);
    let outcome = ctx
        .invoke_until(call, Some(&sandbox), Some(HANG_LIMIT))
        .await?;
    sandbox.shutdown().await;
    Ok(judge(case, spec.rows, &outcome))
}

/// `run INPUT --base-url URL --results ... --force --concurrency N` with [`RUN_OPTIONS`].
fn run_invocation(
    ctx: &Context,
    case: &Case,
    input: &std::path::Path,
    sandbox: &Sandbox,
) -> Invocation {
    let file_label = case.label.replace('/', "-");
    let token = vec![(TOKEN_ENV.to_owned(), TOKEN.to_owned())];
    Invocation::run(ctx, &file_label, input, sandbox.base_url(), token)
        .arg(["--concurrency".to_owned(), case.concurrency.to_string()])
        .arg(RUN_OPTIONS.iter().copied())
}

/// What the run ended with, from its summary and the sandbox's counters.
#[derive(Debug, Default)]
struct Ending {
    exit_code: Option<i32>,
    created: u64,
    failed: u64,
    /// Rows in any other status (exists, skipped, ...).
    other: u64,
    stored: u64,
    duplicates: u64,
    faults: u64,
}

fn ending(outcome: &Outcome) -> Ending {
    let mut ending = Ending {
        exit_code: outcome.measured.status.code(),
        ..Ending::default()
    };
    if let Some(summary) = &outcome.summary {
        let count = |status: &str| summary.counts.get(status).copied().unwrap_or(0);
        ending.created = count("created");
        ending.failed = count("failed");
        ending.other = summary.rows.saturating_sub(ending.created + ending.failed);
    }
    if let Some(snapshot) = &outcome.snapshot {
        ending.stored = snapshot.environment_count() as u64;
        ending.duplicates = snapshot.duplicates_created;
        ending.faults = snapshot.faults.values().sum();
    }
    ending
}

fn outcome_as_expected(expected: Expected, rows: u64, ending: &Ending) -> bool {
    match expected {
        Expected::AllFailed => {
            ending.exit_code == Some(1) && ending.failed == rows && ending.stored == 0
        }
        Expected::CreatedOnce => {
            ending.duplicates == 0 && ending.created + ending.failed == rows && ending.other == 0
        }
    }
}

fn judge(case: &Case, rows: u64, outcome: &Outcome) -> BenchRow {
    let ending = ending(outcome);
    let row = outcome.row(case.label, rows);
    let met = !outcome.measured.killed_at_deadline
        && row.peak_rss_mib <= RSS_LIMIT_MIB
        && outcome.summary.is_some()
        && outcome_as_expected(case.expected, rows, &ending);
    BenchRow {
        target: case.expected.target(),
        met,
        notes: notes(case, outcome, &ending),
        ..row
    }
}

fn notes(case: &Case, outcome: &Outcome, ending: &Ending) -> String {
    let ended = if outcome.measured.killed_at_deadline {
        format!("HUNG: killed after {} s", HANG_LIMIT.as_secs())
    } else {
        match ending.exit_code {
            Some(code) => format!("exit {code}"),
            None => format!("ended by {}", outcome.measured.status),
        }
    };
    let rows = match outcome.summary {
        Some(_) => format!(
            "created {}, failed {}, other {}",
            ending.created, ending.failed, ending.other
        ),
        None => "no summary written".to_owned(),
    };
    format!(
        "`{}`, {} connections, --concurrency {}; {ended}; {rows}; sandbox holds {} environments, \
         {} duplicates; {} faults injected",
        case.faults,
        case.connections,
        case.concurrency,
        ending.stored,
        ending.duplicates,
        ending.faults
    )
}
