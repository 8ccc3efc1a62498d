//! The `plan` entry point: a run that lists and decides every row, and writes nothing.

use std::sync::Arc;

use crate::config::{RunConfig, WriteMode};
use crate::error::RunError;
use crate::report::Reporter;
use crate::run::run_for;
use crate::summary::{Purpose, Summary};

/// Plans a batch: validates every row, lists the connections, decides what each row needs, and
/// sends no write. No results file is read, created or locked, whatever `config` says of one.
///
/// Each row's [`PlanEntry`](crate::PlanEntry), with the field-level [`Drift`](crate::Drift)
/// of an update, goes to [`Reporter::row_planned`] in input order, so a plan of a million rows
/// takes no more memory than one of ten: keep the entries you need in your reporter. The
/// summary counts the [`actions`](Summary::actions); its outcome is
/// [`RunOutcome::ChangesPlanned`](crate::RunOutcome::ChangesPlanned) (exit 4) when a row would
/// be created or updated and none would fail, and otherwise what [`run`](crate::run()) would
/// end with (exit 0 when nothing would change).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use omni_dbt_batch::{ApiKey, ExitStatus, InputSource, PlanEntry, PlannedAction, Reporter, RunConfig};
///
/// /// Keeps every line of the plan.
/// #[derive(Default)]
/// struct Lines(Mutex<Vec<PlanEntry>>);
///
/// impl Reporter for Lines {
///     fn row_planned(&self, entry: &PlanEntry) {
///         self.0.lock().unwrap().push(entry.clone());
///     }
/// }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig};
/// # let sandbox = Sandbox::start(SandboxConfig::default().with_rate_limit(RateLimit::Unlimited)).await?;
/// # let (base_url, token) = (sandbox.base_url(), sandbox.token().to_owned());
/// # let dir = tempfile::tempdir()?;
/// # let input = dir.path().join("envs.csv");
/// # std::fs::write(&input, "connection_id,name,target_schema\n550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n")?;
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: token.into() };
/// let config = RunConfig::new(InputSource::Path(input), base_url, vec![key]);
/// let lines = Arc::new(Lines::default());
/// let summary = omni_dbt_batch::plan(config, lines.clone()).await?;
///
/// assert_eq!(ExitStatus::from(summary.outcome), ExitStatus::Changes);
/// assert_eq!(summary.actions.map(|a| a.create), Some(1));
/// let entries = lines.0.lock().unwrap();
/// assert_eq!((entries[0].name.as_str(), &entries[0].action), ("dev_alice", &PlannedAction::Create));
/// assert!(summary.results_path.is_none(), "a plan writes no results file");
/// # sandbox.shutdown().await;
/// # Ok(()) }
/// # tokio::runtime::Runtime::new()?.block_on(demo()).map_err(|e| e.to_string())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn plan(config: RunConfig, reporter: Arc<dyn Reporter>) -> Result<Summary, RunError> {
    let config = RunConfig {
        write_mode: WriteMode::DryRun,
        ..config
    };
    run_for(config, reporter, Purpose::Plan).await
}
