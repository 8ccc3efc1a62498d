//! End to end: `--token-env` spreads the work over several API keys, and every key named is used.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{RateLimit, SandboxConfig};

const KEY_ONE: &str = "e2e-key-one-0f3a";
const KEY_TWO: &str = "e2e-key-two-9c1b";

fn two_key_sandbox() -> SandboxConfig {
    SandboxConfig::default()
        .with_token(KEY_ONE)
        .with_token(KEY_TWO)
        .with_rate_limit(RateLimit::Unlimited)
}

/// Runs the scenario with `--token-env KEY_ONE --token-env KEY_TWO`, the second set to `second`.
async fn run_with_two_keys(scenario: &Scenario, second: &str) -> RunOutput {
    scenario
        .cli()
        .unlimited_rate()
        .args(["--token-env", "KEY_ONE", "--token-env", "KEY_TWO"])
        .env("KEY_ONE", KEY_ONE)
        .env("KEY_TWO", second)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accepted_keys_create_every_row_once() {
    let rows = spread_rows(40, 4);
    let scenario = Scenario::csv(two_key_sandbox(), &rows).await;
    let out = run_with_two_keys(&scenario, KEY_TWO).await;
    out.assert_code(0);
    assert_all_created(&scenario.records(), &rows, &scenario.snapshot());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_key_is_really_used_a_wrong_one_aborts_the_run() {
    // Connections are listed round-robin over the keys, so with two connections the second key
    // sends a request for sure: a wrong second key must end the run with exit 3.
    let scenario = Scenario::csv(two_key_sandbox(), &spread_rows(10, 2)).await;
    let out = run_with_two_keys(&scenario, "e2e-key-revoked").await;
    out.assert_code(3);
    assert!(out.mentions("401"), "{}", out.all());
    assert!(
        out.mentions("KEY_TWO"),
        "the log names the refused key: {}",
        out.all()
    );
    assert!(
        !out.mentions("e2e-key-revoked"),
        "the token itself is never shown"
    );
    assert_eq!(posts(&scenario.snapshot()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_variable_that_is_not_set_is_a_usage_error_naming_it() {
    let scenario = Scenario::csv(two_key_sandbox(), &spread_rows(3, 1)).await;
    let out = scenario
        .cli()
        .args([
            "--token-env",
            "KEY_ONE",
            "--token-env",
            "KEY_NOT_SET_ANYWHERE",
        ])
        .env("KEY_ONE", KEY_ONE)
        .run()
        .await;
    out.assert_code(2);
    assert!(out.mentions("KEY_NOT_SET_ANYWHERE"), "{}", out.all());
    assert_eq!(scenario.snapshot().total_requests(), 0);
}
