//! The execute phase: bounded workers that send each row's request, park the rows left in
//! doubt, settle them with shared listings, and record every outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use omni_dbt_core::{Client, ConnectionId, Tally};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::{RunError, Sent as SentSoFar};
use crate::execute::cutoff::{cut_off, cut_off_record, sent_by_an_earlier_run, Applied, Cutoff};
use crate::execute::dispatch::{Dispatcher, Leftover, Task};
use crate::execute::failure::Failure;
use crate::execute::job::Job;
use crate::execute::reconcile::found::look_up;
use crate::execute::reconcile::parked::{Doubt, Parked, Sending};
use crate::execute::reconcile::verdict::{failure_record, settle, Retries, Verdict};
use crate::execute::send::{send, Sent};
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
/// until every row is settled. Returns the first results-file error or worker failure, if any;
/// either stops the run.
pub(crate) async fn run_workers(
    jobs: mpsc::Receiver<Job>,
    clients: &[KeyClient],
    ledger: Arc<Ledger>,
    settings: PoolSettings,
    sizes: &HashMap<ConnectionId, usize>,
) -> Result<(), RunError> {
    // A server may still be finishing a request whose answer was lost: a listing looks for it
    // no sooner than the first retry would have been sent.
    let settle = clients.first().map_or(Duration::ZERO, |key| {
        key.client.retry_policy().initial_delay
    });
    let dispatcher = Arc::new(Dispatcher::new(jobs, settle, sizes, ledger.stop().clone()));
    let doomed = Arc::new(Mutex::new(HashMap::new()));
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..settings.concurrency.max(1) {
        let worker = Worker {
            key: clients[i % clients.len()].clone(),
            ledger: Arc::clone(&ledger),
            doomed: Arc::clone(&doomed),
            grace: settings.grace,
        };
        let dispatcher = Arc::clone(&dispatcher);
        workers.spawn(async move {
            let worked = worker.work(&dispatcher).await;
            if worked.is_err() {
                dispatcher.close();
            }
            worked
        });
    }
    let mut outcome = Ok(());
    while let Some(joined) = workers.join_next().await {
        let failed = match joined {
            Ok(Ok(())) => continue,
            Ok(Err(source)) => RunError::Recording { source },
            Err(source) => RunError::Internal {
                task: "sending rows",
                sent: SentSoFar::Some,
                source,
            },
        };
        dispatcher.close();
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
    /// Takes tasks until none is left.
    async fn work(&self, dispatcher: &Dispatcher) -> Result<(), ResultsError> {
        while let Some(task) = dispatcher.next().await {
            let (connection, leftover) = match task {
                Task::Send(sending) => {
                    let connection = sending.job.connection;
                    let parked = self.handle(sending).await?;
                    (
                        Some(connection),
                        Leftover {
                            parked,
                            ..Leftover::default()
                        },
                    )
                }
                Task::Reconcile { connection, rows } => {
                    let (resend, pages_read) = self.reconcile(connection, rows).await?;
                    let leftover = Leftover {
                        resend,
                        pages_read,
                        ..Leftover::default()
                    };
                    (Some(connection), leftover)
                }
                Task::Abandon { reason, rows } => {
                    self.abandon(reason, rows)?;
                    (None, Leftover::default())
                }
            };
            dispatcher.done(connection, leftover);
        }
        Ok(())
    }

    /// Sends one row's request and records its outcome; returns the row instead when its
    /// outcome is unknown (it is then parked, its intent kept).
    async fn handle(&self, sending: Sending) -> Result<Option<Parked>, ResultsError> {
        if let Some(reason) = self.ledger.stop().reason() {
            let record = stopped_record(&sending.job.key, reason);
            return self.ledger.record(&record).map(|()| None);
        }
        let budget = self.key.client.retry_budget();
        if let Some(error) = &sending.retrying {
            if !budget.try_withdraw(error) {
                // The listing showed the earlier send was not applied: the record settles it.
                return self.refuse_retry(sending).map(|()| None);
            }
        }
        let Sending {
            job,
            mut history,
            retrying,
        } = sending;
        if let Some(failure) = self.doomed(&job.connection) {
            let failure = Failure {
                attempts: history.requests,
                ..failure
            };
            let record = job.key.failed(Status::Failed, &failure);
            return self.ledger.record(&record).map(|()| None);
        }
        let intent = job.intent();
        self.ledger.intend(&intent)?;
        let scoped = self.key.client.scoped();
        let outcome = tokio::select! {
            biased; // an answer that has come back is recorded, not cut off
            sent = send(&scoped, &job) => Ok(sent),
            cutoff = cut_off(self.ledger.stop(), self.grace, &scoped) => Err(cutoff),
        };
        let tally = scoped.tally();
        history.requests = history
            .requests
            .saturating_add(u32::try_from(tally.requests).unwrap_or(u32::MAX));
        history.last_status = tally.last_status.or(history.last_status);
        let (record, applied) = match outcome {
            Ok(Sent::Done(status, id)) => {
                if let Some(error) = &retrying {
                    budget.repay(error);
                }
                let record = RowRecord {
                    environment_id: Some(id),
                    attempts: history.requests,
                    http_status: history.last_status,
                    ..job.key.record(status)
                };
                (record, Applied::No)
            }
            Ok(Sent::Failed(error)) => {
                let failure = Failure::from_error(&error, history.requests);
                self.react(&job.connection, &failure);
                let record = RowRecord {
                    http_status: history.last_status.or(failure.http_status),
                    ..job.key.failed(Status::Failed, &failure)
                };
                let applied = if outcome_unknown(&failure) {
                    Applied::Maybe
                } else {
                    Applied::No
                };
                (record, applied)
            }
            Ok(Sent::InDoubt(doubt, error)) => {
                history.unknown = history.unknown.saturating_add(1);
                return Ok(Some(park(job, history, doubt, Some(error))));
            }
            Ok(Sent::LookFirst) => {
                return Ok(Some(park(job, history, Doubt::CreateSentBefore, None)));
            }
            Err(cutoff) => self.cut_off(&job, cutoff, &tally, history.requests),
        };
        self.ledger.record(&record)?;
        if applied == Applied::Maybe {
            // A fresh intent after the record keeps the row in flight for --resume, which
            // looks the name up before sending it again.
            self.ledger.intend(&intent)?;
        }
        Ok(None)
    }

    /// Records a row whose retry the run's retry budget cannot pay for, as `exhausted`.
    fn refuse_retry(&self, sending: Sending) -> Result<(), ResultsError> {
        let Sending {
            job,
            history,
            retrying,
        } = sending;
        let refused = retrying.map(|source| omni_dbt_core::Error::RetryBudgetExhausted {
            source: Box::new(source),
        });
        let unpaid = Sending {
            job,
            history,
            retrying: None,
        };
        self.ledger
            .record(&failure_record(&unpaid, refused.as_ref()))
    }

    /// The record of a row cut off by a stopping run, and whether it may have been applied.
    fn cut_off(
        &self,
        job: &Job,
        cutoff: Cutoff,
        tally: &Tally,
        requests: u32,
    ) -> (RowRecord, Applied) {
        let earlier = sent_by_an_earlier_run(&job.work);
        let (record, applied) = cut_off_record(&job.key, cutoff, tally, earlier);
        let record = RowRecord {
            attempts: requests,
            ..record
        };
        (record, applied)
    }

    /// Lists `connection` once and settles `rows` with what it shows; returns the rows to
    /// send again (those it showed were not applied) and the pages it read.
    async fn reconcile(
        &self,
        connection: ConnectionId,
        rows: Vec<Parked>,
    ) -> Result<(Vec<Sending>, Option<usize>), ResultsError> {
        let scoped = self.key.client.scoped();
        let listing = tokio::select! {
            biased;
            found = look_up(&scoped, &connection, &rows) => Ok(found),
            cutoff = cut_off(self.ledger.stop(), self.grace, &scoped) => Err(cutoff),
        };
        let (found, pages_read) = match listing {
            Ok(Ok(listed)) => listed,
            Ok(Err(error)) => {
                tracing::warn!(%connection, %error, "cannot list the connection to settle {} rows whose outcome is unknown", rows.len());
                let failure = Failure::from_error(&error, 0);
                self.react(&connection, &failure);
                for row in rows {
                    let record = RowRecord {
                        attempts: row.sending.history.requests,
                        ..row.sending.job.key.failed(Status::Failed, &failure)
                    };
                    self.record_keeping_intent(&row, &record)?;
                }
                return Ok((Vec::new(), None));
            }
            Err(cutoff) => {
                let reason = match cutoff {
                    Cutoff::Waiting(reason) => reason,
                    Cutoff::GraceExpired => StopReason::Interrupted,
                };
                self.abandon(reason, rows)?;
                return Ok((Vec::new(), None));
            }
        };
        let retries = Retries {
            max_sends: self.key.client.retry_policy().max_attempts.max(1),
        };
        let mut resend = Vec::new();
        for row in rows {
            let intent = row.sending.job.intent();
            match settle(row, &found, retries) {
                Verdict::Settled(record) => self.ledger.record(&record)?,
                Verdict::Resend(sending) => resend.push(sending),
                Verdict::Failed(record, applied) => {
                    self.ledger.record(&record)?;
                    if applied == Applied::Maybe {
                        self.ledger.intend(&intent)?;
                    }
                }
            }
        }
        Ok((resend, Some(pages_read)))
    }

    /// Records parked `rows` as stopped by `reason`, keeping their intent: each may have been
    /// applied, and `--resume` looks it up before sending it again.
    fn abandon(&self, reason: StopReason, rows: Vec<Parked>) -> Result<(), ResultsError> {
        for row in rows {
            let mut tally = Tally::default();
            tally.requests = u64::from(row.sending.history.requests);
            tally.last_status = row.sending.history.last_status;
            let (record, _) = cut_off_record(
                &row.sending.job.key,
                Cutoff::Waiting(reason),
                &tally,
                Applied::Maybe,
            );
            self.record_keeping_intent(&row, &record)?;
        }
        Ok(())
    }

    /// Records `record` for a parked row whose request may have been applied, then its intent
    /// again, so that the row stays in flight for `--resume`.
    fn record_keeping_intent(&self, row: &Parked, record: &RowRecord) -> Result<(), ResultsError> {
        self.ledger.record(record)?;
        self.ledger.intend(&row.sending.job.intent())
    }

    /// The failure every row of `connection` meets, when it answered 403/404 earlier.
    fn doomed(&self, connection: &ConnectionId) -> Option<Failure> {
        self.doomed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(connection)
            .cloned()
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

/// A row whose outcome is unknown, parked from now until a listing of its connection.
fn park(
    job: Job,
    history: crate::execute::reconcile::parked::History,
    doubt: Doubt,
    error: Option<omni_dbt_core::Error>,
) -> Parked {
    Parked {
        sending: Sending {
            job,
            history,
            retrying: None,
        },
        doubt,
        since: Instant::now(),
        error,
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
