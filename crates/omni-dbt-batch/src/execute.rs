//! The execute phase: bounded workers that send each row's request and record its outcome.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use omni_dbt_core::{
    Client, ConnectionId, EnsureOutcome, EnvironmentId, EnvironmentUpdate, ExistenceCheck,
    NewEnvironment,
};
use tokio::sync::mpsc;

use crate::plan::Failure;
use crate::progress::Reporter;
use crate::record::{ErrorKind, RowRecord, Status};
use crate::results::{Intent, IntentOp, ResultsError, ResultsWriter};
use crate::stop::{StopHandle, StopReason};

/// A row that needs a request.
#[derive(Debug)]
pub struct Job {
    /// The row's identity in the results file.
    pub key: RowKey,
    /// The row's connection.
    pub connection: ConnectionId,
    /// The request to make.
    pub work: Work,
}

/// The results-file identity of a row.
#[derive(Clone, Debug)]
pub struct RowKey {
    /// 1-based data row.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// Its connection as written.
    pub connection_id: String,
    /// Its environment name.
    pub name: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

impl RowKey {
    /// A record for this row with `status` and nothing else filled in.
    pub fn record(&self, status: Status) -> RowRecord {
        RowRecord {
            row: self.row,
            line: self.line,
            connection_id: self.connection_id.clone(),
            name: self.name.clone(),
            status,
            environment_id: None,
            attempts: 0,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// A record for a row that ends with `failure`.
    pub fn failed(&self, status: Status, failure: &Failure) -> RowRecord {
        RowRecord {
            attempts: failure.attempts,
            http_status: failure.http_status,
            error_kind: Some(failure.kind),
            error: Some(failure.message.clone()),
            ..self.record(status)
        }
    }
}

/// The request a job makes.
#[derive(Debug)]
pub enum Work {
    /// Create the environment; `check` says whether to look it up first (a previous run may
    /// have sent it already).
    Create {
        /// The body.
        environment: Box<NewEnvironment>,
        /// Whether to look before creating.
        check: ExistenceCheck,
    },
    /// Update an existing environment.
    Update {
        /// The environment.
        id: EnvironmentId,
        /// The body.
        update: Box<EnvironmentUpdate>,
    },
}

/// Where outcomes go: the results file, the reporter and the run's counters. Shared by the
/// reader thread and every worker.
pub struct Ledger {
    writer: Option<Mutex<ResultsWriter>>,
    reporter: Arc<dyn Reporter>,
    stop: StopHandle,
    counts: Mutex<BTreeMap<Status, u64>>,
    failures: AtomicU64,
    allowed_failures: Option<u64>,
}

impl Ledger {
    /// A ledger writing to `writer` (none for a dry run).
    pub fn new(
        writer: Option<ResultsWriter>,
        reporter: Arc<dyn Reporter>,
        stop: StopHandle,
        allowed_failures: Option<u64>,
    ) -> Self {
        Self {
            writer: writer.map(Mutex::new),
            reporter,
            stop,
            counts: Mutex::new(crate::summary::empty_counts()),
            failures: AtomicU64::new(0),
            allowed_failures,
        }
    }

    /// Records a row's final outcome: results file first (flushed), then counters and reporter.
    pub fn record(&self, record: &RowRecord) -> Result<(), ResultsError> {
        if let Some(writer) = &self.writer {
            lock(writer).record(record)?;
        }
        self.count(record);
        Ok(())
    }

    /// Counts a row settled by an earlier run without writing it again.
    pub fn count(&self, record: &RowRecord) {
        *lock(&self.counts).entry(record.status).or_default() += 1;
        self.reporter.row_finished(record);
        if record.status == Status::Failed {
            let failures = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
            if self
                .allowed_failures
                .is_some_and(|allowed| failures > allowed)
            {
                self.stop.stop(StopReason::TooManyFailures);
            }
        }
    }

    /// Writes an intent before a request is sent, so a crash leaves a trace to reconcile.
    pub fn intend(&self, key: &RowKey, op: IntentOp) -> Result<(), ResultsError> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        lock(writer).intend(&Intent {
            row: key.row,
            line: key.line,
            connection_id: key.connection_id.clone(),
            name: key.name.clone(),
            fingerprint: key.fingerprint.clone(),
            op,
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> BTreeMap<Status, u64> {
        lock(&self.counts).clone()
    }

    /// The writer back, for compaction at the end.
    pub fn into_writer(self) -> Option<ResultsWriter> {
        self.writer
            .map(|w| w.into_inner().unwrap_or_else(PoisonError::into_inner))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The record of a row that is not attempted because the run is stopping.
pub fn stopped_record(key: &RowKey, reason: StopReason) -> RowRecord {
    let (kind, message) = match reason {
        StopReason::Interrupted => (ErrorKind::Interrupted, "not started: the run was interrupted; rerun with --resume"),
        StopReason::AuthFailed => (ErrorKind::Aborted, "not started: the run was aborted after Omni answered 401; fix the token and rerun with --resume"),
        StopReason::TooManyFailures => (ErrorKind::Aborted, "not started: the run was aborted by --max-failures; rerun with --resume"),
    };
    RowRecord {
        error_kind: Some(kind),
        error: Some(message.to_owned()),
        ..key.record(Status::Skipped)
    }
}

/// One API key's client and its share of the workers.
#[derive(Clone, Debug)]
pub struct KeyClient {
    /// The key's label, for logs.
    pub label: String,
    /// The client using the key.
    pub client: Client,
}

/// Settings of the worker pool.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    /// Workers in all.
    pub concurrency: usize,
    /// How long in-flight rows may finish after an interrupt.
    pub grace: Duration,
}

/// Runs `concurrency` workers over the jobs from `jobs`, spread round-robin over `clients`,
/// until the channel closes. Returns the first results-file error, if any.
pub async fn run_workers(
    jobs: mpsc::Receiver<Job>,
    clients: &[KeyClient],
    ledger: Arc<Ledger>,
    settings: PoolSettings,
) -> Result<(), ResultsError> {
    let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
    let doomed = Arc::new(Mutex::new(HashMap::new()));
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..settings.concurrency.max(1) {
        let worker = Worker {
            client: clients[i % clients.len()].client.clone(),
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
        if let Ok(Err(error)) = joined {
            ledger.stop.stop(StopReason::Interrupted);
            if outcome.is_ok() {
                outcome = Err(error);
            }
        }
    }
    outcome
}

struct Worker {
    client: Client,
    ledger: Arc<Ledger>,
    /// Connections that answered 403/404 during this run: their remaining rows fail unsent.
    doomed: Arc<Mutex<HashMap<ConnectionId, Failure>>>,
    grace: Duration,
}

impl Worker {
    async fn handle(&self, job: Job) -> Result<(), ResultsError> {
        if let Some(reason) = self.ledger.stop.reason() {
            return self.ledger.record(&stopped_record(&job.key, reason));
        }
        let doomed = lock(&self.doomed).get(&job.connection).cloned();
        if let Some(failure) = doomed {
            let failure = Failure {
                attempts: 0,
                ..failure
            };
            return self
                .ledger
                .record(&job.key.failed(Status::Failed, &failure));
        }
        let op = match job.work {
            Work::Create { .. } => IntentOp::Create,
            Work::Update { .. } => IntentOp::Update,
        };
        self.ledger.intend(&job.key, op)?;
        let scoped = self.client.scoped();
        let outcome = tokio::select! {
            outcome = perform(&scoped, &job) => Some(outcome),
            () = grace_expired(&self.ledger.stop, self.grace) => None,
        };
        let tally = scoped.tally();
        let attempts = u32::try_from(tally.requests).unwrap_or(u32::MAX);
        let (record, maybe_applied) = match outcome {
            Some(Ok((status, id))) => {
                let record = RowRecord {
                    environment_id: Some(id),
                    attempts,
                    http_status: tally.last_status,
                    ..job.key.record(status)
                };
                (record, false)
            }
            Some(Err(error)) => {
                let failure = Failure::from_error(&error, attempts);
                self.react(&job.connection, &failure);
                let record = RowRecord {
                    http_status: tally.last_status.or(failure.http_status),
                    ..job.key.failed(Status::Failed, &failure)
                };
                (record, outcome_unknown(&failure))
            }
            None => (
                interrupted_record(&job.key, attempts, tally.last_status),
                true,
            ),
        };
        self.ledger.record(&record)?;
        if maybe_applied {
            // A fresh intent after the record keeps the row in flight for --resume, which
            // looks the name up before sending it again.
            self.ledger.intend(&job.key, op)?;
        }
        Ok(())
    }

    /// Run-wide consequences of one row's failure.
    fn react(&self, connection: &ConnectionId, failure: &Failure) {
        match failure.kind {
            ErrorKind::Auth => self.ledger.stop.stop(StopReason::AuthFailed),
            ErrorKind::Forbidden | ErrorKind::NotFound => {
                lock(&self.doomed).insert(*connection, failure.clone());
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
    }
}

/// The record of a row cut off in flight by an interrupt.
fn interrupted_record(key: &RowKey, attempts: u32, http_status: Option<u16>) -> RowRecord {
    RowRecord {
        attempts,
        http_status,
        error_kind: Some(ErrorKind::Interrupted),
        error: Some(
            "interrupted while in flight: the request may have been applied; \
             rerun with --resume, which looks it up before sending again"
                .to_owned(),
        ),
        ..key.record(Status::Skipped)
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

/// Resolves once the run has been interrupted for longer than `grace`; never for other stops,
/// which let in-flight rows finish.
async fn grace_expired(stop: &StopHandle, grace: Duration) {
    if stop.stopped().await == StopReason::Interrupted {
        tokio::time::sleep(grace).await;
    } else {
        std::future::pending::<()>().await;
    }
}
