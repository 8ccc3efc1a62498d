//! The reporter interface the engine calls as a run advances; the CLI draws bars or log lines from it.

use crate::plan::entry::PlanEntry;
use crate::record::RowRecord;
use crate::summary::Summary;

/// The phase a run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading and validating every row; nothing is sent.
    Validating,
    /// Listing the existing environments of `connections` connections.
    Planning {
        /// Connections to list.
        connections: u64,
    },
    /// Applying `rows` rows.
    Executing {
        /// Rows in this run.
        rows: u64,
    },
}

/// Receives progress from a run. Every method has an empty default, so an embedding program
/// implements only what it shows. Implementations must be cheap: they are called once per row.
pub trait Reporter: Send + Sync {
    /// A phase begins.
    fn phase(&self, _phase: Phase) {}
    /// One connection was listed during planning.
    fn connection_listed(&self) {}
    /// One row reached its final outcome (also called for rows settled by `--resume`).
    fn row_finished(&self, _record: &RowRecord) {}
    /// A plan (or dry run) decided what would happen to one row; called in input order,
    /// just before [`row_finished`](Self::row_finished) for the same row.
    fn row_planned(&self, _entry: &PlanEntry) {}
    /// The run is over.
    fn finished(&self, _summary: &Summary) {}
}

/// A reporter that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Reporter for Silent {}
