//! End to end: the run-wide retry budget (`--retry-budget`) caps what a failing server costs,
//! and `--max-failures` still aborts a run going badly.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;

/// Every create answered 503 (and not applied), with retries that would otherwise go on.
fn failing_server() -> omni_dbt_sandbox::SandboxConfig {
    fast_sandbox().with_faults("post:503=1.0".parse().unwrap())
}

const FAST_RETRIES: [&str; 6] = [
    "--max-attempts",
    "6",
    "--backoff-initial",
    "1ms",
    "--backoff-max",
    "2ms",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_retry_budget_fails_the_remaining_rows_as_exhausted_without_retrying_them() {
    let rows = spread_rows(30, 1);
    let scenario = Scenario::csv(failing_server(), &rows).await;
    let out = scenario
        .cli()
        .unlimited_rate()
        .args(FAST_RETRIES)
        .args(["--retry-budget", "20", "--concurrency", "2"])
        .run()
        .await;
    out.assert_code(1);

    // A retry after a 5xx costs 5 tokens; the only successes, the listings that found each
    // lost create absent, put one back each (never beyond the 20). Every other row is sent
    // once.
    let snapshot = scenario.snapshot();
    let listings = requests_of(&snapshot, omni_dbt_sandbox::ApiMethod::Get);
    let retries = posts(&snapshot) - rows.len() as u64;
    assert!(
        (4..=(20 + listings) / 5).contains(&retries),
        "{retries} retries, {listings} listings"
    );
    assert!(retries < rows.len() as u64 / 2, "{retries} retries");
    assert_eq!(snapshot.creates_applied, 0);
    for record in scenario.records_in_row_order(rows.len()) {
        assert_eq!(record.status, "failed", "{record:?}");
        assert_eq!(
            record.error_kind.as_deref(),
            Some("exhausted"),
            "{record:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_failures_still_aborts_a_run_the_budget_lets_retry() {
    let rows = spread_rows(40, 1);
    let scenario = Scenario::csv(failing_server(), &rows).await;
    let out = scenario
        .cli()
        .unlimited_rate()
        .args(FAST_RETRIES)
        .args(["--max-failures", "3", "--concurrency", "1"])
        .run()
        .await;
    out.assert_code(3);
    let records = scenario.records_in_row_order(rows.len());
    let failed = records.iter().filter(|r| r.status == "failed").count();
    assert!(failed > 3, "{failed} failed");
    for record in records.iter().filter(|r| r.status != "failed") {
        assert_eq!(record.status, "skipped", "{record:?}");
        assert_eq!(record.error_kind.as_deref(), Some("aborted"), "{record:?}");
    }
    assert!(
        posts(&scenario.snapshot()) < 40 * 6,
        "the run stopped sending before every row spent its attempts"
    );
}
