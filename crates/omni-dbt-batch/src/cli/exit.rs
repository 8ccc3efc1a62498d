//! The process exit codes, in one place.

use std::process::ExitCode;

/// What the process tells its caller (DESIGN.md "Output and exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Every row succeeded (created, exists, updated or unchanged).
    Success = 0,
    /// The run finished but some rows failed, were invalid or skipped.
    RowsFailed = 1,
    /// Usage, configuration or input error; nothing was sent.
    Usage = 2,
    /// Aborted: authentication failure or `--max-failures` exceeded.
    Aborted = 3,
    /// Interrupted by SIGINT/SIGTERM.
    Interrupted = 130,
}

impl Exit {
    /// The exit code for a run's outcome.
    pub fn from_outcome(outcome: omni_dbt_batch::summary::RunOutcome) -> Self {
        use omni_dbt_batch::summary::RunOutcome;
        match outcome {
            RunOutcome::Succeeded => Exit::Success,
            RunOutcome::SomeRowsFailed => Exit::RowsFailed,
            RunOutcome::Aborted => Exit::Aborted,
            RunOutcome::Interrupted => Exit::Interrupted,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}
