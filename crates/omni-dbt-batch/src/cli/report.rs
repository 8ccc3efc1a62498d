//! What the CLI prints: validation problems, the final summary, the summary as JSON.

use std::path::Path;

use anyhow::{Context, Result};
use omni_dbt_batch::ScanReport;
use omni_dbt_batch::Status;
use omni_dbt_batch::{ExitStatus, RunOutcome, Summary};

/// Prints each listed problem as `FILE:LINE: field: message` on stderr, then how many more.
pub(super) fn print_problems(file: &str, report: &ScanReport) {
    for problem in &report.problems {
        eprintln!("{}", problem.display_with(file));
    }
    let unlisted = report.invalid.saturating_sub(report.problems.len() as u64);
    if unlisted > 0 {
        eprintln!("... and {unlisted} more invalid rows");
    }
}

/// Prints the summary on stdout.
pub(super) fn print_summary(summary: &Summary) {
    let verb = if summary.dry_run {
        "plan (dry run, nothing written)"
    } else {
        "done"
    };
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter(|s| summary.count(**s) > 0)
        .map(|s| {
            let label = if summary.dry_run {
                planned(*s)
            } else {
                s.as_str()
            };
            format!("{label} {}", summary.count(*s))
        })
        .collect();
    println!(
        "{verb}: {} rows: {}",
        summary.rows,
        if counts.is_empty() {
            "nothing to do".to_owned()
        } else {
            counts.join(", ")
        }
    );
    if summary.resumed > 0 {
        println!(
            "  {} rows were already settled in the results file",
            summary.resumed
        );
    }
    println!(
        "  {:.1}s, {} requests, {} retries, {} rate-limited (429), {:.1} created/min",
        summary.elapsed.as_secs_f64(),
        summary.requests,
        summary.retries,
        summary.rate_limited,
        summary.rate_per_minute()
    );
    if let Some(path) = &summary.results_path {
        println!("  results: {}", path.display());
    }
    match summary.outcome {
        RunOutcome::Succeeded | RunOutcome::SomeRowsFailed => {}
        RunOutcome::Aborted => println!(
            "  aborted: {}",
            summary.stop_reason.as_deref().unwrap_or("")
        ),
        RunOutcome::Interrupted => println!(
            "  {}",
            summary.stop_reason.as_deref().unwrap_or("interrupted")
        ),
    }
    if summary.outcome != RunOutcome::Succeeded && !summary.dry_run {
        println!(
            "  rerun with --resume to retry failed and skipped rows; finished rows are not touched"
        );
    }
}

fn planned(status: Status) -> &'static str {
    match status {
        Status::Created => "would create",
        Status::Updated => "would update",
        Status::Deleted => "would delete",
        other => other.as_str(),
    }
}

/// Writes the summary as pretty JSON, with the exit code the process ends with.
pub(super) fn write_summary_json(path: &Path, summary: &Summary) -> Result<()> {
    let mut value = serde_json::to_value(summary).context("cannot encode the summary")?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "exit_code".into(),
            ExitStatus::from(summary.outcome).code().into(),
        );
    }
    let json = serde_json::to_string_pretty(&value).context("cannot encode the summary")?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("cannot write the summary to {}", path.display()))
}
