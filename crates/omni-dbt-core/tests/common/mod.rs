//! Shared helpers of the client's integration tests: a fast client, fixtures, and servers
//! (wiremock mounts, and raw ones for what wiremock cannot send).
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use omni_dbt_core::{Client, ClientBuilder, ConnectionId, EnvironmentId, RateLimit, RetryPolicy};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The connection every test talks to.
pub const CONNECTION: &str = "550e8400-e29b-41d4-a716-446655440000";
/// An environment id used in responses.
pub const ENV_ID: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
/// The id of a second environment.
pub const OTHER_ID: &str = "00000000-0000-0000-0000-0000000000aa";

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

/// The methods of every request the server received, in order.
pub async fn methods(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|r| r.method.to_string())
        .collect()
}

/// The query parameter `name` of `request`, if present.
pub fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Answers `method_name` with `first` for its first `times` requests, then with `then`.
pub async fn mount_then(
    server: &MockServer,
    method_name: &str,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(method(method_name))
        .respond_with(first)
        .up_to_n_times(times)
        .mount(server)
        .await;
    Mock::given(method(method_name))
        .respond_with(then)
        .mount(server)
        .await;
}

/// Answers every GET with one last page holding `records`.
pub async fn mount_list(server: &MockServer, records: Vec<Value>) {
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(last_page(records)))
        .mount(server)
        .await;
}

/// Answers every POST with 201 and the environment `name`, of id [`ENV_ID`].
pub async fn mount_created(server: &MockServer, name: &str) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(environment_json(ENV_ID, name)))
        .mount(server)
        .await;
}

/// Answers the next `times` requests of `http_method` with `status` and no body (all of them
/// when `times` is `None`). Mounted first, it takes precedence over later mounts while it lasts.
pub async fn mount_status(server: &MockServer, http_method: &str, status: u16, times: Option<u64>) {
    let mock = Mock::given(method(http_method)).respond_with(ResponseTemplate::new(status));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

/// A list page that always announces another one, behind a cursor never seen before: a server
/// whose pagination does not end. Each page holds `per_page` records and says `total`.
pub struct EndlessPages {
    pub per_page: usize,
    pub total: Option<u64>,
    pub served: AtomicU64,
}

impl EndlessPages {
    pub fn new(per_page: usize, total: Option<u64>) -> Self {
        Self {
            per_page,
            total,
            served: AtomicU64::new(0),
        }
    }
}

impl Respond for EndlessPages {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        let records: Vec<Value> = (0..self.per_page)
            .map(|i| environment_json(ENV_ID, &format!("env-{n}-{i}")))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": format!("cursor-{n}"),
                         "pageSize": 100, "totalRecords": self.total},
            "records": records
        }))
    }
}

/// What [`endless_body_server`] reports when a connection ends: the body bytes it managed to
/// write before the client hung up.
pub type BodyBytesWritten = tokio::sync::mpsc::UnboundedReceiver<u64>;

/// A raw HTTP server on 127.0.0.1 that answers every request with `status` and a body that
/// never ends (no length, 64 KiB chunks until the client hangs up). Returns its base URL and
/// the bytes written per connection, sent when each connection ends.
pub async fn endless_body_server(status: u16) -> (String, BodyBytesWritten) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (report, written) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let report = report.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} Whatever\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0u64;
                while socket.write_all(&chunk).await.is_ok() {
                    sent += chunk.len() as u64;
                }
                let _ = report.send(sent);
            });
        }
    });
    (format!("http://{address}"), written)
}
