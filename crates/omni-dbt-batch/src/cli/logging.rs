//! Diagnostics on stderr through tracing-subscriber: `-v`/`-q`, `RUST_LOG`, `--log-format`.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Whose log lines matter by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Focus {
    /// A run or a validation: the runner's lines; the sandbox's only with `-v`.
    Runner,
    /// The standalone sandbox: one line per request it serves.
    Sandbox,
}

/// Installs the global subscriber. `RUST_LOG` wins over `-v`/`-q` when set.
pub(super) fn init(verbose: u8, quiet: bool, format: LogFormat, focus: Focus) {
    let ours = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let others = if verbose >= 3 { "debug" } else { "warn" };
    let default = format!(
        "{others},omni_dbt_batch={ours},omni_dbt_core={core},omni_dbt_sandbox={sandbox}",
        core = if verbose == 0 { "warn" } else { ours },
        sandbox = if verbose == 0 && focus == Focus::Runner {
            "warn"
        } else {
            ours
        },
    );
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(verbose > 0);
    // A second init (tests calling main twice) is harmless: keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
