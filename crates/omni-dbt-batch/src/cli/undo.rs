//! `omni-dbt-batch undo RESULTS`: confirm (or refuse), run the library's undo, print what it did
//! or, with --dry-run, what it would delete.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use clap::Args;
use omni_dbt_batch::{
    ExitStatus, Phase, Reporter, RowRecord, Status, Summary, UndoConfig, WriteMode,
};

use super::api_args::ApiArgs;
use super::progress::CliReporter;
use super::{refuse, report, results_mode, sandbox, signals, target};

/// `undo RESULTS`.
#[derive(Debug, Args)]
pub(super) struct UndoArgs {
    /// The results file of the run to undo: exactly the environments it records as `created`
    /// are deleted. It is locked while the undo deletes: refused while its run still writes it,
    /// or while another undo of it goes on.
    #[arg(value_name = "RESULTS")]
    pub source: PathBuf,

    /// The undo's own results file (.csv or .jsonl) [default: <RESULTS stem>.undo.csv beside
    /// RESULTS].
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_UNDO_RESULTS")]
    pub results: Option<PathBuf>,

    /// List what would be deleted (connections are listed) but send no delete and write no
    /// results file.
    #[arg(long, env = "OMNI_DBT_DRY_RUN")]
    pub dry_run: bool,

    /// Delete without asking. Without it, undo asks on a terminal and refuses elsewhere.
    #[arg(long, env = "OMNI_DBT_YES")]
    pub yes: bool,

    /// Continue from the undo's existing results file: skip finished deletes, reconcile those
    /// left in flight.
    #[arg(long, env = "OMNI_DBT_RESUME", conflicts_with = "force")]
    pub resume: bool,

    /// Overwrite the undo's existing results file.
    #[arg(long, env = "OMNI_DBT_FORCE")]
    pub force: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}

/// Runs `undo`.
pub(super) async fn undo(args: UndoArgs, quiet: bool) -> Result<ExitStatus> {
    if !args.dry_run && !args.yes {
        if let Some(refused) = confirm(&args) {
            return Ok(refused);
        }
    }
    let sandbox = sandbox::start_if_asked(&args.api).await?;
    let (base_url, keys) = target(&args.api, sandbox.as_ref())?;
    let config = undo_config(&args, base_url, keys);
    let progress = CliReporter::new(quiet, "undoing");
    signals::watch(config.stop.clone(), Arc::clone(&progress), args.api.grace);
    let reporter = Arc::new(DryRunLister {
        progress,
        mode: config.write_mode,
        lines: Mutex::new(Vec::new()),
    });
    match omni_dbt_batch::undo(config, reporter.clone()).await {
        Ok(summary) => {
            if !quiet {
                reporter.print();
                report::print_summary(&summary);
            }
            if let Some(sandbox) = sandbox {
                sandbox.finish(quiet).await;
            }
            Ok(ExitStatus::from(summary.outcome))
        }
        Err(error) => Ok(refuse(error)),
    }
}

/// Asks on a terminal; refuses elsewhere. `None` when the user said yes.
fn confirm(args: &UndoArgs) -> Option<ExitStatus> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        eprintln!(
            "error: undo deletes environments in Omni and stdin is not a terminal to ask on: \
             pass --yes to confirm (or --dry-run to list them); nothing was sent"
        );
        return Some(ExitStatus::Usage);
    }
    let targets = match omni_dbt_batch::undo_targets(&args.source) {
        Ok(targets) => targets,
        Err(error) => return Some(refuse(error)),
    };
    eprint!(
        "Delete the {} environments {} records as created? [y/N] ",
        targets.len(),
        args.source.display()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let said_yes = std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes");
    if said_yes {
        None
    } else {
        eprintln!("nothing was deleted");
        Some(ExitStatus::Usage)
    }
}

fn undo_config(args: &UndoArgs, base_url: String, keys: Vec<omni_dbt_batch::ApiKey>) -> UndoConfig {
    let mut config = UndoConfig::new(args.source.clone(), base_url, keys);
    config.results_path = args.results.clone();
    config.results_mode = results_mode(args.resume, args.force);
    args.api.apply(&mut config.api);
    config.grace = args.api.grace;
    config.write_mode = if args.dry_run {
        WriteMode::DryRun
    } else {
        WriteMode::Apply
    };
    config
}

/// The progress reporter, plus, in a dry run, one line per environment saying what would become
/// of it, printed on stdout once the undo ends.
struct DryRunLister {
    progress: Arc<CliReporter>,
    mode: WriteMode,
    lines: Mutex<Vec<String>>,
}

impl DryRunLister {
    fn print(&self) {
        for line in self
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            println!("{line}");
        }
    }
}

impl Reporter for DryRunLister {
    fn keys(&self, keys: &omni_dbt_batch::KeyWatch) {
        self.progress.keys(keys);
    }

    fn phase(&self, phase: Phase) {
        self.progress.phase(phase);
    }

    fn connection_listed(&self) {
        self.progress.connection_listed();
    }

    fn row_finished(&self, record: &RowRecord) {
        self.progress.row_finished(record);
        if self.mode != WriteMode::DryRun {
            return;
        }
        let verb = match record.status {
            Status::Deleted => "would delete",
            Status::Gone => "already gone",
            other => other.as_str(),
        };
        let id = record
            .environment_id
            .map_or_else(String::new, |id| id.to_string());
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!(
                "{verb}: {id} {:?} in connection {} (created by row {}, line {})",
                record.name, record.connection_id, record.row, record.line
            ));
    }

    fn finished(&self, summary: &Summary) {
        self.progress.finished(summary);
    }
}
