//! `undo RESULTS`: deletes exactly the environments a run's results file records as `created`,
//! each exactly once, with its own results file, journal and `--resume`, like a run.
//!
//! Nothing else is ever deleted: rows recorded `exists`, `updated`, `unchanged` (environments the
//! run found rather than made) and environments a run pruned are left alone. Each delete goes
//! through the run's machinery: the intent is journaled before the request, a lost answer is
//! reconciled by listing the connection, and `--resume` after a crash settles what was in
//! flight before sending anything again.

mod config;
mod refused;
mod source;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

pub use config::UndoConfig;
pub use refused::UndoRefused;

use crate::config::WriteMode;
use crate::error::{RunError, Sent};
use crate::execute::clients::{build_clients, key_summaries, key_watch, total_stats};
use crate::execute::feed::feed_deletions;
use crate::execute::workers::{run_workers, PoolSettings};
use crate::paths::same_file;
use crate::plan::inventory::Inventory;
use crate::plan::resume::Resume;
use crate::plan::undo::plan_undo;
use crate::record::ledger::Ledger;
use crate::record::results::{ResultsLock, ResultsMode, ResultsSink, ResultsWriter};
use crate::record::RowRecord;
use crate::report::{Phase, Reporter};
use crate::run::{blocking, stop_message};
use crate::summary::{outcome, Purpose, Summary};

/// The records of the run's results file at `results` that [`undo()`] would delete: the rows
/// whose last record is `created`, in row order. Reads the file only; nothing is sent.
///
/// Refuses what `undo` refuses before any request: a missing file, a file that is not a run's
/// results (naming the line), an undo's own results file, a run with requests still in flight.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("envs.results.csv");
/// std::fs::write(&path, "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n\
///     1,2,550e8400-e29b-41d4-a716-446655440000,dev,created,6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b,1,201,,,f1\n\
///     2,3,550e8400-e29b-41d4-a716-446655440000,qa,exists,7f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b,0,,,,f2\n").unwrap();
/// let targets = omni_dbt_batch::undo_targets(&path).unwrap();
/// assert_eq!(targets.len(), 1, "only what the run created");
/// assert_eq!(targets[0].name, "dev");
///
/// std::fs::write(&path, "connection_id,name,target_schema\n").unwrap();
/// let refused = omni_dbt_batch::undo_targets(&path).unwrap_err();
/// assert!(refused.to_string().contains("envs.results.csv:1:"), "{refused}");
/// ```
pub fn undo_targets(results: &Path) -> Result<Vec<RowRecord>, RunError> {
    let created = source::read_created(results)?;
    Ok(created.into_iter().map(|created| created.record).collect())
}

/// Undoes a run: deletes every environment its results file (`config.source`) records as
/// `created`, and records each in the undo's own results file as `deleted`, `gone` (absent
/// before any delete was sent), `failed` or `skipped`.
///
/// Returns the summary, whose [`outcome`](Summary::outcome) says how the undo ended; an `Err`
/// means it did not start (see [`UndoRefused`]; nothing was sent) or could not record.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use omni_dbt_batch::{ApiKey, Silent, Status, UndoConfig};
///
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: std::env::var("OMNI_API_TOKEN")?.into() };
/// let config = UndoConfig::new("environments.results.csv", "https://acme.omniapp.co", vec![key]);
/// let summary = omni_dbt_batch::undo(config, Arc::new(Silent)).await?;
/// println!("deleted {}", summary.count(Status::Deleted));
/// # Ok(()) }
/// ```
pub async fn undo(config: UndoConfig, reporter: Arc<dyn Reporter>) -> Result<Summary, RunError> {
    let started = Instant::now();
    if config.api.keys.is_empty() {
        return Err(RunError::NoKeys);
    }
    reporter.phase(Phase::Validating);
    // The run's results file is held for the whole undo: a run still writing it (or resumed
    // meanwhile), or another undo of it, would change what there is to undo.
    let _source_lock = match config.write_mode {
        WriteMode::Apply if config.source.is_file() => Some(ResultsLock::acquire(&config.source)?),
        _ => None,
    };
    let source = config.source.clone();
    let created = blocking(
        "reading the results file to undo",
        Sent::Nothing,
        move || source::read_created(&source),
    )
    .await??;
    let results_path = config.results_path();
    if same_file(&config.source, &results_path) {
        return Err(UndoRefused::SameFile {
            path: config.source.clone(),
        }
        .into());
    }
    let results_format = match config.write_mode {
        WriteMode::Apply => Some(ResultsWriter::preflight(
            &results_path,
            config.results_mode,
        )?),
        WriteMode::DryRun => None,
    };
    let resume = match config.write_mode {
        WriteMode::Apply if config.results_mode == ResultsMode::Resume => {
            Some(Resume::load(&results_path)?)
        }
        _ => None,
    };
    if let Some(resume) = &resume {
        let changed = resume.changed(created.iter().map(|c| &c.deletion.key));
        if changed.count > 0 {
            return Err(RunError::ChangedRows {
                file: config.source.display().to_string(),
                results: results_path.display().to_string(),
                count: changed.count,
                rows: changed.first,
            });
        }
    }
    let clients = build_clients(&config.api)?;
    reporter.keys(&key_watch(&clients));

    // Plan: what each connection holds now, so that an environment already gone costs no delete.
    let connections: BTreeSet<_> = created.iter().map(|c| c.deletion.connection).collect();
    reporter.phase(Phase::Planning {
        connections: connections.len() as u64,
    });
    let inventory = Inventory::gather(
        connections.into_iter().collect(),
        &clients,
        config.api.concurrency,
        &config.stop,
        reporter.as_ref(),
    )
    .await?;
    let rows = created.len() as u64;
    let plan = plan_undo(
        created.into_iter().map(|c| c.deletion),
        &inventory,
        resume.as_ref(),
    );

    // Execute and record, as a run does.
    let sink = match results_format {
        Some(format) => Some(ResultsSink::new(ResultsWriter::create(
            &results_path,
            format,
            config.results_mode,
        )?)),
        None => None,
    };
    let ledger = Arc::new(Ledger::new(
        sink,
        Arc::clone(&reporter),
        config.stop.clone(),
        None,
    ));
    reporter.phase(Phase::Executing { rows });
    let (jobs_tx, jobs_rx) = mpsc::channel(config.api.concurrency.max(1) * 4);
    let feeding = tokio::task::spawn_blocking({
        let (ledger, write_mode) = (Arc::clone(&ledger), config.write_mode);
        move || feed_deletions(plan, &ledger, write_mode, &jobs_tx)
    });
    let settings = PoolSettings {
        concurrency: config.api.concurrency,
        grace: config.grace,
    };
    let working = run_workers(
        jobs_rx,
        &clients,
        Arc::clone(&ledger),
        settings,
        &inventory.sizes(),
    )
    .await;
    let resumed = feeding
        .await
        .map_err(|source| RunError::Internal {
            task: "handing out the deletes",
            sent: Sent::Some,
            source,
        })?
        .map_err(|source| RunError::Recording { source })?;
    working?;
    let finished = ledger
        .finish()
        .map_err(|source| RunError::Recording { source })?;

    let stop_reason = config.stop.reason();
    let counts = ledger.counts();
    let stats = total_stats(&clients);
    let summary = Summary {
        outcome: outcome(&counts, stop_reason, Purpose::Run, None),
        stop_reason: stop_reason.map(|reason| stop_message(reason, None)),
        rows,
        counts,
        resumed,
        elapsed: started.elapsed(),
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        results_path: finished.map(|report| report.path),
        dry_run: config.write_mode == WriteMode::DryRun,
        actions: None,
        warnings: Vec::new(),
        keys: key_summaries(&clients),
    };
    reporter.finished(&summary);
    Ok(summary)
}
