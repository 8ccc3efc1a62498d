//! End to end: `validate --message-format json|github` prints each problem on stdout, placed on
//! its own line of the input, fatal input errors included; `human` stays on stderr.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::{cli, write_file, RunOutput};
use serde_json::Value;

const CONNECTION: &str = "3f1b6a2e-8c4d-4e8a-9b1f-2d7c5e9a0b11";

/// Two invalid rows (lines 3 and 4) between valid ones.
fn two_bad_rows() -> String {
    format!(
        "connection_id,name,target_schema\n\
         {CONNECTION},dev_alice,dbt_alice\n\
         {CONNECTION},dev_bob,\n\
         not-a-uuid,dev_carol,dbt_carol\n\
         {CONNECTION},dev_dave,dbt_dave\n"
    )
}

/// One dbt output (line 5) whose password (line 9) reads an unset variable and which has no
/// schema: two problems of one row, on two lines.
const PROFILE_WITH_TWO_PROBLEMS: &str = "\
jaffle_shop:
  target: dev
  outputs:
    dev:
      type: postgres
      host: localhost
      user: dbt
      dbname: jaffle
      password: \"{{ env_var('OMNI_DBT_E2E_NEVER_SET') }}\"
";

/// `validate FILE --message-format FORMAT`, run in `dir` so that FILE is relative.
async fn validate(dir: &Path, file: &str, format: &str, extra: &[&str]) -> RunOutput {
    cli()
        .current_dir(dir)
        .args(["validate", file, "--message-format", format])
        .args(extra)
        .run()
        .await
}

fn json_lines(out: &RunOutput) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_annotates_each_invalid_row_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "envs.csv", &two_bad_rows());

    let out = validate(dir.path(), "envs.csv", "github", &[]).await;

    out.assert_code(2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.all());
    assert!(
        lines[0].starts_with("::error file=envs.csv,line=3,title=target_schema (row 2)::"),
        "{}",
        out.all()
    );
    assert!(
        lines[1].starts_with("::error file=envs.csv,line=4,title=connection_id (row 3)::"),
        "{}",
        out.all()
    );
    assert!(out.stderr.contains("error: "), "{}", out.all());
    assert!(
        !out.stderr.contains("envs.csv:3:"),
        "problems are not repeated on stderr"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_gives_one_object_per_problem_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "envs.csv", &two_bad_rows());

    let out = validate(dir.path(), "envs.csv", "json", &[]).await;

    out.assert_code(2);
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 2, "{}", out.all());
    assert_eq!(objects[0]["file"], "envs.csv");
    assert_eq!(objects[0]["line"], 3);
    assert_eq!(objects[0]["row"], 2);
    assert_eq!(objects[0]["field"], "target_schema");
    assert!(objects[0]["message"].as_str().unwrap().contains("empty"));
    assert_eq!(
        (objects[1]["line"].clone(), objects[1]["row"].clone()),
        (4.into(), 3.into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_problems_of_one_dbt_output_land_on_their_own_lines() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "profiles.yml", PROFILE_WITH_TWO_PROBLEMS);
    let profile = ["--dbt-profile", CONNECTION];

    let out = validate(dir.path(), "profiles.yml", "json", &profile).await;

    out.assert_code(2);
    let placed: Vec<(u64, String)> = json_lines(&out)
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().unwrap(),
                o["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        placed.contains(&(9, "password".to_owned())),
        "{placed:?}\n{}",
        out.all()
    );
    assert!(
        placed.contains(&(4, "schema".to_owned())),
        "{placed:?}\n{}",
        out.all()
    );
    let github = validate(dir.path(), "profiles.yml", "github", &profile).await;
    assert!(
        github.stdout.contains("line=9,title=password (row 1)"),
        "{}",
        github.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fatal_input_error_is_one_message_in_the_chosen_format() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "envs.csv", "connection_id,name,target_shema\n");
    write_file(
        dir.path(),
        "profiles.yml",
        "jaffle_shop:\n  outputs:\n    dev: [\n",
    );

    let column = validate(dir.path(), "envs.csv", "github", &[]).await;
    column.assert_code(2);
    assert!(
        column.stdout.starts_with(
            "::error file=envs.csv,line=1,title=invalid input::unknown column \"target_shema\""
        ),
        "{}",
        column.all()
    );

    let yaml = validate(
        dir.path(),
        "profiles.yml",
        "json",
        &["--dbt-profile", CONNECTION],
    )
    .await;
    yaml.assert_code(2);
    let objects = json_lines(&yaml);
    assert_eq!(objects.len(), 1, "{}", yaml.all());
    assert_eq!(objects[0]["file"], "profiles.yml");
    assert!(objects[0]["line"].as_u64().is_some(), "{}", yaml.all());
    assert!(yaml.stderr.contains("fix the YAML"), "{}", yaml.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn human_stays_on_stderr_and_the_environment_twin_chooses_the_format() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "envs.csv", &two_bad_rows());

    let human = validate(dir.path(), "envs.csv", "human", &[]).await;
    human.assert_code(2);
    assert_eq!(human.stdout, "");
    assert!(
        human.stderr.contains("envs.csv:3: target_schema:"),
        "{}",
        human.all()
    );

    let twin = cli()
        .current_dir(dir.path())
        .args(["validate", "envs.csv"])
        .env("OMNI_DBT_MESSAGE_FORMAT", "github")
        .run()
        .await;
    twin.assert_code(2);
    assert!(twin.stdout.starts_with("::error "), "{}", twin.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_file_prints_nothing_on_stdout_in_machine_formats() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "envs.csv",
        &format!("connection_id,name,target_schema\n{CONNECTION},dev,dbt_dev\n"),
    );
    for format in ["json", "github"] {
        let out = validate(dir.path(), "envs.csv", format, &[]).await;
        out.assert_code(0);
        assert_eq!(out.stdout, "", "{format}: {}", out.all());
        assert!(out.stderr.contains("1 rows valid"), "{}", out.all());
    }
}
