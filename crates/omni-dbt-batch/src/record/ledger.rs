//! Where row outcomes go: the results file (and its journal), the run's counters and the reporter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::execute::job::RowKey;
use crate::plan::actions::ActionCounts;
use crate::plan::diff::Drift;
use crate::plan::entry::PlanEntry;
use crate::record::reach::Reach;
use crate::record::results::{FinishReport, Intent, ResultsError, ResultsSink};
use crate::record::{ErrorKind, RowRecord, Status};
use crate::report::Reporter;
use crate::stop::{StopHandle, StopReason};

/// Shared by the reader thread and every worker. Without a results sink (a dry run) it only
/// counts and reports, each row as a line of the plan too.
pub(crate) struct Ledger {
    sink: Option<ResultsSink>,
    reporter: Arc<dyn Reporter>,
    stop: StopHandle,
    counts: Mutex<BTreeMap<Status, u64>>,
    actions: Mutex<ActionCounts>,
    failures: AtomicU64,
    allowed_failures: Option<u64>,
    reach: Reach,
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
            actions: Mutex::new(ActionCounts::default()),
            failures: AtomicU64::new(0),
            allowed_failures,
            reach: Reach::default(),
        }
    }

    /// Records a row's final outcome: results file first (flushed), then counters and reporter.
    pub(crate) fn record(&self, record: &RowRecord) -> Result<(), ResultsError> {
        self.record_with_drift(record, None)
    }

    /// [`record`](Self::record), with how the row's existing environment differs from it: a dry
    /// run shows the drift in the row's line of the plan.
    pub(crate) fn record_with_drift(
        &self,
        record: &RowRecord,
        drift: Option<Drift>,
    ) -> Result<(), ResultsError> {
        match &self.sink {
            Some(sink) => sink.record(record)?,
            None => self.plan(&PlanEntry::from_record(record, drift)),
        }
        self.count(record);
        Ok(())
    }

    fn plan(&self, entry: &PlanEntry) {
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(entry.action.kind());
        self.reporter.row_planned(entry);
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
        self.reach.observe(record);
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

    /// What the rows learnt about the server's reach.
    pub(crate) fn reach(&self) -> &Reach {
        &self.reach
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

    /// The plan's counts per action; `None` when the run applies its rows (it has a results file).
    pub(crate) fn actions(&self) -> Option<ActionCounts> {
        let actions = *self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        self.sink.is_none().then_some(actions)
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
