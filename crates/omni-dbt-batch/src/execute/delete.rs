//! What a delete's answer means: deleted, failed, or in doubt (a lost answer, a 404), when a
//! listing of the connection decides (see `reconcile::verdict`), never an assumption.
//!
//! Ids are never reused, so sending a delete again can never remove anything but the
//! environment meant.

use omni_dbt_core::{Client, ConnectionId, EnvironmentId};

use crate::execute::reconcile::parked::{DeleteAnswer, Doubt, Ours};
use crate::execute::send::Sent;
use crate::plan::decide::Sent as SentBefore;
use crate::record::Status;

/// Sends the delete of environment `id` of `connection` once (with the client's retries).
///
/// A success is [`Status::Deleted`]. A lost answer (timeout, broken connection, 5xx after the
/// retries) or a 404 is in doubt: a listing says whether the environment is still there, and
/// whether a delete of ours may have removed it (an earlier run's, `before`; a copy the
/// client retried; a lost one) decides between deleted and already gone.
pub(crate) async fn send_delete(
    client: &Client,
    connection: &ConnectionId,
    id: &EnvironmentId,
    before: SentBefore,
) -> Sent {
    let before_requests = client.tally().requests;
    let error = match client.delete_environment(connection, id).await {
        Ok(_) => return Sent::Done(Status::Deleted, *id),
        Err(error) => error,
    };
    let copies_sent = client.tally().requests - before_requests;
    let answer = if error.status() == Some(404) {
        DeleteAnswer::NotFound
    } else if error.is_ambiguous() {
        DeleteAnswer::Lost
    } else {
        return Sent::Failed(error);
    };
    // An earlier copy of this delete (retried by the client) may be the one that applied.
    let maybe_ours = before == SentBefore::MaybeBefore || error.is_ambiguous() || copies_sent > 1;
    let ours = if maybe_ours { Ours::Maybe } else { Ours::No };
    Sent::InDoubt(Doubt::Delete { ours, answer }, error)
}
