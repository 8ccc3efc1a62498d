//! The command line: every flag, its default and its environment-variable twin.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use omni_dbt_batch::Format;
use omni_dbt_batch::Shard;
use omni_dbt_batch::{ExistingPolicy, FailureThreshold, MaxDeletes};

use super::api_args::ApiArgs;
use super::logging::LogFormat;
use super::merge::MergeArgs;
use super::undo::UndoArgs;

const AFTER_HELP: &str = "\
Exit codes: 0 every row succeeded; 1 the run finished but some rows failed; 2 usage, configuration
or input error, or a refused --prune or undo (nothing sent); 3 aborted (401 or --max-failures);
130 interrupted.

Every flag can also be set from the environment variable shown beside it.";

/// Bulk-create Omni dbt environments from CSV or JSONL, exactly once, with a results file.
#[derive(Debug, Parser)]
#[command(name = "omni-dbt-batch", version, after_help = AFTER_HELP)]
pub(super) struct Cli {
    /// More log detail on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No progress, no summary; errors only.
    #[arg(short, long, global = true, env = "OMNI_DBT_QUIET")]
    pub quiet: bool,

    /// Log line format on stderr.
    #[arg(
        long,
        value_enum,
        default_value_t,
        global = true,
        env = "OMNI_DBT_LOG_FORMAT"
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create (or update) every environment of INPUT and write a results file.
    Run(Box<RunArgs>),
    /// Check every row of INPUT offline; nothing is sent.
    Validate(ValidateArgs),
    /// Delete exactly the environments a run's results file records as created.
    Undo(Box<UndoArgs>),
    /// Join the results files of an input's shards into one, in row order.
    Merge(MergeArgs),
    /// Run the local Omni stand-in until Ctrl-C.
    Sandbox(SandboxArgs),
}

/// The input file and how to read it.
#[derive(Debug, Args)]
pub(super) struct InputArgs {
    /// CSV or JSONL file of environment specs; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    pub input: String,

    /// Input format [default: from the extension: .csv, .jsonl/.ndjson; stdin is sniffed].
    #[arg(long, env = "OMNI_DBT_FORMAT")]
    pub format: Option<Format>,

    /// Only the rows whose connection hashes to shard K of N (1-based), e.g. 2/4.
    #[arg(long, value_name = "K/N", env = "OMNI_DBT_SHARD")]
    pub shard: Option<Shard>,
}

/// `validate INPUT`.
#[derive(Debug, Args)]
pub(super) struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Problems listed before the count.
    #[arg(long, default_value_t = omni_dbt_batch::DEFAULT_MAX_LISTED_PROBLEMS, env = "OMNI_DBT_MAX_PROBLEMS")]
    pub max_problems: usize,
}

/// `run INPUT`.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Results file (.csv or .jsonl) [default: <INPUT stem>.results.csv beside INPUT;
    /// <stem>.shard-K-of-N.results.csv with --shard; stdin.results.csv for stdin].
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_RESULTS")]
    pub results: Option<PathBuf>,

    #[command(flatten)]
    pub api: ApiArgs,

    /// A row whose name already exists in its connection: skip (record `exists`), fail, update,
    /// or ignore (do not list first; create anyway).
    #[arg(long, value_enum, default_value_t = ExistingPolicy::Skip, env = "OMNI_DBT_EXISTING")]
    pub existing: ExistingPolicy,

    /// Also delete every environment of the input's connections whose name no row names (never
    /// the default environment). Refused, with nothing sent (exit 2), when a row is invalid, a
    /// connection cannot be listed, or the deletions would exceed --max-deletes.
    #[arg(long, env = "OMNI_DBT_PRUNE")]
    pub prune: bool,

    /// With --prune: the most deletions one run may plan, a count (25) or a share of the
    /// environments listed in the input's connections (10%, 2.5%).
    #[arg(
        long,
        value_name = "N|P%",
        default_value = "10%",
        env = "OMNI_DBT_MAX_DELETES"
    )]
    pub max_deletes: MaxDeletes,

    /// Continue from an existing results file: skip finished rows, reconcile rows left in flight.
    #[arg(long, env = "OMNI_DBT_RESUME", conflicts_with = "force")]
    pub resume: bool,

    /// Overwrite an existing results file.
    #[arg(long, env = "OMNI_DBT_FORCE")]
    pub force: bool,

    /// Validate and plan (connections are listed) but send no write and write no results file.
    #[arg(long, env = "OMNI_DBT_DRY_RUN")]
    pub dry_run: bool,

    /// Record invalid rows as `invalid` and go on with the valid ones.
    #[arg(long, env = "OMNI_DBT_SKIP_INVALID")]
    pub skip_invalid: bool,

    /// Abort when more than N rows (or P% of the rows) have failed [default: never].
    #[arg(long, value_name = "N|P%", env = "OMNI_DBT_MAX_FAILURES")]
    pub max_failures: Option<FailureThreshold>,

    /// Also write the final summary as JSON to PATH.
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_SUMMARY_JSON")]
    pub summary_json: Option<PathBuf>,
}

/// `sandbox`.
#[derive(Debug, Args)]
pub(super) struct SandboxArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8787, env = "OMNI_DBT_SANDBOX_PORT")]
    pub port: u16,

    /// Rate limit per token: N/min, N/s or unlimited (Omni: 60/min).
    #[arg(
        long,
        value_name = "N/min",
        default_value = "60/min",
        env = "OMNI_DBT_SANDBOX_RATE_LIMIT"
    )]
    pub rate_limit: omni_dbt_sandbox::RateLimit,

    /// Send Retry-After with 429s (Omni documents none).
    #[arg(long, env = "OMNI_DBT_SANDBOX_RETRY_AFTER")]
    pub retry_after: bool,

    /// Faults to inject, e.g. `post:500=0.1,429=0.05,commit-500=0.03,drop=0.02,latency=50ms`.
    #[arg(long, value_name = "SPEC", env = "OMNI_DBT_SANDBOX_FAULTS")]
    pub faults: Option<String>,

    /// Seed of the fault injection (same seed, same faults).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "OMNI_DBT_SANDBOX_SEED"
    )]
    pub seed: u64,

    /// Accepted bearer token; repeat for several [default: one random token, printed].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OMNI_DBT_SANDBOX_TOKENS",
        value_delimiter = ','
    )]
    pub token: Vec<String>,

    /// Reject a second environment with the same name in a connection (400) instead of
    /// accepting and counting it.
    #[arg(long, env = "OMNI_DBT_SANDBOX_REJECT_DUPLICATES")]
    pub reject_duplicates: bool,
}

/// Parses `30s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs)
            .map_err(|e| format!("invalid duration {s:?}: {e}"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?}: {e} (e.g. 30s, 500ms, 2m)"))
}
