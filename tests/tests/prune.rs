//! End to end: `run --prune` deletes exactly the environments of the input's connections that no
//! row names, refuses (sending nothing) when its guard says no, and resumes after kill -9
//! without deleting anything twice.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{
    ApiMethod, FaultConfig, Sandbox, SeedConnection, SeedEnvironment, Snapshot,
};
use uuid::Uuid;

/// The connection every test prunes, and one the inputs never name.
const PRUNED: Uuid = Uuid::from_u128(0x6a1f_0000_0000_4000_8000_0000_0000_0001);
const UNNAMED: Uuid = Uuid::from_u128(0x6a1f_0000_0000_4000_8000_0000_0000_0002);

/// A dbt connection holding the default environment `production` and `names`.
fn seeded(connection: Uuid, names: &[&str]) -> SeedConnection {
    names.iter().fold(
        SeedConnection::dbt(connection).with_default_environment("production", "prod"),
        |seed, name| {
            seed.with_environment(SeedEnvironment::new(*name, format!("s_{}", name.trim())))
        },
    )
}

/// Names of the environments of `connection`, as stored.
fn names_in(snapshot: &Snapshot, connection: Uuid) -> BTreeSet<String> {
    snapshot
        .environments_in(connection)
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// Ids of the environments of `connection`, by name.
fn ids_in(snapshot: &Snapshot, connection: Uuid) -> BTreeMap<String, String> {
    snapshot
        .environments_in(connection)
        .iter()
        .map(|e| (e.name.clone(), e.id.to_string()))
        .collect()
}

fn rows(connection: Uuid, names: &[&str]) -> Vec<InputRow> {
    names
        .iter()
        .map(|name| InputRow::new(connection, *name, format!("s_{}", name.trim())))
        .collect()
}

fn prune(sandbox: &Sandbox, input: &Path) -> Cli {
    cli()
        .run_against(sandbox, input)
        .unlimited_rate()
        .arg("--prune")
}

/// The records of pruned environments (no row), in file order.
fn pruned_records(results: &Path) -> Vec<ResultRecord> {
    read_results(results)
        .into_iter()
        .filter(|r| r.row == 0)
        .collect()
}

const KEPT: [&str; 3] = ["keep_a", "keep_b", "keep_c "];
const EXTRAS: [&str; 3] = ["extra_x", "extra_y", "extra_z"];

/// A sandbox whose pruned connection holds the default, the kept names and the extras, and
/// whose other connection holds an extra-looking environment the input never names.
async fn standard_sandbox() -> Sandbox {
    let all: Vec<&str> = KEPT.iter().chain(&EXTRAS).copied().collect();
    start_sandbox(
        fast_sandbox()
            .with_connection(seeded(PRUNED, &all))
            .with_connection(seeded(UNNAMED, &["extra_elsewhere"])),
    )
    .await
}

/// The input: the kept names (trimmed differently than stored) and one new environment.
fn standard_rows() -> Vec<InputRow> {
    rows(PRUNED, &["keep_a", " keep_b", "keep_c", "new_d"])
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_exactly_the_environments_no_row_names_and_records_them_after_the_rows() {
    let sandbox = standard_sandbox().await;
    let before = sandbox.snapshot();
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &standard_rows());
    prune(&sandbox, &input)
        .args(["--max-deletes", "3"])
        .run()
        .await
        .assert_code(0);

    let after = sandbox.snapshot();
    let expected: BTreeSet<String> = ["production", "keep_a", "keep_b", "keep_c ", "new_d"]
        .map(String::from)
        .into();
    assert_eq!(names_in(&after, PRUNED), expected, "names matched trimmed");
    assert_eq!(
        after.environments_in(UNNAMED),
        before.environments_in(UNNAMED)
    );
    assert_eq!(after.deletes_applied, 3);
    assert_eq!(
        deletes(&after),
        3,
        "one DELETE per extra, none for anything else"
    );

    let results = default_results(&input);
    let records = read_results(&results);
    let (input_rows, pruned): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.row != 0);
    assert_eq!(input_rows.len(), 4);
    assert!(
        records[..4].iter().all(|r| r.row != 0),
        "pruned records come last"
    );
    let seeded = ids_in(&before, PRUNED);
    let recorded: Vec<(&str, &str, Option<&str>)> = pruned
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.status.as_str(),
                r.environment_id.as_deref(),
            )
        })
        .collect();
    let wanted: Vec<(&str, &str, Option<&str>)> = EXTRAS
        .iter()
        .map(|name| (*name, "deleted", Some(seeded[*name].as_str())))
        .collect();
    assert_eq!(recorded, wanted, "by name, each with the id deleted");
    for record in &pruned {
        assert_eq!(record.connection_id, PRUNED.to_string());
        assert_eq!((record.line, record.attempts), (0, Some(1)));
        assert!(record.fingerprint.starts_with("delete:"), "{record:?}");
    }
    assert!(!journal_of(&results).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guard_refuses_a_prune_over_max_deletes_sending_no_write_and_leaving_no_file() {
    let sandbox = standard_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &standard_rows());
    // 3 deletions of 7 listed: 300 > 10 x 7 under the default 10%; and more than 2.
    for limit in [None, Some("2"), Some("42%")] {
        let mut command = prune(&sandbox, &input);
        if let Some(limit) = limit {
            command = command.args(["--max-deletes", limit]);
        }
        let out = command.run().await;
        out.assert_code(2);
        assert!(
            out.stderr.contains("would delete 3 of the 7"),
            "{}",
            out.all()
        );
        assert!(out.stderr.contains("--max-deletes"), "{}", out.all());
    }
    // The same refusal under --dry-run, and through the environment twins.
    let dry = prune(&sandbox, &input).arg("--dry-run").run().await;
    dry.assert_code(2);
    cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .env("OMNI_DBT_PRUNE", "true")
        .env("OMNI_DBT_MAX_DELETES", "2")
        .run()
        .await
        .assert_code(2);

    let after = sandbox.snapshot();
    assert_eq!(deletes(&after), 0);
    assert_eq!(posts(&after), 0);
    assert_eq!(after.environments_in(PRUNED).len(), 7);
    assert!(
        !default_results(&input).exists(),
        "a refused plan leaves no results file"
    );
    assert!(!journal_of(&default_results(&input)).exists());

    // 3 x 100 > 42.85 x 7 is false: just enough.
    prune(&sandbox, &input)
        .args(["--max-deletes", "42.86%"])
        .run()
        .await
        .assert_code(0);
    assert_eq!(sandbox.snapshot().deletes_applied, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_refuses_invalid_rows_even_with_skip_invalid_and_unlistable_connections() {
    let forbidden = Uuid::new_v4();
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(PRUNED, &["keep_a", "extra_x"]))
            .with_connection(SeedConnection::without_dbt(forbidden)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();

    // The second row repeats the first's name: invalid, so "keep_a" would look unnamed.
    let mut invalid = rows(PRUNED, &["keep_a", "keep_a"]);
    invalid[1].target_schema = "other".into();
    let input = write_csv(dir.path(), "invalid.csv", &invalid);
    let out = prune(&sandbox, &input)
        .args(["--skip-invalid", "--max-deletes", "100%"])
        .run()
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains("--prune"), "{}", out.all());

    let mut unlistable = rows(PRUNED, &["keep_a"]);
    unlistable.extend(rows(forbidden, &["new"]));
    let input = write_csv(dir.path(), "forbidden.csv", &unlistable);
    let out = prune(&sandbox, &input)
        .args(["--max-deletes", "100%"])
        .run()
        .await;
    out.assert_code(2);
    assert!(out.stderr.contains(&forbidden.to_string()), "{}", out.all());

    let out = prune(&sandbox, &input)
        .args(["--existing", "ignore"])
        .run()
        .await;
    out.assert_code(2);

    let after = sandbox.snapshot();
    assert_eq!((deletes(&after), posts(&after)), (0, 0));
    assert_eq!(names_in(&after, PRUNED).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_prune_lists_the_deletions_and_sends_none() {
    let sandbox = standard_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &standard_rows());
    let out = prune(&sandbox, &input)
        .args(["--dry-run", "--max-deletes", "100%"])
        .run()
        .await;
    out.assert_code(0);
    assert!(out.stdout.contains("would delete 3"), "{}", out.all());
    let after = sandbox.snapshot();
    assert_eq!(requests_of(&after, ApiMethod::Delete), 0);
    assert_eq!(after.environments_in(PRUNED).len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_shard_only_the_connections_of_that_shard_are_pruned() {
    let connections: Vec<Uuid> = (1..=6u128).map(|i| Uuid::from_u128(0x5000 + i)).collect();
    let config = connections.iter().fold(fast_sandbox(), |config, c| {
        config.with_connection(seeded(*c, &["kept", "extra"]))
    });
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let input_rows: Vec<InputRow> = connections
        .iter()
        .flat_map(|c| rows(*c, &["kept"]))
        .collect();
    let input = write_csv(dir.path(), "envs.csv", &input_rows);

    let mut pruned_so_far = BTreeSet::new();
    for shard in ["1/2", "2/2"] {
        prune(&sandbox, &input)
            .args(["--shard", shard, "--max-deletes", "100%"])
            .run()
            .await
            .assert_code(0);
        let results = dir
            .path()
            .join(format!("envs.shard-{}-of-2.results.csv", &shard[..1]));
        let shard_connections: BTreeSet<String> = read_results(&results)
            .iter()
            .filter(|r| r.row != 0)
            .map(|r| r.connection_id.clone())
            .collect();
        let snapshot = sandbox.snapshot();
        let now_pruned: BTreeSet<String> = connections
            .iter()
            .filter(|c| !names_in(&snapshot, **c).contains("extra"))
            .map(Uuid::to_string)
            .collect();
        let this_shard: BTreeSet<String> = now_pruned.difference(&pruned_so_far).cloned().collect();
        assert_eq!(
            this_shard, shard_connections,
            "shard {shard} prunes its own connections"
        );
        assert!(pruned_records(&results)
            .iter()
            .all(|r| shard_connections.contains(&r.connection_id)));
        pruned_so_far = now_pruned;
    }
    assert_eq!(pruned_so_far.len(), connections.len());
    assert_eq!(sandbox.snapshot().deletes_applied, connections.len() as u64);
}

/// Extras of the kill test: enough that the kill lands in the middle of the prune.
const KILL_EXTRAS: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_prune_then_resume_deletes_each_extra_exactly_once() {
    let extras: Vec<String> = (0..KILL_EXTRAS).map(|i| format!("stale_{i:02}")).collect();
    let mut names: Vec<&str> = extras.iter().map(String::as_str).collect();
    names.extend(["kept_1", "kept_2"]);
    let sandbox = start_sandbox(fast_sandbox().with_connection(seeded(PRUNED, &names))).await;
    let before = sandbox.snapshot();
    let dir = tempfile::tempdir().unwrap();
    let input_rows = rows(PRUNED, &["kept_1", "kept_2", "new_1"]);
    let input = write_csv(dir.path(), "envs.csv", &input_rows);
    let results = default_results(&input);

    let mut running = cli()
        .run_against(&sandbox, &input)
        .args(["--prune", "--max-deletes", "100%", "--rate", "1200/min"])
        .spawn();
    // The three rows, then 10 deletions: the kill lands mid-prune.
    let seen = running
        .wait_for_records(&results, input_rows.len() + 10)
        .await;
    assert!(seen >= input_rows.len() + 10, "the run ended too early");
    running.kill_9().await;
    let applied_before = sandbox.snapshot().deletes_applied;
    assert!(
        applied_before < KILL_EXTRAS as u64,
        "the kill came before the end"
    );

    prune(&sandbox, &input)
        .args(["--max-deletes", "100%", "--resume"])
        .run()
        .await
        .assert_code(0);

    let after = sandbox.snapshot();
    assert_eq!(after.deletes_applied, KILL_EXTRAS as u64);
    assert_eq!(
        deletes(&after),
        KILL_EXTRAS as u64,
        "every DELETE sent removed an extra: none was sent twice"
    );
    assert_eq!(after.requests_with(ApiMethod::Delete, 404), 0);
    assert_eq!(after.duplicates_created, 0);
    let expected: BTreeSet<String> = ["production", "kept_1", "kept_2", "new_1"]
        .map(String::from)
        .into();
    assert_eq!(names_in(&after, PRUNED), expected);

    let seeded = ids_in(&before, PRUNED);
    let pruned = pruned_records(&results);
    let recorded: BTreeMap<String, (String, Option<String>)> = pruned
        .iter()
        .map(|r| (r.name.clone(), (r.status.clone(), r.environment_id.clone())))
        .collect();
    assert_eq!(pruned.len(), KILL_EXTRAS, "one record per extra");
    for name in &extras {
        assert_eq!(
            recorded[name],
            ("deleted".to_owned(), Some(seeded[name].clone())),
            "{name}"
        );
    }
    records_by_row(
        &read_results(&results)
            .into_iter()
            .filter(|r| r.row != 0)
            .collect::<Vec<_>>(),
        input_rows.len(),
    );
    assert!(!journal_of(&results).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_applied_but_unanswered_at_a_kill_are_adopted_by_resume_without_a_request() {
    // Every delete is applied at once and answered 10 s later: the kill comes while all of them
    // are applied and none is answered, so each is an intent without a record.
    let faults: FaultConfig = "delete:commit-slow=1.0:10s".parse().unwrap();
    let extras = ["old_1", "old_2", "old_3", "old_4"];
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_faults(faults)
            .with_connection(seeded(PRUNED, &[extras.as_slice(), &["kept"]].concat())),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &rows(PRUNED, &["kept"]));
    let results = default_results(&input);

    let mut running = prune(&sandbox, &input)
        .args(["--max-deletes", "100%", "--concurrency", "8"])
        .spawn();
    let reached = running
        .wait_for_sandbox(&sandbox, |s| s.deletes_applied == extras.len() as u64)
        .await;
    assert!(reached, "every delete was applied before the run ended");
    running.kill_9().await;
    assert_eq!(pruned_records(&results).len(), 0, "no delete was answered");

    let deletes_before = deletes(&sandbox.snapshot());
    prune(&sandbox, &input)
        .args(["--max-deletes", "100%", "--resume"])
        .run()
        .await
        .assert_code(0);
    let after = sandbox.snapshot();
    assert_eq!(after.deletes_applied, extras.len() as u64);
    assert_eq!(deletes(&after), deletes_before, "resume sent no DELETE");
    let pruned = pruned_records(&results);
    assert_eq!(pruned.len(), extras.len());
    for record in &pruned {
        assert_eq!(record.status, "deleted", "{record:?}");
        assert_eq!(record.attempts, Some(0), "adopted, not sent: {record:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_delete_answer_is_reconciled_by_listing_never_assumed() {
    // Each delete is applied, then answered 500: the client's retry finds it gone (404), and
    // listing the connection proves the first delete did it; one listing settles both.
    let faults: FaultConfig = "delete:commit-500=1.0".parse().unwrap();
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_faults(faults)
            .with_connection(seeded(PRUNED, &["kept", "old_1", "old_2"])),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &rows(PRUNED, &["kept"]));
    prune(&sandbox, &input)
        .args(["--max-deletes", "100%"])
        .run()
        .await
        .assert_code(0);
    let after = sandbox.snapshot();
    assert_eq!(after.deletes_applied, 2);
    let pruned = pruned_records(&default_results(&input));
    assert_eq!(pruned.len(), 2);
    for record in &pruned {
        assert_eq!(record.status, "deleted", "{record:?}");
        assert_eq!(record.attempts, Some(2), "delete and retry: {record:?}");
    }
    assert_eq!(
        requests_of(&after, omni_dbt_sandbox::ApiMethod::Get),
        2,
        "the plan's listing, then one listing shared by both lost deletes"
    );
}

/// One state of the file the cron loop keeps in git: (connection, name, schema) rows.
fn cron_file(step: usize) -> Vec<InputRow> {
    let a = PRUNED;
    let b = UNNAMED;
    let row = |c: Uuid, name: &str, schema: &str| InputRow::new(c, name, schema);
    match step {
        0 => vec![row(a, "dev", "s1"), row(a, "qa", "s1"), row(b, "dev", "s1")],
        1 => vec![
            row(a, "dev", "s1"),
            row(a, "qa", "s1"),
            row(a, "uat", "s1"),
            row(b, "dev", "s1"),
            row(b, "ops", "s1"),
        ],
        2 => vec![
            row(a, "dev", "s2"),
            row(a, "qa", "s1"),
            row(a, "uat", "s1"),
            row(b, "dev", "s1"),
            row(b, "ops", "s2"),
        ],
        3 => vec![
            row(a, "dev", "s2"),
            row(a, "uat", "s1"),
            row(b, "ops", "s2"),
        ],
        _ => vec![
            row(a, "dev", "s3"),
            row(a, "perf", "s1"),
            row(b, "ops", "s2"),
            row(b, "sec", "s1"),
        ],
    }
}

/// What Omni holds in a connection, default environment aside: name -> schema.
fn held(snapshot: &Snapshot, connection: Uuid) -> BTreeMap<String, String> {
    snapshot
        .environments_in(connection)
        .iter()
        .filter(|e| !e.is_default_environment)
        .map(|e| (e.name.clone(), e.target_schema.clone()))
        .collect()
}

fn wanted(rows: &[InputRow], connection: Uuid) -> BTreeMap<String, String> {
    rows.iter()
        .filter(|r| r.connection_id == connection)
        .map(|r| (r.name.clone(), r.target_schema.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cron_loop_of_update_and_prune_runs_keeps_omni_equal_to_the_file() {
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(seeded(PRUNED, &[]))
            .with_connection(seeded(UNNAMED, &["leftover"])),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut removed = 1; // "leftover" is not in the first file
    for step in 0..5 {
        let file = cron_file(step);
        if step > 0 {
            let before = cron_file(step - 1);
            removed += before
                .iter()
                .filter(|r| {
                    !file
                        .iter()
                        .any(|f| (f.connection_id, &f.name) == (r.connection_id, &r.name))
                })
                .count();
        }
        let input = write_csv(dir.path(), "envs.csv", &file);
        prune(&sandbox, &input)
            .args(["--existing", "update", "--max-deletes", "100%", "--force"])
            .run()
            .await
            .assert_code(0);
        let snapshot = sandbox.snapshot();
        for connection in [PRUNED, UNNAMED] {
            assert_eq!(
                held(&snapshot, connection),
                wanted(&file, connection),
                "step {step}"
            );
            assert!(names_in(&snapshot, connection).contains("production"));
        }
    }
    let end = sandbox.snapshot();
    assert_eq!(end.duplicates_created, 0, "{:?}", end.duplicates);
    assert_eq!(end.deletes_applied, removed as u64);
    assert_eq!(deletes(&end), removed as u64, "no delete sent twice");
    assert_eq!(end.requests_with(ApiMethod::Delete, 404), 0);
}
