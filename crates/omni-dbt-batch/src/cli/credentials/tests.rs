//! Which source of keys wins, and the base URL that goes with it.

use std::collections::HashMap;
use std::ffi::OsString;

use clap::Parser;
use secrecy::ExposeSecret;

use super::*;

const PROFILE_KEY: &str = "omni_osk_profile_key_not_printed";
const VARIABLE_KEY: &str = "omni_osk_variable_key";

#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    api: ApiArgs,
}

fn flags(args: &[&str]) -> ApiArgs {
    Flags::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
        .unwrap()
        .api
}

/// A config dir with profiles `acme` (the default) and `staging`, and the variables given.
struct Machine {
    dir: tempfile::TempDir,
    vars: HashMap<String, OsString>,
}

impl Machine {
    fn new(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let profile = |host: &str| {
            format!(
                r#"{{"apiEndpoint": "https://{host}", "authMethod": "api-key", "apiKey": "{PROFILE_KEY}"}}"#
            )
        };
        let text = format!(
            r#"{{"defaultProfile": "acme", "profiles": {{"acme": {}, "staging": {}}}}}"#,
            profile("acme.omniapp.co"),
            profile("staging.omniapp.co")
        );
        std::fs::write(dir.path().join("config.json"), text).unwrap();
        let mut all: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        all.insert("OMNI_CONFIG_DIR".into(), dir.path().into());
        Self { dir, vars: all }
    }

    fn resolve(&self, args: &[&str]) -> Result<(String, Vec<ApiKey>)> {
        resolve(&flags(args), &|name| self.vars.get(name).cloned())
    }
}

fn labels(keys: &[ApiKey]) -> Vec<&str> {
    keys.iter().map(|k| k.label.as_str()).collect()
}

#[test]
fn with_no_token_variable_the_default_profile_gives_key_and_endpoint() {
    let machine = Machine::new(&[]);
    let (base_url, keys) = machine.resolve(&[]).unwrap();
    assert_eq!(base_url, "https://acme.omniapp.co");
    assert_eq!(labels(&keys), ["Omni CLI profile acme"]);
    assert_eq!(keys[0].token.expose_secret(), PROFILE_KEY);
}

#[test]
fn omni_api_token_wins_over_the_default_profile() {
    let machine = Machine::new(&[("OMNI_API_TOKEN", VARIABLE_KEY)]);
    let (_, keys) = machine
        .resolve(&["--base-url", "https://x.omniapp.co"])
        .unwrap();
    assert_eq!(labels(&keys), ["OMNI_API_TOKEN"]);
    let error = machine.resolve(&[]).unwrap_err().to_string();
    assert!(error.starts_with("no Omni base URL"), "{error}");
}

#[test]
fn a_named_profile_wins_over_omni_api_token_and_the_base_url_flag_over_its_endpoint() {
    let machine = Machine::new(&[("OMNI_API_TOKEN", VARIABLE_KEY)]);
    let (base_url, keys) = machine.resolve(&["--omni-profile", "staging"]).unwrap();
    assert_eq!(base_url, "https://staging.omniapp.co");
    assert_eq!(labels(&keys), ["Omni CLI profile staging"]);
    let (base_url, _) = machine
        .resolve(&[
            "--omni-profile",
            "staging",
            "--base-url",
            "https://other.omniapp.co",
        ])
        .unwrap();
    assert_eq!(base_url, "https://other.omniapp.co");
}

#[test]
fn token_env_uses_only_the_variables_it_names() {
    let machine = Machine::new(&[
        ("OMNI_API_TOKEN", VARIABLE_KEY),
        ("KEY_A", "a"),
        ("KEY_B", "b"),
    ]);
    let (_, keys) = machine
        .resolve(&[
            "--token-env",
            "KEY_A,KEY_B",
            "--base-url",
            "https://x.omniapp.co",
        ])
        .unwrap();
    assert_eq!(labels(&keys), ["KEY_A", "KEY_B"]);
    let error = machine
        .resolve(&["--token-env", "KEY_C", "--base-url", "https://x.omniapp.co"])
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("no API token in $KEY_C"), "{error}");
}

#[test]
fn token_env_and_omni_profile_conflict() {
    let parsed = Flags::try_parse_from(["t", "--token-env", "A", "--omni-profile", "acme"]);
    assert!(parsed.is_err());
}

#[test]
fn no_token_and_no_config_says_every_way_to_give_one() {
    let machine = Machine::new(&[]);
    std::fs::remove_file(machine.dir.path().join("config.json")).unwrap();
    let error = machine.resolve(&[]).unwrap_err().to_string();
    for needle in [
        "OMNI_API_TOKEN",
        "--token-env",
        "--omni-profile",
        "omni config init",
        "config.json",
    ] {
        assert!(error.contains(needle), "{needle}: {error}");
    }
}

#[test]
fn no_error_or_log_field_holds_the_profile_key() {
    let machine = Machine::new(&[]);
    for args in [
        &["--omni-profile", "prod"][..],
        &["--omni-profile", "staging"][..],
    ] {
        match machine.resolve(args) {
            Ok((_, keys)) => assert!(!format!("{keys:?}").contains(PROFILE_KEY)),
            Err(error) => assert!(!format!("{error:?}").contains(PROFILE_KEY), "{error:?}"),
        }
    }
}
