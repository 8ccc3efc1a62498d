//! `--map-connections` end to end: an export moved into other connections of the same Omni,
//! and into a second sandbox standing for another organization, each environment created once
//! and every result carrying its target connection; unmapped rows and malformed maps are
//! refused by `run`, `plan` and `validate` before anything is sent, naming the file and line.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use omni_dbt_e2e::{
    cli, csv_table, fast_sandbox, posts, read_results, records_by_row, start_sandbox, write_file,
    InputRow, Scenario,
};
use omni_dbt_sandbox::{Sandbox, SandboxConfig, SeedConnection, SeedEnvironment};
use uuid::Uuid;

/// Two source connections: three environments with variables (one secret) and a default one.
fn source_sandbox(a: Uuid, b: Uuid) -> SandboxConfig {
    let seeded = |id, names: &[&str]| {
        names.iter().fold(
            SeedConnection::dbt(id).with_default_environment("Production", "analytics"),
            |connection, name| {
                connection.with_environment(
                    SeedEnvironment::new(*name, format!("dbt_{name}"))
                        .with_target_role("ANALYST")
                        .with_variable("DBT_TARGET", "dev")
                        .with_secret_variable("DBT_API_KEY", "source-secret"),
                )
            },
        )
    };
    fast_sandbox()
        .with_connection(seeded(a, &["dev_alice", "dev_bob"]))
        .with_connection(seeded(b, &["ci"]))
}

/// Exports `connections` of `sandbox` to `dir/export.csv`.
async fn export(sandbox: &Sandbox, connections: &[Uuid], dir: &Path) -> PathBuf {
    let out = dir.join("export.csv");
    let mut command = cli().export_against(sandbox).arg("--out").arg(&out);
    for connection in connections {
        command = command.args(["--connection", &connection.to_string()]);
    }
    command.run().await.assert_code(0);
    out
}

/// What `command` needs to reach the sandbox (`validate` reaches nothing).
fn api_args(command: &str, sandbox: &Sandbox) -> Vec<String> {
    match command {
        "validate" => Vec::new(),
        _ => vec!["--base-url".to_owned(), sandbox.base_url()],
    }
}

fn map_text(pairs: &[(Uuid, Uuid)]) -> String {
    pairs
        .iter()
        .fold("from,to\n".to_owned(), |text, (from, to)| {
            format!("{text}{from},{to}\n")
        })
}

/// Checks that `target` holds exactly the moved environments, once each, and that the results
/// of the run map every row to its target connection and environment.
fn assert_moved(target: &Sandbox, results: &Path, moved: &[(Uuid, &str)]) {
    let snapshot = target.snapshot();
    assert_eq!(
        snapshot.creates_applied,
        moved.len() as u64,
        "each created once"
    );
    assert_eq!(snapshot.duplicates_created, 0);
    let records = read_results(results);
    for (record, (connection, name)) in records_by_row(&records, moved.len()).into_iter().zip(moved)
    {
        assert_eq!(record.status, "created", "{record:?}");
        assert_eq!(record.connection_id, connection.to_string(), "{record:?}");
        assert_eq!(record.name, *name);
        let created: Vec<_> = snapshot.environments_named(*connection, name).collect();
        assert_eq!(created.len(), 1, "{name}");
        assert_eq!(record.environment_id, Some(created[0].id.to_string()));
        assert_eq!(created[0].target_role.as_deref(), Some("ANALYST"));
        assert!(created[0]
            .variables
            .iter()
            .any(|v| v.name == "DBT_TARGET" && v.value.as_deref() == Some("dev")));
        let secret = target.variable_value(*connection, created[0].id, "DBT_API_KEY");
        assert_eq!(
            secret.as_deref(),
            Some("target-secret"),
            "read from the runner's environment"
        );
    }
}

#[tokio::test]
async fn an_export_moves_into_other_connections_of_the_same_omni_each_environment_once() {
    let (a, b, new_a, new_b) = (
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let sandbox = start_sandbox(source_sandbox(a, b)).await;
    let dir = tempfile::tempdir().unwrap();
    let exported = export(&sandbox, &[a, b], dir.path()).await;
    let map = write_file(dir.path(), "map.csv", &map_text(&[(a, new_a), (b, new_b)]));

    let output = cli()
        .run_against(&sandbox, &exported)
        .arg("--map-connections")
        .arg(&map)
        .env("DBT_API_KEY", "target-secret")
        .args(["--rate", "unlimited"])
        .run()
        .await;
    output.assert_code(0);
    assert_moved(
        &sandbox,
        &dir.path().join("export.results.csv"),
        &[(new_a, "dev_alice"), (new_a, "dev_bob"), (new_b, "ci")],
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(
        snapshot.environments_in(a).len(),
        3,
        "the source is untouched"
    );
    assert_eq!(snapshot.environments_in(b).len(), 2);
}

#[tokio::test]
async fn an_export_moves_into_a_second_sandbox_standing_for_another_organization() {
    let (a, b, new_a, new_b) = (
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let source = start_sandbox(source_sandbox(a, b)).await;
    let target = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let exported = export(&source, &[a, b], dir.path()).await;
    let map = write_file(dir.path(), "map.csv", &map_text(&[(b, new_b), (a, new_a)]));

    let output = cli()
        .run_against(&target, &exported)
        .arg("--map-connections")
        .arg(&map)
        .env("DBT_API_KEY", "target-secret")
        .args(["--rate", "unlimited"])
        .run()
        .await;
    output.assert_code(0);
    assert_moved(
        &target,
        &dir.path().join("export.results.csv"),
        &[(new_a, "dev_alice"), (new_a, "dev_bob"), (new_b, "ci")],
    );
    assert_eq!(
        posts(&source.snapshot()),
        0,
        "the source organization is only read"
    );

    // Run again: every row is found in its target connection, nothing is created twice.
    let again = cli()
        .run_against(&target, &exported)
        .arg("--map-connections")
        .arg(&map)
        .env("DBT_API_KEY", "target-secret")
        .args(["--rate", "unlimited", "--force"])
        .run()
        .await;
    again.assert_code(0);
    assert_eq!(target.snapshot().creates_applied, 3);
    let statuses: Vec<String> = read_results(&dir.path().join("export.results.csv"))
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, ["exists"; 3]);
}

#[tokio::test]
async fn rows_moved_onto_one_connection_are_judged_there_as_duplicates() {
    let (a, b, target) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let rows = [InputRow::new(a, "dev", "s1"), InputRow::new(b, "dev", "s2")];
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let map = write_file(
        scenario.dir(),
        "map.csv",
        &map_text(&[(a, target), (b, target)]),
    );
    let output = scenario
        .cli()
        .unlimited_rate()
        .arg("--map-connections")
        .arg(&map)
        .arg("--skip-invalid")
        .run()
        .await;
    output.assert_code(1);
    let records = scenario.records_in_row_order(2);
    assert_eq!(records[0].status, "created");
    assert_eq!(records[1].status, "invalid");
    assert!(
        records[1]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("duplicate of the row on line 2"),
        "{records:?}"
    );
    assert!(records
        .iter()
        .all(|r| r.connection_id == target.to_string()));
    assert_eq!(scenario.snapshot().creates_applied, 1);
}

#[tokio::test]
async fn an_unmapped_row_is_invalid_naming_its_line_for_run_plan_and_validate() {
    let (a, unmapped, target) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let rows = [
        InputRow::new(a, "dev", "s"),
        InputRow::new(unmapped, "qa", "s"),
    ];
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let map = write_file(scenario.dir(), "map.csv", &map_text(&[(a, target)]));
    let expected = format!(
        "{}:3: connection_id: {unmapped} is not in the map {}",
        scenario.input.display(),
        map.display()
    );
    for command in ["run", "plan", "validate"] {
        let output = cli()
            .arg(command)
            .arg(&scenario.input)
            .arg("--map-connections")
            .arg(&map)
            .args(api_args(command, &scenario.sandbox))
            .env("OMNI_API_TOKEN", scenario.sandbox.token())
            .run()
            .await;
        output.assert_code(2);
        assert!(
            output.stderr.contains(&expected),
            "{command}\n{}",
            output.all()
        );
    }
    let env_twin = scenario
        .cli()
        .env("OMNI_DBT_MAP_CONNECTIONS", &map)
        .run()
        .await;
    env_twin.assert_code(2);
    assert!(env_twin.stderr.contains(&expected), "{}", env_twin.all());
    assert_eq!(scenario.snapshot().total_requests(), 0, "nothing was sent");
    assert!(!scenario.results().exists());
}

#[tokio::test]
async fn a_malformed_map_exits_2_naming_the_map_and_its_line_for_run_plan_and_validate() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let scenario = Scenario::csv(fast_sandbox(), &[InputRow::new(a, "dev", "s")]).await;
    let dir = scenario.dir();
    let cases = [
        (
            "header.csv",
            "source,target\n".to_owned(),
            1,
            "a connection map needs a header naming `from,to`; found `source,target`".to_owned(),
        ),
        (
            "uuid.csv",
            format!("from,to\n{a},{b}\n{b},nope\n"),
            3,
            "to: \"nope\" is not a connection id".to_owned(),
        ),
        (
            "twice.csv",
            format!("from,to\n{a},{b}\n\n{a},{a}\n"),
            4,
            format!("from: {a} is mapped twice (first on line 2)"),
        ),
    ];
    for (file, text, line, needle) in cases {
        let map = write_file(dir, file, &text);
        for command in ["run", "plan", "validate"] {
            let output = cli()
                .arg(command)
                .arg(&scenario.input)
                .arg("--map-connections")
                .arg(&map)
                .args(api_args(command, &scenario.sandbox))
                .env("OMNI_API_TOKEN", scenario.sandbox.token())
                .run()
                .await;
            output.assert_code(2);
            let expected = format!("{}:{line}: {needle}", map.display());
            assert!(
                output.stderr.contains(&expected),
                "{command} {file}\n{}",
                output.all()
            );
        }
    }
    assert_eq!(scenario.snapshot().total_requests(), 0, "nothing was sent");
    let (_, rows) = csv_table(&std::fs::read_to_string(&scenario.input).unwrap());
    assert_eq!(rows.len(), 1, "the input is untouched");
}
