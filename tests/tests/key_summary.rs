//! End to end: the summary (text and `--summary-json`) reports what each API key did, by the
//! name of the variable it was read from, never by the token.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{RateLimit, RateWindow, SandboxConfig};

const KEY_ONE: &str = "e2e-summary-key-one-77a1";
const KEY_TWO: &str = "e2e-summary-key-two-c2d9";

#[tokio::test(flavor = "multi_thread")]
async fn each_key_is_summarised_by_label_with_its_requests_429s_and_final_pace() {
    // The server lets each key have 5 requests a second; the runner believes 1200/min.
    let config = SandboxConfig::default()
        .with_token(KEY_ONE)
        .with_token(KEY_TWO)
        .with_rate_limit(RateLimit::Limited {
            requests: 5,
            window: Duration::from_secs(1),
        })
        .with_rate_window(RateWindow::Sliding);
    let rows = spread_rows(60, 4);
    let scenario = Scenario::csv(config, &rows).await;
    let summary_path = scenario.dir().join("summary.json");
    let out = scenario
        .cli()
        .args(["--rate", "1200/min", "--token-env", "KEY_ONE,KEY_TWO"])
        .arg("--summary-json")
        .arg(&summary_path)
        .env("KEY_ONE", KEY_ONE)
        .env("KEY_TWO", KEY_TWO)
        .run()
        .await;
    out.assert_code(0);
    assert_all_created(&scenario.records(), &rows, &scenario.snapshot());

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    let keys = summary["keys"].as_array().unwrap();
    let labels: Vec<&str> = keys.iter().map(|k| k["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["KEY_ONE", "KEY_TWO"]);
    let sum = |field: &str| keys.iter().map(|k| k[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("requests"), summary["requests"].as_u64().unwrap());
    assert_eq!(
        sum("rate_limited"),
        summary["rate_limited"].as_u64().unwrap()
    );
    assert_eq!(
        sum("requests") - sum("rate_limited"),
        scenario.snapshot().total_requests() - scenario.snapshot().rate_limited,
        "every accepted request the server counted is some key's"
    );
    for key in keys {
        assert!(key["rate_limited"].as_u64().unwrap() > 0, "{key}");
        assert_eq!(key["ceiling"], "1200/min");
        let pace = key["pace_per_minute"].as_f64().unwrap();
        assert!(pace > 0.0 && pace <= 1200.0, "{key}");
        assert!(key["slowed"].is_boolean(), "{key}");
    }

    assert!(out.stdout.contains("key KEY_ONE: "), "{}", out.all());
    assert!(out.stdout.contains("key KEY_TWO: "), "{}", out.all());
    let written = std::fs::read_to_string(&summary_path).unwrap();
    for token in [KEY_ONE, KEY_TWO] {
        assert!(!out.mentions(token), "a token in the output\n{}", out.all());
        assert!(!written.contains(token), "a token in the summary");
    }
}
