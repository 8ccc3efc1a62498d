//! The execute phase: bounded workers that send each row's request and record its outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use omni_dbt_core::{Client, ConnectionId, EnsureOutcome, EnvironmentId};
use tokio::sync::mpsc;

use crate::error::{RunError, Sent};
use crate::execute::cutoff::{cut_off, cut_off_record, sent_by_an_earlier_run, Applied};
use crate::execute::delete::delete_environment;
use crate::execute::failure::Failure;
use crate::execute::job::{Job, Work};
use crate::record::ledger::{stopped_record, Ledger};
use crate::record::results::ResultsError;
use crate::record::{ErrorKind, RowRecord, Status};
use crate::stop::StopReason;

/// One API key's client and its share of the workers.
#[derive(Clone, Debug)]
pub(crate) struct KeyClient {
    /// The key's label, for logs.
    pub label: String,
    /// The client using the key.
    pub client: Client,
}

/// Settings of the worker pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolSettings {
    /// Workers in all.
    pub concurrency: usize,
    /// How long in-flight rows may finish after an interrupt.
    pub grace: Duration,
}

/// Runs `concurrency` workers over the jobs from `jobs`, spread round-robin over `clients`,
/// until the channel closes. Returns the first results-file error or worker failure, if any;
/// either stops the run.
pub(crate) async fn run_workers(
    jobs: mpsc::Receiver<Job>,
    clients: &[KeyClient],
    ledger: Arc<Ledger>,
    settings: PoolSettings,
) -> Result<(), RunError> {
    let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
    let doomed = Arc::new(Mutex::new(HashMap::new()));
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..settings.concurrency.max(1) {
        let worker = Worker {
            key: clients[i % clients.len()].clone(),
            ledger: Arc::clone(&ledger),
            doomed: Arc::clone(&doomed),
            grace: settings.grace,
        };
        let jobs = Arc::clone(&jobs);
        workers.spawn(async move {
            loop {
                let next = jobs.lock().await.recv().await;
                let Some(job) = next else { return Ok(()) };
                worker.handle(job).await?;
            }
        });
    }
    let mut outcome = Ok(());
    while let Some(joined) = workers.join_next().await {
        let failed = match joined {
            Ok(Ok(())) => continue,
            Ok(Err(source)) => RunError::Recording { source },
            Err(source) => RunError::Internal {
                task: "sending rows",
                sent: Sent::Some,
                source,
            },
        };
        ledger.stop().stop(StopReason::Interrupted);
        if outcome.is_ok() {
            outcome = Err(failed);
        }
    }
    outcome
}

struct Worker {
    key: KeyClient,
    ledger: Arc<Ledger>,
    /// Connections that answered 403/404 during this run: their remaining rows fail unsent.
    doomed: Arc<Mutex<HashMap<ConnectionId, Failure>>>,
    grace: Duration,
}

impl Worker {
    async fn handle(&self, job: Job) -> Result<(), ResultsError> {
        if let Some(reason) = self.ledger.stop().reason() {
            return self.ledger.record(&stopped_record(&job.key, reason));
        }
        let doomed = self
            .doomed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&job.connection)
            .cloned();
        if let Some(failure) = doomed {
            let failure = Failure {
                attempts: 0,
                ..failure
            };
            return self
                .ledger
                .record(&job.key.failed(Status::Failed, &failure));
        }
        let intent = job.intent();
        self.ledger.intend(&intent)?;
        let scoped = self.key.client.scoped();
        let outcome = tokio::select! {
            biased; // an answer that has come back is recorded, not cut off
            outcome = perform(&scoped, &job) => Ok(outcome),
            cutoff = cut_off(self.ledger.stop(), self.grace, &scoped) => Err(cutoff),
        };
        let tally = scoped.tally();
        let attempts = u32::try_from(tally.requests).unwrap_or(u32::MAX);
        let (record, maybe_applied) = match outcome {
            Ok(Ok((status, id))) => {
                let record = RowRecord {
                    environment_id: Some(id),
                    attempts,
                    http_status: tally.last_status,
                    ..job.key.record(status)
                };
                (record, false)
            }
            Ok(Err(error)) => {
                let failure = Failure::from_error(&error, attempts);
                self.react(&job.connection, &failure);
                let record = RowRecord {
                    http_status: tally.last_status.or(failure.http_status),
                    ..job.key.failed(Status::Failed, &failure)
                };
                (record, outcome_unknown(&failure))
            }
            Err(cutoff) => {
                let earlier = sent_by_an_earlier_run(&job.work);
                let (record, applied) = cut_off_record(&job.key, cutoff, &tally, earlier);
                (record, applied == Applied::Maybe)
            }
        };
        self.ledger.record(&record)?;
        if maybe_applied {
            // A fresh intent after the record keeps the row in flight for --resume, which
            // looks the name up before sending it again.
            self.ledger.intend(&intent)?;
        }
        Ok(())
    }

    /// Run-wide consequences of one row's failure.
    fn react(&self, connection: &ConnectionId, failure: &Failure) {
        match failure.kind {
            ErrorKind::Auth => {
                tracing::error!(key = %self.key.label, "Omni answered 401 to the key in {}: aborting", self.key.label);
                self.ledger.stop().stop(StopReason::AuthFailed);
            }
            ErrorKind::Forbidden | ErrorKind::NotFound => {
                self.doomed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(*connection, failure.clone());
            }
            _ => {}
        }
    }
}

async fn perform(client: &Client, job: &Job) -> omni_dbt_core::Result<(Status, EnvironmentId)> {
    match &job.work {
        Work::Create { environment, check } => {
            let ensured = client
                .ensure_environment(&job.connection, environment, *check)
                .await?;
            let status = match ensured.outcome {
                EnsureOutcome::Existed => Status::Exists,
                _ => Status::Created,
            };
            Ok((status, ensured.environment.id))
        }
        Work::Update { id, update } => {
            let updated = client
                .update_environment(&job.connection, id, update)
                .await?;
            Ok((Status::Updated, updated.id))
        }
        Work::Delete { id, sent } => {
            let status = delete_environment(client, &job.connection, id, *sent).await?;
            Ok((status, *id))
        }
    }
}

/// Whether a row that failed this way may nonetheless have been applied: anything but a
/// definite refusal (validation, auth, forbidden, not found).
fn outcome_unknown(failure: &Failure) -> bool {
    !matches!(
        failure.kind,
        ErrorKind::Validation | ErrorKind::Auth | ErrorKind::Forbidden | ErrorKind::NotFound
    )
}
