//! The sandbox from the command line: in-process for `run --sandbox`, standalone for `sandbox`.

use anyhow::{Context, Result};
use omni_dbt_batch::ApiKey;
use omni_dbt_sandbox::{
    DuplicateNames, FaultConfig, RateLimit as SandboxRateLimit, RetryAfterHeader, Sandbox,
    SandboxConfig,
};

use super::api_args::ApiArgs;
use super::args::SandboxArgs;

/// A sandbox started for one run, with the keys the run should use.
pub(super) struct EmbeddedSandbox {
    sandbox: Sandbox,
    keys: Vec<ApiKey>,
}

impl EmbeddedSandbox {
    /// The sandbox's origin.
    pub(super) fn base_url(&self) -> String {
        self.sandbox.base_url()
    }

    /// The keys the sandbox accepts: the `--token-env` ones when given, else its own.
    pub(super) fn keys(&self) -> Vec<ApiKey> {
        self.keys.clone()
    }

    /// Says what the sandbox holds now, then stops it.
    pub(super) async fn finish(self, quiet: bool) {
        let snapshot = self.sandbox.snapshot();
        if !quiet {
            println!(
                "  sandbox: {} environments created, {} duplicate names (state discarded on exit)",
                snapshot.creates_applied, snapshot.duplicates_created
            );
        }
        self.sandbox.shutdown().await;
    }
}

fn faults(spec: Option<&str>) -> Result<FaultConfig> {
    match spec {
        Some(spec) => spec
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid fault spec {spec:?}: {e}")),
        None => Ok(FaultConfig::none()),
    }
}

/// With `--sandbox`, starts one for the command; `None` otherwise.
pub(super) async fn start_if_asked(args: &ApiArgs) -> Result<Option<EmbeddedSandbox>> {
    if args.sandbox {
        start_for_run(args).await.map(Some)
    } else {
        Ok(None)
    }
}

/// Starts an open sandbox (every connection id exists and has dbt) for `run --sandbox`, limiting
/// each key to `--sandbox-rate-limit`, by default the runner's own `--rate`.
async fn start_for_run(args: &ApiArgs) -> Result<EmbeddedSandbox> {
    let rate_limit = args
        .sandbox_rate_limit
        .unwrap_or(match args.rate.per_minute() {
            Some(n) => SandboxRateLimit::per_minute(n.get()),
            None => SandboxRateLimit::Unlimited,
        });
    let mut config = SandboxConfig::default()
        .with_rate_limit(rate_limit)
        .with_faults(faults(args.sandbox_faults.as_deref())?)
        .with_seed(args.sandbox_seed);
    let keys = if args.token_env.is_empty() {
        None
    } else {
        let keys = super::read_keys(&args.token_env, &|name| std::env::var_os(name))?;
        for key in &keys {
            config = config.with_token(secrecy::ExposeSecret::expose_secret(&key.token));
        }
        Some(keys)
    };
    let sandbox = Sandbox::start(config)
        .await
        .context("cannot start the sandbox")?;
    let keys = keys.unwrap_or_else(|| {
        vec![ApiKey {
            label: "sandbox".into(),
            token: sandbox.token().to_owned().into(),
        }]
    });
    tracing::info!(base_url = %sandbox.base_url(), "running against the in-process sandbox");
    Ok(EmbeddedSandbox { sandbox, keys })
}

/// `omni-dbt-batch sandbox`: serves until Ctrl-C or SIGTERM.
pub(super) async fn serve(args: SandboxArgs) -> Result<()> {
    let mut config = SandboxConfig::default()
        .with_port(args.port)
        .with_rate_limit(args.rate_limit)
        .with_rate_window(args.rate_window)
        .with_faults(faults(args.faults.as_deref())?)
        .with_seed(args.seed);
    for token in &args.token {
        config = config.with_token(token.as_str());
    }
    if args.retry_after {
        config = config.with_retry_after(RetryAfterHeader::Sent);
    }
    if args.reject_duplicates {
        config = config.with_duplicate_names(DuplicateNames::Reject);
    }
    omni_dbt_sandbox::serve_until_ctrl_c(config)
        .await
        .context("the sandbox stopped with an error")
}
