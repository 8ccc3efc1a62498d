//! An undo, planned: for each environment the run created, delete it, record it gone, record
//! why it cannot be deleted, or count what an earlier undo finished.

use std::collections::{HashMap, HashSet};

use omni_dbt_core::{ConnectionId, EnvironmentId};

use crate::plan::deletions::{decide_deletion, Deletion, DeletionPlan, Presence};
use crate::plan::inventory::{ConnectionState, Inventory};
use crate::plan::resume::{Prior, Resume};
use crate::record::{RowRecord, Status};

/// Plans every deletion of `created` (the environments a run created), from what its connection lists now
/// and what an earlier undo recorded (`--resume`). A connection that could not be listed fails
/// its deletions unsent; one not listed because the undo is stopping leaves them to be recorded
/// `skipped` by the feeder.
pub(crate) fn plan_undo(
    created: impl IntoIterator<Item = Deletion>,
    inventory: &Inventory,
    resume: Option<&Resume>,
) -> DeletionPlan {
    let mut plan = DeletionPlan::default();
    // Ids per connection, gathered once: a run may have created thousands in one connection.
    let mut listed: HashMap<ConnectionId, HashSet<EnvironmentId>> = HashMap::new();
    for deletion in created {
        let prior = resume.map_or(Prior::Fresh, |resume| resume.prior(&deletion.key));
        match inventory.get(&deletion.connection) {
            Some(ConnectionState::Listed(listing)) => {
                let ids = listed
                    .entry(deletion.connection)
                    .or_insert_with(|| listing.environments().map(|e| e.id).collect());
                let presence = if ids.contains(&deletion.id) {
                    Presence::Listed
                } else {
                    Presence::Absent
                };
                plan.add(deletion, decide_deletion(prior, presence));
            }
            Some(ConnectionState::Unusable(failure)) => match prior {
                Prior::Settled(record) => plan.done.push(record),
                Prior::Fresh | Prior::MaybeApplied(_) => plan.settled.push(RowRecord {
                    environment_id: Some(deletion.id),
                    ..deletion.key.failed(Status::Failed, failure)
                }),
            },
            None => plan.add(deletion, decide_deletion(prior, Presence::Listed)),
        }
    }
    plan
}
