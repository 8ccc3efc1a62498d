//! The binary's top level: parse, dispatch on the subcommand, turn the outcome into an exit code.

mod args;
mod exit;
mod logging;
mod progress;
mod report;
mod sandbox;
mod signals;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use omni_dbt_batch::config::{ApiKey, InvalidRows, RunConfig, WriteMode};
use omni_dbt_batch::input::InputSource;
use omni_dbt_batch::results::Mode;
use omni_dbt_batch::run::RunError;
use omni_dbt_core::RetryPolicy;

use self::args::{Cli, Command, RunArgs, ValidateArgs};
use self::exit::Exit;

/// The default variable holding the API key, as in Omni's own CLI.
const DEFAULT_TOKEN_ENV: &str = "OMNI_API_TOKEN";

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let focus = match cli.command {
        Command::Sandbox(_) => logging::Focus::Sandbox,
        Command::Run(_) | Command::Validate(_) => logging::Focus::Runner,
    };
    logging::init(cli.verbose, cli.quiet, cli.log_format, focus);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Exit::Usage.into();
        }
    };
    let exit = runtime.block_on(dispatch(cli));
    // Workers blocked on stdin or a slow socket must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    exit.into()
}

async fn dispatch(cli: Cli) -> Exit {
    let quiet = cli.quiet;
    let outcome = match cli.command {
        Command::Run(args) => run(*args, quiet).await,
        Command::Validate(args) => validate(&args, quiet),
        Command::Sandbox(args) => sandbox::serve(args).await.map(|()| Exit::Success),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {}", describe(&error));
        Exit::Usage
    })
}

/// The error and its causes, each cause once: the library's messages often quote their cause
/// already, and saying it twice reads as two problems.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn input_source(input: &str) -> InputSource {
    if input == "-" {
        InputSource::Stdin
    } else {
        InputSource::Path(input.into())
    }
}

fn validate(args: &ValidateArgs, quiet: bool) -> Result<Exit> {
    let source = input_source(&args.input.input);
    let report = omni_dbt_batch::validate_input(
        &source,
        args.input.format,
        args.input.shard,
        args.max_problems,
    )?;
    report::print_problems(&source.display_name(), &report);
    if report.invalid > 0 {
        eprintln!(
            "{} of {} rows are invalid; fix them (or run with --skip-invalid to record them and go on)",
            report.invalid, report.rows
        );
        return Ok(Exit::Usage);
    }
    if !quiet {
        println!(
            "{} rows valid across {} connections; nothing was sent",
            report.rows,
            report.connections.len()
        );
    }
    Ok(Exit::Success)
}

async fn run(args: RunArgs, quiet: bool) -> Result<Exit> {
    let sandbox = if args.sandbox {
        Some(sandbox::start_for_run(&args).await?)
    } else {
        None
    };
    let (base_url, keys) = match &sandbox {
        Some(sandbox) => (sandbox.base_url(), sandbox.keys()),
        None => (
            args.base_url
                .clone()
                .context("--base-url (or OMNI_BASE_URL) is required without --sandbox")?,
            read_keys(&args.token_env)?,
        ),
    };
    let config = run_config(&args, base_url, keys);
    let stop = config.stop.clone();
    let reporter = progress::CliReporter::new(quiet);
    signals::watch(stop, Arc::clone(&reporter), args.grace);

    match omni_dbt_batch::run(config, reporter.clone()).await {
        Ok(summary) => {
            if !quiet {
                report::print_summary(&summary);
            }
            if let Some(path) = &args.summary_json {
                report::write_summary_json(path, &summary)?;
            }
            if let Some(sandbox) = sandbox {
                sandbox.finish(quiet).await;
            }
            Ok(Exit::from_outcome(summary.outcome))
        }
        Err(RunError::InvalidRows { file, report }) => {
            report::print_problems(&file, &report);
            eprintln!(
                "error: {} of {} rows in {file} are invalid; nothing was sent. Fix them, or pass --skip-invalid to record them as invalid and go on",
                report.invalid, report.rows
            );
            Ok(Exit::Usage)
        }
        Err(error @ RunError::Recording(_)) => {
            eprintln!("error: {error}");
            Ok(Exit::Aborted)
        }
        Err(error) => Err(error.into()),
    }
}

fn run_config(args: &RunArgs, base_url: String, keys: Vec<ApiKey>) -> RunConfig {
    let mut config = RunConfig::new(input_source(&args.input.input), base_url, keys);
    config.format = args.input.format;
    config.shard = args.input.shard;
    config.results_path = args.results.clone();
    config.results_mode = match (args.resume, args.force) {
        (true, _) => Mode::Resume,
        (false, true) => Mode::Force,
        (false, false) => Mode::New,
    };
    config.concurrency = args.concurrency as usize;
    config.rate = args.rate;
    config.retry = RetryPolicy::default()
        .with_initial_delay(args.backoff_initial)
        .with_max_delay(args.backoff_max.max(args.backoff_initial))
        .with_max_attempts(args.max_attempts);
    config.timeout = args.timeout;
    config.existing = args.existing;
    config.write_mode = if args.dry_run {
        WriteMode::DryRun
    } else {
        WriteMode::Apply
    };
    config.invalid_rows = if args.skip_invalid {
        InvalidRows::Skip
    } else {
        InvalidRows::Refuse
    };
    config.max_failures = args.max_failures;
    config.grace = args.grace;
    config
}

/// Reads each named variable as an API key; every one must be set and non-empty.
fn read_keys(vars: &[String]) -> Result<Vec<ApiKey>> {
    let vars: Vec<&str> = if vars.is_empty() {
        vec![DEFAULT_TOKEN_ENV]
    } else {
        vars.iter().map(String::as_str).collect()
    };
    vars.into_iter()
        .map(|var| match std::env::var(var) {
            Ok(token) if !token.trim().is_empty() => Ok(ApiKey {
                label: var.to_owned(),
                token: token.trim().to_owned().into(),
            }),
            _ => anyhow::bail!(
                "no API token in ${var}: set it to an Omni API key (Settings > API keys), name another variable with --token-env, or use --sandbox"
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_by_its_error_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(omni_dbt_batch::input::InputError::Open {
            path: "envs.csv".into(),
            source: io,
        });
        let text = describe(&error);
        assert_eq!(text.matches("no such file").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot open input file envs.csv"),
            "{text}"
        );
    }

    #[test]
    fn a_context_keeps_its_cause() {
        let error = anyhow::anyhow!("port 8787 is taken").context("cannot start the sandbox");
        assert_eq!(
            describe(&error),
            "cannot start the sandbox: port 8787 is taken"
        );
    }
}
