//! End to end: a server or proxy that answers oddly. A redirect is refused, saying where it
//! pointed and what base URL to use; a create answered with HTML or without an `id` is adopted,
//! never sent twice; page sizes written as floats are read; a base URL copied with `/api/v1`
//! works; a `Retry-After` longer than `--max-retry-after` is cut to it, with a warning.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{FaultKind, RateLimit, RetryAfterHeader, SeedConnection, SeedEnvironment};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_refused_naming_where_it_pointed_and_the_base_url_to_use() {
    let config = fast_sandbox().with_faults("redirect-307=1".parse().unwrap());
    let rows = spread_rows(4, 2);
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario.run_unlimited(&[]).await;

    out.assert_code(1);
    let moved = format!("{}/moved", scenario.sandbox.base_url());
    for record in scenario.records_in_row_order(rows.len()) {
        assert_eq!(record.status, "failed", "{record:?}");
        assert_eq!(record.http_status, Some(307), "{record:?}");
        let error = record.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("a redirect to ")
                && error.contains(&format!("{moved}/api/v1/"))
                && error.contains("redirects are refused")
                && error.contains(&format!("use the base URL {moved} instead")),
            "{error}"
        );
    }
    let snapshot = scenario.snapshot();
    assert_eq!(
        snapshot.faults_of(FaultKind::Redirect307),
        2,
        "one listing each"
    );
    assert_eq!(
        posts(&snapshot),
        0,
        "nothing is created after a refused listing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_answered_with_html_or_without_an_id_are_adopted_once_each() {
    let config = fast_sandbox()
        .with_faults(
            "post:commit-html=0.5,post:commit-no-id=0.5"
                .parse()
                .unwrap(),
        )
        .with_seed(9);
    let rows = spread_rows(12, 3);
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario.run_unlimited(&["--concurrency", "4"]).await;

    out.assert_code(0);
    let snapshot = scenario.snapshot();
    assert_faults_injected(&snapshot, &[FaultKind::CommitHtml, FaultKind::CommitNoId]);
    assert_eq!(
        snapshot.faults_of(FaultKind::CommitHtml) + snapshot.faults_of(FaultKind::CommitNoId),
        rows.len() as u64,
        "every create's answer was spoiled"
    );
    assert_all_created(&scenario.records(), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, rows.len());
    assert_eq!(
        posts(&snapshot),
        rows.len() as u64,
        "adopted, never sent again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_whose_sizes_are_written_as_floats_are_read() {
    let connection = Uuid::new_v4();
    let seeded = SeedConnection::dbt(connection)
        .with_environment(SeedEnvironment::new("env_0001", "dbt_existing"));
    let config = fast_sandbox()
        .with_connection(seeded)
        .with_default_page_size(2)
        .with_faults("get:float-page-info=1".parse().unwrap());
    let rows: Vec<InputRow> = (1..=5)
        .map(|i| InputRow::new(connection, format!("env_{i:04}"), format!("dbt_{i}")))
        .collect();
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario.run_unlimited(&[]).await;

    out.assert_code(0);
    let snapshot = scenario.snapshot();
    assert!(snapshot.faults_of(FaultKind::FloatPageInfo) >= 1);
    let records = scenario.records_in_row_order(rows.len());
    assert_eq!(records[0].status, "exists", "{:?}", records[0]);
    assert_eq!(
        records[0].environment_id.as_deref(),
        Some(sandbox_id(&snapshot, connection, "env_0001").as_str())
    );
    for (record, row) in records.iter().zip(&rows).skip(1) {
        assert_created_as(record, &snapshot, connection, &row.name);
    }
    assert_eq!(posts(&snapshot), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_copied_with_the_api_v1_suffix_is_accepted() {
    let rows = spread_rows(4, 2);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let copied = format!("{}/api/v1", scenario.sandbox.base_url());

    let out = cli()
        .arg("run")
        .arg(&scenario.input)
        .args(["--base-url", &copied, "--rate", "unlimited"])
        .env("OMNI_API_TOKEN", scenario.sandbox.token())
        .run()
        .await;

    out.assert_code(0);
    let snapshot = scenario.snapshot();
    assert_all_created(&scenario.records(), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, rows.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_longer_than_max_retry_after_is_cut_to_it_with_a_warning() {
    // Two requests per 6-second window: the listing and one create. The next create is
    // answered 429 with a Retry-After of about 6 s; cut to 1 s, it is tried again every second
    // until the window reopens (waiting the whole Retry-After, it would meet one 429).
    let connection = Uuid::new_v4();
    let config = fast_sandbox()
        .with_rate_limit(RateLimit::Limited {
            requests: 2,
            window: Duration::from_secs(6),
        })
        .with_retry_after(RetryAfterHeader::Sent);
    let rows = rows_over(2, &[connection]);
    let scenario = Scenario::csv(config, &rows).await;

    let out = scenario
        .run_unlimited(&["--concurrency", "1", "--max-retry-after", "1s"])
        .await;

    out.assert_code(0);
    let snapshot = scenario.snapshot();
    assert_all_created(&scenario.records(), &rows, &snapshot);
    let throttled = snapshot.rate_limited;
    assert!(
        throttled >= 2,
        "tried again before the Retry-After ran out: {throttled} 429s"
    );
    let records = scenario.records_in_row_order(rows.len());
    assert_eq!(
        records[1].attempts,
        Some(u32::try_from(throttled).unwrap() + 1),
        "{:?}",
        records[1]
    );
    let warning = out
        .stderr
        .lines()
        .find(|line| line.contains("Omni's Retry-After asks to wait"))
        .unwrap_or_else(|| panic!("the cut is said\n{}", out.all()));
    assert!(
        warning.contains("WARN") && warning.contains("waiting 1 s instead"),
        "{warning}"
    );
    let asked: u64 = warning
        .split("asks to wait ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("the wait asked for is named: {warning}"));
    assert!((2..=6).contains(&asked), "{warning}");
    assert_eq!(
        out.stderr
            .matches("Omni's Retry-After asks to wait")
            .count(),
        1,
        "said once, not at every 429\n{}",
        out.all()
    );
}
