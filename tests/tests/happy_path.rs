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
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, CONNECTIONS);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let run = cli().run_against(&sandbox, &input).unlimited_rate();
    check_created(&rows, run, &default_results(&input), &sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_rows_are_each_created_once_with_the_sandbox_ids() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, CONNECTIONS);
    let input = write_jsonl(dir.path(), "envs.jsonl", &rows);
    let run = cli().run_against(&sandbox, &input).unlimited_rate();
    check_created(&rows, run, &dir.path().join("envs.results.csv"), &sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_from_stdin_with_an_explicit_format_is_created() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, CONNECTIONS);
    let results = dir.path().join("out.results.csv");
    let run = cli()
        .run_against(&sandbox, "-")
        .unlimited_rate()
        .args(["--format", "csv", "--results"])
        .arg(&results)
        .stdin(csv_text(&rows));
    check_created(&rows, run, &results, &sandbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_from_stdin_is_sniffed_and_created() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, CONNECTIONS);
    let results = dir.path().join("out.results.csv");
    let run = cli()
        .run_against(&sandbox, "-")
        .unlimited_rate()
        .arg("--results")
        .arg(&results)
        .stdin(jsonl_text(&rows));
    check_created(&rows, run, &results, &sandbox).await;
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
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(file_name);
    std::fs::copy(fixtures_dir().join(file_name), &input).unwrap();
    let out = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await;
    out.assert_code(0);
    let records = read_results(&default_results(&input));
    let snapshot = sandbox.snapshot();
    records_by_row(&records, expected_rows);
    assert_eq!(snapshot.duplicates_created, 0);
    assert_eq!(posts(&snapshot), expected_rows as u64);
    assert_eq!(snapshot.environment_count(), expected_rows);
    for (record, (connection, name)) in records.iter().zip(keys_of(&records)) {
        assert_eq!(record.status, "created", "{record:?}");
        assert_eq!(
            record.environment_id.as_deref(),
            Some(sandbox_id(&snapshot, connection, &name).as_str())
        );
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
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(20, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = dir.path().join("out.jsonl");
    let run = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .arg("--results")
        .arg(&results);
    check_created(&rows, run, &results, &sandbox).await;
    let text = std::fs::read_to_string(&results).unwrap();
    assert_eq!(
        text.lines().count(),
        rows.len(),
        "no header, one line per row"
    );
    assert!(
        !default_results(&input).exists(),
        "only the requested file is written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_json_counts_every_row_and_carries_the_exit_code() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(12, 3);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let summary_path = dir.path().join("summary.json");
    let out = cli()
        .run_against(&sandbox, &input)
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
    assert_eq!(summary["requests"], sandbox.snapshot().total_requests());
    assert!(summary["results_path"]
        .as_str()
        .unwrap()
        .ends_with("envs.results.csv"));
}
