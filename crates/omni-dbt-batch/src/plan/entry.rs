//! One line of a plan: what would happen to one input row, and for updates, what would change.

use omni_dbt_core::EnvironmentId;

use crate::plan::actions::ActionKind;
use crate::plan::diff::Drift;
use crate::record::{ErrorKind, RowRecord, Status};

/// Where an entry's row sits in the input.
///
/// ```
/// use omni_dbt_batch::InputPosition;
/// let first = InputPosition { row: 1, line: 2 };
/// assert_eq!(first.line, first.row + 1, "a CSV's first data row follows its header");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputPosition {
    /// 1-based data row.
    pub row: u64,
    /// Line of the input where the row starts.
    pub line: u64,
}

/// What would happen, and why when it would fail.
///
/// ```
/// use omni_dbt_batch::{ActionKind, Drift, ErrorKind, PlannedAction};
/// assert_eq!(PlannedAction::Update(Drift::default()).kind(), ActionKind::Update);
/// let fail = PlannedAction::Fail {
///     kind: ErrorKind::NotFound,
///     http_status: Some(404),
///     reason: "no such connection".into(),
/// };
/// assert_eq!(fail.kind(), ActionKind::Fail);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlannedAction {
    /// The environment does not exist: it would be created.
    Create,
    /// The environment exists and would be left alone (`--existing skip`).
    Exists,
    /// The environment exists and differs from the row: it would be updated. The drift lists
    /// every change, and what the update leaves as it is.
    Update(Drift),
    /// The environment exists and matches the row in every comparable field. The drift's notes
    /// say what was not compared (secret values) or not managed by the row.
    Unchanged(Drift),
    /// An environment no row names would be deleted (`--prune`).
    Delete,
    /// The row would fail, or could not be planned.
    Fail {
        /// Why, as the results file would say it.
        kind: ErrorKind,
        /// The HTTP status behind it, when there was one.
        http_status: Option<u16>,
        /// A human message (never a secret).
        reason: String,
    },
}

impl PlannedAction {
    /// This action's kind, as counted in the summary.
    pub fn kind(&self) -> ActionKind {
        match self {
            PlannedAction::Create => ActionKind::Create,
            PlannedAction::Exists => ActionKind::Exists,
            PlannedAction::Update(_) => ActionKind::Update,
            PlannedAction::Unchanged(_) => ActionKind::Unchanged,
            PlannedAction::Delete => ActionKind::Delete,
            PlannedAction::Fail { .. } => ActionKind::Fail,
        }
    }
}

/// One entry of a plan, handed to [`Reporter::row_planned`](crate::Reporter::row_planned) in
/// input order.
///
/// ```
/// use omni_dbt_batch::{InputPosition, PlanEntry, PlannedAction};
///
/// fn describe(entry: &PlanEntry) -> String {
///     match &entry.action {
///         PlannedAction::Update(drift) => format!("{}: {} changes", entry.name, drift.changes.len()),
///         other => format!("{}: {}", entry.name, other.kind()),
///     }
/// }
///
/// let entry = PlanEntry {
///     input: Some(InputPosition { row: 1, line: 2 }),
///     connection_id: "550e8400-e29b-41d4-a716-446655440000".into(),
///     name: "dev_alice".into(),
///     environment_id: None,
///     action: PlannedAction::Create,
/// };
/// assert_eq!(describe(&entry), "dev_alice: create");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEntry {
    /// Where the row is in the input; `None` for an environment no row names.
    pub input: Option<InputPosition>,
    /// The connection (as written in the input when it is not a UUID).
    pub connection_id: String,
    /// The environment's name.
    pub name: String,
    /// The existing environment the action concerns (none for a create).
    pub environment_id: Option<EnvironmentId>,
    /// What would happen.
    pub action: PlannedAction,
}

impl PlanEntry {
    /// The entry for a row a dry run settled as `record`, with the drift of an existing
    /// environment when `--existing update` compared it.
    pub(crate) fn from_record(record: &RowRecord, drift: Option<Drift>) -> Self {
        let action = match record.status {
            Status::Created => PlannedAction::Create,
            Status::Exists => PlannedAction::Exists,
            Status::Updated => PlannedAction::Update(drift.unwrap_or_default()),
            Status::Unchanged => PlannedAction::Unchanged(drift.unwrap_or_default()),
            Status::Deleted | Status::Gone => PlannedAction::Delete,
            Status::Failed | Status::Invalid | Status::Skipped => PlannedAction::Fail {
                kind: record
                    .error_kind
                    .unwrap_or_else(|| default_kind(record.status)),
                http_status: record.http_status,
                reason: record.error.clone().unwrap_or_default(),
            },
        };
        Self {
            input: record.is_input_row().then_some(InputPosition {
                row: record.row,
                line: record.line,
            }),
            connection_id: record.connection_id.clone(),
            name: record.name.clone(),
            environment_id: record.environment_id,
            action,
        }
    }
}

/// Every failed, invalid or skipped record carries its kind; this only keeps the mapping total.
fn default_kind(status: Status) -> ErrorKind {
    match status {
        Status::Invalid => ErrorKind::Validation,
        Status::Skipped => ErrorKind::Aborted,
        _ => ErrorKind::Server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Status) -> RowRecord {
        RowRecord {
            row: 3,
            line: 4,
            connection_id: "c".into(),
            name: "dev".into(),
            status,
            environment_id: None,
            attempts: 0,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn each_dry_run_status_maps_to_one_action() {
        let kinds: Vec<ActionKind> = Status::ALL
            .into_iter()
            .map(|status| PlanEntry::from_record(&record(status), None).action.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                ActionKind::Create,
                ActionKind::Exists,
                ActionKind::Update,
                ActionKind::Unchanged,
                ActionKind::Delete,
                ActionKind::Delete,
                ActionKind::Fail,
                ActionKind::Fail,
                ActionKind::Fail,
            ]
        );
    }

    #[test]
    fn a_failure_keeps_its_kind_status_and_message() {
        let failed = RowRecord {
            error_kind: Some(ErrorKind::NotFound),
            http_status: Some(404),
            error: Some("no such connection".into()),
            ..record(Status::Failed)
        };
        let entry = PlanEntry::from_record(&failed, None);
        assert_eq!(
            entry.action,
            PlannedAction::Fail {
                kind: ErrorKind::NotFound,
                http_status: Some(404),
                reason: "no such connection".into()
            }
        );
        assert_eq!(entry.input, Some(InputPosition { row: 3, line: 4 }));
    }
}
