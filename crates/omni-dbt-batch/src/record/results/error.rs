//! `ResultsError`: everything that can go wrong with a results file or its journal, each naming
//! the file and what to do next.

use std::io;
use std::path::PathBuf;

use super::LockHolder;

/// An error reading or writing a results file or its intent journal.
///
/// Every variant names the file involved; messages never contain secret values (the results file
/// holds none).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// A results file (or its journal) from an earlier run is in the way of a new run.
    #[error(
        "{} already exists (left by an earlier run): pass --resume to continue that run, \
         or --force to overwrite it and start over",
        path.display()
    )]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },

    /// Another process holds the results file's lock: it is writing the file now.
    #[error(
        "{} is in use: another omni-dbt-batch process holds its lock ({}), and two processes on \
         one results file could create or delete environments twice. Nothing was sent. Wait for that process \
         to end, or stop it (its lock ends with it, even after kill -9); --resume and --force \
         do not override the lock",
        path.display(),
        holder.as_ref().map_or_else(|| "it has not said who it is yet".to_owned(), ToString::to_string)
    )]
    Locked {
        /// The results file.
        path: PathBuf,
        /// The process holding it, as it wrote itself into the lock file.
        holder: Option<LockHolder>,
    },

    /// The results path is a directory.
    #[error(
        "the results path {} is a directory: give the path of a file, such as {}",
        path.display(),
        path.join("envs.results.csv").display()
    )]
    IsDirectory {
        /// The path given.
        path: PathBuf,
    },

    /// The results file (or its journal or lock) would be one of the command's inputs.
    #[error(
        "the results file {} is the input {} itself (the same file, however the paths are \
         spelled), and writing it would destroy the input, --force or not. Nothing was sent. \
         Give the results another path",
        path.display(),
        input.display()
    )]
    IsInput {
        /// The results path (or its journal's or lock's) that is the input.
        path: PathBuf,
        /// The input, as given.
        input: PathBuf,
    },

    /// The format could not be told from the file name.
    #[error(
        "cannot tell the results format of {}: give --results a path ending in .csv, .jsonl \
         or .ndjson",
        path.display()
    )]
    UnknownFormat {
        /// The results path.
        path: PathBuf,
    },

    /// The operating system refused an operation on the file.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "append to results file".
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A record of the results file cannot be understood.
    #[error(
        "{}:{line}: unreadable results record: {message}; repair or delete that line, \
         or pass --force to start over (rows already created would then be seen as existing)",
        path.display()
    )]
    Corrupt {
        /// The results file.
        path: PathBuf,
        /// The line of the results file where the record starts (1-based).
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// A line of the intent journal cannot be understood.
    #[error(
        "{}:{line}: unreadable intent journal entry: {message}; repair or delete that line \
         (rows it names may have been created: check them in Omni), or pass --force to start over",
        path.display()
    )]
    CorruptJournal {
        /// The journal file.
        path: PathBuf,
        /// The line of the journal (1-based).
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// A record could not be encoded (an internal error: please report it).
    #[error("cannot encode a record for {}: {message}", path.display())]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// A write failed earlier and the file could not be restored to a whole record, so the
    /// writer refuses to append more (it would corrupt the file).
    #[error(
        "{} may end with a partial record after an earlier write error; \
         rerun with --resume to continue safely",
        path.display()
    )]
    Broken {
        /// The file that may be damaged.
        path: PathBuf,
    },

    /// The shared writer of a run was already finished.
    #[error("the results file {} was already finished; no more records can be added", path.display())]
    Finished {
        /// The results file.
        path: PathBuf,
    },
}

impl ResultsError {
    /// Builds an [`ResultsError::Io`] for `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
