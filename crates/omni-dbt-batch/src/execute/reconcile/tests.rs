//! The worker pool against the sandbox: rows in doubt settled by shared listings, creates and
//! deletes, counted on the server.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use omni_dbt_core::{
    Client, ConnectionId, EnvironmentId, ExistenceCheck, NewEnvironment, RateLimit, RetryBudget,
    RetryPolicy,
};
use omni_dbt_sandbox::{ApiMethod, Sandbox, SandboxConfig, SeedConnection, SeedEnvironment};
use tokio::sync::mpsc;

use crate::execute::job::{Job, RowKey, Work};
use crate::execute::workers::{run_workers, KeyClient, PoolSettings};
use crate::plan::decide::Sent;
use crate::record::ledger::Ledger;
use crate::record::{RowRecord, Status};
use crate::report::Reporter;
use crate::stop::StopHandle;

const TOKEN: &str = "reconcile-test-token";

/// Keeps every record the ledger reports.
#[derive(Default)]
struct Records(Mutex<Vec<RowRecord>>);

impl Reporter for Records {
    fn row_finished(&self, record: &RowRecord) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record.clone());
    }
}

/// A sandbox with one connection holding `existing` environments, and `faults`.
async fn sandbox(faults: &str, existing: &[&str]) -> (Sandbox, ConnectionId) {
    let connection = uuid::Uuid::new_v4();
    let seeded = existing
        .iter()
        .fold(SeedConnection::dbt(connection), |seed, name| {
            seed.with_environment(SeedEnvironment::new(*name, "s"))
        });
    let config = SandboxConfig::default()
        .with_token(TOKEN)
        .with_rate_limit(omni_dbt_sandbox::RateLimit::Unlimited)
        .with_faults(faults.parse().unwrap())
        .with_seed(5)
        .with_connection(seeded);
    (Sandbox::start(config).await.unwrap(), connection.into())
}

fn client(sandbox: &Sandbox, max_attempts: u32, budget: u32) -> Client {
    Client::builder()
        .base_url(sandbox.base_url())
        .token(TOKEN.to_owned().into())
        .rate_limit(RateLimit::Unlimited)
        .retry_budget(RetryBudget::new(budget))
        .retry_policy(
            RetryPolicy::default()
                .with_initial_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(2))
                .with_max_attempts(max_attempts),
        )
        .build()
        .unwrap()
}

fn key(connection: ConnectionId, row: u64, name: &str) -> RowKey {
    RowKey {
        row,
        line: row + 1,
        connection_id: connection.to_string(),
        name: name.to_owned(),
        fingerprint: format!("f{row}"),
    }
}

fn create(connection: ConnectionId, row: u64, check: ExistenceCheck) -> Job {
    let name = format!("env_{row:03}");
    Job {
        key: key(connection, row, &name),
        connection,
        work: Work::Create {
            environment: Box::new(NewEnvironment::new(name, "schema")),
            check,
        },
    }
}

fn delete(connection: ConnectionId, id: EnvironmentId, sent: Sent) -> Job {
    Job {
        key: key(connection, 1, "old"),
        connection,
        work: Work::Delete { id, sent },
    }
}

/// Runs `jobs` through a pool of `concurrency` workers; returns the records by row.
async fn settle_all(client: Client, jobs: Vec<Job>, concurrency: usize) -> Vec<RowRecord> {
    let records = Arc::new(Records::default());
    let ledger = Arc::new(Ledger::new(None, records.clone(), StopHandle::new(), None));
    let (tx, rx) = mpsc::channel(jobs.len().max(1));
    for job in jobs {
        tx.send(job).await.unwrap();
    }
    drop(tx);
    let keys = [KeyClient {
        label: "KEY".into(),
        client,
    }];
    let settings = PoolSettings {
        concurrency,
        grace: Duration::from_secs(1),
    };
    run_workers(
        rx,
        &keys,
        ledger,
        settings,
        &std::collections::HashMap::new(),
    )
    .await
    .unwrap();
    let mut all = records.0.lock().unwrap().clone();
    all.sort_by_key(|r| r.row);
    all
}

fn sent(sandbox: &Sandbox, method: ApiMethod) -> u64 {
    sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.count)
        .sum()
}

#[tokio::test]
async fn creates_of_one_connection_whose_answers_were_lost_share_one_listing() {
    let (sandbox, connection) = sandbox("post:commit-500=1.0", &[]).await;
    let jobs = (1..=12)
        .map(|row| create(connection, row, ExistenceCheck::AssumeAbsent))
        .collect();
    let records = settle_all(client(&sandbox, 6, 500), jobs, 4).await;
    assert_eq!(records.len(), 12);
    let snapshot = sandbox.snapshot();
    for record in &records {
        assert_eq!(record.status, Status::Created, "{record:?}");
        let id = snapshot
            .environments_named(*connection.as_uuid(), &record.name)
            .next()
            .unwrap()
            .id;
        assert_eq!(record.environment_id, Some(id.into()));
        assert_eq!(record.attempts, 1, "its own request; the listing is shared");
    }
    assert_eq!(snapshot.creates_applied, 12);
    assert_eq!(sent(&sandbox, ApiMethod::Post), 12, "none sent twice");
    assert_eq!(
        sent(&sandbox, ApiMethod::Get),
        1,
        "one listing (one page) for all"
    );
}

#[tokio::test]
async fn creates_a_listing_lacks_are_sent_again_and_created_once() {
    let (sandbox, connection) = sandbox("post:500=0.5", &[]).await;
    let jobs = (1..=20)
        .map(|row| create(connection, row, ExistenceCheck::AssumeAbsent))
        .collect();
    let records = settle_all(client(&sandbox, 10, 500), jobs, 4).await;
    assert!(
        records.iter().all(|r| r.status == Status::Created),
        "{records:?}"
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.creates_applied, 20);
    assert_eq!(snapshot.duplicates_created, 0);
    let resent = sent(&sandbox, ApiMethod::Post) - 20;
    assert!(resent > 0, "some were sent again");
    assert!(
        sent(&sandbox, ApiMethod::Get) <= resent,
        "never more listings than rows sent again"
    );
}

#[tokio::test]
async fn a_create_an_earlier_run_may_have_sent_is_adopted_without_sending_or_else_sent_once() {
    let (sandbox, connection) = sandbox("", &["env_001"]).await;
    let jobs = vec![
        create(connection, 1, ExistenceCheck::LookFirst),
        create(connection, 2, ExistenceCheck::LookFirst),
    ];
    let records = settle_all(client(&sandbox, 3, 500), jobs, 2).await;
    assert_eq!(
        records[0].status,
        Status::Created,
        "adopted: {:?}",
        records[0]
    );
    assert_eq!(records[0].attempts, 0);
    assert_eq!(records[1].status, Status::Created);
    assert_eq!(sent(&sandbox, ApiMethod::Post), 1, "only the absent one");
    assert_eq!(sandbox.snapshot().duplicates_created, 0);
}

#[tokio::test]
async fn a_spent_budget_stops_sending_again_what_a_listing_lacks() {
    let (sandbox, connection) = sandbox("post:500=1.0", &[]).await;
    let jobs = (1..=4)
        .map(|row| create(connection, row, ExistenceCheck::AssumeAbsent))
        .collect();
    let records = settle_all(client(&sandbox, 6, 0), jobs, 2).await;
    for record in &records {
        assert_eq!(record.status, Status::Failed);
        assert_eq!(record.error_kind, Some(crate::record::ErrorKind::Exhausted));
    }
    assert_eq!(sent(&sandbox, ApiMethod::Post), 4, "each sent once");
}

async fn seeded_delete(faults: &str) -> (Sandbox, ConnectionId, EnvironmentId) {
    let (sandbox, connection) = sandbox(faults, &["old"]).await;
    let id = sandbox.snapshot().environments_in(*connection.as_uuid())[0].id;
    (sandbox, connection, id.into())
}

#[tokio::test]
async fn an_answered_delete_is_deleted_with_one_request() {
    let (sandbox, connection, id) = seeded_delete("").await;
    let records = settle_all(
        client(&sandbox, 3, 500),
        vec![delete(connection, id, Sent::Never)],
        1,
    )
    .await;
    assert_eq!(records[0].status, Status::Deleted);
    assert_eq!(sandbox.snapshot().total_requests(), 1);
}

#[tokio::test]
async fn an_absent_environment_is_gone_unless_an_earlier_delete_may_have_removed_it() {
    let (sandbox, connection, _) = seeded_delete("").await;
    let absent = EnvironmentId::new(uuid::Uuid::new_v4());
    let never = settle_all(
        client(&sandbox, 3, 500),
        vec![delete(connection, absent, Sent::Never)],
        1,
    )
    .await;
    assert_eq!(never[0].status, Status::Gone);
    let maybe = settle_all(
        client(&sandbox, 3, 500),
        vec![delete(connection, absent, Sent::MaybeBefore)],
        1,
    )
    .await;
    assert_eq!(maybe[0].status, Status::Deleted);
    assert_eq!(sandbox.snapshot().deletes_applied, 0);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_settled_by_a_listing() {
    let (sandbox, connection, id) = seeded_delete("delete:commit-500=1.0").await;
    let records = settle_all(
        client(&sandbox, 3, 500),
        vec![delete(connection, id, Sent::Never)],
        1,
    )
    .await;
    assert_eq!(records[0].status, Status::Deleted);
    assert_eq!(sandbox.snapshot().deletes_applied, 1);
    assert_eq!(
        sent(&sandbox, ApiMethod::Delete),
        2,
        "the client's retry found it gone (404)"
    );
    assert_eq!(sent(&sandbox, ApiMethod::Get), 1);
}

#[tokio::test]
async fn a_delete_that_never_applies_is_sent_a_bounded_number_of_times_then_fails() {
    let (sandbox, connection, id) = seeded_delete("delete:503=1.0").await;
    let records = settle_all(
        client(&sandbox, 2, 500),
        vec![delete(connection, id, Sent::Never)],
        1,
    )
    .await;
    assert_eq!(records[0].status, Status::Failed);
    assert_eq!(records[0].http_status, Some(503));
    assert_eq!(
        sent(&sandbox, ApiMethod::Delete),
        4,
        "2 sends of 2 attempts"
    );
    assert_eq!(
        sandbox
            .snapshot()
            .environments_in(*connection.as_uuid())
            .len(),
        1
    );
}

#[tokio::test]
async fn a_retry_is_paid_for_when_sent_and_repaid_when_it_succeeds() {
    // About ten lost creates, retried after one listing: paid for all at once they would need
    // some 50 tokens; paid as each is sent and repaid when it succeeds, 25 carry them.
    let (sandbox, connection) = sandbox("post:500=0.25", &[]).await;
    let jobs = (1..=40)
        .map(|row| create(connection, row, ExistenceCheck::AssumeAbsent))
        .collect();
    let records = settle_all(client(&sandbox, 10, 25), jobs, 1).await;
    assert!(
        records.iter().all(|r| r.status == Status::Created),
        "{records:?}"
    );
    assert_eq!(sandbox.snapshot().duplicates_created, 0);
    assert!(
        sent(&sandbox, ApiMethod::Post) > 40 + 5,
        "more retries than 25 tokens pay for at once"
    );
}
