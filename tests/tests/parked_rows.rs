//! End to end: rows whose outcome is unknown are parked (their intent journaled) until one
//! listing of their connection settles them; a run killed or interrupted while they are parked
//! is resumed without creating anything twice.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::SandboxConfig;

const ROWS: usize = 12;

/// Every create is applied and then answered 500; every listing takes 5 s to answer, which
/// keeps the rows parked long enough to stop the run while they are.
fn lost_answers_slow_listings() -> SandboxConfig {
    fast_sandbox().with_faults("post:commit-500=1.0,get:latency=5s".parse().unwrap())
}

/// `--existing ignore`: the first run does not list before creating, so the only listing is the
/// one that settles the parked rows.
async fn start(scenario: &Scenario) -> Running {
    let mut running = scenario
        .cli()
        .unlimited_rate()
        .args([
            "--existing",
            "ignore",
            "--concurrency",
            "4",
            "--grace",
            "50ms",
        ])
        .spawn();
    let parked = running
        .wait_for_sandbox(&scenario.sandbox, |s| s.creates_applied == ROWS as u64)
        .await;
    assert!(parked, "the run ended before its creates were applied");
    running
}

/// Resumes to the end and checks each row is created once, with the id the server gave it,
/// and that the resumed run sent no create at all.
async fn resume_adopts_every_row(scenario: &Scenario, rows: &[InputRow]) {
    let posts_before = posts(&scenario.snapshot());
    let resumed = scenario
        .cli()
        .unlimited_rate()
        .args(["--existing", "ignore", "--resume"])
        .run()
        .await;
    resumed.assert_code(0);
    let snapshot = scenario.snapshot();
    assert_eq!(posts(&snapshot), posts_before, "nothing was sent again");
    assert_server_created_once_each(&snapshot, ROWS);
    assert_all_created(&scenario.records(), rows, &snapshot);
    assert!(!journal_of(&scenario.results()).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_parked_at_a_kill_are_adopted_by_resume_without_a_request() {
    let rows = spread_rows(ROWS, 1);
    let scenario = Scenario::csv(lost_answers_slow_listings(), &rows).await;
    let running = start(&scenario).await;
    let killed = running.kill_9().await;
    assert_eq!(killed.code, None, "killed by the signal\n{}", killed.all());
    assert_eq!(
        count_records(&scenario.results()),
        0,
        "the rows were still parked (no outcome recorded)"
    );
    let journal = std::fs::read_to_string(journal_of(&scenario.results())).unwrap();
    assert_eq!(journal.lines().count(), ROWS, "one intent per parked row");
    assert_eq!(posts(&scenario.snapshot()), ROWS as u64, "each sent once");

    resume_adopts_every_row(&scenario, &rows).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_parked_at_an_interrupt_are_recorded_skipped_and_adopted_by_resume() {
    let rows = spread_rows(ROWS, 1);
    let scenario = Scenario::csv(lost_answers_slow_listings(), &rows).await;
    let running = start(&scenario).await;
    // Whether the listing that would settle them has begun or not, it cannot have ended.
    running.interrupt();
    let interrupted = running.wait().await;
    interrupted.assert_code(130);
    for record in scenario.records_in_row_order(ROWS) {
        assert_skipped_by_interrupt(&record);
    }
    assert!(
        journal_of(&scenario.results()).exists(),
        "their intents are kept for --resume"
    );

    resume_adopts_every_row(&scenario, &rows).await;
}
