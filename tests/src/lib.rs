//! Shared helpers for the end-to-end tests: build the CLI, start a sandbox, write inputs, run the CLI, read results.
//!
//! The tests run the real `omni-dbt-batch` binary as a child process (so that it can be killed
//! with `SIGKILL` or interrupted with `SIGINT`) against an in-process [`Sandbox`].
//!
//! Most tests start from a [`Scenario`]: a sandbox with rows written to an input file.
//!
//! ```no_run
//! use omni_dbt_e2e::{assert_all_created, fast_sandbox, spread_rows, Scenario};
//!
//! # async fn demo() {
//! let rows = spread_rows(10, 2);
//! let scenario = Scenario::csv(fast_sandbox(), &rows).await;
//! scenario.run_unlimited(&[]).await.assert_code(0);
//! assert_all_created(&scenario.records(), &rows, &scenario.snapshot());
//! # }
//! ```

// A test-support crate: a helper that cannot do its job fails the test that called it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use omni_dbt_sandbox::{ApiMethod, FaultKind, RateLimit, Sandbox, SandboxConfig, Snapshot};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use uuid::Uuid;

mod silent_server;
pub use silent_server::SilentServer;

/// How long any one CLI run may take before the test kills it and fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits inside the workspace")
        .to_path_buf()
}

/// The repository's `fixtures/` directory.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("fixtures")
}

/// The path of the built `omni-dbt-batch` binary, built once per test process.
///
/// `OMNI_DBT_BIN` overrides it. Otherwise `$CARGO build -p omni-dbt-batch --bin omni-dbt-batch
/// --locked` runs from the workspace root with the test's own profile, and the binary is taken
/// from `$CARGO_TARGET_DIR` (or `target/`) under that profile.
pub fn cli_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_cli).clone()
}

fn build_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("OMNI_DBT_BIN") {
        return PathBuf::from(path);
    }
    let profile = test_profile();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.current_dir(workspace_root()).args([
        "build",
        "-p",
        "omni-dbt-batch",
        "--bin",
        "omni-dbt-batch",
        "--locked",
    ]);
    if profile == "release" {
        build.arg("--release");
    }
    // This process carries the variables cargo set for the tests crate. A build script that
    // watches one of them (ring's reads `CARGO_MANIFEST_DIR`) would see it change between this
    // build and a plain `cargo build`/`clippy`, and rebuild itself and all above it each time.
    for (key, _) in std::env::vars_os() {
        if set_by_cargo_for_this_crate(&key.to_string_lossy()) {
            build.env_remove(&key);
        }
    }
    let output = build.output().expect("cargo can be run");
    assert!(
        output.status.success(),
        "building omni-dbt-batch failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let binary = target_dir()
        .join(profile)
        .join(format!("omni-dbt-batch{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "no binary at {}", binary.display());
    binary
}

/// Whether cargo sets `key` for the crate under test (as opposed to a variable the user set to
/// configure cargo itself, such as `CARGO_TARGET_DIR` or `CARGO_HOME`).
fn set_by_cargo_for_this_crate(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_MANIFEST_")
        || matches!(
            key,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

/// `release` when this test binary was built under `target/release`, else `debug`.
fn test_profile() -> &'static str {
    let exe = std::env::current_exe().unwrap_or_default();
    let under_release = exe
        .ancestors()
        .any(|dir| dir.file_name() == Some(OsStr::new("release")));
    if under_release {
        "release"
    } else {
        "debug"
    }
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

// ---------------------------------------------------------------------------------------------
// Sandbox

/// A sandbox configuration for fast tests: a fixed token and no rate limit.
pub fn fast_sandbox() -> SandboxConfig {
    SandboxConfig::default()
        .with_token(format!("e2e-token-{}", Uuid::new_v4().simple()))
        .with_rate_limit(RateLimit::Unlimited)
}

/// Starts a sandbox on the current runtime.
pub async fn start_sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("the sandbox starts")
}

/// Requests of one method, whatever their outcome.
pub fn requests_of(snapshot: &Snapshot, method: ApiMethod) -> u64 {
    snapshot
        .requests
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.count)
        .sum()
}

/// POST requests (creates), whatever their outcome.
pub fn posts(snapshot: &Snapshot) -> u64 {
    requests_of(snapshot, ApiMethod::Post)
}

/// Write requests (POST, PUT and DELETE), whatever their outcome.
pub fn writes(snapshot: &Snapshot) -> u64 {
    [ApiMethod::Post, ApiMethod::Put, ApiMethod::Delete]
        .into_iter()
        .map(|method| requests_of(snapshot, method))
        .sum()
}

/// DELETE requests, whatever their outcome.
pub fn deletes(snapshot: &Snapshot) -> u64 {
    requests_of(snapshot, ApiMethod::Delete)
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A variable of an input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputVariable {
    /// Its name.
    pub name: String,
    /// Its value as written in the input (a literal or a `${env:VAR}` reference).
    pub value: String,
    /// Whether it is a `secret:` column (`isSecret` in JSONL).
    pub secret: bool,
}

/// One input row: an environment to create in a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// The connection.
    pub connection_id: Uuid,
    /// The environment's name.
    pub name: String,
    /// Its target schema.
    pub target_schema: String,
    /// Its variables.
    pub variables: Vec<InputVariable>,
}

impl InputRow {
    /// A row with no variables.
    pub fn new(connection_id: Uuid, name: impl Into<String>, schema: impl Into<String>) -> Self {
        Self {
            connection_id,
            name: name.into(),
            target_schema: schema.into(),
            variables: Vec::new(),
        }
    }

    /// Adds a plain variable.
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.variables.push(InputVariable {
            name: name.to_owned(),
            value: value.to_owned(),
            secret: false,
        });
        self
    }

    /// Adds a secret variable.
    pub fn with_secret(mut self, name: &str, value: &str) -> Self {
        self.variables.push(InputVariable {
            name: name.to_owned(),
            value: value.to_owned(),
            secret: true,
        });
        self
    }
}

/// `count` fresh connection ids.
pub fn connections(count: usize) -> Vec<Uuid> {
    (0..count).map(|_| Uuid::new_v4()).collect()
}

/// `n` rows named `env_0001`.. spread round-robin over `connections` fresh connections, each
/// with a `DBT_TARGET` variable.
pub fn spread_rows(n: usize, connections_count: usize) -> Vec<InputRow> {
    rows_over(n, &connections(connections_count))
}

/// `n` rows named `env_0001`.. spread round-robin over the given connections.
pub fn rows_over(n: usize, connections: &[Uuid]) -> Vec<InputRow> {
    (1..=n)
        .map(|i| {
            InputRow::new(
                connections[(i - 1) % connections.len()],
                format!("env_{i:04}"),
                format!("dbt_{i:04}"),
            )
            .with_var("DBT_TARGET", "dev")
        })
        .collect()
}

/// The rows as a CSV document: `connection_id,name,target_schema` then one `var:`/`secret:`
/// column per variable name (first-seen order), empty where a row has no such variable.
pub fn csv_text(rows: &[InputRow]) -> String {
    let mut columns: Vec<(String, bool)> = Vec::new();
    for variable in rows.iter().flat_map(|r| &r.variables) {
        let column = (variable.name.clone(), variable.secret);
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "connection_id".to_owned(),
        "name".to_owned(),
        "target_schema".to_owned(),
    ];
    header.extend(
        columns
            .iter()
            .map(|(name, secret)| format!("{}:{name}", if *secret { "secret" } else { "var" })),
    );
    writer.write_record(&header).unwrap();
    for row in rows {
        let mut record = vec![
            row.connection_id.to_string(),
            row.name.clone(),
            row.target_schema.clone(),
        ];
        record.extend(columns.iter().map(|(name, secret)| {
            row.variables
                .iter()
                .find(|v| &v.name == name && v.secret == *secret)
                .map(|v| v.value.clone())
                .unwrap_or_default()
        }));
        writer.write_record(&record).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The rows as JSONL in the API's shape plus `connectionId`.
pub fn jsonl_text(rows: &[InputRow]) -> String {
    let mut text = String::new();
    for row in rows {
        let mut object = serde_json::json!({
            "connectionId": row.connection_id,
            "name": row.name,
            "targetSchema": row.target_schema,
        });
        if !row.variables.is_empty() {
            object["variables"] = row
                .variables
                .iter()
                .map(
                    |v| serde_json::json!({"name": v.name, "value": v.value, "isSecret": v.secret}),
                )
                .collect();
        }
        text.push_str(&object.to_string());
        text.push('\n');
    }
    text
}

/// Writes `text` to `dir/file_name` and returns the path.
pub fn write_file(dir: &Path, file_name: &str, text: &str) -> PathBuf {
    let path = dir.join(file_name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes the rows as CSV to `dir/file_name`.
pub fn write_csv(dir: &Path, file_name: &str, rows: &[InputRow]) -> PathBuf {
    write_file(dir, file_name, &csv_text(rows))
}

/// Writes the rows as JSONL to `dir/file_name`.
pub fn write_jsonl(dir: &Path, file_name: &str, rows: &[InputRow]) -> PathBuf {
    write_file(dir, file_name, &jsonl_text(rows))
}

/// Copies `fixtures/<relative>` into `dir` under its file name and returns the copy's path, so
/// that a run writes its results beside the copy, not into the repository.
pub fn copy_fixture(dir: &Path, relative: &str) -> PathBuf {
    let source = fixtures_dir().join(relative);
    let copy = dir.join(source.file_name().expect("a fixture is a file"));
    std::fs::copy(&source, &copy).unwrap();
    copy
}

/// The default results path of an input: `<stem>.results.csv` beside it.
pub fn default_results(input: &Path) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
    input.with_file_name(format!("{stem}.results.csv"))
}

/// The journal path of a results file: `<results>.journal`.
pub fn journal_of(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The lock file of a results file: `<results>.lock`.
pub fn lock_of(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// `run INPUT --resume` against `sandbox` at an unlimited rate, to its end: it must exit 0.
pub async fn resume_to_the_end(sandbox: &Sandbox, input: &Path) {
    cli()
        .run_against(sandbox, input)
        .unlimited_rate()
        .arg("--resume")
        .run()
        .await
        .assert_code(0);
}

/// Waits until `path` exists (a process has claimed a results file, say), failing the test with
/// `what` after [`RUN_TIMEOUT`].
pub async fn wait_for_path(path: &Path, what: &str) {
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{what}: {} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Running the CLI

/// A command line for the CLI under test: the binary, with every inherited `OMNI_*` and
/// `RUST_LOG` variable removed, `NO_COLOR=1`, `OMNI_CONFIG_PATH` pointing at no file (so that
/// the Omni CLI config of whoever runs the tests is never read), and killed if the test drops it.
pub fn cli() -> Cli {
    let mut command = tokio::process::Command::new(cli_binary());
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("OMNI_") || key_text == "RUST_LOG" {
            command.env_remove(&key);
        }
    }
    command
        .env("NO_COLOR", "1")
        .env("OMNI_CONFIG_PATH", no_omni_cli_config())
        .kill_on_drop(true);
    Cli {
        command,
        stdin: None,
    }
}

/// A path where no Omni CLI config exists.
fn no_omni_cli_config() -> PathBuf {
    std::env::temp_dir()
        .join("omni-dbt-e2e-no-omni-cli-config")
        .join("config.json")
}

/// A CLI invocation being put together.
#[derive(Debug)]
pub struct Cli {
    command: tokio::process::Command,
    stdin: Option<Vec<u8>>,
}

impl Cli {
    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable of the child.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs the child in `dir`.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Feeds these bytes to the child's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// `run INPUT --base-url <sandbox>` with `OMNI_API_TOKEN` set to the sandbox's token and
    /// short retry delays (5 ms doubling up to 50 ms), set through their environment twins
    /// `OMNI_DBT_BACKOFF_INITIAL`/`OMNI_DBT_BACKOFF_MAX` so that a test's own
    /// `--backoff-initial`/`--backoff-max` flags take precedence.
    pub fn run_against(self, sandbox: &Sandbox, input: impl AsRef<OsStr>) -> Self {
        self.against("run", sandbox, input)
    }

    /// `plan INPUT --base-url <sandbox>`, set up as [`Cli::run_against`] sets up `run`.
    pub fn plan_against(self, sandbox: &Sandbox, input: impl AsRef<OsStr>) -> Self {
        self.against("plan", sandbox, input)
    }

    fn against(self, command: &str, sandbox: &Sandbox, input: impl AsRef<OsStr>) -> Self {
        self.arg(command)
            .arg(input)
            .arg("--base-url")
            .arg(sandbox.base_url())
            .env("OMNI_API_TOKEN", sandbox.token())
            .env("OMNI_DBT_BACKOFF_INITIAL", "5ms")
            .env("OMNI_DBT_BACKOFF_MAX", "50ms")
    }

    /// `export --base-url <sandbox>` (connections and output still to add), with the sandbox's
    /// token and short retry delays as [`Cli::run_against`] sets them.
    pub fn export_against(self, sandbox: &Sandbox) -> Self {
        self.arg("export")
            .arg("--base-url")
            .arg(sandbox.base_url())
            .env("OMNI_API_TOKEN", sandbox.token())
            .env("OMNI_DBT_BACKOFF_INITIAL", "5ms")
            .env("OMNI_DBT_BACKOFF_MAX", "50ms")
    }

    /// `undo RESULTS --base-url <sandbox>`, with the sandbox's token and short retry delays as
    /// [`Cli::run_against`] sets them.
    pub fn undo_against(self, sandbox: &Sandbox, results: impl AsRef<OsStr>) -> Self {
        self.arg("undo")
            .arg(results)
            .arg("--base-url")
            .arg(sandbox.base_url())
            .env("OMNI_API_TOKEN", sandbox.token())
            .env("OMNI_DBT_BACKOFF_INITIAL", "5ms")
            .env("OMNI_DBT_BACKOFF_MAX", "50ms")
    }

    /// `--rate unlimited`.
    pub fn unlimited_rate(self) -> Self {
        self.args(["--rate", "unlimited"])
    }

    /// Starts the child with piped output.
    pub fn spawn(mut self) -> Running {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("the CLI starts");
        if let (Some(bytes), Some(mut stdin)) = (self.stdin.take(), child.stdin.take()) {
            tokio::spawn(async move {
                // The child may exit before reading everything (an input error): ignore EPIPE.
                let _ = stdin.write_all(&bytes).await;
                let _ = stdin.shutdown().await;
            });
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Running {
            child,
            stdout,
            stderr,
            started: Instant::now(),
        }
    }

    /// Runs the child to completion (killing it and failing after [`RUN_TIMEOUT`]).
    pub async fn run(self) -> RunOutput {
        self.spawn().wait().await
    }
}

fn drain<R>(pipe: Option<R>) -> JoinHandle<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut buffer = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buffer).await;
        }
        buffer
    })
}

/// A CLI child process that is running.
#[derive(Debug)]
pub struct Running {
    child: tokio::process::Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    started: Instant,
}

impl Running {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child has not been reaped")
    }

    /// Whether the child has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Polls `results` until it holds at least `count` complete records (or the child exits),
    /// and returns the number seen. Fails the test after [`RUN_TIMEOUT`].
    pub async fn wait_for_records(&mut self, results: &Path, count: usize) -> usize {
        let deadline = Instant::now() + RUN_TIMEOUT;
        loop {
            let seen = count_records(results);
            if seen >= count || self.has_exited() {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "only {seen} of {count} records after {RUN_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Polls the sandbox until `reached` holds for its state (or the child exits), and returns
    /// whether it held. Fails the test after [`RUN_TIMEOUT`].
    pub async fn wait_for_sandbox(
        &mut self,
        sandbox: &Sandbox,
        reached: impl Fn(&Snapshot) -> bool,
    ) -> bool {
        let deadline = Instant::now() + RUN_TIMEOUT;
        loop {
            if reached(&sandbox.snapshot()) {
                return true;
            }
            if self.has_exited() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "the sandbox did not reach the state after {RUN_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends `SIGKILL` and reaps the child.
    pub async fn kill_9(mut self) -> RunOutput {
        self.child.start_kill().expect("SIGKILL can be sent");
        self.wait().await
    }

    /// Sends `SIGINT` (via `kill -INT`), as Ctrl-C would.
    pub fn interrupt(&self) {
        self.signal("-INT");
    }

    /// Sends `SIGTERM` (via `kill -TERM`), as a scheduler stopping the job would.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    fn signal(&self, flag: &str) {
        let status = std::process::Command::new("kill")
            .args([flag, &self.pid().to_string()])
            .status()
            .expect("kill can be run");
        assert!(status.success(), "kill {flag} failed");
    }

    /// Waits for the child to exit, killing it and failing the test after [`RUN_TIMEOUT`].
    pub async fn wait(mut self) -> RunOutput {
        let status = match tokio::time::timeout(RUN_TIMEOUT, self.child.wait()).await {
            Ok(status) => status.expect("the child can be waited for"),
            Err(_) => {
                let _ = self.child.kill().await;
                let stderr = self.stderr.await.unwrap_or_default();
                panic!(
                    "the CLI ran longer than {RUN_TIMEOUT:?}; stderr:\n{}",
                    String::from_utf8_lossy(&stderr)
                );
            }
        };
        let stdout = self.stdout.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        RunOutput {
            code: status.code(),
            stdout: strip_ansi(&String::from_utf8_lossy(&stdout)),
            stderr: strip_ansi(&String::from_utf8_lossy(&stderr)),
            raw: [stdout, stderr].concat(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// What a finished CLI run left behind.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Stdout, ANSI escapes removed.
    pub stdout: String,
    /// Stderr, ANSI escapes removed.
    pub stderr: String,
    /// Stdout then stderr, bytes as written.
    pub raw: Vec<u8>,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

impl RunOutput {
    /// Stdout and stderr together, for assertions and failure messages.
    pub fn all(&self) -> String {
        format!(
            "--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Fails the test unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.all()
        );
        self
    }

    /// Whether `needle` appears anywhere in the output (raw or with escapes removed).
    pub fn mentions(&self, needle: &str) -> bool {
        self.stdout.contains(needle)
            || self.stderr.contains(needle)
            || String::from_utf8_lossy(&self.raw).contains(needle)
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// The setup most tests share: a started sandbox and an input file in a temporary directory.
///
/// The directory lives as long as the scenario, so the results and journal a run writes beside
/// the input can be read after it.
#[derive(Debug)]
pub struct Scenario {
    /// The sandbox the CLI runs against.
    pub sandbox: Sandbox,
    /// The input file.
    pub input: PathBuf,
    dir: TempDir,
}

impl Scenario {
    /// Starts a sandbox and writes `rows` to `envs.csv`.
    pub async fn csv(config: SandboxConfig, rows: &[InputRow]) -> Self {
        Self::with_input(config, |dir| write_csv(dir, "envs.csv", rows)).await
    }

    /// Starts a sandbox and writes `rows` to `envs.jsonl`.
    pub async fn jsonl(config: SandboxConfig, rows: &[InputRow]) -> Self {
        Self::with_input(config, |dir| write_jsonl(dir, "envs.jsonl", rows)).await
    }

    /// Starts a sandbox, then lets `write` put the input into the temporary directory and
    /// return its path.
    pub async fn with_input(config: SandboxConfig, write: impl FnOnce(&Path) -> PathBuf) -> Self {
        let sandbox = start_sandbox(config).await;
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path());
        Self {
            sandbox,
            input,
            dir,
        }
    }

    /// The temporary directory that holds the input.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `run INPUT` against the sandbox (see [`Cli::run_against`]), with no rate chosen yet.
    pub fn cli(&self) -> Cli {
        cli().run_against(&self.sandbox, &self.input)
    }

    /// Runs the CLI to its end at an unlimited rate, with `extra` arguments.
    pub async fn run_unlimited(&self, extra: &[&str]) -> RunOutput {
        self.cli().unlimited_rate().args(extra).run().await
    }

    /// The default results path of the input.
    pub fn results(&self) -> PathBuf {
        default_results(&self.input)
    }

    /// Every record of the default results file, in file order.
    pub fn records(&self) -> Vec<ResultRecord> {
        read_results(&self.results())
    }

    /// The records of the default results file in row order, checking that rows 1..=n appear
    /// exactly once each (see [`records_by_row`]).
    pub fn records_in_row_order(&self, n: usize) -> Vec<ResultRecord> {
        records_by_row(&self.records(), n)
            .into_iter()
            .cloned()
            .collect()
    }

    /// What the sandbox holds and has counted so far.
    pub fn snapshot(&self) -> Snapshot {
        self.sandbox.snapshot()
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// One record of a results file, fields as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRecord {
    /// 1-based data row of the input; 0 for an environment deleted by `--prune` (written empty).
    pub row: u64,
    /// Input line where the row starts; 0 for a pruned environment (written empty).
    pub line: u64,
    /// The row's connection.
    pub connection_id: String,
    /// The row's environment name.
    pub name: String,
    /// `created`, `exists`, ... as written.
    pub status: String,
    /// The environment's id, when there is one.
    pub environment_id: Option<String>,
    /// Requests made for the row.
    pub attempts: Option<u32>,
    /// Last HTTP status.
    pub http_status: Option<u16>,
    /// The error kind, when the row did not succeed.
    pub error_kind: Option<String>,
    /// The error message.
    pub error: Option<String>,
    /// The row's fingerprint.
    pub fingerprint: String,
}

/// Reads every record of a results file (`.jsonl` as JSONL, anything else as CSV).
pub fn read_results(path: &Path) -> Vec<ResultRecord> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read results {}: {e}", path.display()));
    if path.extension() == Some(OsStr::new("jsonl")) {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| record_from_json(&serde_json::from_str(l).unwrap()))
            .collect()
    } else {
        let (headers, rows) = csv_table(&text);
        rows.iter()
            .map(|r| {
                let field = |name: &str| {
                    headers
                        .iter()
                        .position(|h| h == name)
                        .and_then(|i| r.get(i))
                        .filter(|v| !v.is_empty())
                        .cloned()
                };
                record_from(field)
            })
            .collect()
    }
}

/// The value a CSV cell written by the CLI stands for: a cell that starts with `'` followed by
/// `=`, `+`, `-`, `@`, a tab, a carriage return or another `'` loses that first `'` (the CLI
/// adds it so that spreadsheets do not evaluate the cell). Written here from the documented
/// rule, not from the CLI's code, so that the tests check the rule.
pub fn unguard_cell(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', second, ..] if b"=+-@\t\r'".contains(second) => &cell[1..],
        _ => cell,
    }
}

/// A CSV document written by the CLI as a header and rows, every cell unguarded
/// ([`unguard_cell`]).
pub fn csv_table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records().map(|record| {
        record
            .unwrap()
            .iter()
            .map(|cell| unguard_cell(cell).to_owned())
            .collect::<Vec<String>>()
    });
    let header = records.next().unwrap_or_default();
    (header, records.collect())
}

fn record_from_json(value: &serde_json::Value) -> ResultRecord {
    record_from(|name| match value.get(name) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.is_empty() => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    })
}

fn record_from(field: impl Fn(&str) -> Option<String>) -> ResultRecord {
    let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
    ResultRecord {
        row: number("row").unwrap_or(0),
        line: number("line").unwrap_or(0),
        connection_id: field("connection_id").unwrap_or_default(),
        name: field("name").unwrap_or_default(),
        status: field("status").unwrap_or_default(),
        environment_id: field("environment_id"),
        attempts: number("attempts").map(|n| n as u32),
        http_status: number("http_status").map(|n| n as u16),
        error_kind: field("error_kind"),
        error: field("error"),
        fingerprint: field("fingerprint").unwrap_or_default(),
    }
}

/// The number of complete records in a results file being written (0 when it does not exist).
pub fn count_records(path: &Path) -> usize {
    match std::fs::read(path) {
        Ok(bytes) => {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count();
            if path.extension() == Some(OsStr::new("jsonl")) {
                lines
            } else {
                lines.saturating_sub(1)
            }
        }
        Err(_) => 0,
    }
}

/// The record of each row, checking that rows 1..=n appear exactly once each.
pub fn records_by_row(records: &[ResultRecord], n: usize) -> Vec<&ResultRecord> {
    let rows: Vec<u64> = records.iter().map(|r| r.row).collect();
    let distinct: BTreeSet<u64> = rows.iter().copied().collect();
    assert_eq!(
        rows.len(),
        distinct.len(),
        "some rows have more than one record: {rows:?}"
    );
    assert_eq!(
        distinct,
        (1..=n as u64).collect::<BTreeSet<u64>>(),
        "the records do not cover rows 1..={n} exactly"
    );
    let mut sorted: Vec<&ResultRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.row);
    sorted
}

/// The id of the one environment named `name` in `connection`; fails when there is none or
/// more than one.
pub fn sandbox_id(snapshot: &Snapshot, connection: Uuid, name: &str) -> String {
    let found: Vec<_> = snapshot.environments_named(connection, name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one environment {name:?} in {connection}, found {}",
        found.len()
    );
    found[0].id.to_string()
}

/// `record` is a row an interrupt stopped before it sent anything: `skipped`, `interrupted`.
pub fn assert_skipped_by_interrupt(record: &ResultRecord) {
    assert_eq!(record.status, "skipped", "{record:?}");
    assert_eq!(
        record.error_kind.as_deref(),
        Some("interrupted"),
        "{record:?}"
    );
}

/// Checks that every input row has exactly one record, `created`, whose key is the row's and
/// whose environment id is the sandbox's environment of that name, and that the sandbox made
/// no duplicate.
pub fn assert_all_created(records: &[ResultRecord], rows: &[InputRow], snapshot: &Snapshot) {
    assert_eq!(
        snapshot.duplicates_created, 0,
        "duplicates: {:?}",
        snapshot.duplicates
    );
    for (record, row) in records_by_row(records, rows.len()).into_iter().zip(rows) {
        assert_eq!(
            (record.connection_id.as_str(), record.name.as_str()),
            (row.connection_id.to_string().as_str(), row.name.as_str()),
            "row {} has the wrong key",
            record.row
        );
        assert_created_as(record, snapshot, row.connection_id, &row.name);
    }
}

/// Checks that `record` is `created` with the id of the sandbox's one environment named `name`
/// in `connection`.
pub fn assert_created_as(record: &ResultRecord, snapshot: &Snapshot, connection: Uuid, name: &str) {
    assert_eq!(record.status, "created", "row {}: {record:?}", record.row);
    assert_eq!(
        record.environment_id.as_deref(),
        Some(sandbox_id(snapshot, connection, name).as_str()),
        "row {} maps to the wrong environment",
        record.row
    );
}

/// Checks the server's side of "each of `n` rows created once": `n` environments exist and
/// exactly `n` creates were applied.
pub fn assert_server_created_once_each(snapshot: &Snapshot, n: usize) {
    assert_eq!(snapshot.environment_count(), n);
    assert_eq!(
        snapshot.creates_applied, n as u64,
        "no create was applied twice"
    );
}

/// Checks that the sandbox injected at least one fault of each kind, so that a clean run
/// proves something about every one of them.
pub fn assert_faults_injected(snapshot: &Snapshot, kinds: &[FaultKind]) {
    for &kind in kinds {
        assert!(
            snapshot.faults_of(kind) > 0,
            "no {kind} fault was injected: {:?}",
            snapshot.faults
        );
    }
}

/// Whether `text` contains `needle` (for readable assertions on file contents).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        .unwrap_or(false)
}
