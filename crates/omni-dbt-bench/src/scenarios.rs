//! The benchmark scenarios: what each sets up, runs, and counts as its target.

use std::time::Duration;

use anyhow::{bail, Result};
use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig, SeedConnection, SeedEnvironment};

use crate::gen::GenSpec;
use crate::harness::{Context, Invocation, Outcome};
use crate::table::BenchRow;

/// Every scenario by name, in the order `all` runs them, with what it measures.
pub const SCENARIOS: [(&str, &str); 11] = [
    (
        "rate",
        "one key at 6000/min (sandbox 6000/min window): requests/s vs the limit",
    ),
    (
        "rate-1s-window",
        "as `rate`, but the sandbox enforces 100 per 1 s window: pacing precision",
    ),
    (
        "keys",
        "four keys at 6000/min each: requests/s vs 4x one key's limit",
    ),
    (
        "latency",
        "50 ms sandbox latency, 32 in flight, no limit: rows/s vs 32/0.05 s",
    ),
    (
        "overhead",
        "100,000 rows, no latency, no limit, 64 in flight: rows/s and CPU per 1k rows",
    ),
    (
        "memory",
        "validate and dry-run of 100k and 1M rows (5,000 connections): peak RSS",
    ),
    (
        "faults",
        "10,000 rows with 5xx, 429, commit-then-fail and drops: duplicates, losses",
    ),
    (
        "export",
        "export of 1,000 and 10,000 seeded environments (10 connections): peak RSS",
    ),
    (
        "hostile",
        "huge and endless bodies, 502 pages and listings: peak RSS, each run ends",
    ),
    (
        "shared-key",
        "one key at 600/min per 2 s window (fixed and sliding), shared or misjudged: 429s, key use",
    ),
    (
        "reconcile",
        "200 creates among 2,000 environments, 10% applied then 500: requests per row",
    ),
];

/// Runs one scenario by name and returns its rows of the table.
pub async fn run(name: &str, ctx: &Context) -> Result<Vec<BenchRow>> {
    match name {
        "rate" => rate(ctx, "rate", RateLimit::per_minute(PER_KEY_PER_MIN)).await,
        "rate-1s-window" => {
            let per_second = RateLimit::Limited {
                requests: PER_KEY_PER_MIN / 60,
                window: Duration::from_secs(1),
            };
            rate(ctx, "rate-1s-window", per_second).await
        }
        "keys" => keys(ctx).await,
        "latency" => latency(ctx).await,
        "overhead" => overhead(ctx).await,
        "memory" => memory(ctx).await,
        "faults" => faults(ctx).await,
        "export" => export(ctx).await,
        "hostile" => crate::hostile::hostile(ctx).await,
        "shared-key" => crate::shared_key::run(ctx).await,
        "reconcile" => crate::reconcile::run(ctx).await,
        other => {
            let known: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
            bail!("unknown scenario `{other}` (known: {})", known.join(", "))
        }
    }
}

/// The per-key limit of the rate scenarios (sandbox and runner alike).
const PER_KEY_PER_MIN: u32 = 6000;

fn key_name(i: usize) -> String {
    format!("BENCH_KEY_{}", i + 1)
}

fn key_value(i: usize) -> String {
    format!("bench-token-{}", i + 1)
}

async fn sandbox(keys: usize, config: SandboxConfig) -> Result<Sandbox> {
    let config = (0..keys).fold(config, |c, i| c.with_token(key_value(i)));
    Ok(Sandbox::start(config).await?)
}

/// `run INPUT --base-url URL --results ... --force` plus one `--token-env` per key and `extra`.
fn run_call(
    ctx: &Context,
    label: &str,
    input: &std::path::Path,
    sandbox: &Sandbox,
    keys: usize,
    extra: &[&str],
) -> Invocation {
    let keys = (0..keys).map(|i| (key_name(i), key_value(i))).collect();
    Invocation::run(ctx, label, input, sandbox.base_url(), keys).arg(extra.iter().copied())
}

/// The figures every row shares, from one outcome.
fn base_row(scenario: &str, rows: u64, outcome: &Outcome) -> BenchRow {
    let requests = outcome.snapshot.as_ref().map_or(0, |s| s.total_requests());
    let mut notes = Vec::new();
    if !outcome.measured.status.success() {
        notes.push(format!("runner {}", outcome.measured.status));
    }
    if let Some(summary) = &outcome.summary {
        let done: u64 = ["created", "exists", "updated", "unchanged"]
            .iter()
            .filter_map(|s| summary.counts.get(*s))
            .sum();
        if done != summary.rows || summary.rows != rows {
            notes.push(format!(
                "only {done} of {rows} rows succeeded ({:?})",
                summary.counts
            ));
        }
        if summary.retries > 0 {
            notes.push(format!("{} retries", summary.retries));
        }
        if summary.rate_limited > 0 {
            notes.push(format!("runner saw {} 429s", summary.rate_limited));
        }
        if outcome.snapshot.is_some() && summary.requests != requests {
            notes.push(format!(
                "runner counted {} requests, sandbox {requests}",
                summary.requests
            ));
        }
    }
    BenchRow {
        notes: notes.join("; "),
        ..outcome.row(scenario, rows)
    }
}

fn all_rows_succeeded(outcome: &Outcome) -> bool {
    outcome.measured.status.success()
}

async fn rate(ctx: &Context, label: &str, limit: RateLimit) -> Result<Vec<BenchRow>> {
    let spec = GenSpec {
        rows: 1_200,
        connections: 12,
        seed: 1,
    };
    let input = ctx.input(spec)?;
    let sandbox = sandbox(1, SandboxConfig::default().with_rate_limit(limit)).await?;
    let rate = format!("{PER_KEY_PER_MIN}/min");
    let call = run_call(
        ctx,
        label,
        &input,
        &sandbox,
        1,
        &["--rate", &rate, "--concurrency", "12"],
    );
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let mut row = base_row(label, spec.rows, &outcome);
    let ideal = f64::from(PER_KEY_PER_MIN) / 60.0;
    let ratio = row.requests_per_s / ideal;
    row.ideal = Some(ideal);
    row.ideal_unit = "req/s";
    row.ratio = Some(ratio);
    row.target = "ratio >= 0.97, 0 429s".into();
    row.met = ratio >= 0.97 && row.rate_limited == 0 && all_rows_succeeded(&outcome);
    Ok(vec![row])
}

async fn keys(ctx: &Context) -> Result<Vec<BenchRow>> {
    const KEYS: usize = 4;
    let spec = GenSpec {
        rows: 4_800,
        connections: 48,
        seed: 2,
    };
    let input = ctx.input(spec)?;
    let config = SandboxConfig::default().with_rate_limit(RateLimit::per_minute(PER_KEY_PER_MIN));
    let sandbox = sandbox(KEYS, config).await?;
    let rate = format!("{PER_KEY_PER_MIN}/min");
    let call = run_call(
        ctx,
        "keys",
        &input,
        &sandbox,
        KEYS,
        &["--rate", &rate, "--concurrency", "48"],
    );
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let mut row = base_row("keys", spec.rows, &outcome);
    let ideal = KEYS as f64 * f64::from(PER_KEY_PER_MIN) / 60.0;
    let ratio = row.requests_per_s / ideal;
    row.ideal = Some(ideal);
    row.ideal_unit = "req/s";
    row.ratio = Some(ratio);
    row.target = "ratio >= 0.95, 0 429s".into();
    row.met = ratio >= 0.95 && row.rate_limited == 0 && all_rows_succeeded(&outcome);
    Ok(vec![row])
}

async fn latency(ctx: &Context) -> Result<Vec<BenchRow>> {
    const IN_FLIGHT: f64 = 32.0;
    const LATENCY_S: f64 = 0.05;
    let spec = GenSpec {
        rows: 3_200,
        connections: 32,
        seed: 3,
    };
    let input = ctx.input(spec)?;
    let config = SandboxConfig::default()
        .with_rate_limit(RateLimit::Unlimited)
        .with_faults("latency=50ms".parse()?);
    let sandbox = sandbox(1, config).await?;
    let call = run_call(
        ctx,
        "latency",
        &input,
        &sandbox,
        1,
        &["--rate", "unlimited", "--concurrency", "32"],
    );
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let mut row = base_row("latency", spec.rows, &outcome);
    let ideal = IN_FLIGHT / LATENCY_S;
    let ratio = row.rows_per_s / ideal;
    row.ideal = Some(ideal);
    row.ideal_unit = "rows/s";
    row.ratio = Some(ratio);
    row.target = "ratio >= 0.90".into();
    row.met = ratio >= 0.90 && all_rows_succeeded(&outcome);
    Ok(vec![row])
}

async fn overhead(ctx: &Context) -> Result<Vec<BenchRow>> {
    const TARGET_ROWS_PER_S: f64 = 5_000.0;
    let spec = GenSpec {
        rows: 100_000,
        connections: 1_000,
        seed: 4,
    };
    let input = ctx.input(spec)?;
    let sandbox = sandbox(
        1,
        SandboxConfig::default().with_rate_limit(RateLimit::Unlimited),
    )
    .await?;
    let call = run_call(
        ctx,
        "overhead",
        &input,
        &sandbox,
        1,
        &["--rate", "unlimited", "--concurrency", "64"],
    );
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let mut row = base_row("overhead", spec.rows, &outcome);
    let ratio = row.rows_per_s / TARGET_ROWS_PER_S;
    row.ideal = Some(TARGET_ROWS_PER_S);
    row.ideal_unit = "rows/s";
    row.ratio = Some(ratio);
    row.target = ">= 5000 rows/s".into();
    row.met = ratio >= 1.0 && all_rows_succeeded(&outcome);
    Ok(vec![row])
}

/// Memory limits of the `memory` scenario.
const RSS_LIMIT_MIB: f64 = 150.0;
const VALIDATE_ROWS_PER_S: f64 = 200_000.0;

async fn memory(ctx: &Context) -> Result<Vec<BenchRow>> {
    let small = GenSpec {
        rows: 100_000,
        connections: 5_000,
        seed: 5,
    };
    let large = GenSpec {
        rows: 1_000_000,
        ..small
    };
    let mut rows = Vec::new();
    for (mode, label) in [(Mode::Validate, "validate"), (Mode::DryRun, "dry-run")] {
        let a = memory_run(ctx, small, mode, &format!("memory/{label}-100k")).await?;
        let mut b = memory_run(ctx, large, mode, &format!("memory/{label}-1m")).await?;
        let growth = b.peak_rss_mib / a.peak_rss_mib.max(f64::EPSILON);
        let note = format!("RSS 1m/100k = {growth:.2}x");
        b.notes = if b.notes.is_empty() {
            note
        } else {
            format!("{}; {note}", b.notes)
        };
        b.met = b.met && growth <= 2.0;
        b.target = format!("{} and <= 2x 100k", b.target);
        rows.push(a);
        rows.push(b);
    }
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Mode {
    Validate,
    DryRun,
}

async fn memory_run(ctx: &Context, spec: GenSpec, mode: Mode, label: &str) -> Result<BenchRow> {
    let input = ctx.input(spec)?;
    let file_label = label.replace('/', "-");
    let (outcome, sandbox) = match mode {
        Mode::Validate => {
            let call = Invocation {
                label: file_label,
                args: vec!["validate".into(), input.display().to_string()],
                env: Vec::new(),
            };
            (ctx.invoke(call, None).await?, None)
        }
        Mode::DryRun => {
            let config = SandboxConfig::default().with_rate_limit(RateLimit::Unlimited);
            let sandbox = sandbox(1, config).await?;
            let call = run_call(
                ctx,
                &file_label,
                &input,
                &sandbox,
                1,
                &["--dry-run", "--rate", "unlimited", "--concurrency", "64"],
            );
            (ctx.invoke(call, Some(&sandbox)).await?, Some(sandbox))
        }
    };
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    let mut row = base_row(label, spec.rows, &outcome);
    let rss_ok = row.peak_rss_mib <= RSS_LIMIT_MIB;
    row.met = rss_ok && outcome.measured.status.success();
    match mode {
        Mode::Validate => {
            let ratio = row.rows_per_s / VALIDATE_ROWS_PER_S;
            row.ideal = Some(VALIDATE_ROWS_PER_S);
            row.ideal_unit = "rows/s";
            row.ratio = Some(ratio);
            row.target = "RSS <= 150 MiB, >= 200k rows/s".into();
            row.met = row.met && ratio >= 1.0;
        }
        Mode::DryRun => row.target = "RSS <= 150 MiB".into(),
    }
    Ok(row)
}

/// POST faults of the `faults` scenario: 10% 5xx, 5% 429, 3% commit-then-fail, 2% drops.
const FAULT_SPEC: &str = "post:500=0.04,post:502=0.03,post:503=0.03,post:429=0.05,\
post:commit-500=0.01,post:commit-503=0.01,post:commit-drop=0.01,post:drop=0.02";

async fn faults(ctx: &Context) -> Result<Vec<BenchRow>> {
    let spec = GenSpec {
        rows: 10_000,
        connections: 100,
        seed: 6,
    };
    let input = ctx.input(spec)?;
    let config = SandboxConfig::default()
        .with_rate_limit(RateLimit::Unlimited)
        .with_faults(FAULT_SPEC.parse()?)
        .with_seed(6);
    let sandbox = sandbox(1, config).await?;
    let call = run_call(
        ctx,
        "faults",
        &input,
        &sandbox,
        1,
        &[
            "--rate",
            "unlimited",
            "--concurrency",
            "32",
            "--backoff-initial",
            "5ms",
            "--backoff-max",
            "100ms",
        ],
    );
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let mut row = base_row("faults", spec.rows, &outcome);
    let (duplicates, distinct, faults) = match &outcome.snapshot {
        Some(s) => {
            let total = s.environment_count() as u64;
            (
                s.duplicates_created,
                total.saturating_sub(s.duplicates_created),
                s.faults.values().sum::<u64>(),
            )
        }
        None => (0, 0, 0),
    };
    let not_created = spec.rows.saturating_sub(distinct);
    let per_row = row.requests as f64 / spec.rows as f64;
    let figures = format!(
        "duplicates {duplicates}, rows not created {not_created}, {per_row:.3} requests/row, {faults} faults injected"
    );
    row.notes = if row.notes.is_empty() {
        figures
    } else {
        format!("{figures}; {}", row.notes)
    };
    row.target = "0 duplicates, 0 not created".into();
    row.met = duplicates == 0 && not_created == 0;
    Ok(vec![row])
}

/// Connections the `export` scenario spreads its environments over.
const EXPORT_CONNECTIONS: u128 = 10;

/// `export`: 1,000 then 10,000 environments seeded in the sandbox, exported to CSV through the
/// real binary. Listing streams page by page into a temporary file, so peak RSS should not
/// follow the number of environments.
async fn export(ctx: &Context) -> Result<Vec<BenchRow>> {
    let small = export_run(ctx, 1_000, "export/1k").await?;
    let mut large = export_run(ctx, 10_000, "export/10k").await?;
    let growth = large.peak_rss_mib / small.peak_rss_mib.max(f64::EPSILON);
    let note = format!("RSS 10k/1k = {growth:.2}x");
    large.notes = if large.notes.is_empty() {
        note
    } else {
        format!("{}; {note}", large.notes)
    };
    large.met = large.met && growth <= 2.0;
    large.target = format!("{} and <= 2x 1k", large.target);
    Ok(vec![small, large])
}

/// A connection of `count` environments, each with a plain and a secret variable.
fn seeded_connection(index: u128, count: u64) -> SeedConnection {
    let id = uuid::Uuid::from_u128(index + 1);
    (0..count).fold(SeedConnection::dbt(id), |connection, i| {
        connection.with_environment(
            SeedEnvironment::new(format!("env_{index:02}_{i:05}"), format!("dbt_{i:05}"))
                .with_target_database("analytics")
                .with_variable("DBT_TARGET", "dev")
                .with_secret_variable("DBT_API_KEY", "bench-secret"),
        )
    })
}

async fn export_run(ctx: &Context, environments: u64, label: &str) -> Result<BenchRow> {
    let per_connection = environments / EXPORT_CONNECTIONS as u64;
    let config = (0..EXPORT_CONNECTIONS).fold(
        SandboxConfig::default().with_rate_limit(RateLimit::Unlimited),
        |config, i| config.with_connection(seeded_connection(i, per_connection)),
    );
    let sandbox = sandbox(1, config).await?;
    let file_label = label.replace('/', "-");
    let out = ctx.dir.join(format!("{file_label}.csv"));
    let mut args = vec![
        "export".to_owned(),
        "--base-url".into(),
        sandbox.base_url(),
        "--token-env".into(),
        key_name(0),
        "--rate".into(),
        "unlimited".into(),
        "--concurrency".into(),
        "10".into(),
        "--out".into(),
        out.display().to_string(),
        "--force".into(),
    ];
    for i in 0..EXPORT_CONNECTIONS {
        args.push("--connection".into());
        args.push(uuid::Uuid::from_u128(i + 1).to_string());
    }
    let call = Invocation {
        label: file_label,
        args,
        env: vec![(key_name(0), key_value(0))],
    };
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    let written = std::fs::read_to_string(&out)
        .map(|text| text.lines().count().saturating_sub(1) as u64)
        .unwrap_or(0);
    let mut row = base_row(label, environments, &outcome);
    if written != environments {
        row.notes = format!("only {written} of {environments} environments written");
    }
    row.target = "RSS <= 150 MiB, every environment written".into();
    row.met = row.peak_rss_mib <= RSS_LIMIT_MIB
        && outcome.measured.status.success()
        && written == environments;
    Ok(row)
}
