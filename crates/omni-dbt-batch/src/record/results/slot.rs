//! `Slot`: which entry of the results file a record or an intent fills: an input row, or an
//! environment deleted by `--prune` (which no row names, so its id identifies it).

use omni_dbt_core::EnvironmentId;

use crate::record::RowRecord;

/// The identity of a results entry: records and intents of one slot are about the same thing,
/// and the last record of a slot is the one that counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Slot {
    /// The input row of this 1-based index.
    Row(u64),
    /// An environment deleted by `--prune`.
    Pruned(EnvironmentId),
}

impl Slot {
    /// The slot of an entry with this row (0 for none) and environment. A row of 0 without an
    /// environment has no slot: readers refuse such records and journal lines.
    pub(crate) fn of(row: u64, environment_id: Option<EnvironmentId>) -> Option<Self> {
        match (row, environment_id) {
            (0, Some(id)) => Some(Slot::Pruned(id)),
            (0, None) => None,
            (row, _) => Some(Slot::Row(row)),
        }
    }

    /// The slot of a record read back (the reader has checked that it has one).
    pub(crate) fn of_record(record: &RowRecord) -> Self {
        Self::of(record.row, record.environment_id).unwrap_or(Slot::Row(record.row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_their_own_slot_and_pruned_environments_are_keyed_by_id() {
        let id = EnvironmentId::new(uuid::Uuid::from_u128(4));
        assert_eq!(Slot::of(3, Some(id)), Some(Slot::Row(3)));
        assert_eq!(Slot::of(0, Some(id)), Some(Slot::Pruned(id)));
        assert_eq!(Slot::of(0, None), None);
        assert!(
            Slot::Row(u64::MAX) < Slot::Pruned(id),
            "pruned entries come after the rows"
        );
    }
}
