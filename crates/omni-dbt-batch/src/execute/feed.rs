//! The execute pass's reader: settles the rows that need no request, hands the rest to the workers.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{ExistingPolicy, WriteMode};
use crate::execute::job::{Job, RowKey, Work};
use crate::plan::decide::{decide, Action, Sent};
use crate::plan::deletions::DeletionPlan;
use crate::plan::diff::Drift;
use crate::plan::inventory::Inventory;
use crate::plan::resume::{Prior, Resume};
use crate::read::checked::Checked;
use crate::read::input::{InputError, InputRow, RowProblem};
use crate::read::source::InputFile;
use crate::record::fingerprint::{fingerprint, fingerprint_problem};
use crate::record::ledger::{stopped_record, Ledger};
use crate::record::results::ResultsError;
use crate::record::{ErrorKind, RowRecord, Status};

/// Why feeding stopped early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedError {
    /// The input could not be read again.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The results file could not be written.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Everything the second read of the input needs. Runs on a blocking thread.
pub(crate) struct Feeder {
    /// The input.
    pub input: Arc<InputFile>,
    /// What each listed connection holds.
    pub inventory: Arc<Inventory>,
    /// What an earlier run recorded (`--resume`).
    pub(crate) resume: Option<Arc<Resume>>,
    /// Where outcomes go.
    pub ledger: Arc<Ledger>,
    /// `--existing`.
    pub policy: ExistingPolicy,
    /// Apply, or only plan.
    pub write_mode: WriteMode,
    /// Environments to delete after the input's rows (`--prune`).
    pub(crate) deletions: DeletionPlan,
}

impl Feeder {
    /// Reads every row once more and settles it or sends it to `jobs`, then the deletions.
    /// Returns how many rows (and deletions) an earlier run had already settled.
    pub(crate) fn feed(mut self, jobs: &mpsc::Sender<Job>) -> Result<u64, FeedError> {
        let mut resumed = self.feed_rows(jobs)?;
        let deletions = std::mem::take(&mut self.deletions);
        resumed += feed_deletions(deletions, &self.ledger, self.write_mode, jobs)?;
        Ok(resumed)
    }

    fn feed_rows(&self, jobs: &mpsc::Sender<Job>) -> Result<u64, FeedError> {
        let mut resumed = 0;
        for checked in self.input.checked()? {
            let row = match checked? {
                Checked::Invalid(problem) => {
                    self.ledger.record(&invalid_record(&problem))?;
                    continue;
                }
                Checked::Valid(row) => row,
            };
            let key = RowKey {
                row: row.row,
                line: row.line,
                connection_id: row.connection.to_string(),
                name: row.environment.name.clone(),
                fingerprint: fingerprint(&row.connection, &row.environment),
            };
            let prior = self
                .resume
                .as_ref()
                .map_or(Prior::Fresh, |resume| resume.prior(&key));
            let (sent, earlier_op) = match prior {
                Prior::Settled(record) => {
                    resumed += 1;
                    self.ledger.count(&record);
                    continue;
                }
                Prior::MaybeApplied(op) => (Sent::MaybeBefore, Some(op)),
                Prior::Fresh => (Sent::Never, None),
            };
            if let Some(reason) = self.ledger.stop().reason() {
                self.ledger.record(&stopped_record(&key, reason))?;
                if let Some(op) = earlier_op {
                    // Still in doubt: the next --resume must look it up too.
                    self.ledger.intend(&key.intent(op, None))?;
                }
                continue;
            }
            let Some(work) = self.plan(key, row, sent)? else {
                continue;
            };
            if hand_out(work, &self.ledger, self.write_mode, jobs)? == Handed::WorkersGone {
                break; // a results-file error the workers will report
            }
        }
        Ok(resumed)
    }

    /// Decides a valid row: settles it here (`None`), or returns the job to send. A dry run
    /// settles every row.
    fn plan(&self, key: RowKey, row: InputRow, sent: Sent) -> Result<Option<Job>, FeedError> {
        let state = self.inventory.get(&row.connection);
        let action = decide(self.policy, state, &row.environment, sent);
        let work = match (action, self.write_mode) {
            (Action::Create { check }, WriteMode::Apply) => Work::Create {
                environment: Box::new(row.environment),
                check,
            },
            (Action::Update { id, update, drift }, WriteMode::Apply) => {
                log_update(&key, &drift);
                Work::Update { id, update }
            }
            (action, _) => {
                self.settle(&key, action)?;
                return Ok(None);
            }
        };
        Ok(Some(Job {
            key,
            connection: row.connection,
            work,
        }))
    }

    /// Records a row that needs no request: settled, unchanged, or in a dry run, created or
    /// updated as it would be (with the drift the plan shows).
    fn settle(&self, key: &RowKey, action: Action) -> Result<(), FeedError> {
        let found = |status, id| RowRecord {
            environment_id: Some(id),
            ..key.record(status)
        };
        match action {
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
            }
            Action::Unchanged { id, drift } => self
                .ledger
                .record_with_drift(&found(Status::Unchanged, id), Some(*drift))?,
            Action::Update { id, drift, .. } => self
                .ledger
                .record_with_drift(&found(Status::Updated, id), Some(*drift))?,
            Action::Create { .. } => self.ledger.record(&key.record(Status::Created))?,
        }
        Ok(())
    }
}

/// Says what an update is about to change, so that a scheduled run's log tells what it did.
fn log_update(key: &RowKey, drift: &Drift) {
    let changes: Vec<String> = drift.changes.iter().map(ToString::to_string).collect();
    tracing::info!(
        connection = %key.connection_id,
        line = key.line,
        "updating {:?}: {}",
        key.name,
        changes.join("; ")
    );
}

/// What became of a job handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handed {
    /// Sent to the workers, or recorded as planned by a dry run.
    Done,
    /// The workers are gone (they stopped on a results-file error): stop feeding.
    WorkersGone,
}

/// Sends `job` to the workers, or, in a dry run, records what it would do.
fn hand_out(
    job: Job,
    ledger: &Ledger,
    write_mode: WriteMode,
    jobs: &mpsc::Sender<Job>,
) -> Result<Handed, ResultsError> {
    if write_mode == WriteMode::DryRun {
        let (status, environment_id) = job.work.planned();
        ledger.record(&RowRecord {
            environment_id,
            ..job.key.record(status)
        })?;
        return Ok(Handed::Done);
    }
    Ok(match jobs.blocking_send(job) {
        Ok(()) => Handed::Done,
        Err(_) => Handed::WorkersGone,
    })
}

/// Counts the deletions an earlier run finished, records those settled without a request, and
/// hands out the rest (each recorded `skipped` once the run is stopping). Returns how many an
/// earlier run had finished. Runs on a blocking thread.
pub(crate) fn feed_deletions(
    plan: DeletionPlan,
    ledger: &Ledger,
    write_mode: WriteMode,
    jobs: &mpsc::Sender<Job>,
) -> Result<u64, ResultsError> {
    let DeletionPlan {
        jobs: to_send,
        settled,
        done,
    } = plan;
    done.iter().for_each(|record| ledger.count(record));
    for record in &settled {
        ledger.record(record)?;
    }
    for job in to_send {
        if let Some(reason) = ledger.stop().reason() {
            ledger.record(&RowRecord {
                environment_id: job.work.planned().1,
                ..stopped_record(&job.key, reason)
            })?;
            continue;
        }
        if hand_out(job, ledger, write_mode, jobs)? == Handed::WorkersGone {
            break;
        }
    }
    Ok(done.len() as u64)
}

/// The record of a row that did not pass validation.
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
