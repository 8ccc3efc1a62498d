//! `export` end to end: the built CLI against a seeded sandbox, over real HTTP. Every
//! environment of the named connections, sorted, in the input format that `run` reads back to
//! the same environments (a round trip writes nothing); what a format cannot hold, a connection
//! that cannot be listed and a bad output path are named, and nothing is sent for the last.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::{
    cli, csv_table, fast_sandbox, read_results, requests_of, start_sandbox, write_file, writes,
};
use omni_dbt_sandbox::{ApiMethod, ConnectionMode, SandboxConfig, SeedConnection, SeedEnvironment};
use uuid::Uuid;

const OWNER: &str = "6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6";

/// A connection with a default environment and `count` others named `env_NNN`, seeded in
/// reverse order so that the sandbox's own order is the only thing that sorts them.
fn connection_with(id: Uuid, count: usize) -> SeedConnection {
    (0..count).rev().fold(
        SeedConnection::dbt(id).with_default_environment("Production", "analytics"),
        |connection, i| {
            connection.with_environment(
                SeedEnvironment::new(format!("env_{i:03}"), format!("dbt_{i:03}"))
                    .with_variable("DBT_TARGET", "dev"),
            )
        },
    )
}

/// One of each thing an export must carry over: target fields, an owner, plain and secret
/// variables, a plain value that looks like a reference, fields Omni holds as null.
fn rich_connection(id: Uuid) -> SeedConnection {
    SeedConnection::dbt(id)
        .with_default_environment("Production", "analytics")
        .with_environment(
            SeedEnvironment::new("dev_alice", "dbt_alice")
                .with_target_database("analytics_dev")
                .with_target_name("dev")
                .with_target_role("ANALYST")
                .with_owner_id(OWNER.parse().unwrap())
                .with_variable("DBT_TARGET", "dev")
                .with_variable("TEMPLATE", "${env:HOME}")
                .with_secret_variable("DBT_API_KEY", "alice-s3cr3t"),
        )
        .with_environment(
            SeedEnvironment::new("dev_bob", "dbt_bob")
                .with_variable("NOTE", "a, \"quoted\"\nvalue")
                .with_secret_variable("DBT_API_KEY", "bob-s3cr3t"),
        )
        .with_environment(SeedEnvironment::new("ci", "dbt_ci"))
}

fn sandbox_with(connections: impl IntoIterator<Item = SeedConnection>) -> SandboxConfig {
    connections
        .into_iter()
        .fold(fast_sandbox(), SandboxConfig::with_connection)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn every_environment_of_every_page_is_written_sorted_by_connection_then_name() {
    let (first, second) = (Uuid::from_u128(2), Uuid::from_u128(1));
    let sandbox = start_sandbox(sandbox_with([
        connection_with(first, 230),
        connection_with(second, 3),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("envs.csv");
    let output = cli()
        .export_against(&sandbox)
        .args(["--rate", "unlimited", "--connection", &first.to_string()])
        .args(["--connection", &second.to_string(), "--out"])
        .arg(&out)
        .run()
        .await;
    output.assert_code(0);

    let (header, rows) = csv_table(&read(&out));
    assert_eq!(
        header,
        [
            "connection_id",
            "name",
            "target_schema",
            "target_database",
            "target_name",
            "target_role",
            "owner_id",
            "var:DBT_TARGET"
        ]
    );
    let keys: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let mut expected: Vec<(String, String)> = [(second, 3), (first, 230)]
        .iter()
        .flat_map(|(id, n)| (0..*n).map(move |i| (id.to_string(), format!("env_{i:03}"))))
        .collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "every environment once, by connection then name"
    );
    assert!(
        !rows.iter().any(|r| r[1] == "Production"),
        "default environments are left out"
    );
    assert!(
        output.stdout.contains("233 environments of 2 connections"),
        "{}",
        output.all()
    );
    assert!(
        output.stdout.contains("2 default environments left out"),
        "{}",
        output.all()
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(
        requests_of(&snapshot, ApiMethod::Get),
        3 + 1,
        "every page, once"
    );
    assert_eq!(writes(&snapshot), 0);
}

#[tokio::test]
async fn export_then_run_existing_update_on_the_same_connections_writes_nothing() {
    let connection = Uuid::new_v4();
    let sandbox = start_sandbox(sandbox_with([rich_connection(connection)])).await;
    let dir = tempfile::tempdir().unwrap();
    for file in ["envs.csv", "envs.jsonl"] {
        let out = dir.path().join(file);
        cli()
            .export_against(&sandbox)
            .args(["--connection", &connection.to_string(), "--out"])
            .arg(&out)
            .run()
            .await
            .assert_code(0);
        let text = read(&out);
        assert!(text.contains("${env:DBT_API_KEY}"), "{text}");
        assert!(
            text.contains("$${env:HOME}"),
            "a literal reference is escaped: {text}"
        );
        assert!(!text.contains("s3cr3t"), "no secret value: {text}");

        let results = dir.path().join(format!("{file}.results.csv"));
        let output = cli()
            .run_against(&sandbox, &out)
            .args(["--existing", "update", "--rate", "unlimited", "--results"])
            .arg(&results)
            .env("DBT_API_KEY", "whatever-the-secret-is")
            .run()
            .await;
        output.assert_code(0);
        let records = read_results(&results);
        assert_eq!(records.len(), 3, "{file}");
        for record in &records {
            assert_eq!(record.status, "unchanged", "{file}: {record:?}");
        }
        assert_eq!(
            writes(&sandbox.snapshot()),
            0,
            "{file}: the round trip wrote nothing"
        );
    }
}

#[tokio::test]
async fn a_forbidden_or_missing_connection_exits_1_naming_it_and_the_others_are_exported() {
    let (good, forbidden, missing) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let config = sandbox_with([
        connection_with(good, 2),
        SeedConnection::without_dbt(forbidden),
        SeedConnection::missing(missing),
    ])
    .with_connection_mode(ConnectionMode::Listed);
    let sandbox = start_sandbox(config).await;
    let dir = tempfile::tempdir().unwrap();
    let list = write_file(
        dir.path(),
        "connections.csv",
        &format!("connection_id\n{missing}\n{good}\n{forbidden}\n"),
    );
    let out = dir.path().join("envs.jsonl");
    let output = cli()
        .export_against(&sandbox)
        .arg("--connections-from")
        .arg(&list)
        .arg("--out")
        .arg(&out)
        .run()
        .await;
    output.assert_code(1);
    for (id, kind) in [(forbidden, "forbidden"), (missing, "not_found")] {
        assert!(
            output
                .stderr
                .contains(&format!("error: connection {id} was not exported ({kind})")),
            "{}",
            output.all()
        );
    }
    let names: Vec<String> = read(&out)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["name"].to_string())
        .collect();
    assert_eq!(names, ["\"env_000\"", "\"env_001\""]);
}

#[tokio::test]
async fn an_empty_plain_value_needs_jsonl_and_csv_writes_the_rest() {
    let connection = Uuid::new_v4();
    let seed = SeedConnection::dbt(connection)
        .with_environment(SeedEnvironment::new("a_ok", "s").with_variable("EMPTY", "set"))
        .with_environment(SeedEnvironment::new("b_empty", "s").with_variable("EMPTY", ""))
        .with_environment(SeedEnvironment::new("c_ok", "s"));
    let sandbox = start_sandbox(sandbox_with([seed])).await;
    let dir = tempfile::tempdir().unwrap();

    let csv = dir.path().join("envs.csv");
    let output = cli()
        .export_against(&sandbox)
        .args(["--connection", &connection.to_string(), "--out"])
        .arg(&csv)
        .run()
        .await;
    output.assert_code(1);
    assert!(
        output.stderr.contains(&format!(
            "error: not exported: \"b_empty\" in connection {connection}: var:EMPTY has an empty value"
        )) && output.stderr.contains("export with --format jsonl to keep it"),
        "{}",
        output.all()
    );
    let (_, rows) = csv_table(&read(&csv));
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["a_ok", "c_ok"], "the rest is written");

    let jsonl = dir.path().join("envs.jsonl");
    cli()
        .export_against(&sandbox)
        .args(["--connection", &connection.to_string(), "--out"])
        .arg(&jsonl)
        .run()
        .await
        .assert_code(0);
    assert!(
        read(&jsonl).contains(r#""name":"b_empty","targetSchema":"s","variables":[{"name":"EMPTY","value":"","isSecret":false}]"#),
        "{}",
        read(&jsonl)
    );
    cli()
        .run_against(&sandbox, &jsonl)
        .args(["--existing", "update", "--rate", "unlimited"])
        .run()
        .await
        .assert_code(0);
    let statuses: Vec<String> = read_results(&dir.path().join("envs.results.csv"))
        .into_iter()
        .map(|record| record.status)
        .collect();
    assert_eq!(
        statuses, ["unchanged"; 3],
        "the empty value round-trips in JSONL"
    );
    assert_eq!(writes(&sandbox.snapshot()), 0);
}

#[tokio::test]
async fn stdout_is_the_default_and_the_summary_goes_to_stderr() {
    let connection = Uuid::new_v4();
    let sandbox = start_sandbox(sandbox_with([rich_connection(connection)])).await;
    let output = cli()
        .export_against(&sandbox)
        .args(["--connection", &connection.to_string()])
        .run()
        .await;
    output.assert_code(0);
    let (header, rows) = csv_table(&output.stdout);
    assert_eq!(header[0], "connection_id");
    assert_eq!(rows.len(), 3);
    assert!(
        output.stderr.contains("set DBT_API_KEY"),
        "{}",
        output.all()
    );
    assert!(!output.mentions("s3cr3t") && !output.mentions(sandbox.token()));
}

#[tokio::test]
async fn bad_outputs_and_connection_lists_exit_2_naming_them_and_send_nothing() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let existing = write_file(dir.path(), "old.csv", "keep me\n");
    let bad_list = write_file(
        dir.path(),
        "connections.csv",
        "connection_id\n550e8400-e29b-41d4-a716-446655440000\nnot-a-uuid\n",
    );
    let connection = ["--connection", "550e8400-e29b-41d4-a716-446655440000"];
    let cases: [(Vec<String>, String); 5] = [
        (
            vec!["--out".into(), dir.path().display().to_string()],
            "it is a directory".into(),
        ),
        (
            vec!["--out".into(), existing.display().to_string()],
            "it exists: pass --force".into(),
        ),
        (
            vec![
                "--out".into(),
                dir.path().join("envs.txt").display().to_string(),
            ],
            "its extension names no export format".into(),
        ),
        (
            vec![
                "--out".into(),
                dir.path().join("no/envs.csv").display().to_string(),
            ],
            "does not exist".into(),
        ),
        (
            vec!["--connections-from".into(), bad_list.display().to_string()],
            format!(
                "{}:3: connection_id: \"not-a-uuid\" is not a connection id",
                bad_list.display()
            ),
        ),
    ];
    for (args, needle) in cases {
        let with_connection = !args.contains(&"--connections-from".to_owned());
        let output = cli()
            .export_against(&sandbox)
            .args(if with_connection {
                &connection[..]
            } else {
                &[]
            })
            .args(&args)
            .run()
            .await;
        output.assert_code(2);
        assert!(
            output.stderr.contains(&needle),
            "{args:?}\n{}",
            output.all()
        );
    }
    assert_eq!(sandbox.snapshot().total_requests(), 0, "nothing was sent");
    assert_eq!(read(&existing), "keep me\n");

    cli()
        .export_against(&sandbox)
        .args(connection)
        .arg("--out")
        .arg(&existing)
        .arg("--force")
        .run()
        .await
        .assert_code(0);
    assert!(
        read(&existing).starts_with("connection_id,name,"),
        "--force replaces it"
    );
}

#[tokio::test]
async fn a_401_writes_nothing_and_exits_3() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("envs.csv");
    let output = cli()
        .export_against(&sandbox)
        .env("OMNI_API_TOKEN", "not-the-token")
        .args(["--connection", &Uuid::new_v4().to_string(), "--out"])
        .arg(&out)
        .run()
        .await;
    output.assert_code(3);
    assert!(!out.exists(), "nothing was written");
    assert!(output.mentions("nothing was written"), "{}", output.all());
    assert!(!output.mentions("not-the-token"));
}

#[tokio::test]
async fn include_default_exports_the_default_environment_too() {
    let connection = Uuid::new_v4();
    let sandbox = start_sandbox(sandbox_with([connection_with(connection, 1)])).await;
    let output = cli()
        .export_against(&sandbox)
        .args(["--connection", &connection.to_string(), "--format", "jsonl"])
        .env("OMNI_DBT_INCLUDE_DEFAULT", "true")
        .run()
        .await;
    output.assert_code(0);
    let names: Vec<String> = output
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["name"].to_string())
        .collect();
    assert_eq!(names, ["\"Production\"", "\"env_000\""], "{}", output.all());
}
