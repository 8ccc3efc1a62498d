//! Where row outcomes go: the results file (and its journal), the run's counters and the reporter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::execute::job::RowKey;
use crate::record::results::{FinishReport, Intent, ResultsError, ResultsSink};
use crate::record::{ErrorKind, RowRecord, Status};
use crate::report::Reporter;
use crate::stop::{StopHandle, StopReason};

/// Shared by the reader thread and every worker. Without a results sink (a dry run) it only
/// counts and reports.
pub(crate) struct Ledger {
    sink: Option<ResultsSink>,
    reporter: Arc<dyn Reporter>,
    stop: StopHandle,
    counts: Mutex<BTreeMap<Status, u64>>,
    failures: AtomicU64,
    allowed_failures: Option<u64>,
}

impl Ledger {
    /// A ledger writing to `sink`; more than `allowed_failures` failed rows stop the run.
    pub(crate) fn new(
        sink: Option<ResultsSink>,
        reporter: Arc<dyn Reporter>,
        stop: StopHandle,
        allowed_failures: Option<u64>,
    ) -> Self {
        Self {
            sink,
            reporter,
            stop,
            counts: Mutex::new(crate::summary::empty_counts()),
            failures: AtomicU64::new(0),
            allowed_failures,
        }
    }

    /// Records a row's final outcome: results file first (flushed), then counters and reporter.
    pub(crate) fn record(&self, record: &RowRecord) -> Result<(), ResultsError> {
        if let Some(sink) = &self.sink {
            sink.record(record)?;
        }
        self.count(record);
        Ok(())
    }

    /// Counts a row without writing it: one settled by an earlier run.
    pub(crate) fn count(&self, record: &RowRecord) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(record.status)
            .or_default() += 1;
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
    pub(crate) fn intend(&self, intent: &Intent) -> Result<(), ResultsError> {
        match &self.sink {
            Some(sink) => sink.intend(intent),
            None => Ok(()),
        }
    }

    /// The run's stop handle.
    pub(crate) fn stop(&self) -> &StopHandle {
        &self.stop
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> BTreeMap<Status, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Compacts the results file (one record per row, in row order); `None` for a dry run.
    /// Rows whose request may have been applied keep their intent in the journal, so `--resume`
    /// looks them up before sending them again.
    pub(crate) fn finish(&self) -> Result<Option<FinishReport>, ResultsError> {
        self.sink.as_ref().map(ResultsSink::finish).transpose()
    }
}

/// The record of a row that is not attempted because the run is stopping.
pub(crate) fn stopped_record(key: &RowKey, reason: StopReason) -> RowRecord {
    let (kind, message) = match reason {
        StopReason::Interrupted => (
            ErrorKind::Interrupted,
            "not started: the run was interrupted; rerun with --resume",
        ),
        StopReason::AuthFailed => (
            ErrorKind::Aborted,
            "not started: the run was aborted after Omni answered 401; fix the token and rerun with --resume",
        ),
        StopReason::TooManyFailures => (
            ErrorKind::Aborted,
            "not started: the run was aborted by --max-failures; rerun with --resume",
        ),
    };
    RowRecord {
        error_kind: Some(kind),
        error: Some(message.to_owned()),
        ..key.record(Status::Skipped)
    }
}
