//! End to end: `plan` lists and decides every row, sends no write, writes no results file, shows each field that drifted, and exits 4 exactly when something would change.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ApiMethod, Sandbox, SeedConnection, SeedEnvironment};
use uuid::Uuid;

/// `plan` against the sandbox, with `args`.
async fn plan(sandbox: &Sandbox, input: &Path, args: &[&str]) -> RunOutput {
    cli()
        .plan_against(sandbox, input)
        .unlimited_rate()
        .args(args)
        .run()
        .await
}

/// `run` against the sandbox, with `args`.
async fn run(sandbox: &Sandbox, input: &Path, args: &[&str]) -> RunOutput {
    cli()
        .run_against(sandbox, input)
        .unlimited_rate()
        .args(args)
        .run()
        .await
}

/// The plan's lines for rows with this action (each row line starts with its action).
fn rows_with(out: &RunOutput, action: &str) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|line| line.split_whitespace().next() == Some(action))
        .map(str::to_owned)
        .collect()
}

/// The plan's lines of field changes (`    ~ field: old -> new`).
fn changes(out: &RunOutput) -> Vec<String> {
    out.stdout
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("~ "))
        .map(str::to_owned)
        .collect()
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_on_a_fresh_sandbox_exits_4_lists_every_create_and_sends_no_write() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(6, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);

    let out = plan(&sandbox, &input, &[]).await;
    out.assert_code(4);

    let creates = rows_with(&out, "create");
    assert_eq!(creates.len(), rows.len(), "{}", out.all());
    for (line, row) in creates.iter().zip(&rows) {
        assert!(
            line.ends_with(&format!("{} {}", row.connection_id, row.name)),
            "{line}"
        );
    }
    assert!(
        out.stdout.contains("exit 4: 6 changes to make"),
        "{}",
        out.all()
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(writes(&snapshot), 0, "a plan sends no write");
    assert_eq!(
        requests_of(&snapshot, ApiMethod::Get),
        2,
        "each connection listed once"
    );
    assert_eq!(snapshot.environment_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_leaves_no_results_file_and_never_touches_an_existing_one() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &spread_rows(4, 2));

    plan(&sandbox, &input, &[]).await.assert_code(4);
    assert_eq!(
        files_in(dir.path()),
        ["envs.csv"],
        "nothing created beside the input"
    );

    run(&sandbox, &input, &[]).await.assert_code(0);
    let results = default_results(&input);
    let before = std::fs::read(&results).unwrap();
    let listed = files_in(dir.path());
    // --force would let `run` overwrite it; a plan leaves it be all the same.
    plan(&sandbox, &input, &["--force"]).await.assert_code(0);
    plan(&sandbox, &input, &["--results", "other.csv"])
        .await
        .assert_code(0);
    assert_eq!(
        std::fs::read(&results).unwrap(),
        before,
        "results untouched"
    );
    assert_eq!(
        files_in(dir.path()),
        listed,
        "no journal, no other results file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_run_the_plan_exits_0_whether_rows_are_skipped_or_compared() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(5, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    run(&sandbox, &input, &[]).await.assert_code(0);
    let written = writes(&sandbox.snapshot());

    let skipped = plan(&sandbox, &input, &[]).await;
    skipped.assert_code(0);
    assert_eq!(
        rows_with(&skipped, "exists").len(),
        rows.len(),
        "{}",
        skipped.all()
    );
    let compared = plan(&sandbox, &input, &["--existing", "update"]).await;
    compared.assert_code(0);
    assert_eq!(
        rows_with(&compared, "unchanged").len(),
        rows.len(),
        "{}",
        compared.all()
    );
    assert!(
        compared.stdout.contains("exit 0: nothing to change"),
        "{}",
        compared.all()
    );
    assert_eq!(
        writes(&sandbox.snapshot()),
        written,
        "the plans sent no write"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_changed_field_is_planned_alone_with_both_values_then_run_fixes_it() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rows = spread_rows(5, 2);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    run(&sandbox, &input, &[]).await.assert_code(0);

    rows[2].variables[0].value = "prod".into();
    write_csv(dir.path(), "envs.csv", &rows);
    let drifted = plan(&sandbox, &input, &["--existing", "update"]).await;
    drifted.assert_code(4);
    let id = sandbox_id(&sandbox.snapshot(), rows[2].connection_id, &rows[2].name);
    assert_eq!(
        rows_with(&drifted, "update"),
        [format!(
            "update     line 4      {} env_0003 (environment {id})",
            rows[2].connection_id
        )],
        "{}",
        drifted.all()
    );
    assert_eq!(changes(&drifted), [r#"var:DBT_TARGET: "dev" -> "prod""#]);
    assert_eq!(rows_with(&drifted, "unchanged").len(), rows.len() - 1);

    run(&sandbox, &input, &["--existing", "update", "--force"])
        .await
        .assert_code(0);
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.updates_applied, 1, "only the drifted row is sent");
    let value = sandbox.variable_value(rows[2].connection_id, id.parse().unwrap(), "DBT_TARGET");
    assert_eq!(value.as_deref(), Some("prod"));
    let settled = plan(&sandbox, &input, &["--existing", "update"]).await;
    settled.assert_code(0);
    assert!(changes(&settled).is_empty(), "{}", settled.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_values_never_appear_in_a_plan_and_uncompared_secrets_are_named() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = format!("plansecret{}", Uuid::new_v4().simple());
    let connection = Uuid::new_v4();
    let rows = vec![
        InputRow::new(connection, "kept", "dbt_kept").with_secret("DBT_API_KEY", &secret),
        InputRow::new(connection, "flipped", "dbt_flipped").with_secret("DBT_API_KEY", &secret),
    ];
    let input = write_csv(dir.path(), "envs.csv", &rows);
    run(&sandbox, &input, &[]).await.assert_code(0);

    // Row 1 keeps its secret (not comparable); row 2 makes it plain and adds a new secret.
    let mut edited = rows.clone();
    edited[1].variables[0].secret = false;
    edited[1] = edited[1].clone().with_secret("NEW_KEY", &secret);
    let input = write_jsonl(dir.path(), "envs.jsonl", &edited);
    let summary = dir.path().join("summary.json");
    let summary_arg = summary.to_str().unwrap();
    let out = plan(
        &sandbox,
        &input,
        &["--existing", "update", "--summary-json", summary_arg],
    )
    .await;
    out.assert_code(4);

    assert!(
        !out.mentions(&secret),
        "a secret value leaked\n{}",
        out.all()
    );
    assert!(!file_contains(&summary, &secret));
    assert!(
        out.stdout
            .contains("= secret values not compared (Omni never returns them): secret:DBT_API_KEY"),
        "{}",
        out.all()
    );
    assert_eq!(
        changes(&out),
        [
            "var:DBT_API_KEY: (secret) -> (plain, not shown)",
            "secret:NEW_KEY: (none) -> (secret)"
        ]
    );

    // The update makes Omni match the row, secrecy included, and says so without the values.
    let applied = run(&sandbox, &input, &["--existing", "update", "--force"]).await;
    applied.assert_code(0);
    assert!(!applied.mentions(&secret), "{}", applied.all());
    let snapshot = sandbox.snapshot();
    let flipped = snapshot
        .environments_named(connection, "flipped")
        .next()
        .unwrap();
    let secrecy: Vec<(&str, bool)> = flipped
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.is_secret))
        .collect();
    assert_eq!(secrecy, [("DBT_API_KEY", false), ("NEW_KEY", true)]);
    plan(&sandbox, &input, &["--existing", "update"])
        .await
        .assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_json_of_a_plan_counts_each_action_with_exit_code_4() {
    let connection = Uuid::new_v4();
    let seeded = SeedConnection::dbt(connection)
        .with_environment(
            SeedEnvironment::new("env_0001", "dbt_0001").with_variable("DBT_TARGET", "dev"),
        )
        .with_environment(
            SeedEnvironment::new("env_0002", "old_schema").with_variable("DBT_TARGET", "dev"),
        );
    let sandbox = start_sandbox(fast_sandbox().with_connection(seeded)).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &rows_over(3, &[connection]));
    let summary = dir.path().join("summary.json");

    let out = plan(
        &sandbox,
        &input,
        &[
            "--existing",
            "update",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    )
    .await;
    out.assert_code(4);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["exit_code"], 4);
    assert_eq!(json["outcome"], "changes_planned");
    assert_eq!(
        json["actions"],
        serde_json::json!({"create": 1, "exists": 0, "update": 1, "unchanged": 1, "delete": 0, "fail": 0})
    );
    assert_eq!(json["results_path"], serde_json::Value::Null);
    assert_eq!(
        changes(&out),
        [r#"target_schema: "old_schema" -> "dbt_0002""#]
    );
    assert_eq!(writes(&sandbox.snapshot()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_a_missing_or_forbidden_connection_plan_as_fail_with_why() {
    let [missing, forbidden, good] = [(); 3].map(|_| Uuid::new_v4());
    let sandbox = start_sandbox(
        fast_sandbox()
            .with_connection(SeedConnection::missing(missing))
            .with_connection(SeedConnection::without_dbt(forbidden)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(
        dir.path(),
        "envs.csv",
        &rows_over(3, &[missing, forbidden, good]),
    );
    let summary = dir.path().join("summary.json");

    let out = plan(
        &sandbox,
        &input,
        &["--summary-json", summary.to_str().unwrap()],
    )
    .await;
    out.assert_code(1);

    let failed = rows_with(&out, "fail");
    assert_eq!(failed.len(), 2, "{}", out.all());
    assert!(
        failed[0].contains(&format!("{missing} env_0001: not_found (HTTP 404)")),
        "{}",
        failed[0]
    );
    assert!(
        failed[1].contains(&format!("{forbidden} env_0002: forbidden (HTTP 403)")),
        "{}",
        failed[1]
    );
    assert_eq!(rows_with(&out, "create").len(), 1);
    assert!(
        out.stdout.contains("exit 1: 2 rows would fail"),
        "{}",
        out.all()
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        (json["actions"]["fail"].as_u64(), json["exit_code"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(writes(&sandbox.snapshot()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_dry_run_prints_the_same_plan_and_exits_as_a_run_would() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &spread_rows(3, 1));

    let planned = plan(&sandbox, &input, &[]).await;
    let dry_run = run(&sandbox, &input, &["--dry-run"]).await;
    dry_run.assert_code(0);

    let row_lines = |out: &RunOutput| rows_with(out, "create");
    assert_eq!(row_lines(&dry_run), row_lines(&planned));
    assert_eq!(row_lines(&dry_run).len(), 3);
    assert!(!dry_run.stdout.contains("exit 4"), "{}", dry_run.all());
    assert_eq!(writes(&sandbox.snapshot()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_skip_invalid_an_invalid_row_plans_as_fail_naming_the_problem() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rows = spread_rows(3, 1);
    rows[1].target_schema = String::new();
    let input = write_csv(dir.path(), "envs.csv", &rows);

    let refused = plan(&sandbox, &input, &[]).await;
    refused.assert_code(2);
    let out = plan(&sandbox, &input, &["--skip-invalid"]).await;
    out.assert_code(1);

    let failed = rows_with(&out, "fail");
    assert_eq!(failed.len(), 1, "{}", out.all());
    assert!(
        failed[0].contains("env_0002: validation: target_schema"),
        "{}",
        failed[0]
    );
    assert_eq!(rows_with(&out, "create").len(), 2);
    assert_eq!(writes(&sandbox.snapshot()), 0);
}
