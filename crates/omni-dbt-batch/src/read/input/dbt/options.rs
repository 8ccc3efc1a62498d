//! The settings that turn a dbt profiles.yml into rows: which profiles, in which connections, which outputs, under which names.

use std::fmt;
use std::str::FromStr;

use omni_dbt_core::ConnectionId;

/// How a dbt `profiles.yml` input becomes environments: the connection of each selected
/// profile, the outputs to take, and how environments are named. Ignored for CSV and JSONL.
///
/// Only the profiles given a connection are read; every other profile of the file is left alone.
///
/// ```
/// use omni_dbt_batch::{DbtOptions, ProfileConnection};
/// let connection = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
/// let options = DbtOptions::default()
///     .with_profile(ProfileConnection::named("jaffle_shop", connection))
///     .with_target("dev")
///     .with_name_template("{profile}_{target}".parse().unwrap());
/// assert_eq!(options.targets(), ["dev"]);
/// assert_eq!(options.name_template().render("jaffle_shop", "dev"), "jaffle_shop_dev");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbtOptions {
    profiles: Vec<ProfileConnection>,
    targets: Vec<String>,
    name_template: NameTemplate,
}

impl DbtOptions {
    /// Selects a profile and gives its connection (`--dbt-profile`).
    #[must_use]
    pub fn with_profile(mut self, profile: ProfileConnection) -> Self {
        self.profiles.push(profile);
        self
    }

    /// Keeps only the outputs named `target` (`--dbt-target`); with none, every output is kept.
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.targets.push(target.into());
        self
    }

    /// Names environments with `template` (`--name-template`; default `{target}`).
    #[must_use]
    pub fn with_name_template(mut self, template: NameTemplate) -> Self {
        self.name_template = template;
        self
    }

    /// The selected profiles and their connections, as given.
    pub fn profiles(&self) -> &[ProfileConnection] {
        &self.profiles
    }

    /// The outputs to keep; empty means every output.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// How environments are named.
    pub fn name_template(&self) -> &NameTemplate {
        &self.name_template
    }
}

/// One `--dbt-profile`: `NAME=CONNECTION_ID`, or a bare `CONNECTION_ID` that stands for the
/// file's only profile.
///
/// ```
/// use omni_dbt_batch::ProfileConnection;
/// let named: ProfileConnection = "jaffle_shop=550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
/// assert_eq!(named.profile(), Some("jaffle_shop"));
/// let bare: ProfileConnection = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
/// assert_eq!(bare.profile(), None);
/// assert!("jaffle_shop=42".parse::<ProfileConnection>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileConnection {
    profile: Option<String>,
    connection: ConnectionId,
}

impl ProfileConnection {
    /// The profile `profile`, in `connection`.
    pub fn named(profile: impl Into<String>, connection: ConnectionId) -> Self {
        Self {
            profile: Some(profile.into()),
            connection,
        }
    }

    /// The file's only profile, in `connection`.
    pub fn only(connection: ConnectionId) -> Self {
        Self {
            profile: None,
            connection,
        }
    }

    /// The profile's name; `None` for the file's only profile.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The connection its environments are created in.
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }
}

impl FromStr for ProfileConnection {
    type Err = String;

    /// Parses `NAME=CONNECTION_ID` or a bare `CONNECTION_ID` (a UUID).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (profile, id) = match s.rsplit_once('=') {
            Some((profile, id)) => (Some(profile.trim()), id),
            None => (None, s),
        };
        if profile == Some("") {
            return Err(format!(
                "{s:?} names no profile: write NAME=CONNECTION_ID, or a bare CONNECTION_ID \
                 when the file has one profile"
            ));
        }
        let connection = id.trim().parse().map_err(|_| {
            format!(
                "{s:?}: {:?} is not a connection id (a UUID such as \
                 550e8400-e29b-41d4-a716-446655440000); write NAME=CONNECTION_ID",
                id.trim()
            )
        })?;
        Ok(Self {
            profile: profile.map(str::to_owned),
            connection,
        })
    }
}

impl fmt::Display for ProfileConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.profile {
            Some(profile) => write!(f, "{profile}={}", self.connection),
            None => write!(f, "{}", self.connection),
        }
    }
}

/// The name given to each environment (`--name-template`): text in which `{target}` (the
/// output's name) and `{profile}` (the profile's name) are replaced; `{{` and `}}` are literal
/// braces.
///
/// ```
/// use omni_dbt_batch::NameTemplate;
/// let template: NameTemplate = "{profile}-{target}".parse().unwrap();
/// assert_eq!(template.render("jaffle_shop", "dev"), "jaffle_shop-dev");
/// assert_eq!(NameTemplate::default().render("jaffle_shop", "dev"), "dev");
/// assert!("{owner}".parse::<NameTemplate>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Target,
    Profile,
}

impl NameTemplate {
    /// The name of the environment of output `target` of profile `profile`.
    pub fn render(&self, profile: &str, target: &str) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.as_str(),
                Part::Target => target,
                Part::Profile => profile,
            })
            .collect()
    }
}

impl Default for NameTemplate {
    fn default() -> Self {
        Self {
            text: "{target}".to_owned(),
            parts: vec![Part::Target],
        }
    }
}

impl FromStr for NameTemplate {
    type Err = String;

    /// Parses a template; a placeholder other than `{target}` and `{profile}`, or a lone brace,
    /// is an error saying which.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = s;
        while let Some(at) = rest.find(['{', '}']) {
            literal.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("{{") {
                literal.push('{');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("}}") {
                literal.push('}');
                rest = after;
            } else if let Some((placeholder, after)) = placeholder(rest) {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(match placeholder {
                    "target" => Part::Target,
                    "profile" => Part::Profile,
                    other => {
                        return Err(format!(
                            "unknown placeholder {{{other}}} in name template {s:?}: use \
                             {{target}} and {{profile}} (write {{{{ and }}}} for braces)"
                        ))
                    }
                });
                rest = after;
            } else {
                return Err(format!(
                    "unmatched brace in name template {s:?}: placeholders are {{target}} and \
                     {{profile}}; write {{{{ or }}}} for a literal brace"
                ));
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self {
            text: s.to_owned(),
            parts,
        })
    }
}

/// `("target", rest)` from `{target}rest`.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name, &inner[end + 1..]))
}

impl fmt::Display for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "550e8400-e29b-41d4-a716-446655440000";

    #[test]
    fn a_profile_connection_is_named_or_bare() {
        let named: ProfileConnection = format!(" jaffle_shop = {ID} ").parse().unwrap();
        assert_eq!(named.profile(), Some("jaffle_shop"));
        assert_eq!(named.connection().to_string(), ID);
        assert_eq!(named.to_string(), format!("jaffle_shop={ID}"));
        let bare: ProfileConnection = ID.parse().unwrap();
        assert_eq!(bare, ProfileConnection::only(ID.parse().unwrap()));
    }

    #[test]
    fn a_bad_profile_connection_says_what_to_write() {
        let err = "jaffle_shop=nope".parse::<ProfileConnection>().unwrap_err();
        assert!(err.contains("\"nope\" is not a connection id"), "{err}");
        let err = format!("={ID}").parse::<ProfileConnection>().unwrap_err();
        assert!(err.contains("names no profile"), "{err}");
    }

    #[test]
    fn templates_replace_target_and_profile_and_keep_escaped_braces() {
        let template: NameTemplate = "{{{profile}}}/{target}_x".parse().unwrap();
        assert_eq!(template.render("p", "dev"), "{p}/dev_x");
        assert_eq!(template.to_string(), "{{{profile}}}/{target}_x");
    }

    #[test]
    fn templates_refuse_unknown_placeholders_and_lone_braces() {
        let err = "{target}_{user}".parse::<NameTemplate>().unwrap_err();
        assert!(err.contains("unknown placeholder {user}"), "{err}");
        let err = "{target".parse::<NameTemplate>().unwrap_err();
        assert!(err.contains("unmatched brace"), "{err}");
        let err = "x}{target}".parse::<NameTemplate>().unwrap_err();
        assert!(err.contains("unmatched brace"), "{err}");
        let constant: NameTemplate = "alice".parse().unwrap();
        assert_eq!(constant.render("p", "dev"), "alice");
    }

    #[test]
    fn the_default_template_is_the_target() {
        assert_eq!(NameTemplate::default(), "{target}".parse().unwrap());
        assert_eq!(
            DbtOptions::default().name_template().to_string(),
            "{target}"
        );
    }
}
