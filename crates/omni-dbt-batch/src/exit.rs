//! How a run ends for the process that ran it: the one mapping from outcomes and errors to exit codes.

use std::process::ExitCode;

use crate::summary::RunOutcome;

/// The exit codes of `omni-dbt-batch`, each with one meaning.
///
/// ```
/// use omni_dbt_batch::{ExitStatus, RunOutcome};
/// assert_eq!(ExitStatus::from(RunOutcome::SomeRowsFailed).code(), 1);
/// assert_eq!(ExitStatus::from(RunOutcome::ChangesPlanned).code(), 4);
/// assert_eq!(ExitStatus::Interrupted.code(), 130);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum ExitStatus {
    /// Every row succeeded (created, exists, updated or unchanged).
    Success = 0,
    /// The run finished but some rows failed, were invalid or skipped.
    RowsFailed = 1,
    /// Usage, configuration or input error: nothing was sent.
    Usage = 2,
    /// Aborted after requests went out: a 401, `--max-failures`, or a results file that could
    /// not be written.
    Aborted = 3,
    /// `plan` found changes to make.
    Changes = 4,
    /// Interrupted by SIGINT/SIGTERM.
    Interrupted = 130,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<RunOutcome> for ExitStatus {
    fn from(outcome: RunOutcome) -> Self {
        match outcome {
            RunOutcome::Succeeded => ExitStatus::Success,
            RunOutcome::SomeRowsFailed => ExitStatus::RowsFailed,
            RunOutcome::Aborted => ExitStatus::Aborted,
            RunOutcome::Interrupted => ExitStatus::Interrupted,
            RunOutcome::ChangesPlanned => ExitStatus::Changes,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}
