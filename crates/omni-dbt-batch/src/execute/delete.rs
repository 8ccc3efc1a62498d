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

#[cfg(test)]
#[cfg(feature = "cli")] // the sandbox comes with the command line
mod tests {
    use std::time::Duration;

    use omni_dbt_core::{RateLimit, RetryPolicy};
    use omni_dbt_sandbox::{ApiMethod, Sandbox, SandboxConfig, SeedConnection, SeedEnvironment};

    use super::*;

    const TOKEN: &str = "delete-test-token";

    async fn sandbox(faults: &str) -> (Sandbox, ConnectionId, EnvironmentId) {
        let connection = uuid::Uuid::new_v4();
        let config = SandboxConfig::default()
            .with_token(TOKEN)
            .with_rate_limit(omni_dbt_sandbox::RateLimit::Unlimited)
            .with_faults(faults.parse().unwrap())
            .with_connection(
                SeedConnection::dbt(connection).with_environment(SeedEnvironment::new("old", "s")),
            );
        let sandbox = Sandbox::start(config).await.unwrap();
        let id = sandbox.snapshot().environments_in(connection)[0].id;
        (sandbox, connection.into(), id.into())
    }

    fn client(sandbox: &Sandbox, max_attempts: u32) -> Client {
        Client::builder()
            .base_url(sandbox.base_url())
            .token(TOKEN.to_owned().into())
            .rate_limit(RateLimit::Unlimited)
            .retry_policy(
                RetryPolicy::default()
                    .with_initial_delay(Duration::from_millis(1))
                    .with_max_delay(Duration::from_millis(2))
                    .with_max_attempts(max_attempts),
            )
            .build()
            .unwrap()
    }

    fn deletes_sent(sandbox: &Sandbox) -> u64 {
        sandbox
            .snapshot()
            .requests
            .iter()
            .filter(|r| r.method == ApiMethod::Delete)
            .map(|r| r.count)
            .sum()
    }

    #[tokio::test]
    async fn an_answered_delete_is_deleted_with_one_request() {
        let (sandbox, connection, id) = sandbox("").await;
        let client = client(&sandbox, 3);
        let status = delete_environment(&client, &connection, &id, Sent::Never).await;
        assert_eq!(status.unwrap(), Status::Deleted);
        assert_eq!(client.tally().requests, 1);
    }

    #[tokio::test]
    async fn an_absent_environment_is_gone_unless_an_earlier_delete_may_have_removed_it() {
        let (sandbox, connection, _) = sandbox("").await;
        let client = client(&sandbox, 3);
        let absent = EnvironmentId::new(uuid::Uuid::new_v4());
        let never = delete_environment(&client, &connection, &absent, Sent::Never).await;
        assert_eq!(never.unwrap(), Status::Gone);
        let maybe = delete_environment(&client, &connection, &absent, Sent::MaybeBefore).await;
        assert_eq!(maybe.unwrap(), Status::Deleted);
        assert_eq!(sandbox.snapshot().deletes_applied, 0);
    }

    #[tokio::test]
    async fn a_lost_answer_is_settled_by_listing_the_connection() {
        let (sandbox, connection, id) = sandbox("delete:commit-500=1.0").await;
        let client = client(&sandbox, 3);
        let status = delete_environment(&client, &connection, &id, Sent::Never).await;
        assert_eq!(status.unwrap(), Status::Deleted);
        assert_eq!(sandbox.snapshot().deletes_applied, 1);
        assert_eq!(
            deletes_sent(&sandbox),
            2,
            "the blind retry found it gone (404)"
        );
    }

    #[tokio::test]
    async fn a_delete_that_never_applies_is_sent_a_bounded_number_of_times_then_fails() {
        let (sandbox, connection, id) = sandbox("delete:503=1.0").await;
        let client = client(&sandbox, 2);
        let failed = delete_environment(&client, &connection, &id, Sent::Never).await;
        assert_eq!(failed.unwrap_err().status(), Some(503));
        assert_eq!(deletes_sent(&sandbox), 4, "2 rounds of 2 attempts");
        assert_eq!(
            sandbox
                .snapshot()
                .environments_in(*connection.as_uuid())
                .len(),
            1
        );
    }
}
