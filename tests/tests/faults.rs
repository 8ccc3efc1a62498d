//! End to end: injected server faults (5xx, 429, drops, commit-then-fail, slow commits) never cost a row or make a duplicate.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::FaultKind;

/// 10% plain 5xx, 5% 429 without Retry-After, 5% commit-then-fail, 3% drops (before the
/// request is applied), 2% commit-then-drop.
const FAULT_MIX: &str = "500=0.04,502=0.03,503=0.03,429=0.05,commit-500=0.03,commit-503=0.02,drop=0.03,commit-drop=0.02";

#[tokio::test(flavor = "multi_thread")]
async fn every_row_is_created_exactly_once_despite_a_mix_of_injected_faults() {
    let config = fast_sandbox()
        .with_faults(FAULT_MIX.parse().unwrap())
        .with_seed(7);
    let rows = spread_rows(300, 10);
    let scenario = Scenario::csv(config, &rows).await;
    let out = scenario
        .run_unlimited(&["--max-attempts", "10", "--timeout", "5s"])
        .await;
    out.assert_code(0);

    let snapshot = scenario.snapshot();
    let records = scenario.records();
    assert_all_created(&records, &rows, &snapshot);
    assert_server_created_once_each(&snapshot, rows.len());
    assert_faults_injected(
        &snapshot,
        &[
            FaultKind::Status500,
            FaultKind::Status502,
            FaultKind::Status503,
            FaultKind::TooManyRequests,
            FaultKind::Commit500,
            FaultKind::Commit503,
            FaultKind::Drop,
            FaultKind::CommitDrop,
        ],
    );
    assert!(
        records.iter().any(|r| r.attempts.unwrap_or(0) > 1),
        "some rows needed more than one request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_whose_response_outlives_the_timeout_are_adopted_not_duplicated() {
    let config = fast_sandbox()
        .with_faults("post:commit-slow=0.15:3s".parse().unwrap())
        .with_seed(11);
    let rows = spread_rows(60, 4);
    let scenario = Scenario::csv(config, &rows).await;
    let out = scenario
        .run_unlimited(&["--timeout", "1s", "--concurrency", "16"])
        .await;
    out.assert_code(0);

    let snapshot = scenario.snapshot();
    assert!(
        snapshot.faults_of(FaultKind::CommitSlow) > 0,
        "{:?}",
        snapshot.faults
    );
    assert_all_created(&scenario.records(), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, rows.len());
}
