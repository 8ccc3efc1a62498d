//! The reporter interface the engine calls as a run advances; the CLI draws bars or log lines from it.

use std::sync::Arc;

use omni_dbt_core::{KeyLimiter, KeyStatus};

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
    /// The run's API keys, once their clients exist (before any request): a reporter that
    /// shows pacing keeps the handle and reads it whenever it draws.
    fn keys(&self, _keys: &KeyWatch) {}
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

/// The pacing of a run's API keys, live: what a progress line shows about them. Keys are named
/// by their label (the variable the token was read from), never by the token.
///
/// Cloning is cheap; clones watch the same keys.
///
/// ```
/// let watch = omni_dbt_batch::KeyWatch::default();
/// assert!(watch.statuses().is_empty(), "no keys yet");
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyWatch {
    keys: Arc<[(String, KeyLimiter)]>,
}

/// One key's label and what its limiter is doing: an item of [`KeyWatch::statuses`].
///
/// ```
/// use omni_dbt_core::KeyLimiter;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let key = omni_dbt_batch::KeyPacing {
///     label: "OMNI_API_TOKEN".into(),
///     status: KeyLimiter::new("60/min".parse().unwrap()).status(),
/// };
/// assert!(!key.status.slowed);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPacing {
    /// The key's label (such as `OMNI_KEY_2`).
    pub label: String,
    /// Its pace, any pause or long backoff, and its 429s so far.
    pub status: KeyStatus,
}

impl KeyWatch {
    /// Watches `keys`: each key's label and limiter.
    pub(crate) fn new(keys: Vec<(String, KeyLimiter)>) -> Self {
        Self { keys: keys.into() }
    }

    /// Each key's pacing now, in the order the keys were given.
    pub fn statuses(&self) -> Vec<KeyPacing> {
        self.keys
            .iter()
            .map(|(label, limiter)| KeyPacing {
                label: label.clone(),
                status: limiter.status(),
            })
            .collect()
    }
}
