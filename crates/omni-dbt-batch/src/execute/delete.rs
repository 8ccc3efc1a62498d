//! The reconciling delete: an environment removed by id, where a lost answer is never assumed
//! to mean either outcome, but settled by listing the connection.
//!
//! This is the one place that decides what a delete's answer means; a client-side reconciling
//! delete can replace it without touching its callers.

use omni_dbt_core::{Client, ConnectionId, EnvironmentId, Error};

use crate::plan::decide::Sent;
use crate::record::Status;

/// How many times a delete is sent again after listing found the environment still there:
/// each send already carries the client's own retries.
const MAX_ROUNDS: u32 = 3;

/// Deletes environment `id` of `connection` and says how it ended: [`Status::Deleted`], or
/// [`Status::Gone`] when it was absent before any delete of ours could have been applied.
///
/// A delete whose answer is lost (timeout, dropped connection, 5xx) or that is answered 404 is
/// reconciled by listing the connection: absent means deleted (by us when a delete of ours may
/// have been applied, `sent` included); present means it is sent again, at most
/// [`MAX_ROUNDS`] times in all. Ids are never reused, so a second delete can never remove
/// anything but the environment meant.
pub(crate) async fn delete_environment(
    client: &Client,
    connection: &ConnectionId,
    id: &EnvironmentId,
    sent: Sent,
) -> Result<Status, Error> {
    let mut maybe_applied = sent == Sent::MaybeBefore;
    let rounds = client.retry_policy().max_attempts.clamp(1, MAX_ROUNDS);
    let mut round = 0;
    loop {
        round += 1;
        let before = client.tally().requests;
        let answer = client.delete_environment(connection, id).await;
        let copies_sent = client.tally().requests - before;
        let error = match answer {
            Ok(_) => return Ok(Status::Deleted),
            Err(error) => error,
        };
        let not_found = error.status() == Some(404);
        if !not_found && !error.is_ambiguous() {
            return Err(error);
        }
        // An earlier copy of this delete (retried by the client) may be the one that applied.
        maybe_applied |= error.is_ambiguous() || copies_sent > 1;
        if !is_listed(client, connection, id).await? {
            return Ok(if maybe_applied {
                Status::Deleted
            } else {
                Status::Gone
            });
        }
        if not_found || round >= rounds {
            return Err(error);
        }
        tracing::debug!(%id, %error, "the delete's answer was lost and the environment is still there: sending it again");
    }
}

/// Whether `connection` lists environment `id` (every page).
async fn is_listed(
    client: &Client,
    connection: &ConnectionId,
    id: &EnvironmentId,
) -> Result<bool, Error> {
    let environments = client.list_environments(connection).await?;
    Ok(environments.iter().any(|environment| environment.id == *id))
}
