//! End to end: a 2,000-row run under a fault mix, killed three times and resumed, creates every row exactly once.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::FaultKind;

const ROWS: usize = 2_000;
/// 10% 5xx, 5% 429 without Retry-After, 3% commit-then-fail (response lost after the create
/// took effect), 2% drops before the request is applied.
const FAULT_MIX: &str =
    "500=0.04,502=0.03,503=0.03,429=0.05,commit-500=0.02,commit-drop=0.01,drop=0.02";

/// A tiny fixed-seed generator (xorshift64) for reproducible kill points.
struct KillPoints(u64);

impl KillPoints {
    /// The next number of records to wait for beyond the current count: 50 to 549.
    fn next_gap(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        50 + (self.0 % 500) as usize
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn soak_2000_rows_under_faults_killed_three_times_creates_every_row_exactly_once() {
    let config = fast_sandbox()
        .with_faults(FAULT_MIX.parse().unwrap())
        .with_seed(2024);
    let rows = spread_rows(ROWS, 20);
    let scenario = Scenario::with_input(config, |dir| write_csv(dir, "soak.csv", &rows)).await;
    let results = scenario.results();
    let run = |resume: bool| {
        let cli = scenario.cli().args([
            "--rate",
            "6000/min",
            "--concurrency",
            "16",
            "--max-attempts",
            "10",
        ]);
        if resume {
            cli.arg("--resume")
        } else {
            cli
        }
    };

    let mut kill_points = KillPoints(0x5eed_2024);
    for attempt in 0..3 {
        let mut running = run(attempt > 0).spawn();
        let target = count_records(&results) + kill_points.next_gap();
        running.wait_for_records(&results, target).await;
        let killed = running.kill_9().await;
        assert_eq!(
            killed.code,
            None,
            "run {attempt} finished before its kill point ({target} records)\n{}",
            killed.all()
        );
        assert!(
            journal_of(&results).exists(),
            "a killed run leaves its journal"
        );
    }
    let last = run(true).run().await;
    last.assert_code(0);

    let snapshot = scenario.snapshot();
    assert_all_created(&read_results(&results), &rows, &snapshot);
    assert_server_created_once_each(&snapshot, ROWS);
    assert!(!journal_of(&results).exists());
    assert_faults_injected(
        &snapshot,
        &[
            FaultKind::Status500,
            FaultKind::Status502,
            FaultKind::Status503,
            FaultKind::TooManyRequests,
            FaultKind::Commit500,
            FaultKind::CommitDrop,
            FaultKind::Drop,
        ],
    );
}
