//! End to end: the API key and endpoint taken from a profile of Omni CLI's config, with no token
//! variable set; and every profile that cannot be used stops the run with exit 2, nothing sent.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use omni_dbt_e2e::{assert_all_created, cli, fast_sandbox, spread_rows, write_file, Cli, Scenario};

/// An api-key profile for the scenario's sandbox.
fn sandbox_profile(scenario: &Scenario) -> String {
    format!(
        r#"{{"apiEndpoint": "{}", "authMethod": "api-key", "apiKey": "{}"}}"#,
        scenario.sandbox.base_url(),
        scenario.sandbox.token()
    )
}

/// `run INPUT` with no token variable and no base URL, and the Omni CLI config found through
/// `HOME` alone (`OMNI_CONFIG_PATH` and `XDG_CONFIG_HOME` unset).
fn run_with_home(scenario: &Scenario, home: &Path) -> Cli {
    cli()
        .arg("run")
        .arg(&scenario.input)
        .unlimited_rate()
        .env_remove("OMNI_CONFIG_PATH")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home)
}

/// `run INPUT` with the Omni CLI config at `config` (through `OMNI_CONFIG_PATH`).
fn run_with_config(scenario: &Scenario, config: &Path) -> Cli {
    cli()
        .arg("run")
        .arg(&scenario.input)
        .unlimited_rate()
        .env("OMNI_CONFIG_PATH", config)
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    write_file(dir, "omni-cli-config.json", text)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_profile_under_home_runs_with_no_token_variable() {
    let rows = spread_rows(6, 2);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join(".config").join("omni-cli");
    std::fs::create_dir_all(&config_dir).unwrap();
    let profile = sandbox_profile(&scenario);
    let text =
        format!(r#"{{"version": 1, "defaultProfile": "sbx", "profiles": {{"sbx": {profile}}}}}"#);
    write_file(&config_dir, "config.json", &text);

    let out = run_with_home(&scenario, home.path()).run().await;

    out.assert_code(0);
    assert_all_created(&scenario.records(), &rows, &scenario.snapshot());
    assert!(
        out.stderr.contains("Omni CLI profile \"sbx\"") && out.stderr.contains("default profile"),
        "the log says which profile was used: {}",
        out.all()
    );
    assert!(!out.mentions(scenario.sandbox.token()), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn omni_profile_picks_a_profile_other_than_the_default() {
    let rows = spread_rows(3, 1);
    let scenario = Scenario::csv(fast_sandbox(), &rows).await;
    let text = format!(
        r#"{{"defaultProfile": "stale", "profiles": {{
            "stale": {{"apiEndpoint": "{}", "authMethod": "api-key", "apiKey": "revoked"}},
            "sbx": {}}}}}"#,
        scenario.sandbox.base_url(),
        sandbox_profile(&scenario)
    );
    let config = write_config(scenario.dir(), &text);

    let out = run_with_config(&scenario, &config)
        .args(["--omni-profile", "sbx"])
        .run()
        .await;

    out.assert_code(0);
    assert_all_created(&scenario.records(), &rows, &scenario.snapshot());
    assert!(out.stderr.contains("--omni-profile"), "{}", out.all());
}

/// Runs with the config `text` and `extra` flags; expects exit 2, `needles` in stderr, no
/// request sent, no results file, and the key nowhere in the output.
async fn refused(text: Option<&str>, extra: &[&str], needles: &[&str]) {
    let scenario = Scenario::csv(fast_sandbox(), &spread_rows(2, 1)).await;
    let config = scenario.dir().join("omni-cli-config.json");
    if let Some(text) = text {
        let text = text.replace("KEY", scenario.sandbox.token());
        std::fs::write(&config, text).unwrap();
    }

    let out = run_with_config(&scenario, &config).args(extra).run().await;

    out.assert_code(2);
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{needle:?} missing: {}",
            out.all()
        );
    }
    assert_eq!(scenario.snapshot().total_requests(), 0, "nothing is sent");
    assert!(!scenario.results().exists(), "no results file is created");
    assert!(
        !out.mentions(scenario.sandbox.token()),
        "the key leaked: {}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oauth_profile_is_refused() {
    let text = r#"{"defaultProfile": "me", "profiles": {"me": {"apiEndpoint": "http://127.0.0.1:9",
        "authMethod": "oauth", "accessToken": "KEY", "refreshToken": "KEY"}}}"#;
    refused(Some(text), &[], &["signs in with OAuth", "API key"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_not_in_the_config_is_refused_listing_the_ones_there_are() {
    let text = r#"{"defaultProfile": "a", "profiles": {"a": {"apiEndpoint": "http://127.0.0.1:9",
        "authMethod": "api-key", "apiKey": "KEY"}}}"#;
    refused(
        Some(text),
        &["--omni-profile", "prod"],
        &["profile \"prod\" is not in", "its profiles: a"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_config_is_refused() {
    let text = r#"{"defaultProfile": "a", "profiles": {"a": {"apiKey": "KEY",}}}"#;
    refused(
        Some(text),
        &[],
        &["is malformed", "not JSON", "omni config init"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_profile_without_a_config_file_is_refused() {
    refused(
        None,
        &["--omni-profile", "a"],
        &["no Omni CLI config at", "omni config init"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_variable_and_no_config_says_how_to_give_a_key() {
    refused(
        None,
        &[],
        &["no API token", "--omni-profile", "OMNI_API_TOKEN"],
    )
    .await;
}
