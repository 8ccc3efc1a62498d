//! Which keys a command sends and where: the token variables, or a profile of Omni CLI's config,
//! and the base URL from the flag, `OMNI_BASE_URL`, or that profile.

use anyhow::{bail, Result};
use omni_dbt_batch::ApiKey;

use super::api_args::ApiArgs;
use super::omni_profile::{self, Choice, OmniProfile, VarLookup};

/// The variable holding the API key when no other source is named, as in Omni's own CLI.
pub(super) const DEFAULT_TOKEN_ENV: &str = "OMNI_API_TOKEN";

/// Where the keys come from, in order of precedence.
#[derive(Debug, PartialEq, Eq)]
enum KeySource<'a> {
    /// `--token-env`: only the variables it names.
    Variables(&'a [String]),
    /// `--omni-profile NAME`: named on the command line, so it wins over `OMNI_API_TOKEN`.
    NamedProfile(&'a str),
    /// `OMNI_API_TOKEN`, set.
    DefaultVariable,
    /// No token variable set: the default profile of Omni CLI's config, if there is one.
    DefaultProfile,
}

/// The base URL and the keys of a command that talks to Omni (not the sandbox).
pub(super) fn resolve(api: &ApiArgs, vars: VarLookup<'_>) -> Result<(String, Vec<ApiKey>)> {
    match key_source(api, vars) {
        KeySource::Variables(names) => Ok((required_base_url(api)?, read_keys(names, vars)?)),
        KeySource::DefaultVariable => Ok((
            required_base_url(api)?,
            read_keys(&[DEFAULT_TOKEN_ENV.to_owned()], vars)?,
        )),
        KeySource::NamedProfile(name) => match omni_profile::load(Choice::Named(name), vars)? {
            Some(profile) => from_profile(api, profile, "named by --omni-profile"),
            None => bail!("--omni-profile {name}: Omni CLI's config cannot be found"),
        },
        KeySource::DefaultProfile => match omni_profile::load(Choice::Default, vars)? {
            Some(profile) => from_profile(
                api,
                profile,
                "the default profile, as no token variable is set",
            ),
            None => bail!(no_token_message(vars)),
        },
    }
}

fn key_source<'a>(api: &'a ApiArgs, vars: VarLookup<'_>) -> KeySource<'a> {
    if !api.token_env.is_empty() {
        KeySource::Variables(&api.token_env)
    } else if let Some(name) = &api.omni_profile {
        KeySource::NamedProfile(name)
    } else if is_set(vars, DEFAULT_TOKEN_ENV) {
        KeySource::DefaultVariable
    } else {
        KeySource::DefaultProfile
    }
}

fn is_set(vars: VarLookup<'_>, name: &str) -> bool {
    vars(name).is_some_and(|value| !value.to_string_lossy().trim().is_empty())
}

/// The profile's key, and its endpoint unless `--base-url`/`OMNI_BASE_URL` says otherwise.
fn from_profile(api: &ApiArgs, profile: OmniProfile, why: &str) -> Result<(String, Vec<ApiKey>)> {
    let Some(base_url) = api.base_url.clone().or(profile.endpoint) else {
        bail!(
            "profile {:?} of {} has no apiEndpoint: pass --base-url (or set OMNI_BASE_URL)",
            profile.name,
            profile.path.display()
        );
    };
    tracing::info!(
        config = %profile.path.display(),
        base_url = %base_url,
        "using the API key of Omni CLI profile {:?} ({why})",
        profile.name
    );
    let key = ApiKey {
        label: format!("Omni CLI profile {}", profile.name),
        token: profile.key,
    };
    Ok((base_url, vec![key]))
}

fn required_base_url(api: &ApiArgs) -> Result<String> {
    match &api.base_url {
        Some(url) => Ok(url.clone()),
        None => bail!(
            "no Omni base URL: pass --base-url (or set OMNI_BASE_URL), take the endpoint of an \
             Omni CLI profile with --omni-profile, or use --sandbox"
        ),
    }
}

/// Reads each named variable as an API key; every one must be set and non-empty.
pub(super) fn read_keys(names: &[String], vars: VarLookup<'_>) -> Result<Vec<ApiKey>> {
    names
        .iter()
        .map(
            |name| match vars(name).map(|value| value.to_string_lossy().trim().to_owned()) {
                Some(token) if !token.is_empty() => Ok(ApiKey {
                    label: name.clone(),
                    token: token.into(),
                }),
                _ => bail!(
                "no API token in ${name}: set it to an Omni API key (Settings > API keys), name \
                 another variable with --token-env, or use --sandbox"
            ),
            },
        )
        .collect()
}

/// Why no key was found, and every way to give one.
fn no_token_message(vars: VarLookup<'_>) -> String {
    let config = omni_profile::locate(vars).map_or_else(
        || "Omni CLI's config cannot be located".to_owned(),
        |location| format!("no Omni CLI config at {}", location.path.display()),
    );
    format!(
        "no API token: set {DEFAULT_TOKEN_ENV} to an Omni API key (Settings > API keys), name \
         variables with --token-env, or save a profile with `omni config init` and pick it with \
         --omni-profile ({config}); or use --sandbox"
    )
}

#[cfg(test)]
mod tests;
