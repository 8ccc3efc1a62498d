//! Running the real `omni-dbt-batch` binary once, measured, against an in-process sandbox.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use omni_dbt_sandbox::{Sandbox, Snapshot};
use serde::Deserialize;

use crate::gen::{write_csv, GenSpec};
use crate::measure::{run_measured, self_cpu, Measured};
use crate::table::BenchRow;

/// Where the bench finds the runner and writes its files.
#[derive(Debug, Clone)]
pub struct Context {
    /// The release `omni-dbt-batch` binary.
    pub runner: PathBuf,
    /// `target/bench`: inputs, results, summaries and logs of every run.
    pub dir: PathBuf,
    /// Clock ticks per second, for `/proc` CPU times.
    pub ticks: u64,
}

impl Context {
    /// Generates `spec`'s CSV under the bench directory (always rewritten: it is deterministic
    /// and quick) and returns its path.
    pub fn input(&self, spec: GenSpec) -> Result<PathBuf> {
        let path = self.dir.join(spec.file_name());
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        write_csv(&spec, file).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// One invocation of the runner: arguments after the binary name and extra environment.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Names the log, results and summary files (`target/bench/<label>.*`).
    pub label: String,
    /// Arguments, e.g. `["run", "in.csv", "--rate", "unlimited"]`.
    pub args: Vec<String>,
    /// Environment variables (API keys).
    pub env: Vec<(String, String)>,
}

impl Invocation {
    /// `run INPUT --base-url URL --results <bench dir>/<label>.results.csv --force`, with one
    /// `--token-env NAME` per key of `keys` (name, token) and the tokens in the environment.
    /// Add a case's own flags with [`arg`](Self::arg).
    pub fn run(
        ctx: &Context,
        label: &str,
        input: &Path,
        base_url: String,
        keys: Vec<(String, String)>,
    ) -> Self {
        let results = ctx.dir.join(format!("{label}.results.csv"));
        let mut args = vec![
            "run".to_owned(),
            input.display().to_string(),
            "--base-url".into(),
            base_url,
            "--results".into(),
            results.display().to_string(),
            "--force".into(),
        ];
        for (name, _) in &keys {
            args.push("--token-env".into());
            args.push(name.clone());
        }
        Self {
            label: label.to_owned(),
            args,
            env: keys,
        }
    }

    /// Adds arguments.
    pub fn arg(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// The `--summary-json` fields the bench reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunSummary {
    /// Rows in the run.
    #[serde(default)]
    pub rows: u64,
    /// Rows per status.
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Requests the runner sent.
    #[serde(default)]
    pub requests: u64,
    /// Retries among them.
    #[serde(default)]
    pub retries: u64,
    /// 429s the runner saw.
    #[serde(default)]
    pub rate_limited: u64,
}

/// What one measured invocation produced.
#[derive(Debug)]
pub struct Outcome {
    /// The runner's measured cost.
    pub measured: Measured,
    /// CPU time of the bench process (the sandbox) while the runner ran.
    pub sandbox_cpu: Duration,
    /// The sandbox's state after the run, when one was used.
    pub snapshot: Option<Snapshot>,
    /// The runner's summary, when it wrote one.
    pub summary: Option<RunSummary>,
}

impl Outcome {
    /// The row of `scenario`, `rows` rows, with what was measured (wall time, requests the
    /// sandbox saw, 429s, peak RSS, CPU); no target, not met, no notes yet.
    pub fn row(&self, scenario: &str, rows: u64) -> BenchRow {
        let wall = self.measured.wall.as_secs_f64();
        let requests = self.snapshot.as_ref().map_or(0, |s| s.total_requests());
        BenchRow {
            scenario: scenario.to_owned(),
            rows,
            wall_s: wall,
            rows_per_s: rows as f64 / wall.max(f64::EPSILON),
            requests,
            requests_per_s: requests as f64 / wall.max(f64::EPSILON),
            ideal: None,
            ideal_unit: "",
            ratio: None,
            rate_limited: self.snapshot.as_ref().map_or(0, |s| s.rate_limited),
            peak_rss_mib: self.measured.peak_rss_kib as f64 / 1024.0,
            runner_cpu_s: self.measured.cpu.as_secs_f64(),
            sandbox_cpu_s: self.sandbox_cpu.as_secs_f64(),
            target: String::new(),
            met: false,
            notes: String::new(),
        }
    }
}

impl Context {
    /// Runs the invocation (with `--summary-json` added for `run`), sampling the child, and
    /// snapshots `sandbox` afterwards.
    pub async fn invoke(&self, call: Invocation, sandbox: Option<&Sandbox>) -> Result<Outcome> {
        self.invoke_until(call, sandbox, None).await
    }

    /// As [`invoke`](Self::invoke), but the runner is killed if it is still running after
    /// `deadline` ([`Measured::killed_at_deadline`] then says so).
    pub async fn invoke_until(
        &self,
        call: Invocation,
        sandbox: Option<&Sandbox>,
        deadline: Option<Duration>,
    ) -> Result<Outcome> {
        let summary_path = self.dir.join(format!("{}.summary.json", call.label));
        let _ = std::fs::remove_file(&summary_path);
        let mut command = Command::new(&self.runner);
        command.args(&call.args);
        if call.args.first().map(String::as_str) == Some("run") {
            command.arg("--summary-json").arg(&summary_path);
        }
        command.envs(call.env.iter().map(|(k, v)| (k, v)));
        let log = self.dir.join(format!("{}.log", call.label));
        let log_file = File::create(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let ticks = self.ticks;
        let cpu_before = self_cpu(ticks);
        let measured =
            tokio::task::spawn_blocking(move || run_measured(&mut command, ticks, deadline))
                .await?
                .with_context(|| format!("cannot run {}", self.runner.display()))?;
        let sandbox_cpu = self_cpu(ticks).saturating_sub(cpu_before);
        Ok(Outcome {
            measured,
            sandbox_cpu,
            snapshot: sandbox.map(Sandbox::snapshot),
            summary: read_summary(&summary_path),
        })
    }
}

fn read_summary(path: &Path) -> Option<RunSummary> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Finds the release runner next to this binary, building it first unless `build` is false.
pub fn locate_runner(build: bool) -> Result<PathBuf> {
    if build {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "omni-dbt-batch", "--locked"])
            .status()
            .context("cannot run cargo to build the runner")?;
        if !status.success() {
            bail!("`cargo build --release -p omni-dbt-batch --locked` failed ({status})");
        }
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the bench binary has no parent directory")?;
    let runner = dir.join("omni-dbt-batch");
    if !runner.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p omni-dbt-batch --locked`",
            runner.display()
        );
    }
    Ok(runner)
}

/// `target/bench`, beside the profile directory holding this binary.
pub fn bench_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the bench binary is not inside a target directory")?;
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
