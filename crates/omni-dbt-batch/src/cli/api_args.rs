//! The options every command that talks to Omni shares: where Omni is, which keys, how hard to
//! push it, how to retry; `run` and `undo` flatten them so each flag is defined once.

use std::time::Duration;

use clap::Args;
use omni_dbt_batch::ApiSettings;
use omni_dbt_core::{RateLimit, RetryPolicy};

/// How to reach Omni and how to pace, retry and stop requests.
#[derive(Debug, Args)]
pub(super) struct ApiArgs {
    /// Omni base URL: https://acme.omniapp.co, with /api, or an instance name [default: the
    /// apiEndpoint of the Omni CLI profile in use; required otherwise, unless --sandbox].
    #[arg(long, value_name = "URL", env = "OMNI_BASE_URL")]
    pub base_url: Option<String>,

    /// Run against an in-process sandbox on 127.0.0.1 instead of Omni (no account needed);
    /// --base-url and OMNI_API_TOKEN are then ignored.
    #[arg(long, env = "OMNI_DBT_SANDBOX")]
    pub sandbox: bool,

    /// Requests in flight at once, across all keys.
    #[arg(long, value_name = "N", default_value_t = omni_dbt_batch::DEFAULT_CONCURRENCY as u32,
          value_parser = clap::value_parser!(u32).range(1..=1024), env = "OMNI_DBT_CONCURRENCY")]
    pub concurrency: u32,

    /// Requests per key: N/min, N/s or `unlimited`. Omni allows 60/min per key (500 on request).
    #[arg(
        long,
        value_name = "N/min",
        default_value = "60/min",
        env = "OMNI_DBT_RATE"
    )]
    pub rate: RateLimit,

    /// Attempts per request, the first included (1 = never retry). Retries after a 429 are not
    /// counted: they go on within the 5-minute budget of a request.
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100), env = "OMNI_DBT_MAX_ATTEMPTS")]
    pub max_attempts: u32,

    /// Run-wide retry budget, in tokens: a retry after a 5xx costs 5, after a timeout or a
    /// broken connection 10, and each success puts one back; when it is spent, failing rows are
    /// recorded `exhausted` at once instead of retried (429s never spend from it).
    #[arg(long, value_name = "N", default_value_t = omni_dbt_core::RetryBudget::DEFAULT_CAPACITY, env = "OMNI_DBT_RETRY_BUDGET")]
    pub retry_budget: u32,

    /// Timeout of one request (e.g. 30s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = omni_dbt_units::parse_duration, env = "OMNI_DBT_TIMEOUT")]
    pub timeout: Duration,

    /// First retry delay; each retry doubles it, with full jitter.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = omni_dbt_units::parse_duration, env = "OMNI_DBT_BACKOFF_INITIAL")]
    pub backoff_initial: Duration,

    /// Longest retry delay.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = omni_dbt_units::parse_duration, env = "OMNI_DBT_BACKOFF_MAX")]
    pub backoff_max: Duration,

    /// Longest wait a server's Retry-After may impose before a retry; a longer one is cut to
    /// this, with a warning (the wait is logged and shown in progress with when it ends).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = omni_dbt_units::parse_duration, env = "OMNI_DBT_MAX_RETRY_AFTER")]
    pub max_retry_after: Duration,

    /// The most a list page may hold (e.g. 32MiB); a larger or endless page fails that
    /// connection's listing instead of filling memory [default: 32MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_page_size, env = "OMNI_DBT_MAX_PAGE_SIZE")]
    pub max_page_size: Option<usize>,

    /// The most pages one connection's listing may take before it is refused as endless
    /// [default: 10000, a million environments at 100 a page].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), env = "OMNI_DBT_MAX_PAGES")]
    pub max_pages: Option<u32>,

    /// Environment variable holding an API key; repeat for several keys (one rate limit each)
    /// [default: OMNI_API_TOKEN].
    #[arg(
        long = "token-env",
        value_name = "VAR",
        env = "OMNI_DBT_TOKEN_ENV",
        value_delimiter = ','
    )]
    pub token_env: Vec<String>,

    /// Take the API key (and, without --base-url, the endpoint) from this api-key profile of
    /// Omni CLI's config (`omni config init`; the file is OMNI_CONFIG_PATH, else
    /// OMNI_CONFIG_DIR/config.json, else ~/.config/omni-cli/config.json) [default: with no
    /// --token-env and OMNI_API_TOKEN unset, the config's default profile].
    #[arg(
        long,
        value_name = "NAME",
        env = "OMNI_DBT_OMNI_PROFILE",
        conflicts_with = "token_env"
    )]
    pub omni_profile: Option<String>,

    /// After Ctrl-C/SIGTERM, how long requests on the wire may finish before their rows are
    /// recorded skipped; rows waiting (for the rate limit or a retry) stop at once.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = omni_dbt_units::parse_duration, env = "OMNI_DBT_GRACE")]
    pub grace: Duration,

    /// With --sandbox: the sandbox's own rate limit per key (N/min or unlimited)
    /// [default: the same as --rate, so the sandbox enforces the limit the runner assumes].
    #[arg(long, value_name = "N/min", env = "OMNI_DBT_SANDBOX_RATE_LIMIT")]
    pub sandbox_rate_limit: Option<omni_dbt_sandbox::RateLimit>,

    /// With --sandbox: faults to inject (see `omni-dbt-batch sandbox --help`).
    #[arg(long, value_name = "SPEC", env = "OMNI_DBT_SANDBOX_FAULTS")]
    pub sandbox_faults: Option<String>,

    /// With --sandbox: seed of the fault injection.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "OMNI_DBT_SANDBOX_SEED"
    )]
    pub sandbox_seed: u64,
}

impl ApiArgs {
    /// Sets `api` (a command's settings, already holding its base URL and keys) from the flags:
    /// the one place every command's API options are read.
    pub(super) fn apply(&self, api: &mut ApiSettings) {
        api.concurrency = self.concurrency as usize;
        api.rate = self.rate;
        api.retry = RetryPolicy::default()
            .with_initial_delay(self.backoff_initial)
            .with_max_delay(self.backoff_max.max(self.backoff_initial))
            .with_max_attempts(self.max_attempts)
            .with_max_retry_after(self.max_retry_after);
        api.retry_budget = self.retry_budget;
        api.timeout = self.timeout;
        api.max_page_bytes = self.max_page_size;
        api.max_pages = self.max_pages;
    }
}

/// A size (`32MiB`, `500KB`, a number of bytes) that fits in memory's address space.
fn parse_page_size(text: &str) -> Result<usize, String> {
    let bytes = omni_dbt_units::parse_size(text).map_err(|e| e.to_string())?;
    match usize::try_from(bytes) {
        Ok(0) => Err("a page size must be more than 0 bytes".to_owned()),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(format!("{text} is more than this machine can address")),
    }
}
