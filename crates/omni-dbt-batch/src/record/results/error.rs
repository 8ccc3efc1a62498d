//! `ResultsError`: everything that can go wrong with a results file or its journal, each naming
//! the file and what to do next.

use std::io;
use std::path::PathBuf;

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

    /// The writer behind a [`ResultsSink`](super::ResultsSink) was already finished.
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
