//! Starting, observing and stopping a sandbox: ports, the state endpoint, configuration errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;

use common::{env_body, start, unlimited, Api};
use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig, SandboxError, Snapshot};
use uuid::Uuid;

#[tokio::test]
async fn base_url_is_a_loopback_origin_and_the_default_token_is_random() {
    let a = start(SandboxConfig::default()).await;
    let b = start(SandboxConfig::default()).await;
    assert!(a.base_url().starts_with("http://127.0.0.1:"));
    assert!(!a.base_url().ends_with('/'));
    assert!(a.token().starts_with("sbx_") && a.token().len() == 36);
    assert_ne!(a.token(), b.token());
    assert_ne!(a.addr(), b.addr());
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let sandbox = start(unlimited()).await;
    let addr = sandbox.addr();
    let api = Api::new(&sandbox);
    assert_eq!(
        api.create(Uuid::new_v4(), &env_body("a"))
            .await
            .unwrap()
            .status(),
        201
    );
    sandbox.shutdown().await;
    drop(TcpListener::bind(addr).expect("the port is free again"));
    let again = start(unlimited().with_port(addr.port())).await;
    assert_eq!(again.addr(), addr);
}

#[tokio::test]
async fn a_busy_port_is_a_bind_error() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    match Sandbox::start(SandboxConfig::default().with_port(port)).await {
        Err(SandboxError::Bind { port: p, .. }) => assert_eq!(p, port),
        other => panic!("expected a bind error, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let sandbox = start(unlimited()).await;
    let addr = sandbox.addr();
    drop(sandbox);
    // The abort completes on the runtime's next turns; wait for it without timing anything.
    let mut attempts = 0;
    while TcpListener::bind(addr).is_err() {
        attempts += 1;
        assert!(attempts < 10_000, "the listener was never closed");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn the_state_endpoint_serves_the_snapshot_without_auth() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    api.create(connection, &env_body("a")).await.unwrap();
    let state: Snapshot = api
        .client
        .get(format!("{}/_sandbox/state", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, sandbox.snapshot());
    assert_eq!(state.creates_applied, 1);
    assert_eq!(state.environments_in(connection)[0].name, "a");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let response = api
        .client
        .get(format!("{}/api/v1/nothing", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn invalid_settings_are_refused_at_start() {
    let zero_rate = SandboxConfig::default().with_rate_limit(RateLimit::Limited {
        requests: 0,
        window: std::time::Duration::from_secs(60),
    });
    assert!(matches!(
        Sandbox::start(zero_rate).await,
        Err(SandboxError::RateLimit(_))
    ));
    let big_page = SandboxConfig::default().with_default_page_size(500);
    assert!(matches!(
        Sandbox::start(big_page).await,
        Err(SandboxError::InvalidConfig { .. })
    ));
    let too_likely = omni_dbt_sandbox::FaultConfig::none()
        .with_fault(
            omni_dbt_sandbox::MethodScope::All,
            omni_dbt_sandbox::Fault::Drop,
            0.8,
        )
        .with_fault(
            omni_dbt_sandbox::MethodScope::All,
            omni_dbt_sandbox::Fault::TooManyRequests,
            0.8,
        );
    assert!(matches!(
        Sandbox::start(SandboxConfig::default().with_faults(too_likely)).await,
        Err(SandboxError::Faults(_))
    ));
}
