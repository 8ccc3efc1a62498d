//! The command line: every flag, its default and its environment-variable twin.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use omni_dbt_batch::Shard;
use omni_dbt_batch::{ConnectionMap, IdFileError};
use omni_dbt_batch::{DbtOptions, Format, NameTemplate, ProfileConnection};
use omni_dbt_batch::{ExistingPolicy, FailureThreshold, MaxDeletes};

use super::api_args::ApiArgs;
use super::completions::CompletionsArgs;
use super::export::ExportArgs;
use super::logging::LogFormat;
use super::merge::MergeArgs;
use super::messages::MessageFormat;
use super::undo::UndoArgs;

const AFTER_HELP: &str = "\
Exit codes: 0 every row succeeded (plan: nothing would change); 1 the run finished but some rows
failed (plan: some rows would fail); 2 usage, configuration or input error, a refused --prune or
undo, or a results file in use by another run (nothing sent); 3 aborted (401 or --max-failures);
4 plan found changes to make; 130 interrupted.

Every flag can also be set from the environment variable shown beside it.";

/// Bulk-create Omni dbt environments from CSV, JSONL or a dbt profiles.yml, exactly once, with a
/// results file.
#[derive(Debug, Parser)]
#[command(name = "omni-dbt-batch", version, after_help = AFTER_HELP)]
pub(super) struct Cli {
    /// More log detail on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No progress, no summary, no plan report; errors only.
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
    /// Show what `run` would do with each row of INPUT; send no write, write no results file.
    ///
    /// Each row is shown as create, exists, update (with every field that differs, its old and
    /// new value; secret values are never shown), unchanged, or fail (with why). Takes run's
    /// options with run's defaults. Exit 0 when nothing would change, 4 when something would,
    /// 1 when some rows would fail.
    Plan(Box<RunArgs>),
    /// Check every row of INPUT offline; nothing is sent.
    Validate(ValidateArgs),
    /// Delete exactly the environments a run's results file records as created.
    Undo(Box<UndoArgs>),
    /// Join the results files of an input's shards into one, in row order.
    Merge(MergeArgs),
    /// Write every environment of some connections in the input format `run` reads.
    ///
    /// To move them elsewhere (with --map-connections), or to keep them under review.
    /// Secret variables are written as `secret:NAME` = `${env:NAME}` (Omni never returns their
    /// values); a plain value that looks like `${env:X}` as `$${env:X}`. Connections in id
    /// order, each one's environments by name. A connection that cannot be listed (403, 404)
    /// is named and the others written (exit 1); a 401 or Ctrl-C writes nothing.
    Export(Box<ExportArgs>),
    /// Run the local Omni stand-in until Ctrl-C.
    Sandbox(SandboxArgs),
    /// Print a shell completion script on stdout (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout: `omni-dbt-batch man | man -l -`.
    Man,
}

/// The input file and how to read it.
#[derive(Debug, Args)]
pub(super) struct InputArgs {
    /// CSV, JSONL or dbt profiles.yml file of environment specs; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    pub input: String,

    /// Input format: csv, jsonl or dbt-profiles [default: from the extension: .csv,
    /// .jsonl/.ndjson, .yml/.yaml; stdin is sniffed as JSONL or CSV].
    #[arg(long, value_name = "FMT", env = "OMNI_DBT_FORMAT")]
    pub format: Option<Format>,

    /// Only the rows whose connection hashes to shard K of N (1-based), e.g. 2/4.
    #[arg(long, value_name = "K/N", env = "OMNI_DBT_SHARD")]
    pub shard: Option<Shard>,

    /// Rewrite each row's connection through FILE, a CSV with the header `from,to` of
    /// connection ids, before validation (shards, duplicates and results see the target); a
    /// row whose connection is not in it is invalid [default: no map].
    #[arg(long, value_name = "FILE", env = "OMNI_DBT_MAP_CONNECTIONS")]
    pub map_connections: Option<PathBuf>,

    #[command(flatten)]
    pub dbt: DbtArgs,
}

/// Where the dbt flags are listed in `--help`.
const DBT_HEADING: &str = "dbt profiles.yml input";

/// How a dbt profiles.yml becomes environments.
#[derive(Debug, Args)]
pub(super) struct DbtArgs {
    /// Create the outputs of profile NAME in Omni connection CONNECTION_ID; repeat for several
    /// profiles (only the profiles named are read). A bare CONNECTION_ID stands for the file's
    /// only profile [required for a profiles.yml].
    #[arg(
        long = "dbt-profile",
        value_name = "NAME=CONNECTION_ID",
        env = "OMNI_DBT_DBT_PROFILE",
        help_heading = DBT_HEADING,
        value_delimiter = ','
    )]
    pub profiles: Vec<ProfileConnection>,

    /// Only the outputs (targets) named TARGET; repeat for several [default: every output of
    /// the selected profiles].
    #[arg(
        long = "dbt-target",
        value_name = "TARGET",
        env = "OMNI_DBT_DBT_TARGET",
        help_heading = DBT_HEADING,
        value_delimiter = ','
    )]
    pub targets: Vec<String>,

    /// Each environment's name: {target} (the output's name) and {profile} are replaced.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "{target}",
        env = "OMNI_DBT_NAME_TEMPLATE",
        help_heading = DBT_HEADING
    )]
    pub name_template: NameTemplate,
}

impl InputArgs {
    /// The connection map, read now, when one is given.
    pub(super) fn connection_map(&self) -> Result<Option<ConnectionMap>, IdFileError> {
        self.map_connections
            .as_deref()
            .map(ConnectionMap::read)
            .transpose()
    }
}

impl DbtArgs {
    /// The library's counterpart of these flags.
    pub(super) fn options(&self) -> DbtOptions {
        let options = self
            .profiles
            .iter()
            .cloned()
            .fold(DbtOptions::default(), DbtOptions::with_profile);
        self.targets
            .iter()
            .fold(options, |options, target| options.with_target(target))
            .with_name_template(self.name_template.clone())
    }
}

/// `validate INPUT`.
#[derive(Debug, Args)]
pub(super) struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Problems listed before the count.
    #[arg(long, default_value_t = omni_dbt_batch::DEFAULT_MAX_LISTED_PROBLEMS, env = "OMNI_DBT_MAX_PROBLEMS")]
    pub max_problems: usize,

    /// How problems are printed: human (FILE:LINE: field: message, on stderr), json (one object
    /// per problem per line on stdout) or github (workflow annotations on stdout, shown on the
    /// lines of a pull request; give INPUT relative to the repository root).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        env = "OMNI_DBT_MESSAGE_FORMAT"
    )]
    pub message_format: MessageFormat,
}

/// `run INPUT` and `plan INPUT`: the same options, with the same defaults.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Results file (.csv or .jsonl); never the input itself. Locked while a run writes it
    /// (<PATH>.lock names the holder) [default: <INPUT stem>.results.csv beside INPUT;
    /// <stem>.shard-K-of-N.results.csv with --shard; stdin.results.csv for stdin].
    /// `plan` and --dry-run neither read nor write one.
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_RESULTS")]
    pub results: Option<PathBuf>,

    #[command(flatten)]
    pub api: ApiArgs,

    /// With --shard: each shard has an API key of its own, so it starts at the full --rate.
    /// Without it, shards are taken to share one key (a CI matrix or Indexed Job with one
    /// secret): each starts at its part of --rate (its share of the input's rows, so that
    /// shards finish together), doubles until the first 429 shows the others, holds its part
    /// from there and takes more only as others finish. With a key of its own, a shard so
    /// starting reaches the full --rate after a few doublings (two for 4 shards, about 40 s at
    /// 60/min). Implied by --sandbox.
    #[arg(long, env = "OMNI_DBT_OWN_KEY")]
    pub own_key: bool,

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

    /// Continue from an existing results file: skip finished rows, reconcile rows left in flight
    /// (never overrides another run's lock on it). No effect on `plan` or --dry-run, which
    /// compare every row with Omni.
    #[arg(long, env = "OMNI_DBT_RESUME", conflicts_with = "force")]
    pub resume: bool,

    /// Overwrite an existing results file (never the input, nor one another run holds; no effect
    /// on `plan` or --dry-run, which leave it be).
    #[arg(long, env = "OMNI_DBT_FORCE")]
    pub force: bool,

    /// Validate and plan (connections are listed) but send no write and write no results file;
    /// prints the plan as `plan` does, but exits as `run` would (0, or 1 if rows would fail).
    #[arg(long, env = "OMNI_DBT_DRY_RUN")]
    pub dry_run: bool,

    /// Record invalid rows as `invalid` and go on with the valid ones.
    #[arg(long, env = "OMNI_DBT_SKIP_INVALID")]
    pub skip_invalid: bool,

    /// Abort when more than N rows (or P% of the rows) have failed [default: never].
    #[arg(long, value_name = "N|P%", env = "OMNI_DBT_MAX_FAILURES")]
    pub max_failures: Option<FailureThreshold>,

    /// Also write the final summary as JSON to PATH (with `plan`: the counts per action too).
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_SUMMARY_JSON")]
    pub summary_json: Option<PathBuf>,
}

/// `sandbox`.
#[derive(Debug, Args)]
pub(super) struct SandboxArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8787, env = "OMNI_DBT_SANDBOX_PORT")]
    pub port: u16,

    /// Rate limit per token: N/min, N/s, N/h, N/<duration> (5/30s) or unlimited (Omni: 60/min).
    #[arg(
        long,
        value_name = "N/min",
        default_value = "60/min",
        env = "OMNI_DBT_SANDBOX_RATE_LIMIT"
    )]
    pub rate_limit: omni_dbt_sandbox::RateLimit,

    /// How requests are counted against --rate-limit: `fixed` windows (N per window opened by
    /// a token's first request) or `sliding` (at most N in any span of the window's length).
    #[arg(
        long,
        value_name = "fixed|sliding",
        default_value = "fixed",
        env = "OMNI_DBT_SANDBOX_RATE_WINDOW"
    )]
    pub rate_window: omni_dbt_sandbox::RateWindow,

    /// Send Retry-After with 429s (Omni documents none).
    #[arg(long, env = "OMNI_DBT_SANDBOX_RETRY_AFTER")]
    pub retry_after: bool,

    /// Faults to inject, e.g. `post:500=0.1,429=0.05,commit-500=0.03,drop=0.02,latency=50ms`
    /// (`--help` lists them all).
    #[arg(
        long,
        value_name = "SPEC",
        env = "OMNI_DBT_SANDBOX_FAULTS",
        long_help = omni_dbt_sandbox::faults::SPEC_HELP
    )]
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
