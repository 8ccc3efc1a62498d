//! The run from start to end: validate, plan, execute, record. The library's entry point.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::config::{FailureThreshold, InvalidRows, RunConfig, WriteMode};
use crate::error::{RunError, Sent};
use crate::execute::clients::{build_clients, key_summaries, key_watch, total_stats};
use crate::execute::feed::{FeedError, Feeder};
use crate::execute::share::{key_share, planned_end, release_shares};
use crate::execute::workers::{run_workers, PoolSettings};
use crate::plan::deletions::DeletionPlan;
use crate::plan::inventory::Inventory;
use crate::plan::prune::{check_prunable, plan_prune, PruneScope};
use crate::plan::resume::{Resume, ResumeCheck};
use crate::read::checked::{scan, ScanReport};
use crate::read::input::{DbtOptions, Format, InputError, InputSource};
use crate::read::map::ConnectionMap;
use crate::read::shard::Shard;
use crate::read::source::InputFile;
use crate::record::ledger::Ledger;
use crate::record::results::{format_of, ResultsClaim, ResultsMode, ResultsSink, ResultsWriter};
use crate::report::{Phase, Reporter};
use crate::stop::StopReason;
use crate::summary::{outcome, Purpose, Summary};

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
/// use omni_dbt_batch::{ApiKey, RunConfig};
/// use omni_dbt_batch::InputSource;
/// use omni_dbt_batch::Silent;
///
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: std::env::var("OMNI_API_TOKEN")?.into() };
/// let config = RunConfig::new(InputSource::Path("environments.csv".into()), "https://acme.omniapp.co", vec![key]);
/// let summary = omni_dbt_batch::run(config, Arc::new(Silent)).await?;
/// println!("created {} rows", summary.count(omni_dbt_batch::Status::Created));
/// # Ok(()) }
/// ```
pub async fn run(config: RunConfig, reporter: Arc<dyn Reporter>) -> Result<Summary, RunError> {
    run_for(config, reporter, Purpose::Run).await
}

/// [`run`], for `purpose`: a plan ends with its own outcome when it finds changes.
pub(crate) async fn run_for(
    mut config: RunConfig,
    reporter: Arc<dyn Reporter>,
    purpose: Purpose,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    if config.api.keys.is_empty() {
        return Err(RunError::NoKeys);
    }

    // 1. Validate every row; nothing is sent before this passes.
    let input = Arc::new(
        InputFile::open(&config.input, config.format, &config.dbt, config.shard)?
            .with_map(config.connection_map.clone()),
    );
    reporter.phase(Phase::Validating);
    let report = blocking("validating the input", Sent::Nothing, {
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
    check_prunable(&config, input.display_name(), &report)?;

    if let Some(share) = key_share(&config, &report) {
        tracing::info!(
            "this shard takes its key to be shared with the other shards: it starts at {:.1}% \
             of --rate (its part of the input's rows) and takes more as the key shows room \
             (--own-key if each shard has a key of its own)",
            share * 100.0
        );
        config.api.key_share = share;
    }

    // The whole configuration is checked, and the results file locked, before anything is
    // created on disk, so that a corrected command is not refused by what a failed start left
    // behind. The file itself is opened only once the plan is known to be good.
    let clients = build_clients(&config.api)?;
    reporter.keys(&key_watch(&clients));
    let results_path = config.results_path();
    let claim = match config.write_mode {
        WriteMode::Apply => Some(claim_results(
            &results_path,
            &config.input,
            config.results_mode,
        )?),
        WriteMode::DryRun => None,
    };

    // What an earlier run left, still before any request.
    let resume = match config.write_mode {
        WriteMode::Apply if config.results_mode == ResultsMode::Resume => {
            Some(Arc::new(Resume::load(&results_path)?))
        }
        _ => None,
    };
    let check = match &resume {
        Some(resume) => {
            let check = blocking(
                "checking the input against the results file",
                Sent::Nothing,
                {
                    let (input, resume) = (Arc::clone(&input), Arc::clone(resume));
                    move || resume.check(&input)
                },
            )
            .await??;
            if check.changed.count > 0 {
                return Err(RunError::ChangedRows {
                    file: input.display_name().to_owned(),
                    results: results_path.display().to_string(),
                    count: check.changed.count,
                    rows: check.changed.first,
                });
            }
            check
        }
        None => ResumeCheck::default(),
    };

    // 2. Plan: what each connection already holds, and what a prune deletes.
    let to_list = match config.prune.max_deletes() {
        Some(_) => report.connections.iter().copied().collect(),
        None => check.connections_to_list(config.existing, &report.connections),
    };
    reporter.phase(Phase::Planning {
        connections: to_list.len() as u64,
    });
    let inventory = Arc::new(
        Inventory::gather(
            to_list,
            &clients,
            config.api.concurrency,
            &config.stop,
            reporter.as_ref(),
        )
        .await?,
    );
    let deletions = match config.prune.max_deletes() {
        Some(limit) if config.stop.reason().is_none() => {
            let (input, inventory, resume) =
                (Arc::clone(&input), Arc::clone(&inventory), resume.clone());
            let connections = report.connections.clone();
            blocking("planning the prune", Sent::Nothing, move || {
                let scope = PruneScope {
                    input: &input,
                    connections: &connections,
                    inventory: &inventory,
                    resume: resume.as_deref(),
                };
                plan_prune(&scope, limit)
            })
            .await??
        }
        _ => DeletionPlan::default(),
    };
    let sink = match claim {
        Some(claim) => Some(ResultsSink::new(ResultsWriter::open(
            claim,
            format_of(&results_path)?,
            config.results_mode,
        )?)),
        None => None,
    };

    // 3. Execute, 4. record: one reader thread settles or hands out rows, workers send them.
    let allowed = config.max_failures.map(|t| t.allowed(report.valid));
    let ledger = Arc::new(Ledger::new(
        sink,
        Arc::clone(&reporter),
        config.stop.clone(),
        allowed,
    ));
    // Stopped when the run ends, dropping it.
    let _release =
        planned_end(&config, &report, &clients).map(|planned| release_shares(&clients, planned));
    reporter.phase(Phase::Executing {
        rows: report.rows + deletions.len(),
    });
    let (jobs_tx, jobs_rx) = mpsc::channel(config.api.concurrency.max(1) * 4);
    let sizes = inventory.sizes();
    let feeder = Feeder {
        input,
        inventory,
        resume,
        ledger: Arc::clone(&ledger),
        policy: config.existing,
        write_mode: config.write_mode,
        deletions,
    };
    let feeding = tokio::task::spawn_blocking(move || feeder.feed(&jobs_tx));
    let settings = PoolSettings {
        concurrency: config.api.concurrency,
        grace: config.grace,
    };
    let working = run_workers(jobs_rx, &clients, Arc::clone(&ledger), settings, &sizes).await;
    let resumed = feeding
        .await
        .map_err(|source| RunError::Internal {
            task: "reading the input for the execute phase",
            sent: Sent::Some,
            source,
        })?
        .map_err(|error| match error {
            FeedError::Results(source) => RunError::Recording { source },
            FeedError::Input(source) => RunError::InputLost { source },
        })?;
    working?;
    let finished = ledger
        .finish()
        .map_err(|source| RunError::Recording { source })?;

    let stop_reason = config.stop.reason();
    let counts = ledger.counts();
    let actions = ledger.actions();
    let warnings: Vec<String> = clients
        .first()
        .and_then(|key| ledger.reach().warning(key.client.base_url().as_str()))
        .into_iter()
        .collect();
    warnings
        .iter()
        .for_each(|warning| tracing::warn!("{warning}"));
    let stats = total_stats(&clients);
    let summary = Summary {
        outcome: outcome(&counts, stop_reason, purpose, actions.as_ref()),
        stop_reason: stop_reason.map(|reason| stop_message(reason, config.max_failures)),
        rows: report.rows,
        counts,
        resumed,
        elapsed: started.elapsed(),
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        results_path: finished.map(|report| report.path),
        dry_run: config.write_mode == WriteMode::DryRun,
        actions,
        warnings,
        keys: key_summaries(&clients),
    };
    reporter.finished(&summary);
    Ok(summary)
}

/// Validates every row of the input offline and returns the scan; nothing is sent. `dbt` says
/// how a dbt profiles.yml becomes rows (it is ignored for CSV and JSONL); `map`, when given,
/// rewrites each row's connection first (a row it does not name is invalid).
///
/// ```
/// use omni_dbt_batch::{DbtOptions, InputSource, ProfileConnection};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("envs.csv");
/// std::fs::write(&path, "connection_id,name,target_schema\n550e8400-e29b-41d4-a716-446655440000,dev,dbt_dev\n").unwrap();
/// let none = DbtOptions::default();
/// let report = omni_dbt_batch::validate_input(&InputSource::Path(path), None, &none, None, None, 10).unwrap();
/// assert_eq!((report.rows, report.invalid), (1, 0));
///
/// # let path = dir.path().join("profiles.yml");
/// std::fs::write(&path, "jaffle_shop:\n  outputs:\n    dev: {type: postgres, schema: dbt_dev}\n    ci: {type: postgres}\n").unwrap();
/// let dbt = DbtOptions::default()
///     .with_profile(ProfileConnection::only("550e8400-e29b-41d4-a716-446655440000".parse().unwrap()));
/// let report = omni_dbt_batch::validate_input(&InputSource::Path(path), None, &dbt, None, None, 10).unwrap();
/// assert_eq!((report.rows, report.invalid), (2, 1));
/// assert_eq!(report.problems[0].display_with("profiles.yml").to_string(),
///     "profiles.yml:4: schema: is required: the schema dbt builds into, which becomes the \
///      environment's target schema; add `schema: NAME` to this output");
/// ```
pub fn validate_input(
    source: &InputSource,
    format: Option<Format>,
    dbt: &DbtOptions,
    shard: Option<Shard>,
    map: Option<&ConnectionMap>,
    max_listed: usize,
) -> Result<ScanReport, InputError> {
    let input = InputFile::open(source, format, dbt, shard)?.with_map(map.cloned());
    scan(&|| input.reader(), shard, max_listed)
}

/// What the summary says about why a run (or an undo) stopped early.
pub(crate) fn stop_message(reason: StopReason, max_failures: Option<FailureThreshold>) -> String {
    match reason {
        StopReason::Interrupted => {
            "interrupted: requests on the wire were allowed to finish, rows waiting stopped at once; rerun with --resume".into()
        }
        StopReason::AuthFailed => "Omni answered 401 Unauthorized: the API token is wrong, revoked or not allowed here; nothing more was sent".into(),
        StopReason::TooManyFailures => format!(
            "more rows failed than --max-failures {} allows",
            max_failures.map_or_else(String::new, |threshold| threshold.to_string())
        ),
    }
}

/// Runs `f` on a blocking thread; its failure (a panic) is an internal error of `task`.
pub(crate) async fn blocking<T: Send + 'static>(
    task: &'static str,
    sent: Sent,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|source| RunError::Internal { task, sent, source })
}

/// Checks the results path (its format, that it is neither a directory nor the input, that a new
/// run finds no earlier file) and locks it for this run.
fn claim_results(
    path: &Path,
    input: &InputSource,
    mode: ResultsMode,
) -> Result<ResultsClaim, RunError> {
    let inputs: Vec<&Path> = match input {
        InputSource::Path(input) => vec![input.as_path()],
        InputSource::Stdin => Vec::new(),
    };
    let claim = ResultsClaim::new(path, &inputs)?;
    ResultsWriter::preflight(path, mode)?;
    Ok(claim)
}
