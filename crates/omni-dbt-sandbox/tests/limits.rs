//! The per-token rate limit over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{start, Api};
use omni_dbt_sandbox::{ApiMethod, RateLimit, RateWindow, RetryAfterHeader, SandboxConfig};
use uuid::Uuid;

fn five_per_minute() -> SandboxConfig {
    SandboxConfig::default()
        .with_token("sbx_a")
        .with_token("sbx_b")
        .with_rate_limit(RateLimit::Limited {
            requests: 5,
            window: Duration::from_secs(60),
        })
}

async fn get_as(api: &Api, token: &str, connection: Uuid) -> reqwest::Response {
    api.client
        .get(api.environments_url(connection))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_request_after_the_limit_gets_429_and_none_before_it() {
    let sandbox = start(five_per_minute()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for i in 0..5 {
        assert_eq!(
            get_as(&api, "sbx_a", connection).await.status(),
            200,
            "request {i}"
        );
    }
    let limited = get_as(&api, "sbx_a", connection).await;
    assert_eq!(limited.status(), 429);
    assert!(
        limited.headers().get("retry-after").is_none(),
        "off by default, as Omni"
    );
    assert_eq!(
        get_as(&api, "sbx_b", connection).await.status(),
        200,
        "per token"
    );

    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.rate_limited, 1);
    assert_eq!(snapshot.requests_with(ApiMethod::Get, 429), 1);
    assert_eq!(snapshot.requests_with(ApiMethod::Get, 200), 6);
}

#[tokio::test]
async fn retry_after_is_sent_when_configured() {
    let sandbox = start(five_per_minute().with_retry_after(RetryAfterHeader::Sent)).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for _ in 0..5 {
        get_as(&api, "sbx_a", connection).await;
    }
    let limited = get_as(&api, "sbx_a", connection).await;
    assert_eq!(limited.status(), 429);
    let seconds: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
}

#[tokio::test]
async fn unauthenticated_requests_do_not_use_the_budget() {
    let sandbox = start(five_per_minute()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for _ in 0..10 {
        assert_eq!(get_as(&api, "sbx_nobody", connection).await.status(), 401);
    }
    assert_eq!(get_as(&api, "sbx_a", connection).await.status(), 200);
}

#[tokio::test]
async fn a_sliding_window_admits_the_limit_then_refuses_per_token() {
    let config = five_per_minute()
        .with_rate_window(RateWindow::Sliding)
        .with_retry_after(RetryAfterHeader::Sent);
    let sandbox = start(config).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for i in 0..5 {
        assert_eq!(
            get_as(&api, "sbx_a", connection).await.status(),
            200,
            "request {i}"
        );
    }
    let limited = get_as(&api, "sbx_a", connection).await;
    assert_eq!(limited.status(), 429);
    let seconds: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&seconds),
        "when the oldest leaves: {seconds}"
    );
    assert_eq!(get_as(&api, "sbx_b", connection).await.status(), 200);
    assert_eq!(sandbox.snapshot().rate_limited, 1);
}
