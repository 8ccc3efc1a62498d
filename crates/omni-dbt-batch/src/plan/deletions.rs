//! Deleting an environment, decided: from whether its connection lists it and what an earlier
//! run recorded, send the delete, settle it without a request, or count it as already done.
//! Shared by `--prune` and `undo`.

use omni_dbt_core::{ConnectionId, EnvironmentId};

use crate::execute::job::{Job, RowKey, Work};
use crate::plan::decide::Sent;
use crate::plan::resume::Prior;
use crate::record::{RowRecord, Status};

/// Whether the connection's listing holds the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Listed: it is there to delete.
    Listed,
    /// Not listed: someone (perhaps a lost delete of ours) removed it.
    Absent,
}

/// What to do about one environment to delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeletionStep {
    /// Send the delete.
    Send(Sent),
    /// Record this outcome without a request.
    Settle(Status),
    /// An earlier run finished it: count its record, write nothing.
    Done(RowRecord),
}

/// Decides one deletion. An environment absent after an earlier run may have sent its delete
/// is that run's doing (`deleted`); absent otherwise, it was gone before any delete of ours.
/// The listing wins over a record: one still listed is sent again, whatever was recorded.
pub(crate) fn decide_deletion(prior: Prior, presence: Presence) -> DeletionStep {
    match (prior, presence) {
        (Prior::Settled(record), Presence::Absent) => DeletionStep::Done(record),
        (Prior::Settled(_), Presence::Listed) => DeletionStep::Send(Sent::MaybeBefore),
        (Prior::MaybeApplied(_), Presence::Absent) => DeletionStep::Settle(Status::Deleted),
        (Prior::Fresh, Presence::Absent) => DeletionStep::Settle(Status::Gone),
        (Prior::MaybeApplied(_), Presence::Listed) => DeletionStep::Send(Sent::MaybeBefore),
        (Prior::Fresh, Presence::Listed) => DeletionStep::Send(Sent::Never),
    }
}

/// An environment to delete and its identity in the results file.
#[derive(Clone, Debug)]
pub(crate) struct Deletion {
    /// Its identity in the results file.
    pub(crate) key: RowKey,
    /// Its connection.
    pub(crate) connection: ConnectionId,
    /// The environment.
    pub(crate) id: EnvironmentId,
}

impl Deletion {
    /// The record of this deletion with `status`, its environment named.
    pub(crate) fn record(&self, status: Status) -> RowRecord {
        RowRecord {
            environment_id: Some(self.id),
            ..self.key.record(status)
        }
    }
}

/// Every deletion of a plan, by what it needs: a request, a record, or only a count.
#[derive(Debug, Default)]
pub(crate) struct DeletionPlan {
    /// Deletes to send, in the order they were added.
    pub(crate) jobs: Vec<Job>,
    /// Outcomes known without a request, to record.
    pub(crate) settled: Vec<RowRecord>,
    /// Deletions an earlier run finished, to count.
    pub(crate) done: Vec<RowRecord>,
}

impl DeletionPlan {
    /// Adds `deletion` as `step` decides.
    pub(crate) fn add(&mut self, deletion: Deletion, step: DeletionStep) {
        match step {
            DeletionStep::Send(sent) => self.jobs.push(Job {
                work: Work::Delete {
                    id: deletion.id,
                    sent,
                },
                key: deletion.key,
                connection: deletion.connection,
            }),
            DeletionStep::Settle(status) => self.settled.push(deletion.record(status)),
            DeletionStep::Done(record) => self.done.push(record),
        }
    }

    /// Records to write and deletes to send: what a run's results gain from this plan.
    pub(crate) fn len(&self) -> u64 {
        (self.jobs.len() + self.settled.len() + self.done.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::results::IntentOp;

    #[test]
    fn an_absent_environment_is_deleted_only_if_an_earlier_delete_may_have_done_it() {
        assert_eq!(
            decide_deletion(Prior::MaybeApplied(IntentOp::Delete), Presence::Absent),
            DeletionStep::Settle(Status::Deleted)
        );
        assert_eq!(
            decide_deletion(Prior::Fresh, Presence::Absent),
            DeletionStep::Settle(Status::Gone)
        );
    }

    #[test]
    fn a_listed_environment_is_sent_saying_whether_it_may_have_been_sent_before() {
        assert_eq!(
            decide_deletion(Prior::MaybeApplied(IntentOp::Delete), Presence::Listed),
            DeletionStep::Send(Sent::MaybeBefore)
        );
        assert_eq!(
            decide_deletion(Prior::Fresh, Presence::Listed),
            DeletionStep::Send(Sent::Never)
        );
    }
}
