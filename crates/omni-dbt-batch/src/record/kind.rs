//! `RecordKind`: what a results record is the outcome of, told from the record alone: an input
//! row of a run, an environment a run pruned, or an environment an undo deleted.

use crate::record::fingerprint::DELETE_PREFIX;
use crate::record::RowRecord;

/// What a record is the outcome of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    /// A row of a run's input (a create or an update, or a row that was not sent).
    InputRow,
    /// An environment a run deleted with `--prune`: no row, a delete's fingerprint.
    Pruned,
    /// An environment an undo deleted: the row of the run that created it, a delete's
    /// fingerprint.
    Undone,
}

impl RecordKind {
    /// The kind of `record`.
    pub(crate) fn of(record: &RowRecord) -> Self {
        match (
            record.is_input_row(),
            record.fingerprint.starts_with(DELETE_PREFIX),
        ) {
            (false, _) => RecordKind::Pruned,
            (true, true) => RecordKind::Undone,
            (true, false) => RecordKind::InputRow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    #[test]
    fn a_delete_with_a_row_is_an_undo_and_without_one_a_prune() {
        let record = |row, fingerprint: &str| RowRecord {
            row,
            line: row + 1,
            connection_id: "c".into(),
            name: "n".into(),
            status: Status::Failed,
            environment_id: None,
            attempts: 1,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: fingerprint.into(),
        };
        assert_eq!(RecordKind::of(&record(3, "0a1b")), RecordKind::InputRow);
        assert_eq!(
            RecordKind::of(&record(3, "delete:0a1b")),
            RecordKind::Undone
        );
        assert_eq!(
            RecordKind::of(&record(0, "delete:0a1b")),
            RecordKind::Pruned
        );
    }
}
