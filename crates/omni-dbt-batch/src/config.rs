//! Everything a run needs to know, as plain data: the library's counterpart of the CLI flags.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use omni_dbt_core::{RateLimit, RetryBudget, RetryPolicy};
use secrecy::SecretString;

use crate::prune::Prune;
use crate::read::input::{DbtOptions, Format, InputSource};
use crate::read::map::ConnectionMap;
use crate::read::shard::Shard;
use crate::record::results::ResultsMode;
use crate::stop::StopHandle;

/// Default number of requests in flight at once (`--concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Default bound on how long in-flight rows may finish after an interrupt (`--grace`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// Default number of invalid rows listed before the count (`validate`, and `run` before it aborts).
pub const DEFAULT_MAX_LISTED_PROBLEMS: usize = 50;

/// One API key and where it came from. `Debug` shows the label, never the token.
#[derive(Clone)]
pub struct ApiKey {
    /// A name for logs and summaries, such as the environment variable it was read from.
    pub label: String,
    /// The token itself.
    pub token: SecretString,
}

#[cfg(test)]
impl ApiKey {
    /// A key named `label`, with a made-up token, for tests that send nothing.
    pub(crate) fn fake(label: &str) -> Self {
        Self {
            label: label.into(),
            token: SecretString::from(format!("token-of-{label}")),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("label", &self.label)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// What to do with a row whose (connection, name) already exists in Omni (`--existing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ExistingPolicy {
    /// Leave it alone and record `exists` with its id (the default).
    #[default]
    Skip,
    /// Record the row as `failed` (kind `exists`).
    Fail,
    /// Update it to match the row: `updated`, or `unchanged` when it already matches.
    Update,
    /// Do not list connections first; create every row (Omni may then hold duplicates).
    Ignore,
}

/// When to abort a run that is going badly (`--max-failures N` or `P%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FailureThreshold {
    /// Abort once more than this many rows have failed.
    Count(u64),
    /// Abort once more than this percentage of the run's rows have failed.
    Percent(f64),
}

impl FailureThreshold {
    /// The largest number of failed rows tolerated in a run of `rows` rows.
    ///
    /// ```
    /// use omni_dbt_batch::FailureThreshold;
    /// let t: FailureThreshold = "5%".parse().unwrap();
    /// assert_eq!(t.allowed(1000), 50);
    /// assert_eq!("3".parse::<FailureThreshold>().unwrap().allowed(1000), 3);
    /// ```
    pub fn allowed(self, rows: u64) -> u64 {
        match self {
            FailureThreshold::Count(n) => n,
            FailureThreshold::Percent(p) => (rows as f64 * p / 100.0).floor() as u64,
        }
    }
}

impl fmt::Display for FailureThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureThreshold::Count(n) => write!(f, "{n}"),
            FailureThreshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for FailureThreshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(percent) = s.strip_suffix('%') {
            let p: f64 = percent
                .trim()
                .parse()
                .map_err(|_| format!("invalid percentage {s:?}: expected e.g. 5%"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("percentage {s:?} must be between 0% and 100%"));
            }
            return Ok(Self::Percent(p));
        }
        s.parse().map(Self::Count).map_err(|_| {
            format!("invalid --max-failures {s:?}: expected a count (10) or a percentage (5%)")
        })
    }
}

/// Whether the shards of one input share their API keys: it sets the pace a shard starts at.
///
/// Shards sharing a key, each at the full `--rate`, would all start at the key's limit and meet
/// a wall of 429s together, then keep the unequal parts of the key they measured in it. So a
/// shard taken to share its key starts at its part of the rate, in proportion to its rows, and
/// takes more only as the key shows room (see [`omni_dbt_core::KeyLimiter::with_share`]).
/// Without a shard, neither changes anything.
///
/// ```
/// use omni_dbt_batch::{InputSource, KeySharing, RunConfig};
/// let mut config = RunConfig::new(InputSource::Path("envs.csv".into()), "acme", vec![]);
/// assert_eq!(config.key_sharing, KeySharing::BetweenShards);
/// config.key_sharing = KeySharing::Own; // each shard has a key of its own
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySharing {
    /// The shards share their keys (the default): each starts at its part of the rate.
    #[default]
    BetweenShards,
    /// Each shard has keys of its own: it starts at the full rate.
    Own,
}

/// Whether the run writes to Omni.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Create and update environments (the default).
    #[default]
    Apply,
    /// Validate and plan (lists are read), but send no write and write no results file.
    DryRun,
}

/// Rows that fail validation: stop the run (the default) or record them `invalid` and go on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InvalidRows {
    /// Any invalid row stops the run before anything is sent (exit 2).
    #[default]
    Refuse,
    /// Invalid rows are recorded `invalid`; valid rows go ahead (`--skip-invalid`).
    Skip,
}

/// How a command reaches Omni: where, with which keys, how many requests at once, how fast, how
/// patiently, and how much of a response it reads. Shared by [`RunConfig`], `UndoConfig` and
/// `ExportConfig`; every setting but the base URL and the keys has a default.
///
/// ```
/// use omni_dbt_batch::{ApiKey, ApiSettings};
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: "omni_key".to_owned().into() };
/// let mut api = ApiSettings::new("https://acme.omniapp.co", vec![key]);
/// api.concurrency = 4;
/// assert_eq!(api.rate.to_string(), "60/min");
/// assert!(!format!("{api:?}").contains("omni_key"));
/// ```
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Omni's base URL (origin, with or without `/api` or `/api/v1`, or an instance name).
    pub base_url: String,
    /// The API keys; each gets its own rate limiter and share of the workers.
    pub keys: Vec<ApiKey>,
    /// Requests in flight at once, across all keys (default 8).
    pub concurrency: usize,
    /// Ceiling of requests per key (default 60/min); 429s lower the pace below it.
    pub rate: RateLimit,
    /// This runner's share of each key's `rate` when other runners use the same keys (above 0,
    /// at most 1; default 1): it starts there and takes more only as the key shows room. A run
    /// with a shard sets it from [`KeySharing`].
    pub key_share: f64,
    /// Retry policy for every request (backoff, attempts, the cap on a `Retry-After`).
    pub retry: RetryPolicy,
    /// Tokens of the run-wide retry budget every key's client spends from (default 500): a
    /// retry after a 5xx costs 5, after a timeout or broken connection 10, a success puts one
    /// back; an empty budget fails rows fast as `exhausted`. 429s never spend from it.
    pub retry_budget: u32,
    /// Timeout of one request (default 30 s).
    pub timeout: Duration,
    /// The most bytes one list page may hold; `None` keeps the client's default (32 MiB).
    pub max_page_bytes: Option<usize>,
    /// The most pages one connection's listing may take; `None` keeps the client's default
    /// (10,000).
    pub max_pages: Option<u32>,
}

impl ApiSettings {
    /// Settings for `base_url` with `keys`, every other setting at its default.
    pub fn new(base_url: impl Into<String>, keys: Vec<ApiKey>) -> Self {
        Self {
            base_url: base_url.into(),
            keys,
            concurrency: DEFAULT_CONCURRENCY,
            rate: RateLimit::default(),
            key_share: 1.0,
            retry: RetryPolicy::default(),
            retry_budget: RetryBudget::DEFAULT_CAPACITY,
            timeout: Duration::from_secs(30),
            max_page_bytes: None,
            max_pages: None,
        }
    }
}

/// A run's configuration. Build one with [`RunConfig::new`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The input file, or stdin.
    pub input: InputSource,
    /// The input's format; `None` = from the extension (or sniffed for stdin).
    pub format: Option<Format>,
    /// How a dbt profiles.yml input becomes rows (ignored for CSV and JSONL).
    pub dbt: DbtOptions,
    /// The results file; `None` = `<input stem>.results.csv` next to the input.
    pub results_path: Option<PathBuf>,
    /// What to do when the results file exists: refuse (the default), `Resume` or `Force`.
    pub results_mode: ResultsMode,
    /// How the run reaches Omni: base URL, keys, concurrency, pace, retries, limits.
    pub api: ApiSettings,
    /// What to do with rows that already exist.
    pub existing: ExistingPolicy,
    /// Whether environments of the input's connections that no row names are deleted.
    pub prune: Prune,
    /// Apply, or only plan.
    pub write_mode: WriteMode,
    /// Refuse or skip invalid rows.
    pub invalid_rows: InvalidRows,
    /// Only the rows of this shard.
    pub shard: Option<Shard>,
    /// With a shard: whether the shards share their API keys, which sets the pace each starts
    /// at (default [`KeySharing::BetweenShards`]).
    pub key_sharing: KeySharing,
    /// Where each row's connection goes (`--map-connections`), applied before validation.
    pub connection_map: Option<ConnectionMap>,
    /// Abort when this many rows have failed.
    pub max_failures: Option<FailureThreshold>,
    /// How long in-flight rows may finish after an interrupt.
    pub grace: Duration,
    /// Invalid rows listed in an error before the count.
    pub max_listed_problems: usize,
    /// Stops the run when triggered (the CLI wires SIGINT/SIGTERM to it).
    pub stop: StopHandle,
}

impl RunConfig {
    /// The results file: `results_path`, else `<input stem>.results.csv` beside the input
    /// (`<stem>.shard-K-of-N.results.csv` with a shard, `stdin.results.csv` for stdin).
    ///
    /// ```
    /// use omni_dbt_batch::RunConfig;
    /// use omni_dbt_batch::InputSource;
    /// let mut config = RunConfig::new(InputSource::Path("in/envs.csv".into()), "acme", vec![]);
    /// assert_eq!(config.results_path(), std::path::Path::new("in/envs.results.csv"));
    /// config.shard = Some("2/4".parse().unwrap());
    /// assert_eq!(config.results_path(), std::path::Path::new("in/envs.shard-2-of-4.results.csv"));
    /// ```
    pub fn results_path(&self) -> PathBuf {
        if let Some(path) = &self.results_path {
            return path.clone();
        }
        let (dir, stem) = match &self.input {
            InputSource::Path(path) => (
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
                path.file_stem()
                    .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned()),
            ),
            InputSource::Stdin => (PathBuf::new(), "stdin".to_owned()),
        };
        let name = match self.shard {
            Some(shard) => format!(
                "{stem}.shard-{}-of-{}.results.csv",
                shard.index(),
                shard.count()
            ),
            None => format!("{stem}.results.csv"),
        };
        dir.join(name)
    }

    /// A configuration with every default, for `input` against `base_url` with `keys`.
    pub fn new(input: InputSource, base_url: impl Into<String>, keys: Vec<ApiKey>) -> Self {
        Self {
            input,
            format: None,
            dbt: DbtOptions::default(),
            results_path: None,
            results_mode: ResultsMode::default(),
            api: ApiSettings::new(base_url, keys),
            existing: ExistingPolicy::default(),
            prune: Prune::default(),
            write_mode: WriteMode::default(),
            invalid_rows: InvalidRows::default(),
            shard: None,
            key_sharing: KeySharing::default(),
            connection_map: None,
            max_failures: None,
            grace: DEFAULT_GRACE,
            max_listed_problems: DEFAULT_MAX_LISTED_PROBLEMS,
            stop: StopHandle::new(),
        }
    }
}
