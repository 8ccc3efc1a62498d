//! The execute pass's reader: settles the rows that need no request, hands the rest to the workers.

use std::sync::Arc;

use omni_dbt_core::ExistenceCheck;
use tokio::sync::mpsc;

use crate::checked::Checked;
use crate::config::{ExistingPolicy, WriteMode};
use crate::fingerprint::{fingerprint, fingerprint_problem};
use crate::input::{InputError, InputRow, RowProblem};
use crate::inventory::Inventory;
use crate::job::{Job, RowKey, Work};
use crate::ledger::{stopped_record, Ledger};
use crate::plan::{decide, Action};
use crate::record::{ErrorKind, RowRecord, Status};
use crate::results::{PriorRow, ResultsError, ResumeState};
use crate::source::InputFile;

/// Why feeding stopped early.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The input could not be read again.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The results file could not be written.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Everything the second read of the input needs. Runs on a blocking thread.
pub struct Feeder {
    /// The input.
    pub input: Arc<InputFile>,
    /// What each listed connection holds.
    pub inventory: Arc<Inventory>,
    /// What an earlier run recorded (`--resume`).
    pub prior: Option<Arc<ResumeState>>,
    /// Where outcomes go.
    pub ledger: Arc<Ledger>,
    /// `--existing`.
    pub policy: ExistingPolicy,
    /// Apply, or only plan.
    pub write_mode: WriteMode,
}

impl Feeder {
    /// Reads every row once more and settles it or sends it to `jobs`. Returns how many rows an
    /// earlier run had already settled.
    pub fn feed(&self, jobs: &mpsc::Sender<Job>) -> Result<u64, FeedError> {
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
            let before = self.prior.as_ref().and_then(|prior| prior.get(row.row));
            if let Some(settled) = before.and_then(|before| settled_before(&key, before)) {
                resumed += 1;
                self.ledger.count(&settled);
                continue;
            }
            if let Some(reason) = self.ledger.stop().reason() {
                self.ledger.record(&stopped_record(&key, reason))?;
                continue;
            }
            let sent_before = before.is_some_and(|before| before.in_flight);
            let Some(work) = self.plan(key, row, sent_before)? else {
                continue;
            };
            if self.write_mode == WriteMode::DryRun {
                let planned = match work.work {
                    Work::Create { .. } => Status::Created,
                    Work::Update { .. } => Status::Updated,
                };
                self.ledger.record(&work.key.record(planned))?;
            } else if jobs.blocking_send(work).is_err() {
                break; // the workers are gone: a results-file error they will report
            }
        }
        Ok(resumed)
    }

    /// Decides a valid row: settles it here (`None`), or returns the job to send.
    fn plan(
        &self,
        key: RowKey,
        row: InputRow,
        sent_before: bool,
    ) -> Result<Option<Job>, FeedError> {
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
                return Ok(None);
            }
            Action::Create => Work::Create {
                environment: Box::new(row.environment),
                // A row an earlier run may have sent, in a connection nobody listed, is
                // looked up before it is created again.
                check: if sent_before && state.is_none() {
                    ExistenceCheck::LookFirst
                } else {
                    ExistenceCheck::AssumeAbsent
                },
            },
            Action::Update { id, update } => Work::Update { id, update },
        };
        Ok(Some(Job {
            key,
            connection: row.connection,
            work,
        }))
    }
}

/// The record of a row an earlier run finished, if it did (and nothing of it is in flight).
fn settled_before(key: &RowKey, before: &PriorRow) -> Option<RowRecord> {
    let status = before.status.filter(|_| before.succeeded())?;
    Some(RowRecord {
        environment_id: before.environment_id,
        attempts: before.attempts,
        ..key.record(status)
    })
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
