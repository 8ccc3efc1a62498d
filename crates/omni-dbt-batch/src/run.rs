//! The run from start to end: validate, plan, execute, record. The library's entry point.

use std::sync::Arc;
use std::time::Instant;

use omni_dbt_core::{Client, Tally};
use tokio::sync::mpsc;

use crate::checked::{scan, ScanReport};
use crate::config::{InvalidRows, RunConfig, WriteMode};
use crate::execute::{run_workers, KeyClient, PoolSettings};
use crate::feed::{FeedError, Feeder};
use crate::input::{Format, InputError, InputSource};
use crate::inventory::{connections_to_list, Inventory};
use crate::ledger::Ledger;
use crate::progress::{Phase, Reporter};
use crate::results::{format_of, ResultsError, ResultsSink, ResultsWriter};
use crate::shard::Shard;
use crate::source::InputFile;
use crate::stop::StopReason;
use crate::summary::{outcome, Summary};

/// Why a run could not start or could not go on. Each of these is exit code 2 (usage,
/// configuration or input: nothing was sent) in the CLI, except [`RunError::Recording`]
/// (exit 3: the run was aborted).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Some rows are invalid and `--skip-invalid` was not given; nothing was sent.
    #[error("{} of {} rows in {file} are invalid; nothing was sent. Fix them, or pass --skip-invalid to record them as invalid and go on", .report.invalid, .report.rows)]
    InvalidRows {
        /// The input's display name.
        file: String,
        /// The scan, with the first problems.
        report: Box<ScanReport>,
    },
    /// `--resume`: rows finished (or in flight) in the results file changed in the input.
    #[error("{count} rows in {file} changed since {results} recorded them, so --resume cannot vouch for them (first: {}). Restore the input, or start a new results file with --force", .rows.join(", "))]
    ChangedRows {
        /// The input's display name.
        file: String,
        /// The results file.
        results: String,
        /// How many rows changed.
        count: u64,
        /// The first few, as `line N (name)`.
        rows: Vec<String>,
    },
    /// The results file could not be created or read; nothing was sent.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The results file could not be written once requests had gone out: the run stopped.
    /// Outcomes written so far, and the intents of rows in flight, are on disk for `--resume`.
    #[error("{0}; the run stopped: fix the cause and rerun with --resume, which checks the rows left in flight")]
    Recording(ResultsError),
    /// No API key was given.
    #[error(
        "no API token: set OMNI_API_TOKEN (or name variables with --token-env), or use --sandbox"
    )]
    NoKeys,
    /// The client could not be built (base URL, TLS...).
    #[error("cannot use the Omni API at {base_url:?}: {error}")]
    Client {
        /// The base URL given.
        base_url: String,
        /// Why.
        error: omni_dbt_core::Error,
    },
    /// A background task failed unexpectedly.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Runs a whole batch: validates every row, plans against what Omni holds, creates (or updates)
/// with bounded concurrency and per-key rate limits, and records every row in the results file.
///
/// Returns the summary, whose [`outcome`](Summary::outcome) says how the run ended; an `Err` means
/// the run did not start (bad input, configuration; nothing was sent) or could not write its
/// results.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use omni_dbt_batch::config::{ApiKey, RunConfig};
/// use omni_dbt_batch::input::InputSource;
/// use omni_dbt_batch::progress::Silent;
///
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: std::env::var("OMNI_API_TOKEN")?.into() };
/// let config = RunConfig::new(InputSource::Path("environments.csv".into()), "https://acme.omniapp.co", vec![key]);
/// let summary = omni_dbt_batch::run(config, Arc::new(Silent)).await?;
/// println!("created {} rows", summary.count(omni_dbt_batch::record::Status::Created));
/// # Ok(()) }
/// ```
pub async fn run(config: RunConfig, reporter: Arc<dyn Reporter>) -> Result<Summary, RunError> {
    let started = Instant::now();
    if config.keys.is_empty() {
        return Err(RunError::NoKeys);
    }

    // 1. Validate every row; nothing is sent before this passes.
    let input = Arc::new(InputFile::open(&config.input, config.format, config.shard)?);
    reporter.phase(Phase::Validating);
    let report = blocking({
        let input = Arc::clone(&input);
        let max = config.max_listed_problems;
        move || {
            let report = scan(&|| input.reader(), input.shard(), max)?;
            input.set_duplicates(Arc::clone(&report.duplicates));
            Ok::<_, InputError>(report)
        }
    })
    .await??;
    if report.invalid > 0 && config.invalid_rows == InvalidRows::Refuse {
        return Err(RunError::InvalidRows {
            file: input.display_name().to_owned(),
            report: Box::new(report),
        });
    }

    // What an earlier run left, and the results file, still before any request.
    let results_path = config.results_path();
    let prior = match config.write_mode {
        WriteMode::Apply if config.results_mode == crate::results::Mode::Resume => {
            crate::prior::load(&results_path)?.map(Arc::new)
        }
        _ => None,
    };
    let in_flight = match &prior {
        Some(prior) => {
            let check = blocking({
                let (input, prior) = (Arc::clone(&input), Arc::clone(prior));
                move || crate::prior::check(&input, &prior)
            })
            .await??;
            if check.changed.count > 0 {
                return Err(RunError::ChangedRows {
                    file: input.display_name().to_owned(),
                    results: results_path.display().to_string(),
                    count: check.changed.count,
                    rows: check.changed.first,
                });
            }
            check.in_flight
        }
        None => Default::default(),
    };
    let sink = match config.write_mode {
        WriteMode::Apply => Some(ResultsSink::new(ResultsWriter::create(
            &results_path,
            format_of(&results_path)?,
            config.results_mode,
        )?)),
        WriteMode::DryRun => None,
    };
    let clients = build_clients(&config)?;

    // 2. Plan: what each connection already holds.
    let to_list = connections_to_list(config.existing, &report.connections, &in_flight);
    reporter.phase(Phase::Planning {
        connections: to_list.len() as u64,
    });
    let inventory = Inventory::gather(
        to_list,
        &clients,
        config.concurrency,
        &config.stop,
        reporter.as_ref(),
    )
    .await;

    // 3. Execute, 4. record: one reader thread settles or hands out rows, workers send them.
    let allowed = config.max_failures.map(|t| t.allowed(report.valid));
    let ledger = Arc::new(Ledger::new(
        sink,
        Arc::clone(&reporter),
        config.stop.clone(),
        allowed,
    ));
    reporter.phase(Phase::Executing { rows: report.rows });
    let (jobs_tx, jobs_rx) = mpsc::channel(config.concurrency.max(1) * 4);
    let feeder = Feeder {
        input,
        inventory: Arc::new(inventory),
        prior,
        ledger: Arc::clone(&ledger),
        policy: config.existing,
        write_mode: config.write_mode,
    };
    let feeding = tokio::task::spawn_blocking(move || feeder.feed(&jobs_tx));
    let settings = PoolSettings {
        concurrency: config.concurrency,
        grace: config.grace,
    };
    let working = run_workers(jobs_rx, &clients, Arc::clone(&ledger), settings).await;
    let resumed = feeding
        .await
        .map_err(|e| RunError::Internal(e.to_string()))?
        .map_err(|error| match error {
            FeedError::Results(error) => RunError::Recording(error),
            FeedError::Input(error) => RunError::Input(error),
        })?;
    working.map_err(RunError::Recording)?;
    let finished = ledger.finish().map_err(RunError::Recording)?;

    let stop_reason = config.stop.reason();
    let counts = ledger.counts();
    let stats = total_stats(&clients);
    let summary = Summary {
        outcome: outcome(&counts, stop_reason),
        stop_reason: stop_reason.map(|reason| stop_message(reason, &config)),
        rows: report.rows,
        counts,
        resumed,
        elapsed: started.elapsed(),
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        results_path: finished.map(|report| report.path),
        dry_run: config.write_mode == WriteMode::DryRun,
    };
    reporter.finished(&summary);
    Ok(summary)
}

/// Validates every row of the input offline and returns the scan; nothing is sent.
///
/// ```
/// use omni_dbt_batch::input::InputSource;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("envs.csv");
/// std::fs::write(&path, "connection_id,name,target_schema\n550e8400-e29b-41d4-a716-446655440000,dev,dbt_dev\n").unwrap();
/// let report = omni_dbt_batch::validate_input(&InputSource::Path(path), None, None, 10).unwrap();
/// assert_eq!((report.rows, report.invalid), (1, 0));
/// ```
pub fn validate_input(
    source: &InputSource,
    format: Option<Format>,
    shard: Option<Shard>,
    max_listed: usize,
) -> Result<ScanReport, InputError> {
    let input = InputFile::open(source, format, shard)?;
    scan(&|| input.reader(), shard, max_listed)
}

fn stop_message(reason: StopReason, config: &RunConfig) -> String {
    match reason {
        StopReason::Interrupted => {
            "interrupted: rows in flight were allowed to finish; rerun with --resume".into()
        }
        StopReason::AuthFailed => "Omni answered 401 Unauthorized: the API token is wrong, revoked or not allowed here; nothing more was sent".into(),
        StopReason::TooManyFailures => format!(
            "more rows failed than --max-failures {} allows",
            config
                .max_failures
                .map_or_else(String::new, |threshold| threshold.to_string())
        ),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RunError::Internal(e.to_string()))
}

fn build_clients(config: &RunConfig) -> Result<Vec<KeyClient>, RunError> {
    config
        .keys
        .iter()
        .map(|key| {
            let client = Client::builder()
                .base_url(&config.base_url)
                .token(key.token.clone())
                .timeout(config.timeout)
                .retry_policy(config.retry)
                .rate_limit(config.rate)
                .build()
                .map_err(|error| RunError::Client {
                    base_url: config.base_url.clone(),
                    error,
                })?;
            Ok(KeyClient {
                label: key.label.clone(),
                client,
            })
        })
        .collect()
}

/// Requests, retries and 429s across every key's client.
fn total_stats(clients: &[KeyClient]) -> Tally {
    clients.iter().fold(Tally::default(), |mut sum, key| {
        let stats = key.client.stats();
        sum.requests += stats.requests;
        sum.retries += stats.retries;
        sum.rate_limited += stats.rate_limited;
        sum
    })
}
