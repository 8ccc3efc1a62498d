//! End to end: a run killed with SIGKILL (or interrupted with SIGINT) and then resumed creates every row exactly once.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;

const ROWS: usize = 400;

/// Starts a 400-row run at 1200 requests/min (about 20 s), kills it with SIGKILL once `kill_after`
/// records are in the results file (at once when 0), then resumes it and checks that every row
/// was created exactly once and that the resumed run did not re-create finished rows.
async fn kill_then_resume(kill_after: usize) {
    let rows = spread_rows(ROWS, 8);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let results = scenario.results();

    let mut running = scenario.cli().args(["--rate", "1200/min"]).spawn();
    if kill_after > 0 {
        let seen = running.wait_for_records(&results, kill_after).await;
        assert!(
            seen >= kill_after,
            "the run ended before {kill_after} records"
        );
    }
    let killed = running.kill_9().await;
    assert_eq!(
        killed.code,
        None,
        "the run was killed by a signal\n{}",
        killed.all()
    );
    let finished_before = count_records(&results);
    assert!(
        finished_before < ROWS,
        "the kill came before the end ({finished_before} records)"
    );

    let posts_before = posts(&scenario.snapshot());
    resume_to_completion(&scenario).await;

    let snapshot = scenario.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, ROWS);
    let resumed_posts = posts(&snapshot) - posts_before;
    assert!(
        resumed_posts <= (ROWS - finished_before) as u64,
        "the resumed run sent {resumed_posts} creates but only {} rows were unfinished",
        ROWS - finished_before
    );
    assert!(
        !journal_of(&results).exists(),
        "the journal is gone after completion"
    );
}

async fn resume_to_completion(scenario: &Scenario) {
    scenario.run_unlimited(&["--resume"]).await.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_kill_before_any_record_creates_every_row_once() {
    kill_then_resume(0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_kill_at_the_first_record_creates_every_row_once() {
    kill_then_resume(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_kill_at_100_records_creates_every_row_once() {
    kill_then_resume(100).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_kill_at_300_records_creates_every_row_once() {
    kill_then_resume(300).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_exits_130_records_unstarted_rows_interrupted_and_resume_completes() {
    stop_then_resume(Running::interrupt).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_130_records_unstarted_rows_interrupted_and_resume_completes() {
    stop_then_resume(Running::terminate).await;
}

/// Starts a 200-row run at 600/min, sends it `stop` after 10 records, and checks: exit 130,
/// every row recorded (unstarted ones `skipped`/`interrupted`), then `--resume` completes.
async fn stop_then_resume(stop: fn(&Running)) {
    let rows = spread_rows(200, 4);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let results = scenario.results();

    let mut running = scenario
        .cli()
        .args(["--rate", "600/min", "--grace", "5s"])
        .spawn();
    running.wait_for_records(&results, 10).await;
    stop(&running);
    let interrupted = running.wait().await;
    interrupted.assert_code(130);

    let records = read_results(&results);
    let by_row = records_by_row(&records, rows.len());
    let skipped: Vec<_> = by_row.iter().filter(|r| r.status == "skipped").collect();
    assert!(!skipped.is_empty(), "rows not started are recorded");
    for record in &skipped {
        assert_eq!(
            record.error_kind.as_deref(),
            Some("interrupted"),
            "{record:?}"
        );
    }
    for record in by_row.iter().filter(|r| r.status != "skipped") {
        assert_eq!(record.status, "created", "{record:?}");
    }

    resume_to_completion(&scenario).await;
    let snapshot = scenario.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_abandoned_after_the_grace_period_are_adopted_by_resume_not_duplicated() {
    // Half the creates are applied at once but answered only 5 s later; the run is interrupted
    // with a 50 ms grace, so those in flight are abandoned by the CLI though the server has them.
    let config = fast_sandbox()
        .with_faults("post:commit-slow=0.5:5s".parse().unwrap())
        .with_seed(3);
    let rows = spread_rows(40, 2);
    let scenario = Scenario::csv(config, &rows).await;
    let results = scenario.results();

    let mut running = scenario
        .cli()
        .unlimited_rate()
        .args(["--concurrency", "4", "--grace", "50ms"])
        .spawn();
    running.wait_for_records(&results, 1).await;
    running.interrupt();
    running.wait().await.assert_code(130);
    let interrupted = read_results(&results);
    records_by_row(&interrupted, rows.len());
    let created_before = interrupted.iter().filter(|r| r.status == "created").count();
    let applied = scenario.snapshot().creates_applied as usize;
    assert!(
        applied > created_before,
        "some applied creates were abandoned in flight ({applied} applied, {created_before} recorded created)"
    );

    resume_to_completion(&scenario).await;
    let snapshot = scenario.snapshot();
    assert_eq!(snapshot.duplicates_created, 0, "{:?}", snapshot.duplicates);
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
    for (record, row) in scenario.records_in_row_order(rows.len()).iter().zip(&rows) {
        assert!(
            record.status == "created" || record.status == "exists",
            "{record:?}"
        );
        assert_eq!(
            record.environment_id,
            Some(sandbox_id(&snapshot, row.connection_id, &row.name))
        );
    }
}
