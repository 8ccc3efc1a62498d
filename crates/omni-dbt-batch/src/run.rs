//! The run from start to end: validate, plan, execute, record; the library's entry point.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use omni_dbt_core::{Client, ConnectionId, ExistenceCheck};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::checked::{scan, Checked, CheckedRows, ScanReport};
use crate::config::{ExistingPolicy, InvalidRows, ResultsMode, RunConfig, WriteMode};
use crate::duplicates::Duplicates;
use crate::execute::{
    run_workers, stopped_record, Job, KeyClient, Ledger, PoolSettings, RowKey, Work,
};
use crate::fingerprint::{fingerprint, fingerprint_problem};
use crate::input::{EnvLookup, Format, InputError, InputReader, InputSource, RowProblem};
use crate::plan::{
    connections_to_list, decide, list_connection, Action, ConnectionState, Inventory,
};
use crate::progress::{Phase, Reporter};
use crate::record::{ErrorKind, RowRecord, Status};
use crate::results::{Mode, ResultsError, ResultsFormat, ResultsWriter, ResumeState};
use crate::stop::{StopHandle, StopReason};
use crate::summary::{outcome, Summary};

/// Why a run could not start or could not go on. All of these mean exit code 2 (usage,
/// configuration or input), except a results-file failure mid-run, which the CLI reports too.
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
    /// The results file could not be created, read or written.
    #[error(transparent)]
    Results(#[from] ResultsError),
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
/// the run did not start (bad input, configuration) or could not write its results.
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
    let input = Arc::new(PreparedInput::new(&config)?);
    reporter.phase(Phase::Validating);
    let report = blocking({
        let input = Arc::clone(&input);
        let max = config.max_listed_problems;
        move || {
            let report = scan(&|| input.reader(), input.shard, max)?;
            input.set_duplicates(Arc::clone(&report.duplicates));
            Ok::<_, InputError>(report)
        }
    })
    .await??;
    if report.invalid > 0 && config.invalid_rows == InvalidRows::Refuse {
        return Err(RunError::InvalidRows {
            file: input.display.clone(),
            report: Box::new(report),
        });
    }

    let results_path = config
        .results_path
        .clone()
        .unwrap_or_else(|| default_results_path(&config));
    let prior = load_prior(&config, &results_path)?.map(Arc::new);
    let reconcile = match &prior {
        Some(prior) => {
            let input = Arc::clone(&input);
            let prior = Arc::clone(prior);
            let results = results_path.display().to_string();
            blocking(move || check_resume(&input, &prior, results)).await??
        }
        None => BTreeSet::new(),
    };

    // Opened before any request, so a results file that is in the way costs nothing.
    let writer = match config.write_mode {
        WriteMode::Apply => Some(ResultsWriter::create(
            &results_path,
            ResultsFormat::from_path(&results_path)?,
            writer_mode(config.results_mode),
        )?),
        WriteMode::DryRun => None,
    };
    let clients = build_clients(&config)?;
    let to_list = connections_to_list(config.existing, &report.connections, &reconcile);
    reporter.phase(Phase::Planning {
        connections: to_list.len() as u64,
    });
    let inventory = Arc::new(list_all(to_list, &clients, &config, reporter.as_ref()).await);

    let allowed = config.max_failures.map(|t| t.allowed(report.valid));
    let ledger = Arc::new(Ledger::new(
        writer,
        Arc::clone(&reporter),
        config.stop.clone(),
        allowed,
    ));
    reporter.phase(Phase::Executing { rows: report.rows });

    let (jobs_tx, jobs_rx) = mpsc::channel(config.concurrency.max(1) * 4);
    let feeder = Feeder {
        input: Arc::clone(&input),
        inventory,
        prior,
        ledger: Arc::clone(&ledger),
        policy: config.existing,
        write_mode: config.write_mode,
        stop: config.stop.clone(),
    };
    let feeding = tokio::task::spawn_blocking(move || feeder.feed(&jobs_tx));
    let settings = PoolSettings {
        concurrency: config.concurrency,
        grace: config.grace,
    };
    let working = run_workers(jobs_rx, &clients, Arc::clone(&ledger), settings).await;
    let resumed = feeding
        .await
        .map_err(|e| RunError::Internal(e.to_string()))??;
    working?;

    let ledger =
        Arc::try_unwrap(ledger).map_err(|_| RunError::Internal("ledger still shared".into()))?;
    let counts = ledger.counts();
    let stop_reason = config.stop.reason();
    let results_path = match ledger.into_writer() {
        Some(writer) => {
            // Rows whose request may have been applied keep their intent in the journal, so
            // --resume looks them up before sending them again.
            writer.finish()?;
            Some(results_path)
        }
        None => None,
    };
    let stats = clients
        .iter()
        .fold(omni_dbt_core::Tally::default(), |mut sum, key| {
            let stats = key.client.stats();
            sum.requests += stats.requests;
            sum.retries += stats.retries;
            sum.rate_limited += stats.rate_limited;
            sum
        });
    let summary = Summary {
        outcome: outcome(&counts, stop_reason),
        stop_reason: stop_reason.map(|r| stop_message(r, &config)),
        rows: report.rows,
        counts,
        resumed,
        elapsed: started.elapsed(),
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        results_path,
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
    format: Option<crate::input::Format>,
    shard: Option<crate::shard::Shard>,
    max_listed: usize,
) -> Result<ScanReport, InputError> {
    // Stdin is spooled so that the scan can read it twice.
    let input = PreparedInput::open(source, format, shard)?;
    scan(&|| input.reader(), shard, max_listed)
}

fn stop_message(reason: StopReason, config: &RunConfig) -> String {
    match reason {
        StopReason::Interrupted => "interrupted: rows in flight were allowed to finish; rerun with --resume".into(),
        StopReason::AuthFailed => "Omni answered 401 Unauthorized: the API token is wrong, revoked or not allowed here; nothing more was sent".into(),
        StopReason::TooManyFailures => format!(
            "more rows failed than --max-failures {} allows",
            config.max_failures.map_or_else(String::new, |t| match t {
                crate::config::FailureThreshold::Count(n) => n.to_string(),
                crate::config::FailureThreshold::Percent(p) => format!("{p}%"),
            })
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

/// The input, re-readable: stdin is spooled to a temporary file so it can be read twice.
struct PreparedInput {
    path: PathBuf,
    display: String,
    format: Option<Format>,
    shard: Option<crate::shard::Shard>,
    /// The scan's duplicate rows, for every later read.
    duplicates: OnceLock<Arc<Duplicates>>,
    _spool: Option<tempfile::NamedTempFile>,
}

impl PreparedInput {
    fn new(config: &RunConfig) -> Result<Self, RunError> {
        Ok(Self::open(&config.input, config.format, config.shard)?)
    }

    fn open(
        input: &InputSource,
        format: Option<Format>,
        shard: Option<crate::shard::Shard>,
    ) -> Result<Self, InputError> {
        let display = input.display_name();
        let (path, format, spool) = match input {
            InputSource::Path(path) => (path.clone(), format, None),
            InputSource::Stdin => {
                let read_error = |source| InputError::Read {
                    file: display.clone(),
                    line: None,
                    source,
                };
                let mut spool = tempfile::NamedTempFile::new().map_err(read_error)?;
                std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut())
                    .map_err(read_error)?;
                let format = match format {
                    Some(format) => format,
                    None => {
                        crate::input::sniff(Box::new(spool.reopen().map_err(read_error)?))
                            .map_err(read_error)?
                            .0
                    }
                };
                (spool.path().to_path_buf(), Some(format), Some(spool))
            }
        };
        Ok(Self {
            path,
            display,
            format,
            shard,
            duplicates: OnceLock::new(),
            _spool: spool,
        })
    }

    /// Records the scan's duplicates; every later [`PreparedInput::checked`] judges by them.
    fn set_duplicates(&self, duplicates: Arc<Duplicates>) {
        // Set once, by the scan; a second scan of the same input finds the same rows.
        let _ = self.duplicates.set(duplicates);
    }

    /// Reads the rows and checks them, with the duplicates found by the scan (none before it).
    fn checked(&self) -> Result<CheckedRows, InputError> {
        let duplicates = self.duplicates.get().cloned().unwrap_or_default();
        Ok(CheckedRows::new(self.reader()?, self.shard, duplicates))
    }

    /// Reads the rows from the start, unchecked.
    fn reader(&self) -> Result<InputReader, InputError> {
        let format = self
            .format
            .or_else(|| Format::from_path(&self.path))
            .ok_or_else(|| InputError::UnknownFormat {
                file: self.display.clone(),
            })?;
        let file = std::fs::File::open(&self.path).map_err(|source| InputError::Open {
            path: self.path.clone(),
            source,
        })?;
        InputReader::from_reader(file, format, self.display.clone(), EnvLookup::process())
    }
}

fn default_results_path(config: &RunConfig) -> PathBuf {
    let (dir, stem) = match &config.input {
        InputSource::Path(path) => (
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
            path.file_stem()
                .map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned()),
        ),
        InputSource::Stdin => (PathBuf::new(), "stdin".to_owned()),
    };
    let name = match config.shard {
        Some(shard) => format!(
            "{stem}.shard-{}.results.csv",
            shard.to_string().replace('/', "-of-")
        ),
        None => format!("{stem}.results.csv"),
    };
    dir.join(name)
}

fn writer_mode(mode: ResultsMode) -> Mode {
    match mode {
        ResultsMode::New => Mode::New,
        ResultsMode::Resume => Mode::Resume,
        ResultsMode::Force => Mode::Force,
    }
}

fn load_prior(config: &RunConfig, path: &Path) -> Result<Option<ResumeState>, RunError> {
    let resuming =
        config.results_mode == ResultsMode::Resume && config.write_mode == WriteMode::Apply;
    if resuming && path.exists() {
        Ok(Some(ResumeState::load(
            path,
            ResultsFormat::from_path(path)?,
        )?))
    } else {
        Ok(None)
    }
}

/// Refuses a resume whose input changed under rows the results file vouches for, and returns
/// the connections of rows whose request a previous run may have sent (they must be looked up).
fn check_resume(
    input: &PreparedInput,
    prior: &ResumeState,
    results: String,
) -> Result<BTreeSet<ConnectionId>, RunError> {
    const LISTED: usize = 5;
    let mut changed = Vec::new();
    let mut count = 0;
    let mut reconcile = BTreeSet::new();
    for checked in input.checked()? {
        let Checked::Valid(row) = checked? else {
            continue;
        };
        let Some(before) = prior.get(row.row) else {
            continue;
        };
        let vouched = before.succeeded() || before.in_flight;
        if vouched
            && !before
                .fingerprint
                .matches(&fingerprint(&row.connection, &row.environment))
        {
            count += 1;
            if changed.len() < LISTED {
                changed.push(format!("line {} ({})", row.line, row.environment.name));
            }
        }
        if before.in_flight {
            reconcile.insert(row.connection);
        }
    }
    if count > 0 {
        return Err(RunError::ChangedRows {
            file: input.display.clone(),
            results,
            count,
            rows: changed,
        });
    }
    Ok(reconcile)
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

/// Lists every connection once (all pages), `concurrency` at a time, spread over the keys.
async fn list_all(
    connections: Vec<ConnectionId>,
    clients: &[KeyClient],
    config: &RunConfig,
    reporter: &dyn Reporter,
) -> Inventory {
    let mut inventory = Inventory::default();
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut lists = JoinSet::new();
    for (i, connection) in connections.into_iter().enumerate() {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        if config.stop.reason().is_some() {
            break;
        }
        let client = clients[i % clients.len()].client.clone();
        let stop = config.stop.clone();
        lists.spawn(async move {
            let _permit = permit;
            let state = match list_connection(&client, &connection).await {
                Ok(state) => state,
                Err(auth) => {
                    stop.stop(StopReason::AuthFailed);
                    ConnectionState::Unusable(auth)
                }
            };
            (connection, state)
        });
        while let Some(Ok((connection, state))) = lists.try_join_next() {
            inventory.insert(connection, state);
            reporter.connection_listed();
        }
    }
    while let Some(joined) = lists.join_next().await {
        if let Ok((connection, state)) = joined {
            inventory.insert(connection, state);
            reporter.connection_listed();
        }
    }
    inventory
}

/// The second read of the input: settles what needs no request and hands the rest to workers.
struct Feeder {
    input: Arc<PreparedInput>,
    inventory: Arc<Inventory>,
    prior: Option<Arc<ResumeState>>,
    ledger: Arc<Ledger>,
    policy: ExistingPolicy,
    write_mode: WriteMode,
    stop: StopHandle,
}

impl Feeder {
    /// Returns how many rows were already settled by an earlier run.
    fn feed(&self, jobs: &mpsc::Sender<Job>) -> Result<u64, RunError> {
        let mut resumed = 0;
        for checked in self.input.checked()? {
            match checked? {
                Checked::Invalid(problem) => self.ledger.record(&invalid_record(&problem))?,
                Checked::Valid(row) => {
                    let key = RowKey {
                        row: row.row,
                        line: row.line,
                        connection_id: row.connection.to_string(),
                        name: row.environment.name.clone(),
                        fingerprint: fingerprint(&row.connection, &row.environment),
                    };
                    let before = self.prior.as_ref().and_then(|p| p.get(row.row));
                    if let Some((before, status)) = before
                        .filter(|b| b.succeeded())
                        .and_then(|b| Some((b, b.status?)))
                    {
                        resumed += 1;
                        self.ledger.count(&RowRecord {
                            environment_id: before.environment_id,
                            attempts: before.attempts,
                            ..key.record(status)
                        });
                        continue;
                    }
                    if let Some(reason) = self.stop.reason() {
                        self.ledger.record(&stopped_record(&key, reason))?;
                        continue;
                    }
                    let sent_before = before.is_some_and(|b| b.in_flight);
                    let state = self.inventory.get(&row.connection);
                    let work = match decide(self.policy, state, &row.environment, sent_before) {
                        Action::Settle {
                            status,
                            environment_id,
                            failure,
                        } => {
                            let record = match &failure {
                                Some(failure) => key.failed(status, failure),
                                None => key.record(status),
                            };
                            self.ledger.record(&RowRecord {
                                environment_id,
                                ..record
                            })?;
                            continue;
                        }
                        Action::Create => Work::Create {
                            environment: Box::new(row.environment),
                            check: if sent_before && state.is_none() {
                                ExistenceCheck::LookFirst
                            } else {
                                ExistenceCheck::AssumeAbsent
                            },
                        },
                        Action::Update { id, update } => Work::Update { id, update },
                    };
                    if self.write_mode == WriteMode::DryRun {
                        let planned = match work {
                            Work::Create { .. } => Status::Created,
                            Work::Update { .. } => Status::Updated,
                        };
                        self.ledger.record(&key.record(planned))?;
                        continue;
                    }
                    let job = Job {
                        key,
                        connection: row.connection,
                        work,
                    };
                    if jobs.blocking_send(job).is_err() {
                        break;
                    }
                }
            }
        }
        Ok(resumed)
    }
}

fn invalid_record(problem: &RowProblem) -> RowRecord {
    let message = problem
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    RowRecord {
        row: problem.row,
        line: problem.line,
        connection_id: problem.connection_id.clone(),
        name: problem.name.clone(),
        status: Status::Invalid,
        environment_id: None,
        attempts: 0,
        http_status: None,
        error_kind: Some(ErrorKind::Validation),
        error: Some(message),
        fingerprint: fingerprint_problem(problem),
    }
}
