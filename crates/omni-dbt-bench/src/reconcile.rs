//! The `reconcile` scenario: what finding out whether ambiguous creates went through costs, in
//! a connection that already holds many environments.
//!
//! One connection holds [`EXISTING`] environments; the input creates [`ROWS`] more in it, and
//! the sandbox applies a tenth of the creates and then answers 500 (commit-then-fail). Omni's
//! list can only be sorted by name, so each lookup reads the connection's pages; the figure is
//! every request the run sent (its plan's listing, the creates, the reconciliation) per row.

use anyhow::Result;
use omni_dbt_sandbox::{
    ApiMethod, RateLimit, Sandbox, SandboxConfig, SeedConnection, SeedEnvironment, Snapshot,
};

use crate::gen::{connection_ids, GenSpec};
use crate::harness::{Context, Invocation, Outcome};
use crate::table::BenchRow;

/// Environments the connection holds before the run.
const EXISTING: usize = 2_000;
/// Rows the run creates.
const ROWS: u64 = 200;
/// Creates applied and then answered 500.
const FAULTS: &str = "post:commit-500=0.1";
/// Requests per row the scenario must stay within.
const TARGET_PER_ROW: f64 = 1.3;
const TOKEN: &str = "bench-reconcile-token";
const TOKEN_ENV: &str = "BENCH_RECONCILE_KEY";

/// Runs the scenario and returns its row.
pub async fn run(ctx: &Context) -> Result<Vec<BenchRow>> {
    let spec = GenSpec {
        rows: ROWS,
        connections: 1,
        seed: 11,
    };
    let input = ctx.input(spec)?;
    let connection = connection_ids(spec.seed, 1)[0];
    let seeded = (0..EXISTING).fold(SeedConnection::dbt(connection), |seed, i| {
        seed.with_environment(SeedEnvironment::new(
            format!("existing_{i:05}"),
            format!("dbt_existing_{i}"),
        ))
    });
    let config = SandboxConfig::default()
        .with_token(TOKEN)
        .with_rate_limit(RateLimit::Unlimited)
        .with_connection(seeded)
        .with_faults(FAULTS.parse()?)
        .with_seed(11);
    let sandbox = Sandbox::start(config).await?;
    let label = "reconcile";
    let token = vec![(TOKEN_ENV.to_owned(), TOKEN.to_owned())];
    let call =
        Invocation::run(ctx, label, &input, sandbox.base_url(), token).arg(["--rate", "unlimited"]);
    let outcome = ctx.invoke(call, Some(&sandbox)).await?;
    sandbox.shutdown().await;
    Ok(vec![row(label, &outcome)])
}

fn row(label: &str, outcome: &Outcome) -> BenchRow {
    let Some(snapshot) = &outcome.snapshot else {
        return BenchRow::missed(label, ROWS, "no sandbox snapshot");
    };
    let requests = snapshot.total_requests();
    let per_row = requests as f64 / ROWS as f64;
    let created = snapshot
        .creates_applied
        .saturating_sub(snapshot.duplicates_created);
    let notes = [
        format!("{per_row:.3} requests/row"),
        format!(
            "{} lists, {} creates, {} applied then answered 500",
            count(snapshot, ApiMethod::Get),
            count(snapshot, ApiMethod::Post),
            snapshot.faults.values().sum::<u64>()
        ),
        format!("duplicates {}", snapshot.duplicates_created),
        format!("{created} of {ROWS} rows created"),
    ];
    let met = per_row <= TARGET_PER_ROW
        && snapshot.duplicates_created == 0
        && created == ROWS
        && outcome.measured.status.success();
    BenchRow {
        ideal: Some(1.0),
        ideal_unit: "req/row",
        ratio: Some(per_row),
        target: format!("<= {TARGET_PER_ROW} requests/row, 0 duplicates"),
        met,
        notes: notes.join("; "),
        ..outcome.row(label, ROWS)
    }
}

fn count(snapshot: &Snapshot, method: ApiMethod) -> u64 {
    snapshot
        .requests
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.count)
        .sum()
}
