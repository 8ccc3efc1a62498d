//! End to end: dbt profiles.yml inputs validate and run against the sandbox, env_var secrets never printed; bad profiles exit 2 naming their line, nothing sent.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use omni_dbt_e2e::*;
use omni_dbt_sandbox::Sandbox;
use uuid::Uuid;

/// The secret values of one test, one per `DBT_ENV_SECRET_*` variable the fixture reads.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn new(names: &[&'static str]) -> Self {
        Self(
            names
                .iter()
                .map(|name| (*name, format!("dbtsecret{}", Uuid::new_v4().simple())))
                .collect(),
        )
    }

    fn value(&self, name: &str) -> &str {
        &self.0.iter().find(|(n, _)| *n == name).unwrap().1
    }

    /// The child's environment: every secret set.
    fn set(&self, mut cli: Cli) -> Cli {
        for (name, value) in &self.0 {
            cli = cli.env(name, value);
        }
        cli
    }

    fn assert_absent_from_output(&self, out: &RunOutput) {
        for (name, value) in &self.0 {
            assert!(
                !out.mentions(value),
                "the value of {name} leaked into the output\n{}",
                out.all()
            );
        }
    }

    fn assert_absent_from_file(&self, path: &Path) {
        assert!(path.exists(), "{} exists", path.display());
        for (name, value) in &self.0 {
            assert!(
                !file_contains(path, value),
                "the value of {name} leaked into {}",
                path.display()
            );
        }
    }
}

/// The value a variable must have in the sandbox.
enum Var {
    Plain(&'static str),
    /// A secret: the value the test set for the variable of that name.
    Secret,
}

/// An environment the sandbox must hold.
struct Expected<'a> {
    name: &'static str,
    target: &'static str,
    schema: &'static str,
    database: Option<&'static str>,
    role: Option<&'static str>,
    variables: &'a [(&'static str, Var)],
}

fn assert_environment(
    sandbox: &Sandbox,
    secrets: &Secrets,
    connection: Uuid,
    expected: &Expected<'_>,
) {
    let snapshot = sandbox.snapshot();
    let id: Uuid = sandbox_id(&snapshot, connection, expected.name)
        .parse()
        .unwrap();
    let stored = snapshot
        .environments_in(connection)
        .iter()
        .find(|e| e.id == id)
        .unwrap();
    let name = expected.name;
    assert_eq!(
        stored.target_name.as_deref(),
        Some(expected.target),
        "{name}"
    );
    assert_eq!(stored.target_schema, expected.schema, "{name}");
    assert_eq!(
        stored.target_database.as_deref(),
        expected.database,
        "{name}"
    );
    assert_eq!(stored.target_role.as_deref(), expected.role, "{name}");
    let mut stored_names: Vec<&str> = stored.variables.iter().map(|v| v.name.as_str()).collect();
    let mut expected_names: Vec<&str> = expected.variables.iter().map(|(n, _)| *n).collect();
    stored_names.sort_unstable();
    expected_names.sort_unstable();
    assert_eq!(stored_names, expected_names, "{name}: variables");
    for (variable, value) in expected.variables {
        let view = stored
            .variables
            .iter()
            .find(|v| v.name == *variable)
            .unwrap();
        match value {
            Var::Plain(text) => {
                assert!(!view.is_secret, "{name}: {variable} is plain");
                assert_eq!(view.value.as_deref(), Some(*text), "{name}: {variable}");
            }
            Var::Secret => {
                assert!(view.is_secret, "{name}: {variable} is secret");
                assert_eq!(view.value, None, "the API never returns a secret value");
                assert_eq!(
                    sandbox.variable_value(connection, id, variable).as_deref(),
                    Some(secrets.value(variable)),
                    "{name}: the server received {variable}"
                );
            }
        }
    }
}

/// Copies a fixture (a path under `fixtures/`) into `dir`, so that results land there.
fn copy_fixture(dir: &Path, fixture: &str) -> PathBuf {
    let path = dir.join(Path::new(fixture).file_name().unwrap());
    std::fs::copy(fixtures_dir().join(fixture), &path).unwrap();
    path
}

/// Validates then runs `fixture` with `args` (the dbt flags) and `secrets` set, checking that
/// both succeed and that no secret value shows in their output, the results or the summary.
/// Returns the sandbox, which holds what the run created.
async fn validate_and_run(
    fixture: &str,
    args: &[String],
    secrets: &Secrets,
    expected_rows: u64,
) -> Sandbox {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = copy_fixture(dir.path(), fixture);

    let validated = secrets
        .set(cli().arg("validate").arg(&input).args(args))
        .run()
        .await;
    validated.assert_code(0);
    assert!(
        validated
            .stdout
            .contains(&format!("{expected_rows} rows valid")),
        "{}",
        validated.all()
    );
    secrets.assert_absent_from_output(&validated);
    assert_eq!(
        sandbox.snapshot().total_requests(),
        0,
        "validate sends nothing"
    );

    let summary = dir.path().join("summary.json");
    let out = secrets
        .set(
            cli()
                .run_against(&sandbox, &input)
                .unlimited_rate()
                .args(args)
                .arg("-vv")
                .arg("--summary-json")
                .arg(&summary),
        )
        .run()
        .await;
    out.assert_code(0);
    secrets.assert_absent_from_output(&out);
    secrets.assert_absent_from_file(&default_results(&input));
    secrets.assert_absent_from_file(&summary);
    let records = read_results(&default_results(&input));
    assert_eq!(records.len() as u64, expected_rows);
    assert!(records.iter().all(|r| r.status == "created"), "{records:?}");
    let snapshot = sandbox.snapshot();
    assert_eq!(posts(&snapshot), expected_rows);
    assert_eq!(snapshot.duplicates_created, 0);
    sandbox
}

fn profile_flag(profile: &str, connection: Uuid) -> [String; 2] {
    [
        "--dbt-profile".to_owned(),
        format!("{profile}={connection}"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snowflake_profile_becomes_one_environment_per_output_with_its_secrets() {
    let connection = Uuid::new_v4();
    let secrets = Secrets::new(&[
        "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD",
        "DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE",
    ]);
    // A bare connection id stands for the file's only profile.
    let args = ["--dbt-profile".to_owned(), connection.to_string()];
    let sandbox = validate_and_run("dbt/snowflake.yml", &args, &secrets, 3).await;
    for expected in [
        Expected {
            name: "dev",
            target: "dev",
            schema: "dbt_alice",
            database: Some("analytics_dev"),
            role: Some("transformer"),
            variables: &[
                ("SNOWFLAKE_ACCOUNT", Var::Plain("xy12345.eu-west-1")),
                ("DBT_USER", Var::Plain("alice")),
                ("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD", Var::Secret),
            ],
        },
        Expected {
            name: "ci",
            target: "ci",
            schema: "dbt_ci_local",
            database: Some("analytics_ci"),
            role: Some("ci_role"),
            variables: &[
                ("SNOWFLAKE_ACCOUNT", Var::Plain("xy12345.eu-west-1")),
                ("DBT_ENV_SECRET_PRIVATE_KEY_PASSPHRASE", Var::Secret),
                ("CI_PIPELINE_ID", Var::Plain("local")),
            ],
        },
        Expected {
            name: "prod",
            target: "prod",
            schema: "analytics",
            database: Some("analytics"),
            role: Some("transformer"),
            variables: &[
                ("SNOWFLAKE_ACCOUNT", Var::Plain("xy12345.eu-west-1")),
                ("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD", Var::Secret),
            ],
        },
    ] {
        assert_environment(&sandbox, &secrets, connection, &expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bigquery_profile_maps_project_and_dataset_and_nested_secrets() {
    let connection = Uuid::new_v4();
    let secrets = Secrets::new(&[
        "DBT_ENV_SECRET_GCP_PRIVATE_KEY_ID",
        "DBT_ENV_SECRET_GCP_PRIVATE_KEY",
    ]);
    let sandbox = validate_and_run(
        "dbt/bigquery.yml",
        &profile_flag("marketing", connection),
        &secrets,
        2,
    )
    .await;
    assert_environment(
        &sandbox,
        &secrets,
        connection,
        &Expected {
            name: "dev",
            target: "dev",
            schema: "dbt_bob",
            database: Some("acme-analytics-dev"),
            role: None,
            variables: &[],
        },
    );
    assert_environment(
        &sandbox,
        &secrets,
        connection,
        &Expected {
            name: "prod",
            target: "prod",
            schema: "marketing_marts",
            database: Some("acme-analytics"),
            role: None,
            variables: &[
                ("GCP_PROJECT", Var::Plain("acme-analytics")),
                ("DBT_ENV_SECRET_GCP_PRIVATE_KEY_ID", Var::Secret),
                ("DBT_ENV_SECRET_GCP_PRIVATE_KEY", Var::Secret),
            ],
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_profile_maps_dbname_and_merged_settings_bring_their_variables() {
    let connection = Uuid::new_v4();
    let secrets = Secrets::new(&["DBT_ENV_SECRET_PGPASSWORD"]);
    let sandbox = validate_and_run(
        "dbt/postgres.yml",
        &profile_flag("warehouse", connection),
        &secrets,
        2,
    )
    .await;
    const VARIABLES: &[(&str, Var)] = &[
        ("PGHOST", Var::Plain("localhost")),
        ("PGPORT", Var::Plain("5432")),
        ("PGUSER", Var::Plain("dbt")),
        ("DBT_ENV_SECRET_PGPASSWORD", Var::Secret),
    ];
    for (name, schema, database) in [
        ("dev", "dbt_carol", "warehouse_dev"),
        ("staging", "staging", "warehouse_staging"),
    ] {
        assert_environment(
            &sandbox,
            &secrets,
            connection,
            &Expected {
                name,
                target: name,
                schema,
                database: Some(database),
                role: None,
                variables: VARIABLES,
            },
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_databricks_profile_maps_catalog_to_the_target_database() {
    let connection = Uuid::new_v4();
    let secrets = Secrets::new(&[
        "DBT_ENV_SECRET_DATABRICKS_TOKEN",
        "DBT_ENV_SECRET_DATABRICKS_CLIENT_SECRET",
    ]);
    let sandbox = validate_and_run(
        "dbt/databricks.yml",
        &profile_flag("lakehouse", connection),
        &secrets,
        2,
    )
    .await;
    assert_environment(
        &sandbox,
        &secrets,
        connection,
        &Expected {
            name: "dev",
            target: "dev",
            schema: "dbt_dave",
            database: Some("dev_catalog"),
            role: None,
            variables: &[
                (
                    "DATABRICKS_HOST",
                    Var::Plain("adb-1234567890123456.7.azuredatabricks.net"),
                ),
                ("DBT_ENV_SECRET_DATABRICKS_TOKEN", Var::Secret),
            ],
        },
    );
    assert_environment(
        &sandbox,
        &secrets,
        connection,
        &Expected {
            name: "prod",
            target: "prod",
            schema: "analytics",
            database: Some("main"),
            role: None,
            variables: &[
                (
                    "DATABRICKS_HOST",
                    Var::Plain("adb-1234567890123456.7.azuredatabricks.net"),
                ),
                (
                    "DATABRICKS_CLIENT_ID",
                    Var::Plain("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"),
                ),
                ("DBT_ENV_SECRET_DATABRICKS_CLIENT_SECRET", Var::Secret),
            ],
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_redshift_profiles_go_to_their_connections_named_by_the_template() {
    let (finance, product) = (Uuid::new_v4(), Uuid::new_v4());
    let secrets = Secrets::new(&["DBT_ENV_SECRET_REDSHIFT_PASSWORD"]);
    let args: Vec<String> = [
        profile_flag("finance", finance),
        profile_flag("product", product),
        ["--name-template".into(), "{profile}_{target}".into()],
    ]
    .concat();
    let sandbox = validate_and_run("dbt/redshift.yml", &args, &secrets, 3).await;
    let password: &[(&str, Var)] = &[
        ("REDSHIFT_USER", Var::Plain("dbt_finance")),
        ("DBT_ENV_SECRET_REDSHIFT_PASSWORD", Var::Secret),
    ];
    for (connection, expected) in [
        (
            finance,
            Expected {
                name: "finance_dev",
                target: "dev",
                schema: "dbt_erin",
                database: Some("finance"),
                role: None,
                variables: password,
            },
        ),
        (
            finance,
            Expected {
                name: "finance_prod",
                target: "prod",
                schema: "finance_marts",
                database: Some("finance"),
                role: None,
                variables: &[],
            },
        ),
        (
            product,
            Expected {
                name: "product_dev",
                target: "dev",
                schema: "dbt_erin",
                database: Some("product"),
                role: None,
                variables: &[("DBT_ENV_SECRET_REDSHIFT_PASSWORD", Var::Secret)],
            },
        ),
    ] {
        assert_environment(&sandbox, &secrets, connection, &expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_come_from_their_environment_twins_and_targets_keep_their_row_numbers() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let (finance, product) = (Uuid::new_v4(), Uuid::new_v4());
    let secrets = Secrets::new(&["DBT_ENV_SECRET_REDSHIFT_PASSWORD"]);
    let dir = tempfile::tempdir().unwrap();
    let input = copy_fixture(dir.path(), "dbt/redshift.yml");
    let twins = |cli: Cli| {
        secrets
            .set(cli)
            .env(
                "OMNI_DBT_DBT_PROFILE",
                format!("finance={finance},product={product}"),
            )
            .env("OMNI_DBT_NAME_TEMPLATE", "{profile}-{target}")
    };

    let out = twins(cli().run_against(&sandbox, &input).unlimited_rate())
        .env("OMNI_DBT_DBT_TARGET", "dev")
        .run()
        .await;
    out.assert_code(0);
    let records = read_results(&default_results(&input));
    let rows: Vec<(u64, u64, &str)> = records
        .iter()
        .map(|r| (r.row, r.line, r.name.as_str()))
        .collect();
    assert_eq!(
        rows,
        [(1, 6, "finance-dev"), (3, 35, "product-dev")],
        "each output keeps its place in the file and the line of its key"
    );

    // Every target now: the two created rows are settled by --resume, only prod is sent.
    let out = twins(cli().run_against(&sandbox, &input).unlimited_rate())
        .arg("--resume")
        .run()
        .await;
    out.assert_code(0);
    secrets.assert_absent_from_output(&out);
    let records = read_results(&default_results(&input));
    let rows: Vec<(u64, &str, &str)> = records
        .iter()
        .map(|r| (r.row, r.name.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (1, "finance-dev", "created"),
            (2, "finance-prod", "created"),
            (3, "product-dev", "created")
        ]
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(posts(&snapshot), 3, "nothing is created twice");
    assert_eq!(snapshot.duplicates_created, 0);
    assert_eq!(snapshot.environments_in(finance).len(), 2);
    assert_eq!(snapshot.environments_in(product).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_on_stdin_is_read_with_format_dbt_profiles() {
    let connection = Uuid::new_v4();
    let secrets = Secrets::new(&["DBT_ENV_SECRET_PGPASSWORD"]);
    let text = std::fs::read(fixtures_dir().join("dbt/postgres.yml")).unwrap();
    let out = secrets
        .set(cli().args(["validate", "-", "--format", "dbt-profiles", "--dbt-profile"]))
        .arg(connection.to_string())
        .stdin(text)
        .run()
        .await;
    out.assert_code(0);
    assert!(out.stdout.contains("2 rows valid"), "{}", out.all());
}

/// Each bad profile, the flags it is read with (`CONNECTION` stands for a connection id), the
/// line its problem is on, and what the message mentions.
const BAD_PROFILES: [(&str, &str, u64, &str); 5] = [
    ("dbt-no-schema.yml", "CONNECTION", 10, "schema: is required"),
    (
        "dbt-other-jinja.yml",
        "CONNECTION",
        9,
        "{{ target.name ... }} is Jinja",
    ),
    ("dbt-syntax-error.yml", "CONNECTION", 8, "fix the YAML"),
    (
        "dbt-unknown-profile.yml",
        "jaffle-shop=CONNECTION",
        3,
        "did you mean \"jaffle_shop\"?",
    ),
    (
        "dbt-unset-env-var.yml",
        "CONNECTION",
        9,
        "export DBT_ENV_SECRET_OMNI_DBT_FIXTURE_UNSET",
    ),
];

#[test]
fn the_bad_profile_table_covers_every_profile_in_fixtures_bad() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir().join("bad"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml"))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = BAD_PROFILES.iter().map(|(name, ..)| *name).collect();
    assert_eq!(on_disk, listed);
}

fn assert_names_line(out: &RunOutput, path: &Path, line: u64, mention: &str) {
    out.assert_code(2);
    let located = format!("{}:{line}: ", path.display());
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(&located) && l.contains(mention)),
        "stderr names {located} with {mention:?}\n{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_profile_exits_2_naming_its_line_and_sends_nothing() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    for (name, profile, line, mention) in BAD_PROFILES {
        let path = copy_fixture(dir.path(), &format!("bad/{name}"));
        let profile = profile.replace("CONNECTION", &Uuid::new_v4().to_string());

        let validated = cli()
            .arg("validate")
            .arg(&path)
            .args(["--dbt-profile", &profile])
            .run()
            .await;
        assert_names_line(&validated, &path, line, mention);

        let ran = cli()
            .run_against(&sandbox, &path)
            .unlimited_rate()
            .args(["--dbt-profile", &profile])
            .run()
            .await;
        assert_names_line(&ran, &path, line, mention);
        assert_eq!(
            sandbox.snapshot().total_requests(),
            0,
            "{name}: nothing is sent for a bad profile"
        );
        assert!(
            !default_results(&path).exists(),
            "{name}: no results file is written"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_without_dbt_profile_is_refused_naming_its_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "dbt/redshift.yml");
    let out = cli().arg("validate").arg(&path).run().await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("pass --dbt-profile NAME=CONNECTION_ID")
            && out.stderr.contains("finance (line 3), product (line 32)"),
        "{}",
        out.all()
    );
}
