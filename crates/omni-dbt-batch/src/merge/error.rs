//! `MergeError`: why `merge` refused to write its output; each names the files and lines.

use std::path::PathBuf;

use crate::exit::ExitStatus;
use crate::read::input::InputError;
use crate::record::results::ResultsError;

/// Why `merge` wrote nothing (exit 2).
///
/// ```
/// use omni_dbt_batch::{ExitStatus, MergeError};
/// let error = MergeError::Conflict {
///     row: 3,
///     first: "a.csv:4".into(),
///     second: "b.csv:2".into(),
///     first_outcome: "created".into(),
///     second_outcome: "failed".into(),
/// };
/// assert!(error.to_string().contains("a.csv:4"));
/// assert_eq!(error.exit_status(), ExitStatus::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// A file to merge does not exist.
    #[error("{}: no such results file", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// A file to merge is not a run's results file.
    #[error("{}:{line}: not the results file of a run ({message})", path.display())]
    NotResults {
        /// The file.
        path: PathBuf,
        /// The line that gave it away.
        line: u64,
        /// What is wrong there.
        message: String,
    },
    /// A file to merge is an undo's results file.
    #[error("{}:{line}: this is the results file of an undo, not of a run; merge takes the results files of a run's shards", path.display())]
    UndoFile {
        /// The file.
        path: PathBuf,
        /// Its first delete record.
        line: u64,
    },
    /// A file's run left requests in flight: its outcome is not known yet.
    #[error("{} has requests still in flight ({}); finish its run with --resume before merging", path.display(), journal.display())]
    InFlight {
        /// The file.
        path: PathBuf,
        /// Its journal.
        journal: PathBuf,
    },
    /// Two records cannot come from the shards of one input.
    #[error("{first} and {second} are not results of one input: {reason}")]
    DifferentInputs {
        /// The first record, as `FILE:LINE`.
        first: String,
        /// The second record (or the input's line), as `FILE:LINE`.
        second: String,
        /// What does not agree.
        reason: String,
    },
    /// One row was recorded twice with different outcomes.
    #[error("row {row} is recorded twice with different outcomes: {first_outcome} at {first}, {second_outcome} at {second}; keep one of the two files' records")]
    Conflict {
        /// The row (0 for a pruned environment).
        row: u64,
        /// The first record, as `FILE:LINE`.
        first: String,
        /// The second record, as `FILE:LINE`.
        second: String,
        /// The first record's outcome.
        first_outcome: String,
        /// The second record's outcome.
        second_outcome: String,
    },
    /// `--out` is a directory.
    #[error("--out {} is a directory; give the path of the merged results file (.csv or .jsonl)", path.display())]
    OutIsDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// `--out` is one of the files to merge, or the input.
    #[error("--out {} is one of the files merge reads; write the merged file elsewhere", path.display())]
    OutIsInput {
        /// The path given.
        path: PathBuf,
    },
    /// The input given with `--input` could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A results file could not be read, or the output written.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

impl MergeError {
    /// The exit code this error ends the process with: always 2, since nothing was written.
    pub fn exit_status(&self) -> ExitStatus {
        ExitStatus::Usage
    }
}
