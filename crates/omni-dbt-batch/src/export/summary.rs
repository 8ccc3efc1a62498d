//! What a finished export reports: what was written, which connections failed, which
//! environments the format could not hold.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use omni_dbt_core::ConnectionId;

use super::config::ExportFormat;
use crate::record::ErrorKind;
use crate::summary::RunOutcome;

/// How an export went; [`ExitStatus`](crate::ExitStatus) maps its [`outcome`](Self::outcome)
/// to the exit code: 0 every environment of every connection written, 1 written without some
/// (a connection that could not be listed, an environment CSV cannot hold), 3 aborted by a
/// 401 and 130 interrupted (nothing written in either case).
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// How the export ended.
    pub outcome: RunOutcome,
    /// Why it stopped early, if it did.
    pub stop_reason: Option<String>,
    /// The format written.
    pub format: ExportFormat,
    /// The file written; `None` for stdout, or when nothing was written.
    pub output: Option<PathBuf>,
    /// Whether the export was written (it is not after a 401 or an interrupt).
    pub written: bool,
    /// Connections asked for (each once).
    pub connections: u64,
    /// Environments written.
    pub environments: u64,
    /// Default environments left out (see [`DefaultEnvironment`](crate::DefaultEnvironment)).
    pub defaults_left_out: u64,
    /// Connections that could not be listed, and why; their environments are not in the export.
    pub failed_connections: Vec<FailedConnection>,
    /// Environments left out because the format cannot hold them (CSV only).
    pub unwritable: Vec<UnwritableEnvironment>,
    /// The environment variables the export's secret references name: each must be set to the
    /// secret's value when the export is run, since Omni never returns secret values.
    pub secret_variables: BTreeSet<String>,
    /// Connections whose listing did not come in name order and were sorted here.
    pub sorted_locally: u64,
    /// Wall time of the export.
    pub elapsed: Duration,
    /// HTTP requests sent (list pages and retries).
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 responses seen.
    pub rate_limited: u64,
}

/// A connection that could not be listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedConnection {
    /// The connection.
    pub connection: ConnectionId,
    /// The kind of failure (`forbidden`, `not_found`, `exhausted`, ...).
    pub kind: ErrorKind,
    /// The last HTTP status, if any.
    pub http_status: Option<u16>,
    /// A human message (never a token).
    pub message: String,
}

impl fmt::Display for FailedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection {} was not exported ({}): {}",
            self.connection, self.kind, self.message
        )
    }
}

/// An environment the export's format cannot hold, left out of it.
///
/// ```
/// use omni_dbt_batch::{Unwritable, UnwritableEnvironment};
/// let left_out = UnwritableEnvironment {
///     connection: "550e8400-e29b-41d4-a716-446655440000".parse().unwrap(),
///     name: "dev".into(),
///     variable: "var:EMPTY".into(),
///     reason: Unwritable::BlankPlainValue,
/// };
/// assert_eq!(left_out.to_string(), "\"dev\" in connection 550e8400-e29b-41d4-a716-446655440000: \
///     var:EMPTY has an empty value, which a CSV cell cannot hold (an empty cell means no \
///     such variable); export with --format jsonl to keep it");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwritableEnvironment {
    /// Its connection.
    pub connection: ConnectionId,
    /// Its name.
    pub name: String,
    /// The variable at fault, spelled as its column (`var:NAME`, `secret:NAME`).
    pub variable: String,
    /// Why the format cannot hold it.
    pub reason: Unwritable,
}

/// Why CSV cannot hold an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unwritable {
    /// A plain variable whose value is empty or blank: an empty CSV cell means "no such
    /// variable".
    BlankPlainValue,
    /// A variable name with leading or trailing spaces: column names are read trimmed.
    PaddedName,
    /// Two variables of one name and kind: one column holds one value.
    RepeatedName,
}

impl fmt::Display for UnwritableEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            Unwritable::BlankPlainValue => {
                "has an empty value, which a CSV cell cannot hold (an empty cell means no such variable)"
            }
            Unwritable::PaddedName => {
                "has spaces around its name, which a CSV column name loses"
            }
            Unwritable::RepeatedName => "is given twice, which one CSV column cannot hold",
        };
        write!(
            f,
            "{:?} in connection {}: {} {why}; export with --format jsonl to keep it",
            self.name, self.connection, self.variable
        )
    }
}
