//! End to end: valid inputs (CSV, JSONL, stdin, the repository's fixtures) are created exactly once.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;

const ROWS: usize = 50;
const CONNECTIONS: usize = 5;

/// Runs `rows` (already written to `input`) and checks the outcome: exit 0, one `created`
/// record per row mapped to the sandbox's ids, one POST per row, no duplicates.
async fn check_created(
    rows: &[InputRow],
    run: Cli,
    results: &std::path::Path,
    sandbox: &omni_dbt_sandbox::Sandbox,
) {
    let out = run.run().await;
    out.assert_code(0);
    let snapshot = sandbox.snapshot();
    assert_all_created(&read_results(results), rows, &snapshot);
    assert_eq!(posts(&snapshot), rows.len() as u64, "one POST per row");
    assert_eq!(snapshot.environment_count(), rows.len());
    assert!(
        !journal_of(results).exists(),
        "the journal is deleted after a completed run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_rows_are_each_created_once_with_the_sandbox_ids() {
    let rows = spread_rows(ROWS, CONNECTIONS);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let run = scenario.cli().unlimited_rate();
    check_created(&rows, run, &scenario.results(), &scenario.sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_rows_are_each_created_once_with_the_sandbox_ids() {
    let rows = spread_rows(ROWS, CONNECTIONS);
    let scenario = Scenario::jsonl(fast_sandbox(), &rows).await;
    let run = scenario.cli().unlimited_rate();
    let results = scenario.dir().join("envs.results.csv");
    check_created(&rows, run, &results, &scenario.sandbox).await;
}

/// Feeds the rows, as `text` writes them, to `run -` with `format_args` and an explicit
/// `--results`, and checks them with [`check_created`].
async fn stdin_is_created(text: fn(&[InputRow]) -> String, format_args: &[&str]) {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, CONNECTIONS);
    let results = dir.path().join("out.results.csv");
    let run = cli()
        .run_against(&sandbox, "-")
        .unlimited_rate()
        .args(format_args)
        .arg("--results")
        .arg(&results)
        .stdin(text(&rows));
    check_created(&rows, run, &results, &sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_from_stdin_with_an_explicit_format_is_created() {
    stdin_is_created(csv_text, &["--format", "csv"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_from_stdin_is_sniffed_and_created() {
    stdin_is_created(jsonl_text, &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stdin_without_results_flag_writes_stdin_results_in_the_working_directory() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(5, 1);
    let run = cli()
        .run_against(&sandbox, "-")
        .unlimited_rate()
        .current_dir(dir.path())
        .stdin(csv_text(&rows));
    check_created(&rows, run, &dir.path().join("stdin.results.csv"), &sandbox).await;
}

/// The fixtures' rows, read back from the results the run wrote: (connection, name).
fn keys_of(records: &[ResultRecord]) -> Vec<(uuid::Uuid, String)> {
    records
        .iter()
        .map(|r| (r.connection_id.parse().unwrap(), r.name.clone()))
        .collect()
}

async fn fixture_is_created(file_name: &str, expected_rows: usize) {
    let scenario = Scenario::with_input(fast_sandbox(), |dir| copy_fixture(dir, file_name)).await;
    scenario.run_unlimited(&[]).await.assert_code(0);
    let records = scenario.records();
    let snapshot = scenario.snapshot();
    records_by_row(&records, expected_rows);
    assert_eq!(snapshot.duplicates_created, 0);
    assert_eq!(posts(&snapshot), expected_rows as u64);
    assert_eq!(snapshot.environment_count(), expected_rows);
    for (record, (connection, name)) in records.iter().zip(keys_of(&records)) {
        assert_created_as(record, &snapshot, connection, &name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_csv_fixture_is_created_in_full() {
    let data_rows = std::fs::read_to_string(fixtures_dir().join("environments.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    fixture_is_created("environments.csv", data_rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jsonl_fixture_is_created_in_full() {
    let data_rows = std::fs::read_to_string(fixtures_dir().join("environments.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    fixture_is_created("environments.jsonl", data_rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jsonl_results_path_gets_one_json_record_per_row() {
    let rows = spread_rows(20, 2);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let results = scenario.dir().join("out.jsonl");
    let run = scenario
        .cli()
        .unlimited_rate()
        .arg("--results")
        .arg(&results);
    check_created(&rows, run, &results, &scenario.sandbox).await;
    let text = std::fs::read_to_string(&results).unwrap();
    assert_eq!(
        text.lines().count(),
        rows.len(),
        "no header, one line per row"
    );
    assert!(
        !scenario.results().exists(),
        "only the requested file is written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_json_counts_every_row_and_carries_the_exit_code() {
    let scenario = Scenario::csv(fast_sandbox(), &spread_rows(12, 3)).await;
    let summary_path = scenario.dir().join("summary.json");
    let out = scenario
        .cli()
        .unlimited_rate()
        .arg("--summary-json")
        .arg(&summary_path)
        .run()
        .await;
    out.assert_code(0);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["outcome"], "succeeded");
    assert_eq!(summary["rows"], 12);
    assert_eq!(summary["counts"]["created"], 12);
    assert_eq!(summary["counts"]["failed"], 0);
    assert_eq!(summary["requests"], scenario.snapshot().total_requests());
    assert!(summary["results_path"]
        .as_str()
        .unwrap()
        .ends_with("envs.results.csv"));
}
