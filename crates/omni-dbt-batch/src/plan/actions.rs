//! What a plan would do, counted: the kinds of planned action and their totals.

use std::fmt;

use serde::Serialize;

/// The kind of a planned action, as counted in a plan's summary.
///
/// ```
/// use omni_dbt_batch::ActionKind;
/// assert_eq!(ActionKind::Update.as_str(), "update");
/// assert!(ActionKind::Create.is_change());
/// assert!(!ActionKind::Unchanged.is_change());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionKind {
    /// A row whose environment does not exist: it would be created.
    Create,
    /// A row whose environment exists and is left alone (`--existing skip`).
    Exists,
    /// A row whose environment exists and differs: it would be updated (`--existing update`).
    Update,
    /// A row whose environment exists and already matches (`--existing update`).
    Unchanged,
    /// An environment that would be deleted.
    Delete,
    /// A row that would fail, or could not be planned (a 403/404 connection, `--existing fail`,
    /// an invalid row, a run stopped early).
    Fail,
}

impl ActionKind {
    /// Every kind, in the order a plan's summary lists them.
    pub const ALL: [ActionKind; 6] = [
        ActionKind::Create,
        ActionKind::Exists,
        ActionKind::Update,
        ActionKind::Unchanged,
        ActionKind::Delete,
        ActionKind::Fail,
    ];

    /// The spelling in a plan and in the summary JSON's `actions` object.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Exists => "exists",
            ActionKind::Update => "update",
            ActionKind::Unchanged => "unchanged",
            ActionKind::Delete => "delete",
            ActionKind::Fail => "fail",
        }
    }

    /// Whether this action writes to Omni.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            ActionKind::Create | ActionKind::Update | ActionKind::Delete
        )
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many entries of a plan have each kind of action; the summary JSON's `actions` object.
///
/// ```
/// use omni_dbt_batch::{ActionCounts, ActionKind};
/// let mut counts = ActionCounts::default();
/// counts.add(ActionKind::Create);
/// counts.add(ActionKind::Unchanged);
/// assert_eq!((counts.get(ActionKind::Create), counts.changes()), (1, 1));
/// let json = serde_json::to_value(counts).unwrap();
/// assert_eq!(json["delete"], 0, "every kind is present");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ActionCounts {
    /// Rows that would be created.
    pub create: u64,
    /// Rows whose environment exists and is left alone.
    pub exists: u64,
    /// Rows whose environment would be updated.
    pub update: u64,
    /// Rows whose environment already matches.
    pub unchanged: u64,
    /// Environments that would be deleted.
    pub delete: u64,
    /// Rows that would fail.
    pub fail: u64,
}

impl ActionCounts {
    /// Counts one action.
    pub fn add(&mut self, kind: ActionKind) {
        *self.slot(kind) += 1;
    }

    /// The count of one kind.
    pub fn get(self, kind: ActionKind) -> u64 {
        match kind {
            ActionKind::Create => self.create,
            ActionKind::Exists => self.exists,
            ActionKind::Update => self.update,
            ActionKind::Unchanged => self.unchanged,
            ActionKind::Delete => self.delete,
            ActionKind::Fail => self.fail,
        }
    }

    /// Actions that would write to Omni (create, update, delete).
    pub fn changes(self) -> u64 {
        ActionKind::ALL
            .into_iter()
            .filter(|kind| kind.is_change())
            .map(|kind| self.get(kind))
            .sum()
    }

    fn slot(&mut self, kind: ActionKind) -> &mut u64 {
        match kind {
            ActionKind::Create => &mut self.create,
            ActionKind::Exists => &mut self.exists,
            ActionKind::Update => &mut self.update,
            ActionKind::Unchanged => &mut self.unchanged,
            ActionKind::Delete => &mut self.delete,
            ActionKind::Fail => &mut self.fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_object_has_every_kind_in_plan_order() {
        let mut counts = ActionCounts::default();
        for kind in ActionKind::ALL {
            counts.add(kind);
        }
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(
            json,
            r#"{"create":1,"exists":1,"update":1,"unchanged":1,"delete":1,"fail":1}"#
        );
        assert_eq!(counts.changes(), 3);
    }
}
