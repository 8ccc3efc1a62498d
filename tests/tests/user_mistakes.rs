//! End to end: mistakes users make. A base URL every connection answers 404 to is named as the
//! likely cause; names with surrounding spaces are trimmed, for creating and matching alike.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ConnectionMode, SeedConnection, SeedEnvironment};
use uuid::Uuid;

const WRONG_BASE_URL_HINT: &str = "the base URL may be wrong";

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_every_connection_answers_404_to_is_named_as_the_likely_cause() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(4, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    // A path prefix the server does not serve: every request answers 404.
    let wrong = format!("{}/omni", sandbox.base_url());

    let out = cli()
        .arg("run")
        .arg(&input)
        .args(["--base-url", &wrong, "--rate", "unlimited"])
        .env("OMNI_API_TOKEN", sandbox.token())
        .run()
        .await;
    out.assert_code(1);
    for record in records_by_row(&read_results(&default_results(&input)), rows.len()) {
        assert_eq!(
            record.error_kind.as_deref(),
            Some("not_found"),
            "{record:?}"
        );
    }
    assert!(
        out.stdout.contains(WRONG_BASE_URL_HINT)
            && out.stdout.contains(&format!("{wrong}/api/v1/connections")),
        "the summary names the base URL used\n{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_missing_connection_among_found_ones_does_not_blame_the_base_url() {
    let found = Uuid::new_v4();
    let config = fast_sandbox()
        .with_connection_mode(ConnectionMode::Listed)
        .with_connection(SeedConnection::dbt(found));
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = rows_over(4, &[found, Uuid::new_v4()]);
    let input = write_csv(dir.path(), "envs.csv", &rows);

    let out = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await;
    out.assert_code(1);
    assert!(!out.mentions(WRONG_BASE_URL_HINT), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn names_with_surrounding_spaces_are_trimmed_for_creating_and_matching_alike() {
    let connection = Uuid::new_v4();
    let seeded = SeedConnection::dbt(connection)
        .with_environment(SeedEnvironment::new("alpha", "dbt_alpha"));
    let sandbox = start_sandbox(fast_sandbox().with_connection(seeded)).await;
    let alpha_id = sandbox_id(&sandbox.snapshot(), connection, "alpha");
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        InputRow::new(connection, " alpha ", "dbt_alpha"),
        InputRow::new(connection, " beta ", "dbt_beta"),
    ];
    let input = write_csv(dir.path(), "envs.csv", &rows);

    cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await
        .assert_code(0);

    let snapshot = sandbox.snapshot();
    let records = read_results(&default_results(&input));
    let by_row = records_by_row(&records, rows.len());
    assert_eq!(
        (by_row[0].name.as_str(), by_row[0].status.as_str()),
        ("alpha", "exists")
    );
    assert_eq!(by_row[0].environment_id.as_deref(), Some(alpha_id.as_str()));
    assert_eq!(
        (by_row[1].name.as_str(), by_row[1].status.as_str()),
        ("beta", "created")
    );
    assert_eq!(
        by_row[1].environment_id,
        Some(sandbox_id(&snapshot, connection, "beta")),
        "created as beta"
    );
    assert_eq!(snapshot.environments_named(connection, " beta ").count(), 0);
    assert_eq!(snapshot.creates_applied, 1, "only beta was created");
}
