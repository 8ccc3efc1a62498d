//! End to end: the runner keeps to its rate limit, copes with a server limit below its own, and `--shard K/N` splits the work without overlap.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{RateLimit, Snapshot};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_at_the_server_rate_gets_no_429_and_takes_as_long_as_the_rate_requires() {
    let config = fast_sandbox().with_rate_limit(RateLimit::per_minute(600));
    let rows = spread_rows(60, 3);
    let scenario = Scenario::csv(config, &rows).await;
    let out = scenario.cli().args(["--rate", "600/min"]).run().await;
    out.assert_code(0);

    let snapshot = scenario.snapshot();
    assert_eq!(
        snapshot.rate_limited, 0,
        "the runner never went over the limit"
    );
    assert_all_created(&scenario.records(), &rows, &snapshot);
    // 600/min is one request per 100 ms: n requests need at least (n - 1) * 100 ms.
    let requests = snapshot.total_requests();
    assert!(requests >= rows.len() as u64);
    let floor = Duration::from_millis(100 * (requests - 1)) - Duration::from_millis(300);
    assert!(
        out.elapsed >= floor,
        "{requests} requests at 600/min took {:?}, less than {floor:?}",
        out.elapsed
    );
}

/// Runs `rows` at an unlimited rate with `extra` arguments against a sandbox that allows
/// `limit`, and checks that the run completes, the server limit was actually hit, and every row
/// was still created. Returns the sandbox's final snapshot.
async fn assert_server_limit_absorbed(limit: &str, rows: &[InputRow], extra: &[&str]) -> Snapshot {
    let limit: RateLimit = limit.parse().unwrap();
    let scenario = Scenario::csv(fast_sandbox().with_rate_limit(limit), rows).await;
    let out = scenario.run_unlimited(extra).await;
    out.assert_code(0);

    let snapshot = scenario.snapshot();
    assert!(
        snapshot.rate_limited > 0,
        "the server limit was actually hit"
    );
    assert_all_created(&scenario.records(), rows, &snapshot);
    snapshot
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_limit_below_the_runner_rate_is_absorbed_by_backoff_without_losing_rows() {
    // 20 requests per second per token; the runner sends as fast as it can.
    let rows = spread_rows(60, 3);
    let backoff = [
        "--backoff-initial",
        "200ms",
        "--backoff-max",
        "1s",
        "--max-attempts",
        "20",
    ];
    let snapshot = assert_server_limit_absorbed("20/s", &rows, &backoff).await;
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_window_longer_than_all_retries_does_not_exhaust_the_attempts() {
    // 5 requests per 1-second window, and retry delays of at most 50 ms: six attempts of a row
    // are spent in a quarter of a window. 429s do not count against --max-attempts (they go on
    // within the request's time budget), so every row still gets through, at the server's pace.
    let rows = spread_rows(20, 2);
    let attempts = ["--max-attempts", "6", "--concurrency", "4"];
    assert_server_limit_absorbed("5/s", &rows, &attempts).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_shards_together_create_every_row_once_and_keep_each_connection_in_one_shard() {
    let rows = spread_rows(60, 12);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let shard = |k: u32| {
        scenario
            .cli()
            .unlimited_rate()
            .arg("--shard")
            .arg(format!("{k}/3"))
            .run()
    };
    let (one, two, three) = tokio::join!(shard(1), shard(2), shard(3));
    for out in [&one, &two, &three] {
        out.assert_code(0);
    }

    let mut all = Vec::new();
    let mut shard_of_row = BTreeMap::new();
    let mut shards_of_connection: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for k in 1..=3 {
        let results = scenario
            .dir()
            .join(format!("envs.shard-{k}-of-3.results.csv"));
        for record in read_results(&results) {
            if let Some(other) = shard_of_row.insert(record.row, k) {
                panic!("row {} is in shard {other} and shard {k}", record.row);
            }
            shards_of_connection
                .entry(record.connection_id.clone())
                .or_default()
                .insert(k);
            all.push(record);
        }
    }
    let snapshot = scenario.snapshot();
    assert_all_created(&all, &rows, &snapshot);
    assert_eq!(snapshot.creates_applied, rows.len() as u64);
    assert_eq!(shards_of_connection.len(), 12);
    for (connection, shards) in &shards_of_connection {
        assert_eq!(
            shards.len(),
            1,
            "connection {connection} is split over shards {shards:?}"
        );
    }
}

/// Shards take their key to be shared unless told it is their own: each starts at its part of
/// --rate, its share of the input's rows, and says so; with --own-key it starts at the whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_shard_starts_at_its_part_of_the_rate_unless_its_key_is_its_own() {
    let rows = spread_rows(40, 8);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let rate = ["--rate", "6000/min"];
    let shared = scenario
        .cli()
        .args(rate)
        .args(["--shard", "1/2"])
        .run()
        .await;
    shared.assert_code(0);
    let own = scenario
        .cli()
        .args(rate)
        .args(["--shard", "2/2", "--own-key"])
        .run()
        .await;
    own.assert_code(0);

    let first = read_results(&scenario.dir().join("envs.shard-1-of-2.results.csv"));
    let second = read_results(&scenario.dir().join("envs.shard-2-of-2.results.csv"));
    assert!(
        !first.is_empty() && !second.is_empty(),
        "both shards have rows"
    );
    // The shard's part of --rate is its part of the rows: said in the log and the summary,
    // and only by the shard that took one.
    let percent = 100.0 * first.len() as f64 / rows.len() as f64;
    for (said, out) in [
        (format!("starts at {percent:.1}% of --rate"), &shared.stderr),
        (format!("this shard's part {percent:.1}%"), &shared.stdout),
    ] {
        assert!(out.contains(&said), "{said:?} in:\n{out}");
    }
    assert!(!own.stderr.contains("starts at"), "{}", own.stderr);
    assert!(!own.stdout.contains("this shard's part"), "{}", own.stdout);
    let all: Vec<_> = first.into_iter().chain(second).collect();
    assert_all_created(&all, &rows, &scenario.snapshot());
}
