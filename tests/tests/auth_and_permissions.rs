//! End to end: a wrong token aborts the run, forbidden and missing connections fail only their own rows, and `--max-failures` aborts a failing run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ApiMethod, SeedConnection};

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_aborts_with_exit_3_sends_no_create_and_skips_every_row() {
    let connections_count = 5;
    let rows = spread_rows(30, connections_count);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let out = scenario
        .cli()
        .unlimited_rate()
        .env("OMNI_API_TOKEN", "not-the-sandbox-token")
        .run()
        .await;
    out.assert_code(3);
    assert!(
        out.mentions("401"),
        "the output names the 401\n{}",
        out.all()
    );

    let snapshot = scenario.snapshot();
    assert_eq!(
        posts(&snapshot),
        0,
        "no create is sent with a rejected token"
    );
    assert!(
        snapshot.total_requests() <= connections_count as u64,
        "the run stops at the first 401 ({} requests)",
        snapshot.total_requests()
    );
    assert!(snapshot.requests_with(ApiMethod::Get, 401) >= 1);
    for record in scenario.records_in_row_order(rows.len()) {
        assert_eq!(record.status, "skipped", "{record:?}");
        assert_eq!(record.error_kind.as_deref(), Some("aborted"), "{record:?}");
        assert_eq!(record.environment_id, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_forbidden_and_missing_connections_fail_alone_and_others_are_created() {
    let [forbidden, missing, good_a, good_b] = [(); 4].map(|_| uuid::Uuid::new_v4());
    let config = fast_sandbox()
        .with_connection(SeedConnection::without_dbt(forbidden))
        .with_connection(SeedConnection::missing(missing));
    let rows = rows_over(20, &[forbidden, missing, good_a, good_b]);
    let scenario = Scenario::csv(config, &rows).await;
    let out = scenario.run_unlimited(&[]).await;
    out.assert_code(1);

    let snapshot = scenario.snapshot();
    let mut created = 0;
    for (record, row) in scenario.records_in_row_order(rows.len()).iter().zip(&rows) {
        let expected_kind = if row.connection_id == forbidden {
            Some("forbidden")
        } else if row.connection_id == missing {
            Some("not_found")
        } else {
            None
        };
        match expected_kind {
            Some(kind) => {
                assert_eq!(record.status, "failed", "{record:?}");
                assert_eq!(record.error_kind.as_deref(), Some(kind), "{record:?}");
                assert_eq!(record.environment_id, None);
            }
            None => {
                created += 1;
                assert_created_as(record, &snapshot, row.connection_id, &row.name);
            }
        }
    }
    assert_eq!(created, 10);
    assert_eq!(
        posts(&snapshot),
        created,
        "creates went only to the connections that can take them"
    );
    assert!(snapshot.environments_in(forbidden).is_empty());
    assert!(snapshot.environments_in(missing).is_empty());
    assert_eq!(snapshot.duplicates_created, 0);
}

/// Runs `rows` rows of a connection that answers 403, one at a time with no listing (so each
/// row's own create meets the 403 and the abort point is exact), under `--max-failures
/// threshold`. Expects exit 3; returns the scenario and one record per row.
async fn run_forbidden_rows(rows: usize, threshold: &str) -> (Scenario, Vec<ResultRecord>) {
    let forbidden = uuid::Uuid::new_v4();
    let config = fast_sandbox().with_connection(SeedConnection::without_dbt(forbidden));
    let rows = rows_over(rows, &[forbidden]);
    let scenario = Scenario::csv(config, &rows).await;
    let out = scenario
        .run_unlimited(&[
            "--existing",
            "ignore",
            "--concurrency",
            "1",
            "--max-failures",
            threshold,
        ])
        .await;
    out.assert_code(3);
    let records = scenario.records();
    assert_eq!(
        records_by_row(&records, rows.len()).len(),
        rows.len(),
        "one record per row"
    );
    (scenario, records)
}

#[tokio::test(flavor = "multi_thread")]
async fn max_failures_aborts_with_exit_3_and_skips_the_rows_after_the_abort() {
    let (scenario, records) = run_forbidden_rows(20, "5").await;
    let failed: Vec<_> = records.iter().filter(|r| r.status == "failed").collect();
    let skipped: Vec<_> = records.iter().filter(|r| r.status == "skipped").collect();
    assert_eq!(
        failed.len(),
        6,
        "the run aborts when more than 5 rows have failed"
    );
    assert_eq!(failed.len() + skipped.len(), records.len());
    for record in &failed {
        assert_eq!(
            record.error_kind.as_deref(),
            Some("forbidden"),
            "{record:?}"
        );
    }
    for record in &skipped {
        assert_eq!(record.error_kind.as_deref(), Some("aborted"), "{record:?}");
    }
    let last_failed = failed.iter().map(|r| r.row).max().unwrap();
    let first_skipped = skipped.iter().map(|r| r.row).min().unwrap();
    assert!(
        last_failed < first_skipped,
        "rows after the abort are the skipped ones"
    );
    let sent = posts(&scenario.snapshot());
    assert!(
        (1..=failed.len() as u64).contains(&sent),
        "only failed rows were sent ({sent} creates), skipped rows never"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_on_create_aborts_with_exit_3_and_skips_the_rows_not_sent() {
    let rows = spread_rows(40, 2);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    // `--existing ignore` skips the listing, so the first creates meet the 401.
    let out = scenario
        .cli()
        .unlimited_rate()
        .env("OMNI_API_TOKEN", "revoked-token")
        .args(["--existing", "ignore", "--concurrency", "4"])
        .run()
        .await;
    out.assert_code(3);
    assert!(out.mentions("401"), "{}", out.all());

    let snapshot = scenario.snapshot();
    let sent = posts(&snapshot);
    assert!(
        (1..=4).contains(&sent),
        "at most the creates in flight were sent ({sent})"
    );
    assert_eq!(snapshot.environment_count(), 0);
    let records = scenario.records_in_row_order(rows.len());
    let mut skipped = 0;
    for record in records {
        match record.status.as_str() {
            "failed" => assert_eq!(record.error_kind.as_deref(), Some("auth"), "{record:?}"),
            "skipped" => {
                skipped += 1;
                assert_eq!(record.error_kind.as_deref(), Some("aborted"), "{record:?}");
            }
            other => panic!("unexpected status {other}: {record:?}"),
        }
    }
    assert!(skipped >= rows.len() - 4, "the rows never sent are skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_max_failures_percentage_aborts_once_that_share_of_rows_has_failed() {
    // 40 rows, all forbidden: 25% is 10 rows, so the 11th failure aborts.
    let (_scenario, records) = run_forbidden_rows(40, "25%").await;
    let failed = records.iter().filter(|r| r.status == "failed").count();
    let skipped = records
        .iter()
        .filter(|r| r.status == "skipped" && r.error_kind.as_deref() == Some("aborted"))
        .count();
    assert_eq!(
        failed, 11,
        "the run aborts when more than 25% of 40 rows have failed"
    );
    assert_eq!(skipped, records.len() - failed);
}
