//! End to end: `undo RESULTS` deletes exactly the environments a run created, each once, with its
//! own results file; it survives kill -9 with `--resume`, asks before deleting, and refuses bad
//! files before sending anything.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ApiMethod, Sandbox, SeedConnection, SeedEnvironment, Snapshot};
use uuid::Uuid;

const ONE: Uuid = Uuid::from_u128(0x7b00_0000_0000_4000_8000_0000_0000_0001);
const TWO: Uuid = Uuid::from_u128(0x7b00_0000_0000_4000_8000_0000_0000_0002);

/// Both connections hold the default environment and `pre_changed`, `pre_same`, `untouched`.
fn seeded(connection: Uuid) -> SeedConnection {
    SeedConnection::dbt(connection)
        .with_default_environment("production", "prod")
        .with_environment(SeedEnvironment::new("pre_changed", "old"))
        .with_environment(SeedEnvironment::new("pre_same", "same"))
        .with_environment(SeedEnvironment::new("untouched", "u"))
}

/// Rows: the two pre-existing names of each connection (one to update, one unchanged), then
/// `new` new environments spread over both.
fn input_rows(new: usize) -> Vec<InputRow> {
    let mut rows = Vec::new();
    for connection in [ONE, TWO] {
        rows.push(InputRow::new(connection, "pre_changed", "new"));
        rows.push(InputRow::new(connection, "pre_same", "same"));
    }
    rows.extend(rows_over(new, &[ONE, TWO]));
    rows
}

/// Every environment's id, by (connection, name).
fn all_ids(snapshot: &Snapshot) -> BTreeMap<(Uuid, String), String> {
    [ONE, TWO]
        .into_iter()
        .flat_map(|c| {
            snapshot
                .environments_in(c)
                .iter()
                .map(move |e| ((c, e.name.clone()), e.id.to_string()))
        })
        .collect()
}

/// Runs the input with `--existing update` to completion and returns the results path.
async fn completed_run(
    sandbox: &Sandbox,
    dir: &Path,
    rows: &[InputRow],
    extra: &[&str],
) -> PathBuf {
    let input = write_csv(dir, "envs.csv", rows);
    cli()
        .run_against(sandbox, &input)
        .unlimited_rate()
        .args(["--existing", "update"])
        .args(extra)
        .run()
        .await
        .assert_code(0);
    default_results(&input)
}

fn undo_path(results: &Path) -> PathBuf {
    results.with_file_name("envs.results.undo.csv")
}

/// The ids the run recorded as created, by row.
fn created_ids(results: &Path) -> BTreeMap<u64, String> {
    read_results(results)
        .into_iter()
        .filter(|r| r.status == "created")
        .map(|r| (r.row, r.environment_id.unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_after_a_run_with_faults_deletes_exactly_the_created_environments() {
    let faults =
        "post:commit-500=0.15,post:503=0.1,put:503=0.1,delete:commit-500=0.25,delete:503=0.1";
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_faults(faults.parse().unwrap())
            .with_seed(11)
            .with_connection(seeded(ONE))
            .with_connection(seeded(TWO)),
    )
    .await;
    let before = all_ids(&sandbox.snapshot());
    let dir = tempfile::tempdir().unwrap();
    let rows = input_rows(20);
    let results = completed_run(&sandbox, dir.path(), &rows, &[]).await;
    let statuses: BTreeSet<String> = read_results(&results)
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        ["created", "unchanged", "updated"].map(String::from).into(),
        "the run left environments it did not create"
    );
    let created = created_ids(&results);
    assert_eq!(created.len(), 20);
    assert_eq!(sandbox.snapshot().duplicates_created, 0);

    cli()
        .undo_against(&sandbox, &results)
        .unlimited_rate()
        .arg("--yes")
        .run()
        .await
        .assert_code(0);

    let after = sandbox.snapshot();
    assert_eq!(
        all_ids(&after),
        before,
        "exactly the environments before the run remain"
    );
    assert_eq!(
        after.deletes_applied, 20,
        "each created environment deleted once"
    );
    let undone = read_results(&undo_path(&results));
    let recorded: BTreeMap<u64, String> = undone
        .iter()
        .map(|r| {
            assert_eq!(r.status, "deleted", "{r:?}");
            assert!(r.fingerprint.starts_with("delete:"), "{r:?}");
            (r.row, r.environment_id.clone().unwrap())
        })
        .collect();
    assert_eq!(recorded, created, "one record per created row, with its id");
    let run_lines: BTreeMap<u64, u64> = read_results(&results)
        .iter()
        .map(|r| (r.row, r.line))
        .collect();
    assert!(undone.iter().all(|r| run_lines[&r.row] == r.line));
    assert!(!journal_of(&undo_path(&results)).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_already_deleted_are_recorded_gone_and_cost_no_delete() {
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(ONE))
            .with_connection(seeded(TWO)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let results = completed_run(&sandbox, dir.path(), &input_rows(4), &[]).await;
    let undo = || {
        cli()
            .undo_against(&sandbox, &results)
            .unlimited_rate()
            .arg("--yes")
    };
    undo().run().await.assert_code(0);
    let deletes_after_first = deletes(&sandbox.snapshot());

    // A second undo (a new results file) finds everything gone already.
    undo().arg("--force").run().await.assert_code(0);
    assert_eq!(
        deletes(&sandbox.snapshot()),
        deletes_after_first,
        "no DELETE sent"
    );
    let undone = read_results(&undo_path(&results));
    assert_eq!(undone.len(), 4);
    assert!(
        undone
            .iter()
            .all(|r| r.status == "gone" && r.attempts == Some(0)),
        "{undone:?}"
    );
}

const KILL_ROWS: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_undo_then_resume_deletes_every_created_environment_once_and_nothing_else() {
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(ONE))
            .with_connection(seeded(TWO)),
    )
    .await;
    let before = all_ids(&sandbox.snapshot());
    let dir = tempfile::tempdir().unwrap();
    let results = completed_run(&sandbox, dir.path(), &input_rows(KILL_ROWS), &[]).await;
    let created = created_ids(&results);
    assert_eq!(created.len(), KILL_ROWS);

    let mut running = cli()
        .undo_against(&sandbox, &results)
        .args(["--yes", "--rate", "1200/min"])
        .spawn();
    let seen = running.wait_for_records(&undo_path(&results), 10).await;
    assert!(seen >= 10, "the undo ended too early");
    running.kill_9().await;
    assert!(
        sandbox.snapshot().deletes_applied < KILL_ROWS as u64,
        "killed mid-undo"
    );

    cli()
        .undo_against(&sandbox, &results)
        .unlimited_rate()
        .args(["--yes", "--resume"])
        .run()
        .await
        .assert_code(0);

    let after = sandbox.snapshot();
    assert_eq!(
        all_ids(&after),
        before,
        "every created environment gone, every other intact"
    );
    assert_eq!(after.deletes_applied, KILL_ROWS as u64);
    assert_eq!(
        deletes(&after),
        KILL_ROWS as u64,
        "no DELETE was sent twice"
    );
    let undone = read_results(&undo_path(&results));
    let rows: Vec<u64> = undone.iter().map(|r| r.row).collect();
    assert_eq!(
        rows,
        created.keys().copied().collect::<Vec<_>>(),
        "one record per row, in order"
    );
    assert!(undone.iter().all(|r| r.status == "deleted"), "{undone:?}");
    assert!(!journal_of(&undo_path(&results)).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_without_yes_off_a_terminal_refuses_and_a_dry_run_lists_without_deleting() {
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(ONE))
            .with_connection(seeded(TWO)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let results = completed_run(&sandbox, dir.path(), &input_rows(3), &[]).await;
    let requests = sandbox.snapshot().total_requests();

    let out = cli()
        .undo_against(&sandbox, &results)
        .unlimited_rate()
        .run()
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.all());
    assert_eq!(
        sandbox.snapshot().total_requests(),
        requests,
        "nothing sent, not even a list"
    );
    assert!(!undo_path(&results).exists());

    let out = cli()
        .undo_against(&sandbox, &results)
        .unlimited_rate()
        .arg("--dry-run")
        .run()
        .await;
    out.assert_code(0);
    let created = created_ids(&results);
    for id in created.values() {
        assert!(
            out.stdout.contains(&format!("would delete: {id}")),
            "{}",
            out.all()
        );
    }
    assert_eq!(requests_of(&sandbox.snapshot(), ApiMethod::Delete), 0);
    assert!(
        !undo_path(&results).exists(),
        "a dry run writes no results file"
    );
}

/// Runs `undo --yes` on `results` and checks it exits 2 naming `needle`, sending nothing.
async fn assert_refused(sandbox: &Sandbox, results: &Path, extra: &[&str], needle: &str) {
    let requests = sandbox.snapshot().total_requests();
    let out = cli()
        .undo_against(sandbox, results)
        .unlimited_rate()
        .arg("--yes")
        .args(extra)
        .run()
        .await;
    out.assert_code(2);
    assert!(
        out.stderr.contains(needle),
        "expected {needle:?}\n{}",
        out.all()
    );
    assert_eq!(
        sandbox.snapshot().total_requests(),
        requests,
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_results_files_are_refused_naming_file_and_line_before_any_request() {
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(ONE))
            .with_connection(seeded(TWO)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let results = completed_run(&sandbox, dir.path(), &input_rows(2), &[]).await;
    let name = |path: &Path| path.display().to_string();

    let missing = dir.path().join("nope.results.csv");
    assert_refused(&sandbox, &missing, &[], &name(&missing)).await;

    let input = dir.path().join("envs.csv");
    assert_refused(&sandbox, &input, &[], &format!("{}:1:", name(&input))).await;

    let jsonl = write_file(dir.path(), "bad.jsonl", "{\"row\":1}\n");
    assert_refused(&sandbox, &jsonl, &[], &format!("{}:1:", name(&jsonl))).await;

    cli()
        .undo_against(&sandbox, &results)
        .unlimited_rate()
        .arg("--yes")
        .run()
        .await
        .assert_code(0);
    let undo_file = undo_path(&results);
    assert_refused(
        &sandbox,
        &undo_file,
        &[],
        &format!("{}:2:", name(&undo_file)),
    )
    .await;

    assert_refused(
        &sandbox,
        &results,
        &["--results", &name(&results)],
        "cannot be",
    )
    .await;

    // A run that left an intent in flight may have created what it did not record.
    let in_flight = dir.path().join("cut.results.csv");
    std::fs::copy(&results, &in_flight).unwrap();
    write_file(
        dir.path(),
        "cut.results.csv.journal",
        &format!(
            "{{\"row\":99,\"line\":100,\"connection_id\":\"{ONE}\",\"name\":\"x\",\"fingerprint\":\"f\",\"op\":\"create\",\"results_offset\":0}}\n"
        ),
    );
    assert_refused(&sandbox, &in_flight, &[], "--resume").await;
}
