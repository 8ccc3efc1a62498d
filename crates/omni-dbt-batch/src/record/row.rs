//! The outcome of one input row: the vocabulary of the results file (`RowRecord`, `Status`, `ErrorKind`).

use std::fmt;
use std::str::FromStr;

use omni_dbt_core::EnvironmentId;
use serde::{Deserialize, Serialize};

/// What became of a row. Spelled in the results file exactly as the variant names in snake_case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The environment was created by this run.
    Created,
    /// An environment of that name already existed and was left alone (`--existing skip`).
    Exists,
    /// An existing environment was changed to match the row (`--existing update`).
    Updated,
    /// An existing environment already matched the row (`--existing update`).
    Unchanged,
    /// The environment was deleted by this run: pruned (`--prune`), or undone (`undo`).
    Deleted,
    /// The environment was already absent before any delete was sent for it (`undo`; `--prune`
    /// when something else deleted it between the listing and the delete).
    Gone,
    /// The row could not be applied; `error_kind` says why.
    Failed,
    /// The row did not pass validation and was not sent (`--skip-invalid`).
    Invalid,
    /// The row was not attempted (run aborted or interrupted).
    Skipped,
}

impl Status {
    /// Every status, in results-file order of the summary.
    pub const ALL: [Status; 9] = [
        Status::Created,
        Status::Exists,
        Status::Updated,
        Status::Unchanged,
        Status::Deleted,
        Status::Gone,
        Status::Failed,
        Status::Invalid,
        Status::Skipped,
    ];

    /// The spelling in the results file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Exists => "exists",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Deleted => "deleted",
            Status::Gone => "gone",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Skipped => "skipped",
        }
    }

    /// Whether the record ended as it should (exit code 0 territory): an environment in place
    /// for a row of the input, or absent for a deletion.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Status::Created
                | Status::Exists
                | Status::Updated
                | Status::Unchanged
                | Status::Deleted
                | Status::Gone
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// Why a row failed, was invalid or was skipped: a stable machine-readable kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The row did not pass validation.
    Validation,
    /// Omni answered 401: the token is wrong or revoked.
    Auth,
    /// Omni answered 403: no permission on the connection, or it has no dbt.
    Forbidden,
    /// Omni answered 404: no such connection (or environment).
    NotFound,
    /// Omni kept answering 429.
    RateLimited,
    /// Omni answered with a 5xx or another unexpected status.
    Server,
    /// Omni did not answer in time.
    Timeout,
    /// Omni could not be reached: the connection failed, or the address answered with a
    /// redirect (it is not Omni's API; check the base URL).
    Network,
    /// Retries ran out.
    Exhausted,
    /// The run was aborted (auth failure or failure threshold) before this row.
    Aborted,
    /// The run was interrupted (SIGINT/SIGTERM) before this row finished.
    Interrupted,
    /// `--existing fail`: an environment of that name already exists.
    Exists,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Validation,
        ErrorKind::Auth,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::Exhausted,
        ErrorKind::Aborted,
        ErrorKind::Interrupted,
        ErrorKind::Exists,
    ];

    /// The spelling in the results file.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::Auth => "auth",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Exhausted => "exhausted",
            ErrorKind::Aborted => "aborted",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Exists => "exists",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown error kind {s:?}"))
    }
}

/// One record of the results file: the outcome of one input row, or of one environment deleted
/// by `--prune` (which no row names: its `row` and `line` are 0, written as empty cells).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRecord {
    /// 1-based index of the data row in the input; 0 (an empty cell) for a pruned environment.
    #[serde(with = "no_row_as_null")]
    pub row: u64,
    /// Line number in the input where the row starts; 0 (an empty cell) for a pruned environment.
    #[serde(with = "no_row_as_null")]
    pub line: u64,
    /// The row's connection (as written in the input when it is not a UUID).
    pub connection_id: String,
    /// The row's environment name.
    pub name: String,
    /// What became of the row.
    pub status: Status,
    /// The environment's id, for created/exists/updated/unchanged rows and deletions.
    pub environment_id: Option<EnvironmentId>,
    /// Requests made for this row.
    pub attempts: u32,
    /// The last HTTP status seen for this row.
    pub http_status: Option<u16>,
    /// For failed/invalid/skipped rows: a stable kind.
    pub error_kind: Option<ErrorKind>,
    /// For failed/invalid/skipped rows: a human message (never a secret).
    pub error: Option<String>,
    /// A hash of the row's request, secret values excluded.
    pub fingerprint: String,
}

impl RowRecord {
    /// Whether this records an input row, rather than an environment deleted by `--prune`.
    ///
    /// ```
    /// use omni_dbt_batch::{RowRecord, Status};
    /// let record = RowRecord {
    ///     row: 0, line: 0, connection_id: "c".into(), name: "stale".into(),
    ///     status: Status::Deleted, environment_id: None, attempts: 1, http_status: Some(200),
    ///     error_kind: None, error: None, fingerprint: String::new(),
    /// };
    /// assert!(!record.is_input_row());
    /// ```
    pub fn is_input_row(&self) -> bool {
        self.row != 0
    }
}

/// `row` and `line` of a pruned environment: 0 in memory, `null` (an empty cell) on disk.
mod no_row_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            0 => serializer.serialize_none(),
            n => serializer.serialize_some(n),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.unwrap_or(0))
    }
}
