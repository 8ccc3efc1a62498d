//! `omni-dbt-batch merge RESULTS... --out PATH`: run the library's merge, say what it wrote and
//! list the rows no shard recorded.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use omni_dbt_batch::{ExitStatus, Format, InputSource, MergeConfig, MergeReport};

/// Rows listed as missing before a count.
const MISSING_LISTED: usize = 50;

/// `merge RESULTS... --out PATH`.
#[derive(Debug, Args)]
pub(super) struct MergeArgs {
    /// The results files of the shards of one input (in any order).
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,

    /// The merged results file; .csv or .jsonl says its format.
    #[arg(long, value_name = "PATH", env = "OMNI_DBT_MERGE_OUT")]
    pub out: PathBuf,

    /// The input the shards ran: every recorded row is checked against it, and rows no shard
    /// recorded are listed (exit 1). `-` reads stdin.
    #[arg(long, value_name = "INPUT", env = "OMNI_DBT_MERGE_INPUT")]
    pub input: Option<String>,

    /// The input's format [default: from its extension].
    #[arg(long, env = "OMNI_DBT_FORMAT")]
    pub format: Option<Format>,
}

/// Runs `merge`.
pub(super) fn merge(args: MergeArgs, quiet: bool) -> Result<ExitStatus> {
    let mut config = MergeConfig::new(args.results.clone(), args.out.clone());
    config.input = args.input.as_deref().map(InputSource::from_arg);
    config.input_format = args.format;
    match omni_dbt_batch::merge(&config) {
        Ok(report) => {
            print_report(&report, args.results.len(), quiet);
            Ok(report.exit_status())
        }
        Err(error) => {
            eprintln!("error: {error}; nothing was written");
            Ok(error.exit_status())
        }
    }
}

fn print_report(report: &MergeReport, files: usize, quiet: bool) {
    for missing in report.missing.iter().take(MISSING_LISTED) {
        let place = match (&missing.line, &missing.name) {
            (Some(line), Some(name)) => format!(" (input line {line}, {name:?})"),
            _ => String::new(),
        };
        eprintln!("row {}{place}: no shard recorded it", missing.row);
    }
    let unlisted = report.missing.len().saturating_sub(MISSING_LISTED);
    if unlisted > 0 {
        eprintln!("... and {unlisted} more rows no shard recorded");
    }
    if !quiet {
        println!(
            "merged {files} files into {}: {} rows, {} pruned environments{}",
            report.out.display(),
            report.rows,
            report.pruned,
            if report.missing.is_empty() {
                String::new()
            } else {
                format!(", {} rows missing", report.missing.len())
            }
        );
    }
}
