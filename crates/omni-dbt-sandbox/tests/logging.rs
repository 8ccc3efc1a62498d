//! Request logs: one info line per request with method, path, status and latency, and no secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{start, unlimited, Api};
use serde_json::json;
use uuid::Uuid;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_request_is_logged_without_tokens_or_secret_values() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    // The current-thread test runtime runs the server on this thread, so the default applies.
    let _guard = tracing::subscriber::set_default(subscriber);

    let sandbox = start(unlimited().with_faults("post:commit-drop=1".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let body = json!({
        "name": "dev",
        "targetSchema": "s",
        "variables": [{"name": "KEY", "value": "hunter2-secret", "isSecret": true}]
    });
    let _ = api.create(connection, &body).await.unwrap_err();
    let response = api
        .client
        .get(api.environments_url(connection))
        .bearer_auth("sbx_wrong-token-value")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let token = sandbox.token().to_owned();
    drop(sandbox);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("api request")).collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert!(
        lines[0].contains("INFO") && lines[0].contains("method=\"POST\""),
        "{logs}"
    );
    assert!(lines[0].contains("status=\"dropped\""), "{logs}");
    assert!(
        lines[1].contains("status=401") && lines[1].contains("latency_ms="),
        "{logs}"
    );
    assert!(lines[1].contains(&format!(
        "/api/v1/connections/{connection}/dbt/environments"
    )));
    for secret in [token.as_str(), "sbx_wrong-token-value", "hunter2-secret"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
