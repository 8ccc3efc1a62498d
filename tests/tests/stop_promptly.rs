//! End to end: the first SIGINT/SIGTERM stops every phase promptly. Listing is abandoned; a row
//! with nothing on the wire (waiting for the rate limiter or a retry) stops at once; only a
//! request on the wire gets `--grace`. A row that may have been applied keeps its intent.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ApiMethod, Sandbox, Snapshot};

/// A grace no test waits for: a run that ends must have stopped its rows without it.
const LONG_GRACE: &str = "10m";

/// The rows whose intent is in the journal of `results` (empty when there is none).
fn journaled_rows(results: &Path) -> BTreeSet<u64> {
    let Ok(text) = std::fs::read_to_string(journal_of(results)) else {
        return BTreeSet::new();
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            entry["row"].as_u64().unwrap()
        })
        .collect()
}

/// Polls the sandbox until `seen` holds (failing the test after [`RUN_TIMEOUT`]).
async fn wait_for(sandbox: &Sandbox, seen: impl Fn(&Snapshot) -> bool) {
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !seen(&sandbox.snapshot()) {
        assert!(Instant::now() < deadline, "the sandbox never saw it");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_3_of_16_paced_rows_stops_the_waiting_rows_at_once_and_resume_creates_each_once()
{
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(16, 1);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);

    // 16 workers, one request a second: after the first rows, 13 wait for the rate limiter.
    let mut running = cli()
        .run_against(&sandbox, &input)
        .args([
            "--rate",
            "60/min",
            "--concurrency",
            "16",
            "--grace",
            LONG_GRACE,
        ])
        .spawn();
    running.wait_for_records(&results, 3).await;
    running.interrupt();
    running.wait().await.assert_code(130);

    let records = read_results(&results);
    let by_row = records_by_row(&records, rows.len());
    let created = by_row.iter().filter(|r| r.status == "created").count();
    assert!(
        created <= 8,
        "rows waiting for the rate limiter stopped at once ({created} created)"
    );
    for record in by_row.iter().filter(|r| r.status != "created") {
        assert_skipped_by_interrupt(record);
    }
    assert!(
        journaled_rows(&results).is_empty(),
        "nothing is left in doubt"
    );
    let posts_before = posts(&sandbox.snapshot());
    assert_eq!(posts_before, created as u64, "no waiting row was sent");

    resume_to_the_end(&sandbox, &input).await;
    let snapshot = sandbox.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
    assert_eq!(
        posts(&snapshot) - posts_before,
        (rows.len() - created) as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_listing_a_connection_that_never_answers_exits_130_recording_every_row() {
    let server = SilentServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(6, 3);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);

    // The listing would last the 10-minute timeout: only a prompt stop ends this run.
    let running = cli()
        .arg("run")
        .arg(&input)
        .args(["--base-url", &server.base_url(), "--timeout", "10m"])
        .args(["--grace", LONG_GRACE])
        .env("OMNI_API_TOKEN", "silent-token")
        .spawn();
    server.wait_for_requests(1).await;
    running.terminate();
    running.wait().await.assert_code(130);

    let records = read_results(&results);
    for record in records_by_row(&records, rows.len()) {
        assert_skipped_by_interrupt(record);
    }
    assert!(!journal_of(&results).exists(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_retrying_after_429s_stop_at_once_as_skipped_and_leave_no_intent() {
    let config = fast_sandbox().with_faults("post:429=1".parse().unwrap());
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(8, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);

    let running = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .args(["--grace", LONG_GRACE])
        .spawn();
    wait_for(&sandbox, |s| s.requests_with(ApiMethod::Post, 429) >= 16).await;
    running.interrupt();
    running.wait().await.assert_code(130);

    let records = read_results(&results);
    for record in records_by_row(&records, rows.len()) {
        assert_skipped_by_interrupt(record);
    }
    assert!(
        journaled_rows(&results).is_empty(),
        "a 429 is never applied: no row is left for --resume to look up"
    );
    assert_eq!(sandbox.snapshot().creates_applied, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_waiting_to_retry_an_ambiguous_create_stop_at_once_keep_their_intent_and_are_adopted()
{
    // Every create is applied and then answered 503: each row then waits up to 4 minutes before
    // looking its name up. Listing takes a second, so that a resume can be stopped while listing.
    let faults = "post:commit-503=1,get:latency=1s".parse().unwrap();
    let config = fast_sandbox().with_faults(faults);
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(8, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);

    let running = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .args(["--backoff-initial", "4m", "--backoff-max", "4m"])
        .args(["--grace", LONG_GRACE])
        .spawn();
    wait_for(&sandbox, |s| s.creates_applied >= rows.len() as u64).await;
    running.interrupt();
    running.wait().await.assert_code(130);

    let records = read_results(&results);
    let by_row = records_by_row(&records, rows.len());
    let adopted_already = by_row.iter().filter(|r| r.status == "created").count();
    for record in by_row.iter().filter(|r| r.status != "created") {
        assert_eq!(record.status, "skipped", "{record:?}");
        assert!(
            record
                .error
                .as_deref()
                .unwrap_or("")
                .contains("may have been applied"),
            "{record:?}"
        );
    }
    assert_eq!(
        journaled_rows(&results).len(),
        rows.len() - adopted_already,
        "every row that may have been applied keeps its intent"
    );

    let in_doubt = journaled_rows(&results);

    // A resume stopped before it could look them up leaves them in doubt, as it found them.
    let posts_before = posts(&sandbox.snapshot());
    let resuming = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .arg("--resume")
        .spawn();
    wait_for_path(&lock_of(&results), "the resume never claimed its results").await;
    resuming.terminate();
    resuming.wait().await.assert_code(130);
    assert_eq!(journaled_rows(&results), in_doubt);

    resume_to_the_end(&sandbox, &input).await;
    let snapshot = sandbox.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_eq!(
        posts(&snapshot),
        posts_before,
        "resume adopts, never re-sends"
    );
    assert!(!journal_of(&results).exists());
}
