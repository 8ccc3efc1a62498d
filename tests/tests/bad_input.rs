//! End to end: invalid inputs are refused with their file and line before anything is sent, or recorded with `--skip-invalid`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use omni_dbt_e2e::*;
use omni_dbt_sandbox::Sandbox;

/// Every file of `fixtures/bad/` and the line its first problem is on.
const BAD_FIXTURES: [(&str, u64); 14] = [
    ("bad-connection-id.csv", 3),
    ("bad-owner-id.csv", 3),
    ("blank-target-schema.csv", 3),
    ("duplicate-row.csv", 4),
    ("duplicate-variable.jsonl", 2),
    ("empty-name.csv", 3),
    ("empty-variables.jsonl", 2),
    ("invalid-utf8.csv", 3),
    ("malformed.jsonl", 3),
    ("missing-required-column.csv", 1),
    ("missing-secret-ref.csv", 3),
    ("unknown-column.csv", 1),
    ("unknown-field.jsonl", 2),
    ("wrong-field-count.csv", 3),
];

/// Copies a bad fixture into `dir` (so nothing is written into the repository).
fn copy_bad(dir: &Path, name: &str) -> PathBuf {
    copy_fixture(dir, &format!("bad/{name}"))
}

fn assert_names_file_and_line(out: &RunOutput, path: &Path, line: u64) {
    let file_line = format!("{}:{line}:", path.display());
    let line_word = format!("line {line}");
    assert!(
        out.stderr.contains(&file_line)
            || (out.stderr.contains(&path.display().to_string())
                && out.stderr.contains(&line_word)),
        "stderr names {file_line}\n{}",
        out.all()
    );
}

#[test]
fn the_bad_fixture_table_covers_every_file_in_fixtures_bad() {
    // dbt profiles need their --dbt-profile options: dbt_profiles.rs covers them.
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir().join("bad"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".yml"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = BAD_FIXTURES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(on_disk, listed);
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_rejects_every_bad_fixture_with_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, line) in BAD_FIXTURES {
        let path = copy_bad(dir.path(), name);
        let out = cli().arg("validate").arg(&path).run().await;
        out.assert_code(2);
        assert_names_file_and_line(&out, &path, line);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_rejects_every_bad_fixture_with_exit_2_before_any_request() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    for (name, line) in BAD_FIXTURES {
        let path = copy_bad(dir.path(), name);
        let out = cli()
            .run_against(&sandbox, &path)
            .unlimited_rate()
            .run()
            .await;
        out.assert_code(2);
        assert_names_file_and_line(&out, &path, line);
        assert_eq!(
            sandbox.snapshot().total_requests(),
            0,
            "{name}: nothing is sent for an invalid input"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_invalid_creates_the_valid_rows_and_records_the_invalid_one_with_exit_1() {
    let mut rows = spread_rows(6, 2);
    rows[3].target_schema = "   ".to_owned();
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let out = scenario.run_unlimited(&["--skip-invalid"]).await;
    out.assert_code(1);

    let snapshot = scenario.snapshot();
    for (record, row) in scenario.records_in_row_order(rows.len()).iter().zip(&rows) {
        if record.row == 4 {
            assert_eq!(record.status, "invalid", "{record:?}");
            assert_eq!(record.error_kind.as_deref(), Some("validation"));
            assert_eq!(record.line, 5, "data row 4 sits on line 5");
            assert!(
                record
                    .error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("target_schema"),
                "{record:?}"
            );
        } else {
            assert_created_as(record, &snapshot, row.connection_id, &row.name);
        }
    }
    assert_eq!(posts(&snapshot), 5, "the invalid row is never sent");
    assert_eq!(
        snapshot
            .environments_named(rows[3].connection_id, &rows[3].name)
            .count(),
        0
    );
}

/// A scenario of `rows` whose run has completed (exit 0), leaving its results file.
async fn completed_run(rows: &[InputRow]) -> Scenario {
    let scenario = Scenario::csv(fast_sandbox(), rows).await;
    scenario.run_unlimited(&[]).await.assert_code(0);
    scenario
}

/// Runs the completed scenario's input again, plainly, against a fresh sandbox (so that any
/// request the refused run made would show in that sandbox's counters).
async fn run_again_on_a_fresh_sandbox(completed: &Scenario) -> (Sandbox, RunOutput) {
    let fresh = start_sandbox(fast_sandbox()).await;
    let out = cli()
        .run_against(&fresh, &completed.input)
        .unlimited_rate()
        .run()
        .await;
    (fresh, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_results_file_is_refused_without_resume_or_force_naming_both() {
    let first = completed_run(&spread_rows(5, 1)).await;
    let before = std::fs::read(first.results()).unwrap();

    let (second, out) = run_again_on_a_fresh_sandbox(&first).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("--resume") && out.stderr.contains("--force"),
        "the refusal names --resume and --force\n{}",
        out.all()
    );
    assert_eq!(
        std::fs::read(first.results()).unwrap(),
        before,
        "the file is untouched"
    );
    assert_eq!(posts(&second.snapshot()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_results_file_is_refused_before_any_request() {
    let first = completed_run(&spread_rows(5, 1)).await;

    let (second, out) = run_again_on_a_fresh_sandbox(&first).await;
    out.assert_code(2);
    assert_eq!(
        second.snapshot().total_requests(),
        0,
        "exit 2 means nothing was sent, not even a list"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn force_starts_a_new_results_file_and_finds_the_rows_already_created() {
    let rows = spread_rows(5, 1);
    let scenario = completed_run(&rows).await;
    let first = scenario.records();

    let out = scenario.run_unlimited(&["--force"]).await;
    out.assert_code(0);
    let second = scenario.records_in_row_order(rows.len());
    for (old, new) in first.iter().zip(&second) {
        assert_eq!(new.status, "exists", "{new:?}");
        assert_eq!(new.environment_id, old.environment_id);
    }
    let snapshot = scenario.snapshot();
    assert_eq!(
        posts(&snapshot),
        rows.len() as u64,
        "the forced run created nothing new"
    );
    assert_eq!(snapshot.duplicates_created, 0);
}

/// Completes a run of five rows, changes one with `edit`, and checks that `--resume` refuses
/// with exit 2, names `line`, and sends nothing.
async fn assert_resume_refuses_the_edited_row(edit: impl FnOnce(&mut [InputRow]), line: u64) {
    let mut rows = spread_rows(5, 1);
    let scenario = completed_run(&rows).await;
    let requests_before = scenario.snapshot().total_requests();

    edit(&mut rows);
    write_csv(scenario.dir(), "envs.csv", &rows);
    let out = scenario.run_unlimited(&["--resume"]).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("line {line}"))
            || out.stderr.contains(&format!("envs.csv:{line}")),
        "the refusal names line {line}\n{}",
        out.all()
    );
    assert_eq!(
        scenario.snapshot().total_requests(),
        requests_before,
        "nothing is sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_refuses_a_row_changed_since_the_results_were_written_naming_its_line() {
    // Data row 3 is on line 4.
    assert_resume_refuses_the_edited_row(|rows| rows[2].target_schema = "dbt_changed".into(), 4)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_refuses_a_renamed_row_naming_its_line() {
    // Data row 5 is on line 6.
    assert_resume_refuses_the_edited_row(|rows| rows[4].name = "env_renamed".into(), 6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_but_sends_no_create_and_writes_no_results_file() {
    let scenario = Scenario::csv(fast_sandbox(), &spread_rows(10, 2)).await;
    let out = scenario.run_unlimited(&["--dry-run"]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("would create"), "{}", out.all());
    let snapshot = scenario.snapshot();
    assert_eq!(posts(&snapshot), 0);
    assert_eq!(snapshot.environment_count(), 0);
    assert!(
        !scenario.results().exists(),
        "a dry run writes no results file"
    );
    assert!(!journal_of(&scenario.results()).exists());
}
