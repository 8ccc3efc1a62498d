//! End to end: one process at a time writes a results file; a second run on it exits 2 naming
//! the holder, whatever its flags, and a killed run's lock blocks nobody. An undo holds the
//! run's results file too: it is refused while the run writes it, and two undos of one run do
//! not both proceed.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;

const ROWS: usize = 16;

/// A run of 40 rows at 600/min (seconds long) against a sandbox of its own, once it has
/// written `records` records: it holds its results file.
struct Writing {
    sandbox: omni_dbt_sandbox::Sandbox,
    /// Holds the input and results files.
    _dir: tempfile::TempDir,
    rows: Vec<InputRow>,
    input: std::path::PathBuf,
    results: std::path::PathBuf,
    running: Running,
}

async fn a_run_writing(records: usize) -> Writing {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(40, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);
    let mut running = cli()
        .run_against(&sandbox, &input)
        .args(["--rate", "600/min"])
        .spawn();
    running.wait_for_records(&results, records).await;
    Writing {
        sandbox,
        _dir: dir,
        rows,
        input,
        results,
        running,
    }
}

/// Starts two runs together on the same input and results file, both with `flag` (an overlapping
/// cron job), paced so that each lasts seconds. Checks that exactly one proceeds (exit 0) and the
/// other exits 2 naming the first's pid, and that every environment was created once.
async fn overlapping_runs(flag: &str) {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(ROWS, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);
    let start = || {
        cli()
            .run_against(&sandbox, &input)
            .args(["--rate", "300/min", flag])
            .spawn()
    };
    let (first, second) = (start(), start());
    let pids = [first.pid(), second.pid()];
    let (first, second) = tokio::join!(first.wait(), second.wait());

    let (winner, loser) = match (first.code, second.code) {
        (Some(0), Some(2)) => (0, 1),
        (Some(2), Some(0)) => (1, 0),
        _ => panic!(
            "exactly one run proceeds\n{}\n{}",
            first.all(),
            second.all()
        ),
    };
    let refused = [&first, &second][loser];
    assert!(
        refused.stderr.contains("is in use")
            && refused.stderr.contains(&format!("pid {}", pids[winner])),
        "the refusal names the run holding the file\n{}",
        refused.all()
    );

    let snapshot = sandbox.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_eq!(snapshot.creates_applied, ROWS as u64);
    assert_eq!(
        posts(&snapshot),
        ROWS as u64,
        "one POST per row, from one run"
    );
    assert!(
        !lock_of(&results).exists(),
        "the lock file goes with its run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_resume_runs_started_together_let_one_proceed_and_refuse_the_other_naming_it() {
    overlapping_runs("--resume").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_forced_runs_started_together_let_one_proceed_and_refuse_the_other_naming_it() {
    overlapping_runs("--force").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_with_sigkill_leaves_no_lock_that_blocks_the_next_resume() {
    let Writing {
        sandbox,
        _dir,
        rows,
        input,
        results,
        running,
    } = a_run_writing(5).await;
    let pid = running.pid();
    assert!(
        file_contains(&lock_of(&results), &format!("\"pid\":{pid}")),
        "the lock file names its holder"
    );
    running.kill_9().await;
    assert!(lock_of(&results).exists(), "kill -9 leaves the lock file");

    // The file is free: a plain rerun gets the usual advice, not a lock refusal.
    let plain = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await;
    plain.assert_code(2);
    assert!(
        plain.stderr.contains("already exists")
            && plain.stderr.contains("--resume")
            && plain.stderr.contains("--force")
            && !plain.stderr.contains("is in use"),
        "{}",
        plain.all()
    );

    resume_to_the_end(&sandbox, &input).await;
    let snapshot = sandbox.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
    assert!(!lock_of(&results).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn undo_is_refused_while_the_run_it_would_undo_still_writes_its_results() {
    let Writing {
        sandbox,
        _dir,
        results,
        running,
        ..
    } = a_run_writing(3).await;
    let run_pid = running.pid();

    let undo = cli()
        .undo_against(&sandbox, &results)
        .args(["--yes", "--rate", "unlimited"])
        .run()
        .await;

    undo.assert_code(2);
    assert!(
        undo.stderr.contains("is in use") && undo.stderr.contains(&format!("pid {run_pid}")),
        "the refusal names the run still writing the file\n{}",
        undo.all()
    );
    running.interrupt();
    running.wait().await.assert_code(130);
    let snapshot = sandbox.snapshot();
    assert_eq!(deletes(&snapshot), 0, "the refused undo sent no delete");
    assert!(snapshot.environment_count() >= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_undos_of_one_run_let_one_proceed_and_refuse_the_other_whatever_their_results() {
    // Deletes take 400 ms each, so that the first undo still holds the run's results file when
    // the second starts.
    let config = fast_sandbox().with_faults("delete:latency=400ms".parse().unwrap());
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(8, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);
    cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await
        .assert_code(0);

    let undo = |out: &str| {
        cli()
            .undo_against(&sandbox, &results)
            .args(["--yes", "--rate", "unlimited", "--concurrency", "1"])
            .arg("--results")
            .arg(dir.path().join(out))
            .spawn()
    };
    let first = undo("first.undo.csv");
    let first_pid = first.pid();
    wait_for_path(
        &lock_of(&results),
        "the first undo never took the run's file",
    )
    .await;
    let second = undo("second.undo.csv").wait().await;
    let first = first.wait().await;

    first.assert_code(0);
    second.assert_code(2);
    assert!(
        second.stderr.contains("is in use") && second.stderr.contains(&format!("pid {first_pid}")),
        "{}",
        second.all()
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(
        deletes(&snapshot),
        rows.len() as u64,
        "one DELETE per environment"
    );
    assert_eq!(snapshot.environment_count(), 0);
    assert!(!dir.path().join("second.undo.csv").exists());
    assert!(
        !lock_of(&results).exists(),
        "the lock file goes with the undo"
    );
}
