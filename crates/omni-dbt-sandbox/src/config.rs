//! [`SandboxConfig`]: every setting of a sandbox, its defaults and its `with_*` builders.

use std::fmt;

use uuid::Uuid;

use crate::faults::FaultConfig;
use crate::rate::{RateLimit, RateWindow};

/// An API token the sandbox accepts. Its `Debug` output hides the value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SandboxToken(String);

impl SandboxToken {
    /// A token with this value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A fresh random token, `sbx_<32 hex digits>`.
    pub fn random() -> Self {
        Self(format!("sbx_{}", Uuid::new_v4().simple()))
    }

    /// The token's value, for an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SandboxToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SandboxToken(<redacted>)")
    }
}

/// Which connections exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// Every well-formed connection id exists and has dbt, created empty on first use (except
    /// those configured otherwise). What `omni-dbt-batch run --sandbox` uses. The default.
    #[default]
    Open,
    /// Only configured connections exist; any other id gets 404.
    Listed,
}

/// What to do when a create names an environment that already exists in the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateNames {
    /// Create it anyway and count a duplicate (Omni documents nothing that stops it). The default.
    #[default]
    Accept,
    /// Answer 400 naming `name`.
    Reject,
}

/// Whether a rate-limit 429 carries `Retry-After` (Omni documents none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryAfterHeader {
    /// No `Retry-After`. The default, as Omni.
    #[default]
    Omitted,
    /// `Retry-After: <seconds until the window reopens>`, at least 1.
    Sent,
}

/// The state of a configured connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// Exists and has dbt: its environments can be managed.
    Dbt,
    /// Exists but has no dbt integration: every request gets 403.
    WithoutDbt,
    /// Does not exist: every request gets 404, in both modes.
    Missing,
}

/// A connection configured before start, with its pre-seeded environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedConnection {
    pub(crate) id: Uuid,
    pub(crate) kind: ConnectionKind,
    pub(crate) environments: Vec<SeedEnvironment>,
}

impl SeedConnection {
    /// A dbt connection with no environments yet.
    pub fn dbt(id: Uuid) -> Self {
        Self {
            id,
            kind: ConnectionKind::Dbt,
            environments: Vec::new(),
        }
    }

    /// A connection without dbt (403).
    pub fn without_dbt(id: Uuid) -> Self {
        Self {
            kind: ConnectionKind::WithoutDbt,
            ..Self::dbt(id)
        }
    }

    /// A connection that does not exist (404).
    pub fn missing(id: Uuid) -> Self {
        Self {
            kind: ConnectionKind::Missing,
            ..Self::dbt(id)
        }
    }

    /// Adds the default (production) environment, `isDefaultEnvironment: true`.
    pub fn with_default_environment(
        self,
        name: impl Into<String>,
        target_schema: impl Into<String>,
    ) -> Self {
        self.with_environment(SeedEnvironment::new(name, target_schema).as_default())
    }

    /// Adds a pre-seeded environment.
    pub fn with_environment(mut self, environment: SeedEnvironment) -> Self {
        self.environments.push(environment);
        self
    }

    /// The connection's id.
    pub fn id(&self) -> Uuid {
        self.id
    }
}

/// An environment present from the start. Ids are assigned at start.
#[derive(Clone, PartialEq, Eq)]
pub struct SeedEnvironment {
    pub(crate) name: String,
    pub(crate) target_schema: String,
    pub(crate) is_default: bool,
    pub(crate) owner_id: Option<Uuid>,
    pub(crate) target_database: Option<String>,
    pub(crate) target_name: Option<String>,
    pub(crate) target_role: Option<String>,
    pub(crate) variables: Vec<SeedVariable>,
}

/// A pre-seeded variable.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SeedVariable {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) is_secret: bool,
}

impl fmt::Debug for SeedEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variables: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
        f.debug_struct("SeedEnvironment")
            .field("name", &self.name)
            .field("target_schema", &self.target_schema)
            .field("is_default", &self.is_default)
            .field("owner_id", &self.owner_id)
            .field("target_database", &self.target_database)
            .field("target_name", &self.target_name)
            .field("target_role", &self.target_role)
            .field("variables", &variables)
            .finish()
    }
}

impl SeedEnvironment {
    /// A plain environment with a name and a target schema, every optional field null.
    pub fn new(name: impl Into<String>, target_schema: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target_schema: target_schema.into(),
            is_default: false,
            owner_id: None,
            target_database: None,
            target_name: None,
            target_role: None,
            variables: Vec::new(),
        }
    }

    /// Marks it as the connection's default environment.
    pub fn as_default(mut self) -> Self {
        self.is_default = true;
        self
    }

    /// Sets the owner.
    pub fn with_owner_id(mut self, owner_id: Uuid) -> Self {
        self.owner_id = Some(owner_id);
        self
    }

    /// Sets the target database.
    pub fn with_target_database(mut self, value: impl Into<String>) -> Self {
        self.target_database = Some(value.into());
        self
    }

    /// Sets the target name.
    pub fn with_target_name(mut self, value: impl Into<String>) -> Self {
        self.target_name = Some(value.into());
        self
    }

    /// Sets the target role.
    pub fn with_target_role(mut self, value: impl Into<String>) -> Self {
        self.target_role = Some(value.into());
        self
    }

    /// Adds a plain variable.
    pub fn with_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push(SeedVariable {
            name: name.into(),
            value: value.into(),
            is_secret: false,
        });
        self
    }

    /// Adds a secret variable (its value is never returned).
    pub fn with_secret_variable(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.variables.push(SeedVariable {
            name: name.into(),
            value: value.into(),
            is_secret: true,
        });
        self
    }
}

/// Every setting of a sandbox. `Default` gives:
///
/// | setting | default |
/// |---|---|
/// | tokens | one random token `sbx_<uuid simple>` ([`SandboxConfig::with_token`] replaces it) |
/// | port | 0 (an ephemeral port on 127.0.0.1) |
/// | connection mode | [`ConnectionMode::Open`] |
/// | connections | none configured |
/// | rate limit | 60 requests per minute per token ([`RateLimit::per_minute`]) |
/// | rate window | [`RateWindow::Fixed`] |
/// | `Retry-After` on rate-limit 429s | [`RetryAfterHeader::Omitted`] |
/// | faults | none ([`FaultConfig::none`]) |
/// | seed | 0 |
/// | default page size | 20 (the spec's default) |
/// | duplicate names | [`DuplicateNames::Accept`] (counted) |
///
/// ```
/// use omni_dbt_sandbox::{RateLimit, SandboxConfig};
///
/// let config = SandboxConfig::default()
///     .with_token("sbx_test")
///     .with_rate_limit(RateLimit::Unlimited)
///     .with_faults("post:503=0.1".parse().unwrap())
///     .with_seed(7);
/// assert_eq!(config.token(), Some("sbx_test"));
/// assert!(!format!("{config:?}").contains("sbx_test"), "Debug hides tokens");
/// ```
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub(crate) tokens: Vec<SandboxToken>,
    tokens_generated: bool,
    pub(crate) port: u16,
    pub(crate) connection_mode: ConnectionMode,
    pub(crate) connections: Vec<SeedConnection>,
    pub(crate) rate_limit: RateLimit,
    pub(crate) rate_window: RateWindow,
    pub(crate) retry_after: RetryAfterHeader,
    pub(crate) faults: FaultConfig,
    pub(crate) seed: u64,
    pub(crate) default_page_size: u32,
    pub(crate) duplicate_names: DuplicateNames,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            tokens: vec![SandboxToken::random()],
            tokens_generated: true,
            port: 0,
            connection_mode: ConnectionMode::Open,
            connections: Vec::new(),
            rate_limit: RateLimit::default(),
            rate_window: RateWindow::Fixed,
            retry_after: RetryAfterHeader::Omitted,
            faults: FaultConfig::none(),
            seed: 0,
            default_page_size: 20,
            duplicate_names: DuplicateNames::Accept,
        }
    }
}

impl SandboxConfig {
    /// Accepts this token. The first call replaces the random default token; later calls add
    /// more tokens (each has its own rate limit).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        if self.tokens_generated {
            self.tokens.clear();
            self.tokens_generated = false;
        }
        self.tokens.push(SandboxToken::new(token));
        self
    }

    /// Listens on this port of 127.0.0.1 (0: an ephemeral port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets which connections exist.
    pub fn with_connection_mode(mut self, mode: ConnectionMode) -> Self {
        self.connection_mode = mode;
        self
    }

    /// Configures a connection (dbt, without dbt, or missing) and its pre-seeded environments.
    pub fn with_connection(mut self, connection: SeedConnection) -> Self {
        self.connections.push(connection);
        self
    }

    /// Sets the per-token rate limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Sets how requests are counted against the rate limit: in fixed windows (the default) or
    /// in a sliding window (at most N in any span of the window's length).
    ///
    /// ```
    /// use omni_dbt_sandbox::{RateWindow, SandboxConfig};
    ///
    /// let strict = SandboxConfig::default()
    ///     .with_rate_limit("20/2s".parse().unwrap())
    ///     .with_rate_window(RateWindow::Sliding);
    /// assert_eq!(strict.rate_window(), RateWindow::Sliding);
    /// ```
    pub fn with_rate_window(mut self, mode: RateWindow) -> Self {
        self.rate_window = mode;
        self
    }

    /// Sets whether rate-limit 429s carry `Retry-After`.
    pub fn with_retry_after(mut self, header: RetryAfterHeader) -> Self {
        self.retry_after = header;
        self
    }

    /// Sets the faults and latencies to inject.
    pub fn with_faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Seeds the fault and latency draws.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the page size used when a list request sends none (1-100).
    pub fn with_default_page_size(mut self, page_size: u32) -> Self {
        self.default_page_size = page_size;
        self
    }

    /// Sets what a duplicate environment name gets.
    pub fn with_duplicate_names(mut self, policy: DuplicateNames) -> Self {
        self.duplicate_names = policy;
        self
    }

    /// The first accepted token's value.
    pub fn token(&self) -> Option<&str> {
        self.tokens.first().map(SandboxToken::expose)
    }

    /// Whether the token was generated (no [`SandboxConfig::with_token`] call).
    pub fn token_is_generated(&self) -> bool {
        self.tokens_generated
    }

    /// The configured port (0: ephemeral).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The rate limit.
    pub fn rate_limit(&self) -> RateLimit {
        self.rate_limit
    }

    /// How requests are counted against the rate limit.
    pub fn rate_window(&self) -> RateWindow {
        self.rate_window
    }

    /// The faults.
    pub fn faults(&self) -> &FaultConfig {
        &self.faults
    }
}
