//! End to end: huge and endless success bodies end each request at its cap, however many are read at once, and a create whose answer cannot be read is adopted, never sent twice.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::FaultKind;

#[tokio::test(flavor = "multi_thread")]
async fn eight_connections_answering_2_gib_pages_at_once_each_fail_at_the_page_cap() {
    let config = fast_sandbox().with_faults("get:huge-body=1:2GiB".parse().unwrap());
    let rows = spread_rows(16, 8);
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario
        .run_unlimited(&["--concurrency", "8", "--max-attempts", "2"])
        .await;

    out.assert_code(1);
    let records = scenario.records_in_row_order(rows.len());
    for record in &records {
        assert_eq!(record.status, "failed", "{record:?}");
        let error = record.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("(a list page) is larger than 32 MiB"),
            "{error}"
        );
    }
    let snapshot = scenario.snapshot();
    assert_eq!(
        snapshot.faults_of(FaultKind::HugeBody),
        8,
        "one listing each"
    );
    assert_eq!(posts(&snapshot), 0, "nothing is created blind");
    assert_eq!(snapshot.environment_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_answered_with_endless_bodies_are_adopted_once_each() {
    let config = fast_sandbox().with_faults("post:endless-body=1".parse().unwrap());
    let rows = spread_rows(6, 2);
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario.run_unlimited(&["--concurrency", "6"]).await;

    out.assert_code(0);
    let snapshot = scenario.snapshot();
    assert_eq!(snapshot.faults_of(FaultKind::EndlessBody), 6);
    assert_all_created(&scenario.records(), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, rows.len());
}
