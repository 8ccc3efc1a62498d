//! Shared helpers of the client's integration tests: a wiremock server, a fast client, fixtures.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use omni_dbt_core::{Client, ClientBuilder, ConnectionId, EnvironmentId, RateLimit, RetryPolicy};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::{MockServer, Request};

/// The connection every test talks to.
pub const CONNECTION: &str = "550e8400-e29b-41d4-a716-446655440000";
/// An environment id used in responses.
pub const ENV_ID: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

pub fn connection() -> ConnectionId {
    CONNECTION.parse().unwrap()
}

pub fn env_id() -> EnvironmentId {
    ENV_ID.parse().unwrap()
}

/// `/api/v1/connections/{CONNECTION}/dbt/environments`.
pub fn collection_path() -> String {
    format!("/api/v1/connections/{CONNECTION}/dbt/environments")
}

/// `/api/v1/connections/{CONNECTION}/dbt/environments/{ENV_ID}`.
pub fn item_path() -> String {
    format!("{}/{ENV_ID}", collection_path())
}

/// Retries with millisecond delays so that tests stay fast.
pub fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(2))
        .with_factor(2.0)
        .with_max_delay(Duration::from_millis(10))
        .with_max_attempts(max_attempts)
        .with_max_elapsed(Some(Duration::from_secs(20)))
        .with_max_retry_after(Duration::from_millis(50))
}

/// A builder pointed at `server` with its own token (so no limiter is shared between tests),
/// no client-side rate limit, fast retries and a 10 s timeout.
pub fn builder(server: &MockServer, token: &str) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .token(SecretString::from(token.to_owned()))
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(fast_policy(3))
        .timeout(Duration::from_secs(10))
}

pub fn client(server: &MockServer, token: &str) -> Client {
    builder(server, token).build().unwrap()
}

/// An environment as Omni returns it.
pub fn environment_json(id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "isDefaultEnvironment": false, "ownerId": null,
        "targetDatabase": null, "targetName": null, "targetRole": null,
        "targetSchema": format!("dbt_{name}"), "variables": []
    })
}

/// A last (or only) list page holding `records`.
pub fn last_page(records: Vec<Value>) -> Value {
    json!({"pageInfo": {"hasNextPage": false, "nextCursor": null, "pageSize": 100,
                        "totalRecords": records.len()}, "records": records})
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// How many requests with this method the server received.
pub async fn count(server: &MockServer, method: &str) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == method)
        .count()
}

pub fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
