//! What the CLI prints: validation problems, the final summary, the summary as JSON.

use std::path::Path;

use anyhow::{Context, Result};
use omni_dbt_batch::ScanReport;
use omni_dbt_batch::Status;
use omni_dbt_batch::{ExitStatus, KeySummary, RunOutcome, Summary};

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

/// Prints the summary of a run that applied its rows on stdout (a plan prints its own).
pub(super) fn print_summary(summary: &Summary) {
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter(|s| summary.count(**s) > 0)
        .map(|s| format!("{s} {}", summary.count(*s)))
        .collect();
    println!(
        "done: {} rows: {}",
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
    for key in &summary.keys {
        println!("  {}", key_line(key));
    }
    if let Some(path) = &summary.results_path {
        println!("  results: {}", path.display());
    }
    for warning in &summary.warnings {
        println!("  warning: {warning}");
    }
    match summary.outcome {
        RunOutcome::Succeeded | RunOutcome::SomeRowsFailed | RunOutcome::ChangesPlanned => {}
        RunOutcome::Aborted => println!(
            "  aborted: {}",
            summary.stop_reason.as_deref().unwrap_or("")
        ),
        RunOutcome::Interrupted => println!(
            "  {}",
            summary.stop_reason.as_deref().unwrap_or("interrupted")
        ),
    }
    if summary.outcome != RunOutcome::Succeeded {
        println!(
            "  rerun with --resume to retry failed and skipped rows; finished rows are not touched"
        );
    }
}

/// One key's line of the summary: `key OMNI_KEY_2: 310 requests, 4 rate-limited (429), ended
/// slowed to 147/min (ceiling 600/min)`, and `, this shard's part 25.0%` for a shared key.
fn key_line(key: &KeySummary) -> String {
    let ceiling = match key.share {
        Some(share) => format!(
            "ceiling {}, this shard's part {:.1}%",
            key.ceiling,
            share * 100.0
        ),
        None => format!("ceiling {}", key.ceiling),
    };
    let pace = match key.pace_per_minute {
        None => format!("never paced ({ceiling})"),
        Some(pace) if key.slowed => format!("ended slowed to {pace}/min ({ceiling})"),
        Some(pace) => format!("ended at {pace}/min ({ceiling})"),
    };
    format!(
        "key {}: {} requests, {} rate-limited (429), {pace}",
        key.label, key.requests, key.rate_limited
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pace_per_minute: Option<f64>, slowed: bool, ceiling: &str) -> KeySummary {
        KeySummary {
            label: "OMNI_KEY_2".into(),
            requests: 310,
            retries: 4,
            rate_limited: 4,
            ceiling: ceiling.into(),
            pace_per_minute,
            slowed,
            share: None,
        }
    }

    #[test]
    fn a_key_line_names_the_key_its_counts_and_where_its_pace_ended() {
        assert_eq!(
            key_line(&key(Some(147.2), true, "600/min")),
            "key OMNI_KEY_2: 310 requests, 4 rate-limited (429), ended slowed to 147.2/min \
             (ceiling 600/min)"
        );
        assert_eq!(
            key_line(&key(Some(588.0), false, "600/min")),
            "key OMNI_KEY_2: 310 requests, 4 rate-limited (429), ended at 588/min (ceiling 600/min)"
        );
        assert!(
            key_line(&key(None, false, "unlimited")).ends_with("never paced (ceiling unlimited)")
        );
        let shard = KeySummary {
            share: Some(0.25),
            ..key(Some(147.0), true, "600/min")
        };
        assert!(
            key_line(&shard)
                .ends_with("ended slowed to 147/min (ceiling 600/min, this shard's part 25.0%)"),
            "{}",
            key_line(&shard)
        );
    }
}
