//! The api-key profile of Omni CLI's config that a command may take its key and endpoint from.
//!
//! Omni's CLI (`omni config init`) keeps profiles in a JSON file:
//! `{"version": 1, "defaultProfile": "acme", "profiles": {"acme": {"apiEndpoint":
//! "https://acme.omniapp.co", "authMethod": "api-key", "apiKey": "..."}}}`. Only api-key profiles
//! can be used: an OAuth profile's token lasts hours and is refreshed by Omni's CLI alone.

mod error;
mod file;
mod location;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;

pub(super) use self::error::ProfileError;
use self::file::{AuthMethod, OmniConfig};
pub(super) use self::location::locate;

/// Reads an environment variable (the process's, or a test's).
pub(super) type VarLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Which profile to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Choice<'a> {
    /// The one `--omni-profile` names: the file must exist and hold it.
    Named(&'a str),
    /// The file's `defaultProfile`, if there is a file with profiles.
    Default,
}

/// A usable api-key profile. `Debug` never shows the key.
pub(super) struct OmniProfile {
    /// The profile's name.
    pub name: String,
    /// The config file it came from.
    pub path: PathBuf,
    /// Its `apiEndpoint`, when set.
    pub endpoint: Option<String>,
    /// Its `apiKey`.
    pub key: SecretString,
}

impl fmt::Debug for OmniProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OmniProfile")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// The profile `choice` selects. `Ok(None)` only for [`Choice::Default`] when there is no
/// config file, or one without profiles: nothing to fall back on, and nothing wrong.
pub(super) fn load(
    choice: Choice<'_>,
    vars: VarLookup<'_>,
) -> Result<Option<OmniProfile>, ProfileError> {
    let Some(location) = locate(vars) else {
        return match choice {
            Choice::Named(_) => Err(ProfileError::Nowhere),
            Choice::Default => Ok(None),
        };
    };
    let config = match (OmniConfig::read(&location.path)?, choice) {
        (Some(config), _) => config,
        (None, Choice::Default) => return Ok(None),
        (None, Choice::Named(name)) => {
            return Err(ProfileError::Missing {
                profile: name.to_owned(),
                path: location.path,
                chosen_by: location.chosen_by,
            })
        }
    };
    let (name, is_default) = match (choice, &config.default_profile) {
        (Choice::Named(name), _) => (name.to_owned(), false),
        (Choice::Default, Some(name)) => (name.clone(), true),
        (Choice::Default, None) if config.profiles.is_empty() => return Ok(None),
        (Choice::Default, None) => {
            return Err(ProfileError::NoDefault {
                profiles: config.names(),
                path: config.path,
            })
        }
    };
    usable(config, name, is_default).map(Some)
}

/// The named profile, if it is there and signs in with an API key.
fn usable(
    mut config: OmniConfig,
    name: String,
    is_default: bool,
) -> Result<OmniProfile, ProfileError> {
    let names = config.names();
    let Some(stored) = config.profiles.remove(&name) else {
        return Err(ProfileError::Unknown {
            path: config.path,
            name,
            is_default,
            profiles: names,
        });
    };
    let path = config.path;
    match stored.method {
        AuthMethod::ApiKey => {}
        AuthMethod::OAuth => return Err(ProfileError::OAuth { path, name }),
        AuthMethod::Other(method) => {
            return Err(ProfileError::UnknownMethod { path, name, method })
        }
    }
    let Some(key) = stored.key else {
        return Err(ProfileError::NoKey { path, name });
    };
    Ok(OmniProfile {
        name,
        path,
        endpoint: stored.endpoint,
        key,
    })
}

#[cfg(test)]
mod tests;
