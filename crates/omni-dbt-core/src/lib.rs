//! Typed, validated, retrying client for Omni's dbt-environment API.
//!
//! This crate knows Omni and HTTP, nothing of files: the wire types ([`NewEnvironment`],
//! [`Environment`], [`EnvironmentUpdate`], ...), the client-side checks Omni's rules imply
//! ([`validate()`]), and a [`Client`] that sends the four dbt-environment operations with the
//! safety a bulk run needs:
//!
//! - **validation first**: an invalid create body returns [`Error::Invalid`] and is never sent;
//! - **rate limiting** per API key, shared by every clone (default 60/min, Omni's limit; see
//!   [`RateLimit`]) as a ceiling: 429s slow the key below it for everyone using it, and it grows
//!   back after (see [`KeyLimiter`]);
//! - **retries** with exponential backoff and full jitter, `Retry-After` honoured (see
//!   [`RetryPolicy`] for the defaults: 1 s first delay, factor 2, 30 s cap, 6 attempts, 5 min);
//! - **no duplicates**: a create whose outcome is unknown (timeout, dropped connection, 5xx, a
//!   success whose body cannot be read) is never re-sent blindly;
//!   [`Client::ensure_environment`] looks the name up and adopts the environment if the lost
//!   request created it, and [`Client::ensure_deleted`] does the same for deletes;
//! - **bounded**: every body is read against a cap and a listing against a page limit (see
//!   [`ClientBuilder`]), so a misbehaving server or proxy cannot exhaust memory or loop forever;
//!   [`Client::pages`] streams a connection's environments one page at a time;
//! - **no leaks**: the token and secret variable values never appear in `Debug`, logs or errors;
//!   HTTPS is required except for loopback hosts, and redirects are refused, never followed.
//!
//! Names are sent and matched exactly as given. Client defaults: timeout 30 s per request,
//! connect timeout 10 s, user agent `omni-dbt/<version>`; see [`ClientBuilder`] for every
//! setting.
//!
//! # Example
//!
//! Against a stand-in server on 127.0.0.1 (here wiremock):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use omni_dbt_core::{Client, EnsureOutcome, ExistenceCheck, NewEnvironment, NewVariable, RateLimit};
//! use secrecy::SecretString;
//! use wiremock::{matchers, Mock, MockServer, ResponseTemplate};
//!
//! let server = MockServer::start().await;
//! let connection = "550e8400-e29b-41d4-a716-446655440000".parse()?;
//! let path = format!("/api/v1/connections/{connection}/dbt/environments");
//! Mock::given(matchers::method("GET")).and(matchers::path(path.as_str()))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
//!         {"pageInfo": {"hasNextPage": false}, "records": []})))
//!     .mount(&server).await;
//! Mock::given(matchers::method("POST")).and(matchers::path(path.as_str()))
//!     .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
//!         "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "name": "dev_alice",
//!         "targetSchema": "dbt_alice",
//!         "variables": [{"id": "v1", "name": "DBT_API_KEY", "value": null, "isSecret": true}]})))
//!     .mount(&server).await;
//!
//! let client = Client::builder()
//!     .base_url(server.uri()) // https://acme.omniapp.co, .../api or "acme" in real use
//!     .token(SecretString::from("omni_example_token"))
//!     .rate_limit(RateLimit::Unlimited)
//!     .build()?;
//! let env = NewEnvironment::new("dev_alice", "dbt_alice")
//!     .with_variable(NewVariable::secret("DBT_API_KEY", "hunter2"));
//! let ensured = client.ensure_environment(&connection, &env, ExistenceCheck::LookFirst).await?;
//! assert_eq!(ensured.outcome, EnsureOutcome::Created);
//! assert_eq!(ensured.environment.variables[0].value, None, "secrets never come back");
//! assert_eq!(client.stats().requests, 2); // one list, one create
//!
//! // Invalid input never leaves the process.
//! let invalid = client.create_environment(&connection, &NewEnvironment::new(" ", "s")).await;
//! assert!(matches!(invalid, Err(omni_dbt_core::Error::Invalid(_))));
//! assert_eq!(client.stats().requests, 2);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod base_url;
mod budget;
mod client;
mod error;
mod http;
mod model;
mod pacing;
mod rate;
mod response;
mod retry;
mod tally;
mod validate;

pub use base_url::BaseUrl;
pub use budget::RetryBudget;
pub use client::{
    Client, ClientBuilder, DeleteOutcome, EnsureOutcome, Ensured, ExistenceCheck, ListOrder, Pages,
};
pub use error::{ConfigError, Error, PaginationProblem, Result};
pub use model::{
    ConnectionId, DeleteResponse, Environment, EnvironmentId, EnvironmentPage, EnvironmentUpdate,
    NewEnvironment, NewVariable, PageInfo, Variable, VariableUpdate, VariableValue,
};
pub use pacing::{KeyLimiter, KeyStatus};
pub use rate::{ParseRateLimitError, RateLimit};
pub use retry::{PolicyBackoff, RetryPolicy};
pub use tally::Tally;
pub use validate::{validate, FieldError, ValidationErrors};
