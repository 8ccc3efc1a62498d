//! Choosing a profile: the named one, the default one, and each way that fails.

use std::collections::HashMap;
use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

const KEY: &str = "omni_osk_never_printed_0123";

/// A temporary config file with `profiles` (JSON object text) and an optional default.
struct ConfigFile {
    dir: tempfile::TempDir,
}

impl ConfigFile {
    fn new(default: Option<&str>, profiles: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let default = default.map_or_else(String::new, |d| format!(r#""defaultProfile": "{d}","#));
        let text = format!(r#"{{"version": 1, {default} "profiles": {profiles}}}"#);
        std::fs::write(dir.path().join("config.json"), text).unwrap();
        Self { dir }
    }

    fn empty_dir() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn load(&self, choice: Choice<'_>) -> Result<Option<OmniProfile>, ProfileError> {
        load_from(self.dir.path(), choice)
    }
}

fn load_from(dir: &Path, choice: Choice<'_>) -> Result<Option<OmniProfile>, ProfileError> {
    let vars: HashMap<&str, OsString> = HashMap::from([("OMNI_CONFIG_DIR", dir.into())]);
    load(choice, &|name| vars.get(name).cloned())
}

fn api_key_profile(endpoint: &str) -> String {
    format!(r#"{{"apiEndpoint": "{endpoint}", "authMethod": "api-key", "apiKey": "{KEY}"}}"#)
}

fn two_profiles() -> String {
    format!(
        r#"{{"acme": {}, "staging": {}}}"#,
        api_key_profile("https://acme.omniapp.co"),
        api_key_profile("https://acme-staging.omniapp.co")
    )
}

fn error_of(result: Result<Option<OmniProfile>, ProfileError>) -> (ProfileError, String) {
    let error = result.expect_err("the profile cannot be used");
    let message = error.to_string();
    assert!(!message.contains(KEY), "the key leaked: {message}");
    assert!(
        !format!("{error:?}").contains(KEY),
        "the key leaked: {error:?}"
    );
    (error, message)
}

#[test]
fn a_named_api_key_profile_gives_its_key_and_endpoint() {
    let file = ConfigFile::new(Some("acme"), &two_profiles());
    let profile = file.load(Choice::Named("staging")).unwrap().unwrap();
    assert_eq!(profile.name, "staging");
    assert_eq!(
        profile.endpoint.as_deref(),
        Some("https://acme-staging.omniapp.co")
    );
    assert_eq!(profile.key.expose_secret(), KEY);
    assert!(!format!("{profile:?}").contains(KEY), "{profile:?}");
}

#[test]
fn without_a_name_the_default_profile_is_taken() {
    let file = ConfigFile::new(Some("acme"), &two_profiles());
    let profile = file.load(Choice::Default).unwrap().unwrap();
    assert_eq!(profile.name, "acme");
}

#[test]
fn no_file_is_nothing_to_fall_back_on_but_an_error_when_a_profile_is_named() {
    let file = ConfigFile::empty_dir();
    assert!(file.load(Choice::Default).unwrap().is_none());
    let (error, message) = error_of(file.load(Choice::Named("acme")));
    assert!(matches!(error, ProfileError::Missing { .. }), "{error:?}");
    assert!(message.contains("config.json"), "{message}");
    assert!(message.contains("omni config init"), "{message}");
    assert!(message.contains("OMNI_CONFIG_DIR"), "{message}");
}

#[test]
fn a_file_without_a_default_lists_its_profiles() {
    let file = ConfigFile::new(None, &two_profiles());
    let (error, message) = error_of(file.load(Choice::Default));
    assert!(matches!(error, ProfileError::NoDefault { .. }), "{error:?}");
    assert!(message.contains("acme, staging"), "{message}");
    assert!(message.contains("--omni-profile NAME"), "{message}");
    assert!(ConfigFile::new(None, "{}")
        .load(Choice::Default)
        .unwrap()
        .is_none());
}

#[test]
fn an_unknown_profile_lists_the_ones_there_are() {
    let file = ConfigFile::new(Some("acme"), &two_profiles());
    let (_, named) = error_of(file.load(Choice::Named("prod")));
    assert!(named.starts_with("profile \"prod\" is not in"), "{named}");
    assert!(named.contains("acme, staging"), "{named}");
    let dangling = ConfigFile::new(Some("gone"), &two_profiles());
    let (_, default) = error_of(dangling.load(Choice::Default));
    assert!(
        default.starts_with("the default profile \"gone\""),
        "{default}"
    );
    assert!(default.contains("omni config use"), "{default}");
}

#[test]
fn an_oauth_profile_is_refused_with_what_to_do() {
    let file = ConfigFile::new(
        Some("me"),
        &format!(
            r#"{{"me": {{"apiEndpoint": "https://acme.omniapp.co", "authMethod": "oauth",
                 "accessToken": "{KEY}", "refreshToken": "{KEY}"}}}}"#
        ),
    );
    let (error, message) = error_of(file.load(Choice::Default));
    assert!(matches!(error, ProfileError::OAuth { .. }), "{error:?}");
    assert!(message.contains("OAuth"), "{message}");
    assert!(message.contains("API key"), "{message}");
}

#[test]
fn an_api_key_profile_without_a_key_or_with_an_unknown_method_is_refused() {
    let no_key = ConfigFile::new(None, r#"{"p": {"authMethod": "api-key", "apiKey": "  "}}"#);
    let (error, _) = error_of(no_key.load(Choice::Named("p")));
    assert!(matches!(error, ProfileError::NoKey { .. }), "{error:?}");
    let saml = ConfigFile::new(None, r#"{"p": {"authMethod": "saml", "apiKey": "k"}}"#);
    let (error, message) = error_of(saml.load(Choice::Named("p")));
    assert!(
        matches!(error, ProfileError::UnknownMethod { .. }),
        "{error:?}"
    );
    assert!(message.contains("\"saml\""), "{message}");
}

#[test]
fn a_malformed_file_is_an_error_even_for_the_default_profile() {
    let file = ConfigFile::empty_dir();
    std::fs::write(
        file.dir.path().join("config.json"),
        format!(r#"{{"profiles": {{"p": {{"apiKey": "{KEY}"}}"#),
    )
    .unwrap();
    let (error, message) = error_of(file.load(Choice::Default));
    assert!(matches!(error, ProfileError::Malformed { .. }), "{error:?}");
    assert!(message.contains("omni config init"), "{message}");
}
