//! The binary's top level: parse, dispatch on the subcommand, turn the outcome into an exit code.

mod api_args;
mod args;
mod completions;
mod credentials;
mod export;
mod logging;
mod manpage;
mod merge;
mod messages;
mod omni_profile;
mod pacing_note;
mod plan;
mod progress;
#[cfg(test)]
mod recipes;
mod report;
mod sandbox;
mod signals;
mod stdout;
mod undo;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::Parser;
use omni_dbt_batch::{
    ApiKey, ExitStatus, InputSource, InvalidRows, KeySharing, Prune, Reporter, ResultsMode,
    RunConfig, RunError, WriteMode,
};

use self::api_args::ApiArgs;
use self::args::{Cli, Command, RunArgs, ValidateArgs};
use self::credentials::read_keys;
use self::messages::MessageFormat;

/// Runs the command line and returns the process exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let focus = match cli.command {
        Command::Sandbox(_) => logging::Focus::Sandbox,
        Command::Run(_)
        | Command::Plan(_)
        | Command::Validate(_)
        | Command::Undo(_)
        | Command::Export(_)
        | Command::Merge(_)
        | Command::Completions(_)
        | Command::Man => logging::Focus::Runner,
    };
    logging::init(cli.verbose, cli.quiet, cli.log_format, focus);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitStatus::Usage.into();
        }
    };
    let exit = runtime.block_on(dispatch(cli));
    // Workers blocked on stdin or a slow socket must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    exit.into()
}

async fn dispatch(cli: Cli) -> ExitStatus {
    let quiet = cli.quiet;
    let outcome = match cli.command {
        Command::Run(args) => run(*args, quiet, Verb::Run).await,
        Command::Plan(args) => run(*args, quiet, Verb::Plan).await,
        Command::Validate(args) => validate(&args, quiet),
        Command::Undo(args) => undo::undo(*args, quiet).await,
        Command::Merge(args) => merge::merge(args, quiet),
        Command::Export(args) => export::export(*args, quiet).await,
        Command::Sandbox(args) => sandbox::serve(args).await.map(|()| ExitStatus::Success),
        Command::Completions(args) => completions::print(&args),
        Command::Man => manpage::print(),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {}", describe(&error));
        ExitStatus::Usage
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

fn validate(args: &ValidateArgs, quiet: bool) -> Result<ExitStatus> {
    let source = InputSource::from_arg(&args.input.input);
    let scanned = omni_dbt_batch::validate_input(
        &source,
        args.input.format,
        &args.input.dbt.options(),
        args.input.shard,
        args.input.connection_map()?.as_ref(),
        args.max_problems,
    );
    let report = match scanned {
        Ok(report) => report,
        Err(error) => return Ok(messages::refuse_input(args.message_format, &source, error)),
    };
    if report.invalid > 0 {
        return Ok(messages::refuse_rows(args.message_format, &source, report));
    }
    if !quiet {
        let verdict = format!(
            "{} rows valid across {} connections; nothing was sent",
            report.rows,
            report.connections.len()
        );
        // Machine formats keep stdout to their own lines.
        match args.message_format {
            MessageFormat::Human => println!("{verdict}"),
            MessageFormat::Json | MessageFormat::Github => eprintln!("{verdict}"),
        }
    }
    Ok(ExitStatus::Success)
}

/// What `run`'s options are given to: `run` (`--dry-run` included), or `plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Run,
    Plan,
}

async fn run(args: RunArgs, quiet: bool, verb: Verb) -> Result<ExitStatus> {
    let connection_map = args.input.connection_map()?;
    let sandbox = sandbox::start_if_asked(&args.api).await?;
    let (base_url, keys) = target(&args.api, sandbox.as_ref())?;
    let mut config = run_config(&args, base_url, keys);
    config.connection_map = connection_map;
    let stop = config.stop.clone();
    let writes = verb == Verb::Run && !args.dry_run;
    let progress = progress::CliReporter::new(quiet, if writes { "applying" } else { "planning" });
    signals::watch(stop, Arc::clone(&progress), args.api.grace);
    let reporter: Arc<dyn Reporter> = if quiet {
        progress
    } else {
        plan::PlanReport::new(progress)
    };

    let ran = match verb {
        Verb::Run => omni_dbt_batch::run(config, reporter).await,
        Verb::Plan => omni_dbt_batch::plan(config, reporter).await,
    };
    match ran {
        Ok(summary) => {
            if !quiet {
                match &summary.actions {
                    Some(actions) => plan::print_summary(&summary, actions, verdict(verb)),
                    None => report::print_summary(&summary),
                }
            }
            if let Some(path) = &args.summary_json {
                report::write_summary_json(path, &summary)?;
            }
            if let Some(sandbox) = sandbox {
                sandbox.finish(quiet).await;
            }
            Ok(ExitStatus::from(summary.outcome))
        }
        Err(error) => Ok(refuse(error)),
    }
}

/// `plan` says what its exit code means; `run --dry-run` exits as a run would.
fn verdict(verb: Verb) -> plan::Verdict {
    match verb {
        Verb::Run => plan::Verdict::Omitted,
        Verb::Plan => plan::Verdict::Shown,
    }
}

/// Where requests go, and with which keys: the sandbox's, or the flags' and environment's.
fn target(
    api: &ApiArgs,
    sandbox: Option<&sandbox::EmbeddedSandbox>,
) -> Result<(String, Vec<ApiKey>)> {
    Ok(match sandbox {
        Some(sandbox) => (sandbox.base_url(), sandbox.keys()),
        None => credentials::resolve(api, &|name| std::env::var_os(name))?,
    })
}

/// Prints why the run did not start or stopped (with the invalid rows, when that is why) and
/// returns the exit status the error means.
fn refuse(error: RunError) -> ExitStatus {
    if let RunError::InvalidRows { file, report } = &error {
        report::print_problems(file, report);
    }
    let status = error.exit_status();
    eprintln!("error: {}", describe(&anyhow::Error::new(error)));
    status
}

/// What `--resume` and `--force` say to do with an existing results file (`--resume` wins).
pub(super) fn results_mode(resume: bool, force: bool) -> ResultsMode {
    match (resume, force) {
        (true, _) => ResultsMode::Resume,
        (false, true) => ResultsMode::Force,
        (false, false) => ResultsMode::New,
    }
}

fn run_config(args: &RunArgs, base_url: String, keys: Vec<ApiKey>) -> RunConfig {
    let mut config = RunConfig::new(InputSource::from_arg(&args.input.input), base_url, keys);
    config.format = args.input.format;
    config.dbt = args.input.dbt.options();
    config.shard = args.input.shard;
    config.key_sharing = if args.own_key || args.api.sandbox {
        KeySharing::Own
    } else {
        KeySharing::BetweenShards
    };
    config.results_path = args.results.clone();
    config.results_mode = results_mode(args.resume, args.force);
    args.api.apply(&mut config.api);
    config.existing = args.existing;
    config.prune = if args.prune {
        Prune::DeleteOthers {
            max_deletes: args.max_deletes,
        }
    } else {
        Prune::KeepOthers
    };
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
    config.grace = args.api.grace;
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key sharing a `run` command line configures.
    fn key_sharing(flags: &[&str]) -> KeySharing {
        let words = ["omni-dbt-batch", "run", "envs.csv", "--shard", "1/4"];
        let cli = Cli::try_parse_from(words.iter().chain(flags)).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("a run")
        };
        run_config(&args, "acme".into(), Vec::new()).key_sharing
    }

    #[test]
    fn shards_share_their_key_unless_it_is_their_own_or_the_sandbox() {
        assert_eq!(key_sharing(&[]), KeySharing::BetweenShards);
        assert_eq!(key_sharing(&["--own-key"]), KeySharing::Own);
        // An embedded sandbox is each process's own.
        assert_eq!(key_sharing(&["--sandbox"]), KeySharing::Own);
    }

    #[test]
    fn a_cause_already_quoted_by_its_error_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(omni_dbt_batch::InputError::Open {
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
