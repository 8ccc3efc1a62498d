//! The local Omni stand-in: an axum server over an in-memory store, with fault injection.
//!
//! The sandbox implements Omni's four dbt-environment endpoints as Omni's OpenAPI spec declares
//! them, written from the spec and not from any client, so that a client's mistakes show:
//!
//! | method and path | success |
//! |---|---|
//! | `GET /api/v1/connections/{connectionId}/dbt/environments` | 200 `{pageInfo, records}` |
//! | `POST /api/v1/connections/{connectionId}/dbt/environments` | 201 the environment |
//! | `PUT /api/v1/connections/{connectionId}/dbt/environments/{environmentId}` | 200 the environment |
//! | `DELETE /api/v1/connections/{connectionId}/dbt/environments/{environmentId}` | 200 `{message, success: true}` |
//! | `GET /_sandbox/state` (no auth) | 200 the [`Snapshot`] as JSON |
//!
//! Every API request goes through, in order: latency ([`FaultConfig`]); bearer authentication
//! (401 `{"detail", "status"}`); the per-token [`RateLimit`], counted in fixed or sliding
//! windows ([`RateWindow`]) (429, `Retry-After` only with [`RetryAfterHeader::Sent`]); one
//! fault roll ([`faults`]: 5xx, 429, drop, redirects and huge or endless 502 pages answer at
//! once; `commit-*`, huge or endless bodies, endless pages and float page numbers strike the
//! answer of a successful handling); then the handler: path ids must be UUIDs,
//! bodies must be `application/json` and valid (400 naming each bad field), unknown or
//! `Missing` connections give 404 and `WithoutDbt` ones 403. Each request is counted by method
//! and outcome and logged at info level (method, path, status, latency; never headers).
//!
//! Behaviour the spec leaves open, as the sandbox chooses it:
//! - List: sorted by name then id, `desc` by default as the spec says; cursors are opaque
//!   positions (keyset), so pages never overlap or skip even while environments are created.
//! - Update (PUT): `name` and `targetSchema` are required, as the spec's
//!   `DbtEnvironmentUpdateBody` says; other fields change only when sent (`null` clears);
//!   variables with `id` update (`value` absent or null keeps it; a `name` is refused since
//!   names cannot change), without `id` are added (a name already present is refused);
//!   variables not mentioned are kept. A failing update changes nothing.
//! - A sent `variables` array must not be empty (Omni's docs), in create and update; variable
//!   names must be unique within a request.
//! - Duplicate environment names are accepted and counted ([`DuplicateNames`]).
//! - The default environment cannot be deleted: 403 (the spec declares 401, 403 and 404 for
//!   a delete, and no 400).
//!
//! ```
//! use omni_dbt_sandbox::{Sandbox, SandboxConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let connection = uuid::Uuid::new_v4();
//! let url = format!(
//!     "{}/api/v1/connections/{connection}/dbt/environments",
//!     sandbox.base_url()
//! );
//! let response = reqwest::Client::new()
//!     .post(&url)
//!     .bearer_auth(sandbox.token())
//!     .json(&serde_json::json!({"name": "dev", "targetSchema": "dbt_dev"}))
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 201);
//!
//! let snapshot = sandbox.snapshot();
//! assert_eq!(snapshot.creates_applied, 1);
//! assert_eq!(snapshot.environments_in(connection)[0].name, "dev");
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new()?.block_on(demo()).map_err(|e| e.to_string())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod app;
mod auth;
mod body;
mod config;
mod cursor;
mod error;
pub mod faults;
mod gate;
mod limiter;
mod method;
mod model;
mod padding;
mod problem;
mod rate;
mod routes;
mod server;
mod spoil;
mod standin;
mod stats;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use config::{
    ConnectionKind, ConnectionMode, DuplicateNames, RetryAfterHeader, SandboxConfig, SandboxToken,
    SeedConnection, SeedEnvironment,
};
pub use error::SandboxError;
pub use faults::{
    ErrorStatus, Fault, FaultConfig, FaultKind, FaultRule, FaultSpecError, Latency, LatencyRule,
    MethodScope, RedirectStatus,
};
pub use method::ApiMethod;
pub use model::{DeleteResponse, EnvironmentPage, EnvironmentView, PageInfo, VariableView};
pub use rate::{RateLimit, RateLimitParseError, RateWindow, RateWindowParseError};
pub use stats::{DeletedEnvironment, DuplicateName, RequestCount, Snapshot};

use app::App;

/// A running sandbox. Dropping it stops the server (as [`Sandbox::shutdown`] does, without
/// waiting).
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    token: SandboxToken,
    app: Arc<App>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Validates the configuration, binds 127.0.0.1 on its port (0: ephemeral) and serves in the
    /// background on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        validate(&config)?;
        let token = config
            .tokens
            .first()
            .cloned()
            .ok_or_else(|| invalid("at least one token is required"))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            port: config.port,
            source,
        })?;
        let app = Arc::new(App::new(&config));
        let task = tokio::spawn(server::serve(listener, routes::router(app.clone())));
        tracing::debug!(%addr, faults = %config.faults, rate_limit = %config.rate_limit, rate_window = %config.rate_window, "sandbox started");
        Ok(Sandbox {
            addr,
            token,
            app,
            task: Some(task),
        })
    }

    /// The origin to give a client, `http://127.0.0.1:PORT` (no `/api`, no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first configured token, for `Authorization: Bearer`.
    pub fn token(&self) -> &str {
        self.token.expose()
    }

    /// The store and counters at this instant.
    pub fn snapshot(&self) -> Snapshot {
        self.app.snapshot()
    }

    /// The stored value of a variable, secret values included, so tests can check what a client
    /// sent. Only in process: no endpoint ever returns a secret value.
    pub fn variable_value(
        &self,
        connection_id: Uuid,
        environment_id: Uuid,
        variable_name: &str,
    ) -> Option<String> {
        self.app
            .store()
            .variable_value(connection_id, environment_id, variable_name)
    }

    /// Stops the server: the port is released and open connections are closed when this returns.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The task's future (listener and connections) is dropped before the handle resolves.
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn invalid(reason: &str) -> SandboxError {
    SandboxError::InvalidConfig {
        reason: reason.to_owned(),
    }
}

fn validate(config: &SandboxConfig) -> Result<(), SandboxError> {
    if config.tokens.iter().any(|t| t.expose().trim().is_empty()) {
        return Err(invalid("tokens must not be empty"));
    }
    if !(1..=100).contains(&config.default_page_size) {
        return Err(invalid("the default page size must be from 1 to 100"));
    }
    config.rate_limit.validate()?;
    config.faults.validate()?;
    Ok(())
}

/// Runs a sandbox until Ctrl-C or SIGTERM: what `omni-dbt-batch sandbox` calls.
///
/// Prints the base URL, the state endpoint and (when it was generated rather than given) the
/// token to stdout, as `OMNI_BASE_URL=` and `OMNI_API_TOKEN=` lines ready to export. The token
/// is a throwaway local credential and is never logged.
pub async fn serve_until_ctrl_c(config: SandboxConfig) -> Result<(), SandboxError> {
    let show_token = config.token_is_generated();
    let sandbox = Sandbox::start(config).await?;
    println!("omni-dbt sandbox listening on {}", sandbox.base_url());
    println!("OMNI_BASE_URL={}", sandbox.base_url());
    if show_token {
        println!("OMNI_API_TOKEN={}", sandbox.token());
    }
    println!("state: {}{}", sandbox.base_url(), routes::STATE);
    tracing::info!(base_url = %sandbox.base_url(), "sandbox ready; Ctrl-C to stop");
    let signal = shutdown_signal().await;
    sandbox.shutdown().await;
    signal
}

async fn shutdown_signal() -> Result<(), SandboxError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).map_err(SandboxError::Signal)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(SandboxError::Signal),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(SandboxError::Signal)
    }
}
