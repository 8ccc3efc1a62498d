//! `ExportError`: why an export could not start, or could not write what it listed.

use std::io;
use std::path::PathBuf;

use crate::exit::ExitStatus;
use crate::record::results::ResultsError;

/// Why an export did not start (nothing was sent) or could not be written (connections were
/// listed, nothing was written). Connections that cannot be listed are not errors: the
/// export goes on without them and its summary names them.
///
/// ```
/// use omni_dbt_batch::{ExitStatus, ExportError};
/// let refused = ExportError::NoConnections;
/// assert_eq!(refused.exit_status(), ExitStatus::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// No connection was named; nothing was sent.
    #[error(
        "no connection to export: name them with --connection ID (repeatable) or \
         --connections-from FILE; nothing was sent"
    )]
    NoConnections,
    /// No API key was given; nothing was sent.
    #[error(
        "no API token: set OMNI_API_TOKEN (or name variables with --token-env), or use --sandbox"
    )]
    NoKeys,
    /// The output path cannot be written as asked; nothing was sent.
    #[error("cannot export to {}: {reason}; nothing was sent", path.display())]
    Output {
        /// The path given.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The client could not be built (base URL, token, TLS); nothing was sent.
    #[error("cannot use the Omni API at {base_url:?}: {source}")]
    Client {
        /// The base URL given.
        base_url: String,
        /// Why.
        source: omni_dbt_core::Error,
    },
    /// The environments listed could not be kept on disk while the export ran.
    #[error(
        "cannot keep the listed environments in a temporary file: {source}; nothing was written"
    )]
    Spool {
        /// Why.
        source: io::Error,
    },
    /// The output could not be written; a file output is left as it was.
    #[error("{source}; the export was not written")]
    Write {
        /// What went wrong with the file.
        source: ResultsError,
    },
    /// A task of the export failed unexpectedly (a bug); nothing was written.
    #[error("internal error while {task}: {source}")]
    Internal {
        /// What the task was doing.
        task: &'static str,
        /// The task's failure.
        source: tokio::task::JoinError,
    },
}

impl ExportError {
    /// The exit code this error ends the process with: 2 when it was refused before any
    /// request, 3 when connections had been listed.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            ExportError::NoConnections
            | ExportError::NoKeys
            | ExportError::Output { .. }
            | ExportError::Client { .. } => ExitStatus::Usage,
            ExportError::Spool { .. }
            | ExportError::Write { .. }
            | ExportError::Internal { .. } => ExitStatus::Aborted,
        }
    }
}
