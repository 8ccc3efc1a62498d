//! Tests of the dbt profiles reader as a whole: the fixtures of every adapter, lines, variables, and the bad fixtures.

use std::io::Cursor;
use std::path::PathBuf;

use omni_dbt_core::{NewEnvironment, NewVariable};

use super::super::{EnvLookup, Format, InputError, InputReader, InputRow, RowProblem};
use super::{DbtError, DbtOptions, ProfileConnection};
use crate::read::checked::scan;

const A: &str = "550e8400-e29b-41d4-a716-446655440000";
const B: &str = "650e8400-e29b-41d4-a716-446655440000";

type Read = Result<InputRow, RowProblem>;

fn only(connection: &str) -> DbtOptions {
    DbtOptions::default().with_profile(ProfileConnection::only(connection.parse().unwrap()))
}

fn named(profile: &str, connection: &str) -> ProfileConnection {
    ProfileConnection::named(profile, connection.parse().unwrap())
}

fn reader(text: &str, options: &DbtOptions, env: EnvLookup) -> Result<InputReader, InputError> {
    InputReader::new(
        Cursor::new(text.as_bytes().to_vec()),
        Format::DbtProfiles,
        "p.yml",
        env,
        options,
    )
}

fn read(text: &str, options: &DbtOptions, env: EnvLookup) -> Result<Vec<Read>, InputError> {
    reader(text, options, env)?.collect()
}

fn fixture(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    std::fs::read_to_string(root.join(path)).unwrap()
}

fn row(item: &Read) -> &InputRow {
    item.as_ref()
        .unwrap_or_else(|p| panic!("{}", p.display_with("p.yml")))
}

fn problem(item: &Read) -> &RowProblem {
    item.as_ref().expect_err("an invalid row")
}

/// Every problem of a row as `p.yml:LINE: field: message`.
fn lines(problem: &RowProblem) -> Vec<String> {
    problem
        .display_with("p.yml")
        .to_string()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `(name, isSecret, value)` of each variable, secrets included.
fn variables(environment: &NewEnvironment) -> Vec<(String, bool, String)> {
    environment
        .variables
        .iter()
        .flatten()
        .map(|v: &NewVariable| {
            let json = serde_json::to_value(v).unwrap();
            (
                v.name.clone(),
                v.value.is_secret(),
                json["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(targetName, targetSchema, targetDatabase, targetRole)`.
fn targets(environment: &NewEnvironment) -> (&str, &str, Option<&str>, Option<&str>) {
    (
        environment.target_name.as_deref().unwrap_or_default(),
        environment.target_schema.as_str(),
        environment.target_database.as_deref(),
        environment.target_role.as_deref(),
    )
}

fn var(name: &str, secret: bool, value: &str) -> (String, bool, String) {
    (name.to_owned(), secret, value.to_owned())
}

#[test]
fn snowflake_outputs_map_database_schema_role_and_their_env_vars() {
    let env = EnvLookup::from_pairs([
        ("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD", "pw-1"),
        ("DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE", "pass-2"),
        ("CI_PIPELINE_ID", "4711"),
    ]);
    let rows = read(&fixture("dbt/snowflake.yml"), &only(A), env).unwrap();
    let rows: Vec<&InputRow> = rows.iter().map(row).collect();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.row,
                r.line,
                r.environment.name.as_str(),
                targets(&r.environment),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                1,
                10,
                "dev",
                (
                    "dev",
                    "dbt_alice",
                    Some("analytics_dev"),
                    Some("transformer")
                )
            ),
            (
                2,
                23,
                "ci",
                ("ci", "dbt_ci_4711", Some("analytics_ci"), Some("ci_role"))
            ),
            (
                3,
                36,
                "prod",
                ("prod", "analytics", Some("analytics"), Some("transformer"))
            ),
        ]
    );
    assert_eq!(
        variables(&rows[0].environment),
        [
            var("SNOWFLAKE_ACCOUNT", false, "xy12345.eu-west-1"),
            var("DBT_USER", false, "alice"),
            var("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD", true, "pw-1"),
        ]
    );
    assert_eq!(
        variables(&rows[1].environment),
        [
            var("SNOWFLAKE_ACCOUNT", false, "xy12345.eu-west-1"),
            var("DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE", true, "pass-2"),
            var("CI_PIPELINE_ID", false, "4711"),
        ]
    );
    assert!(rows.iter().all(|r| r.connection.to_string() == A));
}

#[test]
fn bigquery_maps_project_to_database_and_dataset_to_schema() {
    let env = EnvLookup::from_pairs([
        ("DBT_ENV_SECRET_GCP_PRIVATE_KEY_ID", "kid"),
        (
            "DBT_ENV_SECRET_GCP_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----",
        ),
        ("GCP_PROJECT", "acme-prod"),
    ]);
    let rows = read(&fixture("dbt/bigquery.yml"), &only(A), env).unwrap();
    let dev = &row(&rows[0]).environment;
    assert_eq!(
        targets(dev),
        ("dev", "dbt_bob", Some("acme-analytics-dev"), None)
    );
    assert!(dev.variables.is_none(), "no env_var: no variables");
    let prod = &row(&rows[1]).environment;
    assert_eq!(
        targets(prod),
        ("prod", "marketing_marts", Some("acme-prod"), None)
    );
    assert_eq!(
        variables(prod),
        [
            var("GCP_PROJECT", false, "acme-prod"),
            var("DBT_ENV_SECRET_GCP_PRIVATE_KEY_ID", true, "kid"),
            var(
                "DBT_ENV_SECRET_GCP_PRIVATE_KEY",
                true,
                "-----BEGIN PRIVATE KEY-----"
            ),
        ],
        "env_var calls nested in keyfile_json count too"
    );
}

#[test]
fn postgres_maps_dbname_and_a_merge_key_brings_the_shared_settings() {
    let env = EnvLookup::from_pairs([("DBT_ENV_SECRET_PGPASSWORD", "pg")]);
    let rows = read(&fixture("dbt/postgres.yml"), &only(A), env).unwrap();
    let dev = row(&rows[0]);
    let staging = row(&rows[1]);
    assert_eq!((dev.line, staging.line), (5, 18));
    assert_eq!(
        targets(&dev.environment),
        ("dev", "dbt_carol", Some("warehouse_dev"), None)
    );
    assert_eq!(
        targets(&staging.environment),
        ("staging", "staging", Some("warehouse_staging"), None)
    );
    let expected = [
        var("PGHOST", false, "localhost"),
        var("PGPORT", false, "5432"),
        var("PGUSER", false, "dbt"),
        var("DBT_ENV_SECRET_PGPASSWORD", true, "pg"),
    ];
    assert_eq!(variables(&dev.environment), expected);
    assert_eq!(variables(&staging.environment), expected, "merged from dev");
}

#[test]
fn databricks_maps_catalog_to_database() {
    let env = EnvLookup::from_pairs([
        ("DBT_ENV_SECRET_DATABRICKS_TOKEN", "dapi"),
        ("DBT_ENV_SECRET_DATABRICKS_CLIENT_SECRET", "oauth"),
    ]);
    let rows = read(&fixture("dbt/databricks.yml"), &only(A), env).unwrap();
    assert_eq!(
        targets(&row(&rows[0]).environment),
        ("dev", "dbt_dave", Some("dev_catalog"), None)
    );
    assert_eq!(
        targets(&row(&rows[1]).environment),
        ("prod", "analytics", Some("main"), None)
    );
}

#[test]
fn redshift_profiles_go_to_their_own_connections_under_the_name_template() {
    let env = EnvLookup::from_pairs([("DBT_ENV_SECRET_REDSHIFT_PASSWORD", "rs")]);
    let options = DbtOptions::default()
        .with_profile(named("finance", A))
        .with_profile(named("product", B))
        .with_name_template("{profile}_{target}".parse().unwrap());
    let rows = read(&fixture("dbt/redshift.yml"), &options, env).unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(row)
        .map(|r| {
            (
                r.row,
                r.connection.to_string(),
                r.environment.name.as_str(),
                targets(&r.environment),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                1,
                A.to_owned(),
                "finance_dev",
                ("dev", "dbt_erin", Some("finance"), None)
            ),
            (
                2,
                A.to_owned(),
                "finance_prod",
                ("prod", "finance_marts", Some("finance"), None)
            ),
            (
                3,
                B.to_owned(),
                "product_dev",
                ("dev", "dbt_erin", Some("product"), None)
            ),
        ]
    );
    assert_eq!(
        variables(&row(&rows[2]).environment),
        [var("DBT_ENV_SECRET_REDSHIFT_PASSWORD", true, "rs")]
    );
}

#[test]
fn two_profiles_with_the_same_target_in_one_connection_are_duplicates_naming_the_first_line() {
    let env = EnvLookup::from_pairs([("DBT_ENV_SECRET_REDSHIFT_PASSWORD", "rs")]);
    let text = fixture("dbt/redshift.yml");
    let options = DbtOptions::default()
        .with_profile(named("finance", A))
        .with_profile(named("product", A));
    let open = || reader(&text, &options, env.clone());
    let report = scan(&open, None, 10).unwrap();
    assert_eq!((report.rows, report.invalid), (3, 1));
    let message = report.problems[0].display_with("p.yml").to_string();
    assert_eq!(
        message,
        "p.yml:35: name: duplicate of the row on line 6 (same connection and name); keep one of \
         them, or name environments with --name-template \"{profile}_{target}\""
    );
}

#[test]
fn an_output_without_schema_is_invalid_at_its_key_and_the_others_are_read() {
    let rows = read(
        &fixture("bad/dbt-no-schema.yml"),
        &only(A),
        EnvLookup::empty(),
    )
    .unwrap();
    assert_eq!(row(&rows[0]).environment.target_schema, "dbt_alice");
    let problem = problem(&rows[1]);
    assert_eq!(
        (problem.row, problem.line, problem.name.as_str()),
        (2, 10, "ci")
    );
    assert_eq!(problem.connection_id, A);
    assert_eq!(
        lines(problem),
        [
            "p.yml:10: schema: is required: the schema dbt builds into, which becomes the \
          environment's target schema; add `schema: NAME` to this output"
        ]
    );
}

#[test]
fn an_unset_env_var_without_default_names_the_line_of_its_value() {
    let rows = read(
        &fixture("bad/dbt-unset-env-var.yml"),
        &only(A),
        EnvLookup::empty(),
    )
    .unwrap();
    let problem = problem(&rows[0]);
    assert_eq!(problem.line, 5, "the row stays at its output's key");
    assert_eq!(
        lines(problem),
        [
            "p.yml:9: password: env_var('DBT_ENV_SECRET_OMNI_DBT_FIXTURE_UNSET') has no default \
          and DBT_ENV_SECRET_OMNI_DBT_FIXTURE_UNSET is not set (or not UTF-8): export \
          DBT_ENV_SECRET_OMNI_DBT_FIXTURE_UNSET before running"
        ]
    );
}

#[test]
fn other_jinja_names_the_line_of_its_value() {
    let rows = read(
        &fixture("bad/dbt-other-jinja.yml"),
        &only(A),
        EnvLookup::empty(),
    )
    .unwrap();
    let message = &lines(problem(&rows[0]))[0];
    assert!(
        message.starts_with(
            "p.yml:9: schema: {{ target.name ... }} is Jinja that omni-dbt-batch does not render"
        ),
        "{message}"
    );
}

#[test]
fn a_yaml_syntax_error_is_fatal_and_names_its_line() {
    let err = read(
        &fixture("bad/dbt-syntax-error.yml"),
        &only(A),
        EnvLookup::empty(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, InputError::Dbt(DbtError::Yaml { line: 8, .. })),
        "{message}"
    );
    assert!(message.starts_with("p.yml:8: "), "{message}");
    assert!(
        message.ends_with("fix the YAML (dbt could not read it either)"),
        "{message}"
    );
}

#[test]
fn an_unknown_profile_is_fatal_and_names_the_closest_profile_and_its_line() {
    let options = DbtOptions::default().with_profile(named("jaffle-shop", A));
    let err = read(
        &fixture("bad/dbt-unknown-profile.yml"),
        &options,
        EnvLookup::empty(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yml:3: --dbt-profile names profile \"jaffle-shop\", which is not in this file (did you \
         mean \"jaffle_shop\"?); the file's profiles are jaffle_shop (line 3): fix the name given \
         to --dbt-profile"
    );
}

#[test]
fn every_problem_of_an_output_names_its_own_line_in_line_order() {
    let text = "\
p:
  outputs:
    dev:
      type: snowflake
      schema: \"{{ env_var('DBT_ENV_SECRET_S') }}\"
      password: \"{{ env_var('UNSET_ONE') }}\"
      database: a
      dbname: b
      threads: \"{% if true %}4{% endif %}\"
";
    let env = EnvLookup::from_pairs([("DBT_ENV_SECRET_S", "top-secret-schema")]);
    let rows = read(text, &only(A), env).unwrap();
    let problem = problem(&rows[0]);
    let located: Vec<(u64, &str)> = (0..problem.problems.len())
        .map(|i| (problem.line_of(i), problem.problems[i].field.as_str()))
        .collect();
    assert_eq!(
        located,
        [
            (5, "schema"),
            (6, "password"),
            (8, "dbname"),
            (9, "threads")
        ]
    );
    let all = lines(problem).join("\n");
    assert!(all.contains("Omni shows this field as plain text"), "{all}");
    assert!(
        all.contains("database and dbname are the same setting (given on lines 7 and 8)"),
        "{all}"
    );
    assert!(
        !all.contains("top-secret-schema"),
        "a secret value is never shown: {all}"
    );
}

#[test]
fn env_var_defaults_in_either_quote_style_and_env_references_become_values() {
    let text = "\
p:
  outputs:
    dev:
      schema: \"{{ env_var('SCHEMA_X', 'dbt_default') }}\"
      user: \"{{ env_var(\\\"USER_X\\\", \\\"it's me\\\") }}\"
      token: \"{{ env_var('DBT_ENV_SECRET_TOKEN_X', '${env:REAL_TOKEN}') }}\"
      role: \"{{ env_var('ROLE_X') }}\"
";
    let env = EnvLookup::from_pairs([("REAL_TOKEN", "tok"), ("ROLE_X", "analyst")]);
    let rows = read(text, &only(A), env).unwrap();
    let dev = &row(&rows[0]).environment;
    assert_eq!(targets(dev), ("dev", "dbt_default", None, Some("analyst")));
    assert_eq!(
        variables(dev),
        [
            var("SCHEMA_X", false, "dbt_default"),
            var("USER_X", false, "it's me"),
            var("DBT_ENV_SECRET_TOKEN_X", true, "tok"),
            var("ROLE_X", false, "analyst"),
        ]
    );
}

#[test]
fn one_variable_read_twice_with_different_defaults_is_a_problem() {
    let text = "\
p:
  outputs:
    dev:
      schema: \"{{ env_var('X', 'a') }}\"
      user: \"{{ env_var('X', 'b') }}\"
      host: \"{{ env_var('X', 'a') }}\"
";
    let rows = read(text, &only(A), EnvLookup::empty()).unwrap();
    assert_eq!(
        lines(problem(&rows[0])),
        [
            "p.yml:5: user: env_var('X') gives a different value here than on line 4 (different \
          defaults); Omni holds one value per variable: use one default"
        ]
    );
    let env = EnvLookup::from_pairs([("X", "set")]);
    let rows = read(text, &only(A), env).unwrap();
    assert_eq!(
        variables(&row(&rows[0]).environment),
        [var("X", false, "set")]
    );
}

#[test]
fn an_output_that_is_not_a_mapping_is_an_invalid_row() {
    let text = "p:\n  outputs:\n    dev: oops\n    ci:\n      schema: s\n";
    let rows = read(text, &only(A), EnvLookup::empty()).unwrap();
    assert_eq!(
        lines(problem(&rows[0])),
        ["p.yml:3: dev: an output is a mapping of settings (type, schema, ...), found text"]
    );
    assert_eq!(row(&rows[1]).environment.target_schema, "s");
}

#[test]
fn a_collection_where_text_belongs_is_a_problem() {
    let text = "p:\n  outputs:\n    dev:\n      schema: [a, b]\n";
    let rows = read(text, &only(A), EnvLookup::empty()).unwrap();
    assert_eq!(
        lines(problem(&rows[0])),
        ["p.yml:4: schema: must be text, found a list"]
    );
}

#[test]
fn a_blank_schema_is_judged_by_omnis_rules_at_its_line() {
    let text = "p:\n  outputs:\n    dev:\n      type: bigquery\n      dataset: \"  \"\n";
    let rows = read(text, &only(A), EnvLookup::empty()).unwrap();
    let message = &lines(problem(&rows[0]))[0];
    assert!(message.starts_with("p.yml:5: dataset: "), "{message}");
}

#[test]
fn target_selection_keeps_row_numbers_and_lines() {
    let options = only(A).with_target("prod");
    let env = EnvLookup::from_pairs([("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD", "pw")]);
    let rows = read(&fixture("dbt/snowflake.yml"), &options, env).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((row(&rows[0]).row, row(&rows[0]).line), (3, 36));
}

#[test]
fn a_file_that_is_not_utf8_names_its_line() {
    let mut bytes = b"p:\n  outputs:\n    dev:\n      schema: caf".to_vec();
    bytes.extend([0xE9, b'\n']);
    let err = InputReader::new(
        Cursor::new(bytes),
        Format::DbtProfiles,
        "p.yml",
        EnvLookup::empty(),
        &only(A),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yml:4: not UTF-8 text; save the profiles.yml as UTF-8"
    );
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let text = "\u{feff}p:\n  outputs:\n    dev: {schema: s}\n";
    let rows = read(text, &only(A), EnvLookup::empty()).unwrap();
    assert_eq!(row(&rows[0]).line, 3);
}

#[test]
fn without_a_profile_option_the_file_is_refused_before_any_row() {
    let err = read(
        &fixture("dbt/postgres.yml"),
        &DbtOptions::default(),
        EnvLookup::empty(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yml: no profile selected: pass --dbt-profile CONNECTION_ID to create the outputs of \
         warehouse (line 2) in that Omni connection"
    );
}
