//! Omni CLI's `config.json` read into its profiles. The JSON is walked by hand rather than
//! through serde's derive, whose messages may quote the offending value, and here that can be
//! a key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::error::ProfileError;

/// How a profile signs in (`authMethod`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AuthMethod {
    /// `api-key` (or no `authMethod`, which Omni's CLI reads as `api-key`).
    ApiKey,
    /// `oauth`: a short-lived token refreshed by Omni's CLI.
    OAuth,
    /// Anything else, as written.
    Other(String),
}

/// One profile as stored. `Debug` shows whether a key is there, never the key.
#[derive(Debug)]
pub(super) struct StoredProfile {
    /// `apiEndpoint`, e.g. `https://acme.omniapp.co`.
    pub endpoint: Option<String>,
    /// `authMethod`.
    pub method: AuthMethod,
    /// `apiKey`, when set and not blank.
    pub key: Option<SecretString>,
}

/// The parts of the file this tool reads; the rest (`version`, output formats, organization
/// ids, OAuth tokens) is ignored.
#[derive(Debug)]
pub(super) struct OmniConfig {
    /// The file.
    pub path: PathBuf,
    /// `defaultProfile`, when set and not empty.
    pub default_profile: Option<String>,
    /// `profiles`, by name.
    pub profiles: BTreeMap<String, StoredProfile>,
}

impl OmniConfig {
    /// Reads the file at `path`; `None` when there is none.
    pub(super) fn read(path: &Path) -> Result<Option<Self>, ProfileError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(path, &bytes).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ProfileError::Unreadable {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The profile names, sorted.
    pub(super) fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Self, ProfileError> {
        let malformed = |problem: String| ProfileError::Malformed {
            path: path.to_owned(),
            problem,
        };
        // A syntax error's message names a line and column, never the text there.
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(malformed("it is not a JSON object".into()));
        };
        let default_profile = optional_string(&top, "defaultProfile")
            .map_err(|kind| malformed(format!("defaultProfile is {kind}, not a string")))?
            .filter(|name| !name.is_empty());
        let profiles = match top.get("profiles") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(profiles)) => profiles
                .iter()
                .map(|(name, profile)| {
                    Ok((name.clone(), stored(name, profile).map_err(malformed)?))
                })
                .collect::<Result<_, ProfileError>>()?,
            Some(other) => {
                return Err(malformed(format!(
                    "profiles is {}, not an object of profiles by name",
                    kind(other)
                )))
            }
        };
        Ok(Self {
            path: path.to_owned(),
            default_profile,
            profiles,
        })
    }
}

/// One profile, or what is wrong with it (naming the profile and the field, not the value).
fn stored(name: &str, value: &Value) -> Result<StoredProfile, String> {
    let Value::Object(fields) = value else {
        return Err(format!(
            "profile {name:?} is {}, not an object",
            kind(value)
        ));
    };
    let field = |key: &str| {
        optional_string(fields, key)
            .map_err(|found| format!("profile {name:?}: {key} is {found}, not a string"))
    };
    let method = match field("authMethod")?.as_deref() {
        None | Some("api-key") => AuthMethod::ApiKey,
        Some("oauth") => AuthMethod::OAuth,
        Some(other) => AuthMethod::Other(other.to_owned()),
    };
    Ok(StoredProfile {
        endpoint: field("apiEndpoint")?.filter(|e| !e.trim().is_empty()),
        method,
        key: field("apiKey")?
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty())
            .map(SecretString::from),
    })
}

/// The string at `key`, `None` when absent or null, or the kind of value found instead.
fn optional_string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, &'static str> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(kind(other)),
    }
}

/// What a JSON value is, for messages that must not show it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const KEY: &str = "omni_osk_do_not_print_me";

    fn parsed(text: &str) -> Result<OmniConfig, ProfileError> {
        OmniConfig::parse(Path::new("/home/a/config.json"), text.as_bytes())
    }

    fn malformed_message(text: &str) -> String {
        let error = parsed(text).expect_err("the file is malformed");
        assert!(matches!(error, ProfileError::Malformed { .. }), "{error:?}");
        let message = error.to_string();
        assert!(!message.contains(KEY), "the key leaked: {message}");
        message
    }

    #[test]
    fn reads_the_shape_omni_cli_writes() {
        let config = parsed(&format!(
            r#"{{"version": 1, "defaultProfile": "acme", "defaultOutputFormat": "json",
                "profiles": {{
                  "acme": {{"organizationId": "o", "apiEndpoint": "https://acme.omniapp.co",
                            "authMethod": "api-key", "apiKey": " {KEY} "}},
                  "me": {{"apiEndpoint": "https://acme.omniapp.co", "authMethod": "oauth",
                          "accessToken": "t", "refreshToken": "r"}}
                }}}}"#
        ))
        .unwrap();
        assert_eq!(config.default_profile.as_deref(), Some("acme"));
        assert_eq!(config.names(), ["acme", "me"]);
        let acme = &config.profiles["acme"];
        assert_eq!(acme.method, AuthMethod::ApiKey);
        assert_eq!(acme.endpoint.as_deref(), Some("https://acme.omniapp.co"));
        assert_eq!(acme.key.as_ref().map(|k| k.expose_secret()), Some(KEY));
        assert_eq!(config.profiles["me"].method, AuthMethod::OAuth);
        assert!(!format!("{config:?}").contains(KEY));
    }

    #[test]
    fn a_profile_without_auth_method_is_an_api_key_profile_as_in_omni_cli() {
        let config = parsed(r#"{"profiles": {"p": {"apiKey": "k"}}}"#).unwrap();
        assert_eq!(config.profiles["p"].method, AuthMethod::ApiKey);
        assert_eq!(config.default_profile, None);
    }

    #[test]
    fn a_syntax_error_names_its_place_and_not_the_text() {
        let message = malformed_message(&format!(
            r#"{{"profiles": {{"p": {{"apiKey": "{KEY}",}}}}}}"#
        ));
        assert!(message.contains("not JSON"), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn a_wrong_type_names_the_field_and_not_the_value() {
        let profiles = malformed_message(&format!(r#"{{"profiles": "{KEY}"}}"#));
        assert!(profiles.contains("profiles is a string"), "{profiles}");
        let profile = malformed_message(&format!(r#"{{"profiles": {{"p": ["{KEY}"]}}}}"#));
        assert!(profile.contains("profile \"p\" is an array"), "{profile}");
        let key = malformed_message(r#"{"profiles": {"p": {"apiKey": 12345}}}"#);
        assert!(key.contains("apiKey is a number"), "{key}");
        assert!(!key.contains("12345"), "{key}");
        let top = malformed_message(&format!(r#"["{KEY}"]"#));
        assert!(top.contains("not a JSON object"), "{top}");
    }
}
