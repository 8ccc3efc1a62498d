//! `UndoRefused`: why an undo refused to start; nothing was sent.

use std::path::PathBuf;

/// Why `undo` refused before any request; each names the file (and line) and what to do next.
///
/// ```
/// use omni_dbt_batch::{ExitStatus, RunError, UndoRefused};
/// let refused = UndoRefused::UndoFile { path: "envs.results.undo.csv".into(), line: 2 };
/// assert!(refused.to_string().starts_with("envs.results.undo.csv:2:"));
/// assert_eq!(RunError::from(refused).exit_status(), ExitStatus::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UndoRefused {
    /// There is no file at the path given.
    #[error("{}: no such results file; undo takes the results file a run wrote", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The file is not a run's results file (another CSV, such as the input, or a broken one).
    #[error("{}:{line}: not the results file of a run ({message}); undo takes the results file a run wrote, such as envs.results.csv", path.display())]
    NotResults {
        /// The file.
        path: PathBuf,
        /// The line that gave it away.
        line: u64,
        /// What is wrong there.
        message: String,
    },
    /// The file is the results file of an undo, whose records are deletes.
    #[error("{}:{line}: this is the results file of an undo (its records are deletes), not of a run; undo takes the results file a run wrote", path.display())]
    UndoFile {
        /// The file.
        path: PathBuf,
        /// The first record that is a delete.
        line: u64,
    },
    /// The run left requests in flight: it may have created environments it did not record.
    #[error("{} has requests still in flight ({}), so it may not name every environment its run created; finish that run with --resume first, then undo", path.display(), journal.display())]
    InFlight {
        /// The results file.
        path: PathBuf,
        /// Its journal.
        journal: PathBuf,
    },
    /// The undo's results file would overwrite the file it undoes.
    #[error("the undo's results file cannot be {} itself; give --results another path", path.display())]
    SameFile {
        /// The results file of the run.
        path: PathBuf,
    },
}
