//! Why a run could not start or could not go on, and whether anything had been sent by then.

use crate::exit::ExitStatus;
use crate::prune::PruneRefused;
use crate::read::checked::ScanReport;
use crate::read::input::InputError;
use crate::record::results::ResultsError;
use crate::undo::UndoRefused;

/// Why a run could not start, or stopped before its end.
///
/// [`RunError::nothing_sent`] tells the two apart, and with it the exit code: a run refused at
/// start (bad input, bad configuration, a results file in the way) sent nothing and exits 2; a run
/// stopped once requests had gone out exits 3, and its results file says what was done.
///
/// ```
/// use omni_dbt_batch::{ExitStatus, RunError};
/// let refused = RunError::NoKeys;
/// assert!(refused.nothing_sent());
/// assert_eq!(refused.exit_status(), ExitStatus::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The input could not be read; nothing was sent.
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
    /// `--resume`: rows finished (or in flight) in the results file changed in the input;
    /// nothing was sent.
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
    /// The results file could not be created or read; nothing was sent.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// `--prune` refused the plan (invalid rows, a connection not listed, too many deletions);
    /// nothing was sent.
    #[error(transparent)]
    Prune(#[from] PruneRefused),
    /// `undo` refused its results file (missing, not a run's, an undo's, a run still in
    /// flight); nothing was sent.
    #[error(transparent)]
    Undo(#[from] UndoRefused),
    /// No API key was given; nothing was sent.
    #[error(
        "no API token: set OMNI_API_TOKEN (or name variables with --token-env), or use --sandbox"
    )]
    NoKeys,
    /// The client could not be built (base URL, token, TLS); nothing was sent.
    #[error("cannot use the Omni API at {base_url:?}: {source}")]
    Client {
        /// The base URL given.
        base_url: String,
        /// Why.
        source: omni_dbt_core::Error,
    },
    /// The results file could not be written once requests had gone out: the run stopped.
    /// Outcomes written so far, and the intents of rows in flight, are on disk for `--resume`.
    #[error("{source}; the run stopped: fix the cause and rerun with --resume, which checks the rows left in flight")]
    Recording {
        /// What went wrong with the file.
        source: ResultsError,
    },
    /// The input could not be read a second time, once requests had gone out (it was changed or
    /// removed during the run): the run stopped.
    #[error("{source}; the input changed during the run, which stopped: restore it and rerun with --resume")]
    InputLost {
        /// What went wrong.
        source: InputError,
    },
    /// A task of the run failed unexpectedly (a bug): the run stopped.
    #[error("internal error while {task}: {source}")]
    Internal {
        /// What the task was doing.
        task: &'static str,
        /// Whether requests had gone out before it failed.
        sent: Sent,
        /// The task's failure.
        source: tokio::task::JoinError,
    },
}

/// Whether a run had written to Omni when it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// No write had been sent (connections may have been listed): Omni is as it was.
    Nothing,
    /// Writes may have gone out: the results file says which.
    Some,
}

impl RunError {
    /// Whether the run stopped before sending any write, so that Omni is as it was.
    pub fn nothing_sent(&self) -> bool {
        match self {
            RunError::Recording { .. } | RunError::InputLost { .. } => false,
            RunError::Internal { sent, .. } => *sent == Sent::Nothing,
            _ => true,
        }
    }

    /// The exit code this error ends the process with: 2 when nothing was sent, else 3.
    pub fn exit_status(&self) -> ExitStatus {
        if self.nothing_sent() {
            ExitStatus::Usage
        } else {
            ExitStatus::Aborted
        }
    }
}
