//! Problems that make a whole profiles.yml unusable: its YAML, its shape, or the profiles and targets asked of it.

/// A profiles.yml that cannot be read at all, or does not hold what the options ask for.
/// Problems of one output are row problems instead, and reading goes on.
///
/// Each message names the file (and the line, where there is one) and says what to do; none
/// quotes a value of the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DbtError {
    /// The file is not UTF-8.
    #[error("{file}:{line}: not UTF-8 text; save the profiles.yml as UTF-8")]
    NotUtf8 {
        /// The input's display name.
        file: String,
        /// The line of the first byte that is not UTF-8.
        line: u64,
    },

    /// The file is not YAML (or YAML this reader refuses: a repeated key, an alias bomb...).
    #[error("{file}:{line}: {message}; fix the YAML (dbt could not read it either)")]
    Yaml {
        /// The input's display name.
        file: String,
        /// Where the problem shows.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// The file holds no profile, or is not a mapping of profile names to profiles.
    #[error(
        "{file}:{line}: a profiles.yml maps profile names to profiles (each with `outputs:`), \
         found {found}"
    )]
    NotProfiles {
        /// The input's display name.
        file: String,
        /// Where the document starts (1 for an empty file).
        line: u64,
        /// What the file holds instead.
        found: String,
    },

    /// No `--dbt-profile` was given.
    #[error("{file}: no profile selected: {}", selection_advice(profiles))]
    NoProfileSelected {
        /// The input's display name.
        file: String,
        /// The file's profiles and their lines.
        profiles: Vec<(String, u64)>,
    },

    /// A bare `--dbt-profile CONNECTION_ID`, but the file does not hold exactly one profile,
    /// or other `--dbt-profile` options are given too.
    #[error(
        "{file}: a bare --dbt-profile CONNECTION_ID stands for the file's only profile, but {}; \
         write --dbt-profile NAME=CONNECTION_ID for each profile ({})",
        if *given > 1 { "more than one --dbt-profile is given".to_owned() } else { format!("the file has {} profiles", profiles.len()) },
        list(profiles)
    )]
    BareProfile {
        /// The input's display name.
        file: String,
        /// The file's profiles and their lines.
        profiles: Vec<(String, u64)>,
        /// How many `--dbt-profile` options were given.
        given: usize,
    },

    /// `--dbt-profile NAME=...` names a profile the file does not have.
    #[error(
        "{file}:{line}: --dbt-profile names profile {name:?}, which is not in this file{}; \
         the file's profiles are {}: fix the name given to --dbt-profile",
        suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default(),
        list(profiles)
    )]
    UnknownProfile {
        /// The input's display name.
        file: String,
        /// The line of the closest profile's name, else of the first profile's.
        line: u64,
        /// The name given.
        name: String,
        /// The closest profile name, if one is close.
        suggestion: Option<String>,
        /// The file's profiles and their lines.
        profiles: Vec<(String, u64)>,
    },

    /// The same profile is given two connections.
    #[error(
        "--dbt-profile names profile {name:?} twice: each profile is created in one \
         connection; keep one --dbt-profile {name}=CONNECTION_ID"
    )]
    ProfileTwice {
        /// The profile.
        name: String,
    },

    /// A selected profile has no `outputs:` mapping.
    #[error(
        "{file}:{line}: profile {profile:?} has no outputs: a profile is a mapping with \
         `outputs:`, one entry per target (dev, prod...)"
    )]
    NoOutputs {
        /// The input's display name.
        file: String,
        /// The line of the profile's name (or of its `outputs:` key).
        line: u64,
        /// The profile.
        profile: String,
    },

    /// `--dbt-target` names an output that no selected profile has.
    #[error(
        "{file}: --dbt-target {target:?} matches no output of the selected profiles{}; their \
         outputs are {}",
        suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default(),
        list(outputs)
    )]
    UnknownTarget {
        /// The input's display name.
        file: String,
        /// The target given.
        target: String,
        /// The closest output name, if one is close.
        suggestion: Option<String>,
        /// The selected profiles' outputs and their lines.
        outputs: Vec<(String, u64)>,
    },
}

impl DbtError {
    /// The line of the profiles.yml the error is about, when it has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::NotUtf8 { line, .. }
            | Self::Yaml { line, .. }
            | Self::NotProfiles { line, .. }
            | Self::UnknownProfile { line, .. }
            | Self::NoOutputs { line, .. } => Some(*line),
            Self::NoProfileSelected { .. }
            | Self::BareProfile { .. }
            | Self::ProfileTwice { .. }
            | Self::UnknownTarget { .. } => None,
        }
    }
}

/// `a (line 1), b (line 9)`.
fn list(names: &[(String, u64)]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|(name, line)| format!("{name} (line {line})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn selection_advice(profiles: &[(String, u64)]) -> String {
    match profiles {
        [(name, line)] => format!(
            "pass --dbt-profile CONNECTION_ID to create the outputs of {name} (line {line}) in \
             that Omni connection"
        ),
        _ => format!(
            "pass --dbt-profile NAME=CONNECTION_ID for each profile to create, in that Omni \
             connection; the file's profiles are {}",
            list(profiles)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> Vec<(String, u64)> {
        vec![("jaffle_shop".into(), 1), ("finance".into(), 20)]
    }

    #[test]
    fn no_selection_lists_the_profiles_and_what_to_pass() {
        let error = DbtError::NoProfileSelected {
            file: "p.yml".into(),
            profiles: profiles(),
        };
        assert_eq!(
            error.to_string(),
            "p.yml: no profile selected: pass --dbt-profile NAME=CONNECTION_ID for each profile \
             to create, in that Omni connection; the file's profiles are jaffle_shop (line 1), \
             finance (line 20)"
        );
        let one = DbtError::NoProfileSelected {
            file: "p.yml".into(),
            profiles: vec![("jaffle_shop".into(), 3)],
        };
        assert!(
            one.to_string().contains("--dbt-profile CONNECTION_ID"),
            "{one}"
        );
    }

    #[test]
    fn an_unknown_profile_names_the_line_and_the_closest_profile() {
        let error = DbtError::UnknownProfile {
            file: "p.yml".into(),
            line: 1,
            name: "jaffle-shop".into(),
            suggestion: Some("jaffle_shop".into()),
            profiles: profiles(),
        };
        let text = error.to_string();
        assert!(
            text.starts_with("p.yml:1: --dbt-profile names profile \"jaffle-shop\""),
            "{text}"
        );
        assert!(text.contains("did you mean \"jaffle_shop\"?"), "{text}");
    }

    #[test]
    fn a_bare_profile_says_why_it_cannot_be_used() {
        let several = DbtError::BareProfile {
            file: "p.yml".into(),
            profiles: profiles(),
            given: 1,
        };
        assert!(
            several.to_string().contains("the file has 2 profiles"),
            "{several}"
        );
        let mixed = DbtError::BareProfile {
            file: "p.yml".into(),
            profiles: profiles(),
            given: 2,
        };
        assert!(
            mixed.to_string().contains("more than one --dbt-profile"),
            "{mixed}"
        );
    }
}
