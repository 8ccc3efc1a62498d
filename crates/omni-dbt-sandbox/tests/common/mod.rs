//! Helpers shared by the sandbox's HTTP tests: a client bound to one sandbox, URLs and bodies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig};
use serde_json::{json, Value};
use uuid::Uuid;

/// A reqwest client aimed at one sandbox, with its token.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(sandbox: &Sandbox) -> Self {
        Self::with_timeout(sandbox, Duration::from_secs(10))
    }

    pub fn with_timeout(sandbox: &Sandbox, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .unwrap();
        Self {
            client,
            base: sandbox.base_url(),
            token: sandbox.token().to_owned(),
        }
    }

    pub fn environments_url(&self, connection: impl std::fmt::Display) -> String {
        format!(
            "{}/api/v1/connections/{connection}/dbt/environments",
            self.base
        )
    }

    pub fn environment_url(
        &self,
        connection: impl std::fmt::Display,
        environment: impl std::fmt::Display,
    ) -> String {
        format!("{}/{environment}", self.environments_url(connection))
    }

    pub async fn create(
        &self,
        connection: Uuid,
        body: &Value,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.client
            .post(self.environments_url(connection))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
    }

    pub async fn list(&self, connection: Uuid, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{query}", self.environments_url(connection)))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

/// A minimal valid create body.
pub fn env_body(name: &str) -> Value {
    json!({"name": name, "targetSchema": format!("dbt_{name}")})
}

/// A sandbox with no rate limit and otherwise default settings plus `faults`.
pub fn unlimited() -> SandboxConfig {
    SandboxConfig::default().with_rate_limit(RateLimit::Unlimited)
}

/// Starts a sandbox; panics on failure (tests only).
pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.unwrap()
}

/// Reads a response as JSON, with its status.
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap();
    (status, body)
}

/// Asserts `body` is an error body `{detail: string, status}` with this status and returns the detail.
pub fn error_detail(status: u16, body: &Value) -> String {
    assert_eq!(body["status"], json!(status), "{body}");
    body["detail"]
        .as_str()
        .expect("detail is a string")
        .to_owned()
}
