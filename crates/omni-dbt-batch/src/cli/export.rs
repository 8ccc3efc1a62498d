//! `omni-dbt-batch export`: every environment of some connections, in the input format, to a
//! file or stdout; then what was written and what was left out.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{ArgGroup, Args};
use omni_dbt_batch::{
    DefaultEnvironment, ExistingOutput, ExitStatus, ExportConfig, ExportFormat, ExportOutput,
    ExportSummary,
};
use omni_dbt_core::ConnectionId;

use super::api_args::ApiArgs;
use super::progress::CliReporter;
use super::{describe, sandbox, signals, target};

/// `export --connection ID ... | --connections-from FILE`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("connections").required(true).args(["connection", "connections_from"])))]
pub(super) struct ExportArgs {
    /// A connection whose environments to export (a UUID); repeat for several.
    #[arg(
        long,
        value_name = "ID",
        env = "OMNI_DBT_CONNECTION",
        value_delimiter = ','
    )]
    pub connection: Vec<ConnectionId>,

    /// Export the connections listed in the `connection_id` column of this CSV (other columns
    /// are ignored: an input file or an export will do).
    #[arg(
        long,
        value_name = "FILE",
        env = "OMNI_DBT_CONNECTIONS_FROM",
        conflicts_with = "connection"
    )]
    pub connections_from: Option<PathBuf>,

    /// Where to write: a file (.csv, .jsonl or .ndjson; written beside it, then renamed into
    /// place once complete) or - for stdout. An existing file is refused without --force.
    #[arg(long, value_name = "PATH|-", default_value = "-", env = "OMNI_DBT_OUT")]
    pub out: String,

    /// Format: csv or jsonl [default: from --out's extension; csv on stdout]. CSV cannot hold a
    /// plain variable whose value is empty: such environments are left out and named (exit 1);
    /// JSONL keeps them.
    #[arg(long, value_enum, value_name = "FMT", env = "OMNI_DBT_EXPORT_FORMAT")]
    pub format: Option<ExportFormat>,

    /// Replace an existing --out file (once the export is complete).
    #[arg(long, env = "OMNI_DBT_FORCE")]
    pub force: bool,

    /// Also export each connection's default environment, which Omni's dbt integration creates
    /// by itself (running the export elsewhere would then create a second, non-default copy).
    #[arg(long, env = "OMNI_DBT_INCLUDE_DEFAULT")]
    pub include_default: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}

/// Runs `export`.
pub(super) async fn export(args: ExportArgs, quiet: bool) -> Result<ExitStatus> {
    let connections = match &args.connections_from {
        Some(path) => omni_dbt_batch::connections_from(path)?,
        None => args.connection.clone(),
    };
    let sandbox = sandbox::start_if_asked(&args.api).await?;
    let (base_url, keys) = target(&args.api, sandbox.as_ref())?;
    let config = export_config(&args, connections, base_url, keys);
    let to_stdout = config.output == ExportOutput::Stdout;
    let progress = CliReporter::new(quiet, "exporting");
    signals::watch(config.stop.clone(), Arc::clone(&progress), args.api.grace);
    let exported = omni_dbt_batch::export(config, progress.clone()).await;
    progress.clear();
    if let Some(sandbox) = sandbox {
        // Its state is empty, and stdout may be the export itself.
        sandbox.finish(true).await;
    }
    match exported {
        Ok(summary) => {
            print_summary(&summary, quiet, to_stdout);
            Ok(ExitStatus::from(summary.outcome))
        }
        Err(error) => {
            let status = error.exit_status();
            eprintln!("error: {}", describe(&anyhow::Error::new(error)));
            Ok(status)
        }
    }
}

fn export_config(
    args: &ExportArgs,
    connections: Vec<ConnectionId>,
    base_url: String,
    keys: Vec<omni_dbt_batch::ApiKey>,
) -> ExportConfig {
    let mut config = ExportConfig::new(connections, base_url, keys);
    config.output = ExportOutput::from_arg(&args.out);
    config.format = args.format;
    config.existing_output = if args.force {
        ExistingOutput::Replace
    } else {
        ExistingOutput::Refuse
    };
    config.default_environment = if args.include_default {
        DefaultEnvironment::Include
    } else {
        DefaultEnvironment::Skip
    };
    args.api.apply(&mut config.api);
    config
}

/// What was left out, as errors on stderr (even with -q); then, unless quiet, what was written,
/// on stdout, or on stderr when stdout holds the export.
fn print_summary(summary: &ExportSummary, quiet: bool, to_stdout: bool) {
    for failed in &summary.failed_connections {
        eprintln!("error: {failed}");
    }
    for left_out in &summary.unwritable {
        eprintln!("error: not exported: {left_out}");
    }
    if quiet {
        return;
    }
    let print = |line: String| match to_stdout {
        true => eprintln!("{line}"),
        false => println!("{line}"),
    };
    let destination = summary
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_owned(), |path| path.display().to_string());
    match &summary.stop_reason {
        Some(reason) => print(format!("export: nothing was written: {reason}")),
        None => print(format!(
            "export: {} environments of {} connections written to {destination} ({})",
            summary.environments, summary.connections, summary.format
        )),
    }
    if summary.defaults_left_out > 0 {
        print(format!(
            "  {} default environments left out: Omni's dbt integration makes one in every \
             connection (--include-default exports them)",
            summary.defaults_left_out
        ));
    }
    if !summary.secret_variables.is_empty() {
        let names: Vec<&str> = summary
            .secret_variables
            .iter()
            .map(String::as_str)
            .collect();
        print(format!(
            "  secret values are never returned by Omni: set {} to them before running this file",
            names.join(", ")
        ));
    }
    print(format!(
        "  {:.1}s, {} requests, {} retries, {} rate-limited (429)",
        summary.elapsed.as_secs_f64(),
        summary.requests,
        summary.retries,
        summary.rate_limited
    ));
}
