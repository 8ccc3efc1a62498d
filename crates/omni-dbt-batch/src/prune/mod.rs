//! `--prune`: the setting, its guard (`--max-deletes`), and why a prune refuses to start.
//!
//! A prune deletes every environment of the input's connections whose name no row names (the
//! default environment never). It is planned in `plan/prune.rs` and executed like any other
//! request: journaled first, reconciled when its answer is lost, recorded after the input's rows.

mod max_deletes;
mod refused;

pub use max_deletes::MaxDeletes;
pub use refused::PruneRefused;

/// What a run does with environments of its connections that no row names (`--prune`).
///
/// ```
/// use omni_dbt_batch::{MaxDeletes, Prune};
/// assert_eq!(Prune::default(), Prune::KeepOthers);
/// let prune = Prune::DeleteOthers { max_deletes: MaxDeletes::default() };
/// assert_eq!(prune.max_deletes().map(|m| m.to_string()).as_deref(), Some("10%"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prune {
    /// Leave them alone (the default).
    #[default]
    KeepOthers,
    /// Delete them, unless the plan deletes more than `max_deletes` allows.
    DeleteOthers {
        /// The guard: how many deletions one plan may hold.
        max_deletes: MaxDeletes,
    },
}

impl Prune {
    /// The guard, when pruning.
    pub fn max_deletes(self) -> Option<MaxDeletes> {
        match self {
            Prune::KeepOthers => None,
            Prune::DeleteOthers { max_deletes } => Some(max_deletes),
        }
    }
}
