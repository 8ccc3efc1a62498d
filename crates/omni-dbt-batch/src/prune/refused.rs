//! `PruneRefused`: why a run with `--prune` refused to start deleting; nothing was sent.

use omni_dbt_core::ConnectionId;

use super::MaxDeletes;

/// Why `--prune` refused the run before any write; each says what to do next.
///
/// ```
/// use omni_dbt_batch::{MaxDeletes, PruneRefused, RunError, ExitStatus};
/// let refused = PruneRefused::TooManyDeletes { planned: 5, listed: 20, limit: MaxDeletes::default() };
/// assert!(refused.to_string().contains("5 of the 20"));
/// assert_eq!(RunError::from(refused).exit_status(), ExitStatus::Usage);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PruneRefused {
    /// Some rows are invalid: with `--skip-invalid` their environments would look unnamed and
    /// be deleted.
    #[error("{invalid} rows of {file} are invalid, and --prune would delete the environments they name; nothing was sent. Fix them (--skip-invalid cannot be combined with --prune)")]
    InvalidRows {
        /// The input's display name.
        file: String,
        /// How many rows are invalid.
        invalid: u64,
    },
    /// A connection could not be listed, so what it holds beyond the input is unknown.
    #[error("--prune cannot know what connection {connection} holds: listing it failed ({message}); nothing was sent")]
    ListingFailed {
        /// The connection.
        connection: ConnectionId,
        /// Why the listing failed.
        message: String,
    },
    /// The plan deletes more than `--max-deletes` allows.
    #[error("--prune would delete {planned} of the {listed} environments listed in the input's connections, more than --max-deletes {limit} allows; nothing was sent. Check that the input names every environment to keep (a --dry-run lists the deletions), or raise --max-deletes")]
    TooManyDeletes {
        /// Deletions planned.
        planned: u64,
        /// Environments listed in the input's connections.
        listed: u64,
        /// The limit in force.
        limit: MaxDeletes,
    },
    /// `--existing ignore` turns listing off, which a prune needs.
    #[error("--prune needs every connection listed, which --existing ignore turns off; use --existing skip, fail or update")]
    NeedsListing,
}
