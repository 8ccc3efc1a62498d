//! Fault injection over real HTTP: rates, reproducibility, commit-then-fail, drops as transport errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{env_body, start, unlimited, Api};
use omni_dbt_sandbox::{ApiMethod, FaultConfig, FaultKind, Snapshot};
use uuid::Uuid;

/// What the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Status(u16),
    Transport,
    Timeout,
}

async fn send_creates(api: &Api, connection: Uuid, count: usize) -> Vec<Seen> {
    let mut seen = Vec::with_capacity(count);
    for i in 0..count {
        let outcome = match api.create(connection, &env_body(&format!("env{i}"))).await {
            Ok(response) => Seen::Status(response.status().as_u16()),
            Err(e) if e.is_timeout() => Seen::Timeout,
            Err(e) => {
                assert!(e.status().is_none(), "{e}");
                Seen::Transport
            }
        };
        seen.push(outcome);
    }
    seen
}

fn tally(seen: &[Seen]) -> BTreeMap<Seen, u64> {
    let mut counts = BTreeMap::new();
    for s in seen {
        *counts.entry(*s).or_insert(0) += 1;
    }
    counts
}

const SPEC: &str = "500=0.1,502=0.05,503=0.05,429=0.05,drop=0.03,commit-500=0.05,commit-drop=0.03,commit-slow=0.02:1ms";
const REQUESTS: usize = 2000;

async fn run(seed: u64) -> (Vec<Seen>, Snapshot) {
    let faults: FaultConfig = SPEC.parse().unwrap();
    let sandbox = start(unlimited().with_faults(faults).with_seed(seed)).await;
    let api = Api::new(&sandbox);
    let seen = send_creates(&api, Uuid::new_v4(), REQUESTS).await;
    let snapshot = sandbox.snapshot();
    sandbox.shutdown().await;
    (seen, snapshot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_kind_occurs_at_its_rate_and_the_same_seed_repeats_it() {
    let (seen, snapshot) = run(11).await;
    let faults: FaultConfig = SPEC.parse().unwrap();
    for rule in faults.rules() {
        let kind = rule.fault.kind();
        let expected = rule.probability * REQUESTS as f64;
        let sigma = (expected * (1.0 - rule.probability)).sqrt();
        let got = snapshot.faults_of(kind) as f64;
        assert!(
            (got - expected).abs() <= 4.0 * sigma,
            "{kind}: {got} vs {expected}"
        );
    }

    // What the client saw matches what the sandbox says it injected.
    let counts = tally(&seen);
    let at = |s: Seen| counts.get(&s).copied().unwrap_or(0);
    let f = |k: FaultKind| snapshot.faults_of(k);
    assert_eq!(
        at(Seen::Status(500)),
        f(FaultKind::Status500) + f(FaultKind::Commit500)
    );
    assert_eq!(at(Seen::Status(502)), f(FaultKind::Status502));
    assert_eq!(at(Seen::Status(503)), f(FaultKind::Status503));
    assert_eq!(at(Seen::Status(429)), f(FaultKind::TooManyRequests));
    assert_eq!(
        at(Seen::Transport),
        f(FaultKind::Drop) + f(FaultKind::CommitDrop)
    );
    assert_eq!(snapshot.dropped(ApiMethod::Post), at(Seen::Transport));
    assert_eq!(snapshot.total_requests(), REQUESTS as u64);
    assert_eq!(
        snapshot.creates_applied,
        at(Seen::Status(201)) + f(FaultKind::Commit500) + f(FaultKind::CommitDrop),
        "commit faults create, the others do not"
    );
    assert_eq!(
        snapshot.environment_count() as u64,
        snapshot.creates_applied
    );

    let (again, _) = run(11).await;
    assert_eq!(again, seen, "same seed, same sequence");
    let (other, _) = run(12).await;
    assert_ne!(other, seen, "another seed, another sequence");
}

#[tokio::test]
async fn commit_then_500_leaves_the_environment_created() {
    let sandbox = start(unlimited().with_faults("post:commit-500=1".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let response = api.create(connection, &env_body("ghost")).await.unwrap();
    assert_eq!(response.status(), 500);
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.environments_in(connection)[0].name, "ghost");
    assert_eq!(snapshot.faults_of(FaultKind::Commit500), 1);
    assert_eq!(snapshot.requests_with(ApiMethod::Post, 500), 1);
}

#[tokio::test]
async fn commit_then_drop_is_a_transport_error_with_the_environment_created() {
    let sandbox = start(unlimited().with_faults("post:commit-drop=1".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let error = api
        .create(connection, &env_body("ghost"))
        .await
        .unwrap_err();
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    assert_eq!(sandbox.snapshot().environments_in(connection).len(), 1);
    // Only POSTs are faulted: the list answers.
    assert_eq!(api.list(connection, "").await.status(), 200);
}

#[tokio::test]
async fn drop_closes_the_connection_before_anything_is_applied() {
    let sandbox = start(unlimited().with_faults("drop=1".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let error = api
        .create(connection, &env_body("never"))
        .await
        .unwrap_err();
    assert!(error.is_request(), "a transport error: {error:?}");
    assert!(!error.is_timeout() && error.status().is_none());
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.creates_applied, 0);
    assert_eq!(snapshot.dropped(ApiMethod::Post), 1);
    assert_eq!(snapshot.faults_of(FaultKind::Drop), 1);
}

#[tokio::test]
async fn commit_then_slow_outlasts_the_client_timeout_with_the_environment_created() {
    let faults = "post:commit-slow=1:30s".parse().unwrap();
    let sandbox = start(unlimited().with_faults(faults)).await;
    let api = Api::with_timeout(&sandbox, Duration::from_millis(300));
    let connection = Uuid::new_v4();
    let error = api.create(connection, &env_body("slow")).await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.environments_in(connection).len(), 1);
    assert_eq!(snapshot.faults_of(FaultKind::CommitSlow), 1);
}

#[tokio::test]
async fn commit_faults_do_not_strike_requests_that_fail_on_their_own() {
    let sandbox = start(unlimited().with_faults("commit-500=1".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let response = api
        .create(Uuid::new_v4(), &serde_json::json!({"name": "no schema"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(sandbox.snapshot().faults_of(FaultKind::Commit500), 0);
}

#[tokio::test]
async fn fault_bodies_are_json_html_or_empty_like_real_proxies() {
    for (spec, status, content) in [
        ("500=1", 500, Some("application/json")),
        ("502=1", 502, Some("text/html")),
        ("503=1", 503, None),
        ("429=1", 429, Some("application/json")),
    ] {
        let sandbox = start(unlimited().with_faults(spec.parse().unwrap())).await;
        let api = Api::new(&sandbox);
        let response = api.list(Uuid::new_v4(), "").await;
        assert_eq!(response.status(), status);
        assert!(response.headers().get("retry-after").is_none());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(content_type.as_deref(), content, "{spec}");
    }
}
