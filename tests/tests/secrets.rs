//! End to end: the API token and secret variable values never reach logs, results, summary or journal, yet the server receives the secrets.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::Sandbox;
use uuid::Uuid;

/// The environment variable the `${env:..}` references name.
const SECRET_VAR: &str = "E2E_DBT_SECRET_VALUE";

/// The secrets of one test: a literal per row and one referenced value.
struct Secrets {
    literal_prefix: String,
    referenced: String,
}

impl Secrets {
    fn new() -> Self {
        Self {
            literal_prefix: format!("litsecret{}", Uuid::new_v4().simple()),
            referenced: format!("refsecret{}", Uuid::new_v4().simple()),
        }
    }

    fn literal(&self, row: usize) -> String {
        format!("{}x{row}", self.literal_prefix)
    }

    /// Even rows carry a literal secret, odd rows a reference to [`SECRET_VAR`].
    fn rows(&self, n: usize) -> Vec<InputRow> {
        spread_rows(n, 3)
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let value = if i % 2 == 0 {
                    self.literal(i)
                } else {
                    format!("${{env:{SECRET_VAR}}}")
                };
                row.with_secret("DBT_API_KEY", &value)
            })
            .collect()
    }

    /// The value the server should hold for row index `i`.
    fn expected(&self, i: usize) -> String {
        if i % 2 == 0 {
            self.literal(i)
        } else {
            self.referenced.clone()
        }
    }

    /// The values that must never appear: the token, the literal prefix (covers every literal)
    /// and the referenced value.
    fn needles<'a>(&'a self, sandbox: &'a Sandbox) -> [&'a str; 3] {
        [sandbox.token(), &self.literal_prefix, &self.referenced]
    }

    fn assert_absent_from_output(&self, sandbox: &Sandbox, out: &RunOutput) {
        for needle in self.needles(sandbox) {
            assert!(
                !out.mentions(needle),
                "a secret leaked into the output\n{}",
                out.all()
            );
        }
    }

    fn assert_absent_from_file(&self, sandbox: &Sandbox, path: &Path) {
        assert!(path.exists(), "{} exists", path.display());
        for needle in self.needles(sandbox) {
            assert!(
                !file_contains(path, needle),
                "a secret leaked into {}",
                path.display()
            );
        }
    }
}

fn assert_server_holds_secrets(sandbox: &Sandbox, rows: &[InputRow], secrets: &Secrets) {
    let snapshot = sandbox.snapshot();
    for (i, row) in rows.iter().enumerate() {
        let id: Uuid = sandbox_id(&snapshot, row.connection_id, &row.name)
            .parse()
            .unwrap();
        let stored = snapshot
            .environments_in(row.connection_id)
            .iter()
            .find(|e| e.id == id)
            .unwrap();
        let variable = stored
            .variables
            .iter()
            .find(|v| v.name == "DBT_API_KEY")
            .unwrap();
        assert!(
            variable.is_secret,
            "row {i}: the variable is stored as secret"
        );
        assert_eq!(variable.value, None, "the API never returns a secret value");
        assert_eq!(
            sandbox.variable_value(row.connection_id, id, "DBT_API_KEY"),
            Some(secrets.expected(i)),
            "row {i}: the server received the secret (literal or resolved reference)"
        );
    }
}

async fn run_verbosely(extra: &[&str], rust_log: Option<&str>) {
    let secrets = Secrets::new();
    let rows = secrets.rows(12);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let sandbox = &scenario.sandbox;
    let summary = scenario.dir().join("summary.json");
    let mut run = scenario
        .cli()
        .unlimited_rate()
        .args(extra)
        .arg("--summary-json")
        .arg(&summary)
        .env(SECRET_VAR, &secrets.referenced);
    if let Some(filter) = rust_log {
        run = run.env("RUST_LOG", filter);
    }
    let out = run.run().await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("POST"),
        "the verbose log covers the creates, so the check below has something to inspect\n{}",
        out.all()
    );

    secrets.assert_absent_from_output(sandbox, &out);
    secrets.assert_absent_from_file(sandbox, &scenario.results());
    secrets.assert_absent_from_file(sandbox, &summary);
    assert_all_created(&scenario.records(), &rows, &scenario.snapshot());
    assert_server_holds_secrets(sandbox, &rows, &secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_and_token_stay_out_of_trace_logs_results_and_summary() {
    run_verbosely(&["-vv"], None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_and_token_stay_out_of_json_logs_with_rust_log_trace() {
    run_verbosely(&["--log-format", "json"], Some("trace")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_and_token_stay_out_of_the_journal_left_by_a_killed_run() {
    let secrets = Secrets::new();
    let rows = secrets.rows(100);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let sandbox = &scenario.sandbox;
    let results = scenario.results();

    let mut running = scenario
        .cli()
        .args(["--rate", "600/min", "-vv"])
        .env(SECRET_VAR, &secrets.referenced)
        .spawn();
    running.wait_for_records(&results, 5).await;
    let killed = running.kill_9().await;
    assert!(count_records(&results) < rows.len(), "killed mid-run");
    secrets.assert_absent_from_output(sandbox, &killed);
    secrets.assert_absent_from_file(sandbox, &results);
    secrets.assert_absent_from_file(sandbox, &journal_of(&results));

    let resumed = scenario
        .cli()
        .unlimited_rate()
        .args(["--resume", "-vv"])
        .env(SECRET_VAR, &secrets.referenced)
        .run()
        .await;
    resumed.assert_code(0);
    secrets.assert_absent_from_output(sandbox, &resumed);
    secrets.assert_absent_from_file(sandbox, &results);
    assert_all_created(&read_results(&results), &rows, &sandbox.snapshot());
    assert_server_holds_secrets(sandbox, &rows, &secrets);
}
