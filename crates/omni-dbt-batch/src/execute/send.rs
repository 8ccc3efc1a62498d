//! One send of a row's request, and what its answer means: done, failed, or in doubt (the
//! row is then parked for a listing to settle).

use omni_dbt_core::{Client, EnvironmentId, Error, ExistenceCheck};

use crate::execute::delete::send_delete;
use crate::execute::job::{Job, Work};
use crate::execute::reconcile::parked::{create_doubt, Doubt};
use crate::record::Status;

/// What one send of a row's request came to.
#[derive(Debug)]
pub(crate) enum Sent {
    /// Applied: the row's status and its environment.
    Done(Status, EnvironmentId),
    /// Refused, or failed in a way that shows it was not applied... or, for a request that
    /// may be sent twice safely (an update), failed after its retries.
    Failed(Error),
    /// May have been applied: a listing must say.
    InDoubt(Doubt, Error),
    /// Not sent: an earlier run may have sent it, and a listing must say first.
    LookFirst,
}

/// Sends `job`'s request once (with the client's retries of what is safe to retry).
pub(crate) async fn send(client: &Client, job: &Job) -> Sent {
    match &job.work {
        Work::Create {
            check: ExistenceCheck::LookFirst,
            ..
        } => Sent::LookFirst,
        Work::Create { environment, .. } => {
            match client
                .create_environment(&job.connection, environment)
                .await
            {
                Ok(created) => Sent::Done(Status::Created, created.id),
                Err(error) => match create_doubt(&error) {
                    Some(doubt) => Sent::InDoubt(doubt, error),
                    None => Sent::Failed(error),
                },
            }
        }
        Work::Update { id, update } => {
            match client.update_environment(&job.connection, id, update).await {
                Ok(updated) => Sent::Done(Status::Updated, updated.id),
                Err(error) => Sent::Failed(error),
            }
        }
        Work::Delete { id, sent } => send_delete(client, &job.connection, id, *sent).await,
    }
}
