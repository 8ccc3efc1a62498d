//! End to end: `merge` joins the results files of an input's shards into the file a single run
//! writes, row for row, and refuses overlaps that disagree, files of other inputs and bad paths.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{Sandbox, SandboxConfig, SeedConnection, SeedEnvironment, Snapshot};
use uuid::Uuid;

const SHARDS: usize = 4;
const ROWS: usize = 48;

fn connections() -> Vec<Uuid> {
    (1..=8u128).map(|i| Uuid::from_u128(0x8e00 + i)).collect()
}

/// Each connection already holds `env_000K` for its first row, so some rows are `exists`.
fn config() -> SandboxConfig {
    connections()
        .into_iter()
        .enumerate()
        .fold(fast_sandbox(), |config, (i, connection)| {
            let name = format!("env_{:04}", i + 1);
            config.with_connection(
                SeedConnection::dbt(connection).with_environment(SeedEnvironment::new(name, "x")),
            )
        })
}

fn shard_results(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("envs.shard-{shard}-of-{SHARDS}.results.csv"))
}

/// The input, run whole in one sandbox and in four shards in another; returns the sandboxes,
/// the single run's results and the shards' results.
async fn single_and_sharded(dir: &Path) -> (Sandbox, Sandbox, PathBuf, Vec<PathBuf>) {
    let rows = rows_over(ROWS, &connections());
    let single_dir = dir.join("single");
    std::fs::create_dir(&single_dir).unwrap();
    let single_input = write_csv(&single_dir, "envs.csv", &rows);
    let input = write_csv(dir, "envs.csv", &rows);
    let single = start_sandbox(config()).await;
    cli()
        .run_against(&single, &single_input)
        .unlimited_rate()
        .run()
        .await
        .assert_code(0);
    let sharded = start_sandbox(config()).await;
    for shard in 1..=SHARDS {
        cli()
            .run_against(&sharded, &input)
            .unlimited_rate()
            .args(["--shard", &format!("{shard}/{SHARDS}")])
            .run()
            .await
            .assert_code(0);
    }
    let shards = (1..=SHARDS).map(|k| shard_results(dir, k)).collect();
    (single, sharded, default_results(&single_input), shards)
}

/// A record with its environment id replaced by the name it has in `snapshot` (ids differ
/// between sandboxes; what matters is that each maps to its own sandbox's environment).
fn comparable(record: &ResultRecord, snapshot: &Snapshot) -> ResultRecord {
    let connection: Uuid = record.connection_id.parse().unwrap();
    if let Some(id) = &record.environment_id {
        assert_eq!(
            id,
            &sandbox_id(snapshot, connection, &record.name),
            "{record:?}"
        );
    }
    ResultRecord {
        environment_id: None,
        ..record.clone()
    }
}

fn merge(results: &[PathBuf], out: &Path) -> Cli {
    cli().arg("merge").args(results).arg("--out").arg(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_merge_of_four_shards_equals_a_single_runs_results_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let (single, sharded, single_results, mut shards) = single_and_sharded(dir.path()).await;
    shards.reverse(); // any order
    let out = dir.path().join("merged.csv");
    let merged = merge(&shards, &out)
        .arg("--input")
        .arg(dir.path().join("envs.csv"))
        .run()
        .await;
    merged.assert_code(0);
    assert!(
        merged.stdout.contains(&format!("{ROWS} rows")),
        "{}",
        merged.all()
    );

    let (a, b) = (single.snapshot(), sharded.snapshot());
    let expected: Vec<ResultRecord> = read_results(&single_results)
        .iter()
        .map(|r| comparable(r, &a))
        .collect();
    let actual: Vec<ResultRecord> = read_results(&out)
        .iter()
        .map(|r| comparable(r, &b))
        .collect();
    assert_eq!(actual, expected);
    assert!(expected.iter().any(|r| r.status == "exists"));

    // The same in JSONL, by --out's extension.
    let jsonl = dir.path().join("merged.jsonl");
    merge(&shards, &jsonl).run().await.assert_code(0);
    let from_jsonl: Vec<ResultRecord> = read_results(&jsonl)
        .iter()
        .map(|r| comparable(r, &b))
        .collect();
    assert_eq!(from_jsonl, expected);
}

/// `path`'s text with the first occurrence of `from` in its second line replaced by `to`,
/// written to `dir/name`.
fn edited_copy(path: &Path, dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[1].contains(from), "{}", lines[1]);
    lines[1] = lines[1].replacen(from, to, 1);
    write_file(dir, name, &(lines.join("\n") + "\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn overlaps_and_gaps_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (_single, _sharded, single_results, shards) = single_and_sharded(dir.path()).await;
    let out = dir.path().join("merged.csv");
    let name = |path: &Path| path.display().to_string();

    // The same shard twice, identical: one record per row.
    let twice = [shards.clone(), vec![shards[0].clone()]].concat();
    merge(&twice, &out).run().await.assert_code(0);
    assert_eq!(read_results(&out).len(), ROWS);

    // The same row with another outcome.
    let first = read_results(&shards[0]).remove(0);
    let other = edited_copy(
        &shards[0],
        dir.path(),
        "other.csv",
        &format!(",{},", first.status),
        ",failed,",
    );
    let conflict = merge(&[shards.clone(), vec![other.clone()]].concat(), &out)
        .run()
        .await;
    conflict.assert_code(2);
    assert!(
        conflict.stderr.contains("different outcomes"),
        "{}",
        conflict.all()
    );
    assert!(
        conflict.stderr.contains(&format!("{}:2", name(&shards[0]))),
        "{}",
        conflict.all()
    );
    assert!(
        conflict.stderr.contains(&format!("{}:2", name(&other))),
        "{}",
        conflict.all()
    );

    // The same row number, another row: not results of one input.
    let moved = edited_copy(
        &shards[0],
        dir.path(),
        "moved.csv",
        &format!(",{},", first.name),
        ",someone_else,",
    );
    let different = merge(&[shards[0].clone(), moved.clone()], &out).run().await;
    different.assert_code(2);
    assert!(
        different.stderr.contains("not results of one input"),
        "{}",
        different.all()
    );

    // The first half of the rows in one file, the second in another: no row overlaps, lines
    // rise, but every connection is split between the files, which no sharding of one input does.
    let text = std::fs::read_to_string(&single_results).unwrap();
    let (header, records) = text.split_once('\n').unwrap();
    let records: Vec<&str> = records.lines().collect();
    let (first_half, second_half) = records.split_at(ROWS / 2);
    let half = |kept: &[&str]| format!("{header}\n{}\n", kept.join("\n"));
    let early = write_file(dir.path(), "early.csv", &half(first_half));
    let late = write_file(dir.path(), "late.csv", &half(second_half));
    let split = merge(&[early, late], &out).run().await;
    split.assert_code(2);
    assert!(
        split.stderr.contains("never split a connection"),
        "{}",
        split.all()
    );

    // Three shards of four, with the input: the fourth's rows are listed, exit 1.
    let three = &shards[..3];
    let fourth: Vec<ResultRecord> = read_results(&shards[3]);
    let gaps = merge(three, &out)
        .arg("--input")
        .arg(dir.path().join("envs.csv"))
        .run()
        .await;
    gaps.assert_code(1);
    for record in &fourth {
        assert!(
            gaps.stderr.contains(&format!(
                "row {} (input line {}, {:?})",
                record.row, record.line, record.name
            )),
            "{}",
            gaps.all()
        );
    }
    assert_eq!(
        read_results(&out).len(),
        ROWS - fourth.len(),
        "what was recorded is merged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paths_and_files_are_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_single, sharded, _single_results, shards) = single_and_sharded(dir.path()).await;
    let name = |path: &Path| path.display().to_string();
    let refused = |out: RunOutput, needle: String| {
        out.assert_code(2);
        assert!(
            out.stderr.contains(&needle),
            "expected {needle:?}\n{}",
            out.all()
        );
    };
    let out = dir.path().join("merged.csv");

    refused(
        merge(&shards, dir.path()).run().await,
        "is a directory".into(),
    );
    refused(
        merge(&shards, &shards[2]).run().await,
        "one of the files merge reads".into(),
    );
    let missing = dir.path().join("nope.results.csv");
    refused(
        merge(std::slice::from_ref(&missing), &out).run().await,
        name(&missing),
    );
    let input = dir.path().join("envs.csv");
    refused(
        merge(std::slice::from_ref(&input), &out).run().await,
        format!("{}:1:", name(&input)),
    );

    cli()
        .undo_against(&sharded, &shards[0])
        .unlimited_rate()
        .arg("--yes")
        .run()
        .await
        .assert_code(0);
    let undo_file = dir.path().join("envs.shard-1-of-4.results.undo.csv");
    refused(
        merge(std::slice::from_ref(&undo_file), &out).run().await,
        format!("{}:2:", name(&undo_file)),
    );
    assert!(!out.exists(), "nothing was written");
}
