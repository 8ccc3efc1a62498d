//! Why a profile of Omni CLI's config cannot give a run its key: each message says what to do,
//! and none quotes a value of the file (it holds keys).

use std::io;
use std::path::PathBuf;

/// A profile that cannot be used. Every variant stops the command before anything is sent.
#[derive(Debug, thiserror::Error)]
pub(in crate::cli) enum ProfileError {
    /// Neither `OMNI_CONFIG_PATH`, `OMNI_CONFIG_DIR`, `XDG_CONFIG_HOME` nor `HOME` is set.
    #[error(
        "cannot find Omni CLI's config: none of OMNI_CONFIG_PATH, OMNI_CONFIG_DIR, \
         XDG_CONFIG_HOME or HOME is set; set OMNI_CONFIG_PATH to the config file"
    )]
    Nowhere,

    /// The file does not exist.
    #[error(
        "--omni-profile {profile}: there is no Omni CLI config at {} (found through {chosen_by}); \
         create it with `omni config init`, or set OMNI_CONFIG_PATH to the file",
        path.display()
    )]
    Missing {
        /// The profile asked for.
        profile: String,
        /// Where the file was looked for.
        path: PathBuf,
        /// The variable that chose the place.
        chosen_by: &'static str,
    },

    /// The file exists but cannot be read.
    #[error("cannot read Omni CLI's config {}: {source}; check its permissions", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },

    /// The file is not JSON, or not the shape Omni CLI writes.
    #[error(
        "Omni CLI's config {} is malformed: {problem}; fix it, or recreate the profile with \
         `omni config init`",
        path.display()
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, never quoting a value.
        problem: String,
    },

    /// No profile is named and the file has no default.
    #[error(
        "Omni CLI's config {} has no default profile: pass --omni-profile NAME (its profiles: \
         {}), or choose one with `omni config use NAME`",
        path.display(), names(profiles)
    )]
    NoDefault {
        /// The file.
        path: PathBuf,
        /// The profiles it holds.
        profiles: Vec<String>,
    },

    /// The profile asked for (or the file's default) is not in the file.
    #[error(
        "{} {name:?} is not in Omni CLI's config {} (its profiles: {}); {}",
        if *is_default { "the default profile" } else { "profile" },
        path.display(), names(profiles),
        if *is_default { "choose another with `omni config use NAME`, or pass --omni-profile NAME" }
        else { "pass one of them to --omni-profile, or add it with `omni config init`" }
    )]
    Unknown {
        /// The file.
        path: PathBuf,
        /// The profile's name.
        name: String,
        /// Whether it is the file's default profile rather than one named on the command line.
        is_default: bool,
        /// The profiles the file holds.
        profiles: Vec<String>,
    },

    /// The profile signs in with OAuth.
    #[error(
        "profile {name:?} of {} signs in with OAuth, whose short-lived token this tool does \
         not refresh: use an API-key profile (`omni config init`, authentication: API key, with \
         an Organization API key), or set OMNI_API_TOKEN",
        path.display()
    )]
    OAuth {
        /// The file.
        path: PathBuf,
        /// The profile.
        name: String,
    },

    /// The profile's `authMethod` is neither `api-key` nor `oauth`.
    #[error(
        "profile {name:?} of {} has authMethod {method:?}; only \"api-key\" profiles can be used: \
         recreate it with `omni config init`",
        path.display()
    )]
    UnknownMethod {
        /// The file.
        path: PathBuf,
        /// The profile.
        name: String,
        /// The method as written (a name, not a secret).
        method: String,
    },

    /// An api-key profile without a key.
    #[error(
        "profile {name:?} of {} has no apiKey: add one with `omni config init`, or set \
         OMNI_API_TOKEN",
        path.display()
    )]
    NoKey {
        /// The file.
        path: PathBuf,
        /// The profile.
        name: String,
    },
}

fn names(profiles: &[String]) -> String {
    if profiles.is_empty() {
        "none".to_owned()
    } else {
        profiles.join(", ")
    }
}
