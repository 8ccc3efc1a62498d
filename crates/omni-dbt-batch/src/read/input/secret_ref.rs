//! Environment references in variable values (`${env:NAME}`) and the lookup that resolves them.
//!
//! # Syntax
//!
//! A variable value (plain or secret, CSV or JSONL) that is **exactly** `${env:NAME}` — surrounding
//! spaces allowed — is replaced at read time by the value of the environment variable `NAME` of
//! the process running `omni-dbt-batch`. `NAME` is letters, digits and `_`, not starting with a
//! digit. So a secret need not sit in the input file:
//!
//! ```text
//! connection_id,name,target_schema,secret:DBT_API_KEY
//! 5a0e7e53-3b8c-4c1e-9d60-0f3a4c1b2d01,dev_alice,dbt_alice,${env:ALICE_DBT_KEY}
//! ```
//!
//! A reference to a variable that is not set (or not UTF-8) makes the row invalid, naming the
//! field and the variable, never a value. Anything else is taken literally: `prefix-${env:X}`
//! is not a reference. To send the literal text `${env:X}`, write `$${env:X}`: a value that is
//! a reference behind more than one `$` is literal, with one leading `$` removed (so
//! `$$${env:X}` sends `$${env:X}`). [`literal`] is the inverse, for writing values back out.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// How environment variables are looked up when resolving `${env:NAME}` references.
///
/// Cheap to clone. Tests use [`EnvLookup::from_pairs`] or [`EnvLookup::empty`] rather than
/// changing the process environment; the CLI uses [`EnvLookup::process`].
#[derive(Clone)]
pub(crate) struct EnvLookup(Arc<LookupFn>);

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl EnvLookup {
    /// Looks variables up in this process's environment. Variables that are not UTF-8 count as
    /// unset.
    pub(crate) fn process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// A lookup in which no variable is set.
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Self::from_fn(|_| None)
    }

    /// Looks variables up with `lookup`.
    pub(crate) fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(lookup))
    }

    /// A lookup over a fixed set of `(name, value)` pairs.
    #[cfg(test)]
    pub(crate) fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: std::collections::HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::from_fn(move |name| map.get(name).cloned())
    }

    /// The value of `name`, if set.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl fmt::Debug for EnvLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print values: they may be secrets.
        f.write_str("EnvLookup(..)")
    }
}

/// Why a reference could not be resolved. Messages name the variable, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefError {
    /// The referenced variable is not set.
    Unset(String),
    /// The text looks like a reference but the name is not a valid variable name.
    BadName(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unset(name) => write!(
                f,
                "references environment variable {name}, which is not set (or not UTF-8); \
                 export {name} before running, or put the value in the file"
            ),
            Self::BadName(name) => write!(
                f,
                "${{env:{name}}} is not a valid reference: a variable name is letters, digits \
                 and _ and does not start with a digit (write $${{env:...}} for literal text)"
            ),
        }
    }
}

/// Resolves `value` if it is a reference; returns it unchanged (moved, not copied) otherwise.
pub(crate) fn resolve(mut value: String, env: &EnvLookup) -> Result<String, RefError> {
    // Fast path: most values contain no `$` at all.
    if !value.contains("${env:") {
        return Ok(value);
    }
    match reference_shape(&value) {
        None => Ok(value),
        Some(Shape::Escaped { first_dollar }) => {
            value.remove(first_dollar);
            Ok(value)
        }
        Some(Shape::Reference(name)) if !is_variable_name(name) => {
            Err(RefError::BadName(name.to_owned()))
        }
        Some(Shape::Reference(name)) => env
            .get(name)
            .ok_or_else(|| RefError::Unset(name.to_owned())),
    }
}

/// The text to write for the value `value` so that [`resolve`] reads it back as `value`: itself,
/// or with one more `$` when it would be read as a reference (or as an escaped one).
///
/// ```text
/// plain          -> plain
/// ${env:X}       -> $${env:X}
/// $${env:X}      -> $$${env:X}
/// ```
pub(crate) fn literal(value: &str) -> Cow<'_, str> {
    if reference_shape(value).is_none() {
        return Cow::Borrowed(value);
    }
    let at = first_dollar(value);
    Cow::Owned(format!("{}${}", &value[..at], &value[at..]))
}

/// The value that stands for environment variable `name`: `${env:NAME}`, its characters other
/// than letters, digits and `_` replaced by `_` (and `_` put before a leading digit), since an
/// environment variable can have no other name.
pub(crate) fn reference(name: &str) -> String {
    let mut variable: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !variable.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        variable.insert(0, '_');
    }
    format!("${{env:{variable}}}")
}

/// What a value that contains `${env:` is, read as a whole (surrounding spaces aside).
enum Shape<'a> {
    /// `${env:NAME}`: a reference to `NAME`.
    Reference(&'a str),
    /// `${env:...}` behind more than one `$`: literal, less the `$` at byte `first_dollar`.
    Escaped { first_dollar: usize },
}

fn reference_shape(value: &str) -> Option<Shape<'_>> {
    let trimmed = value.trim();
    let body = trimmed.trim_start_matches('$');
    let dollars = trimmed.len() - body.len();
    let name = body.strip_prefix("{env:")?.strip_suffix('}')?;
    match dollars {
        0 => None,
        1 => Some(Shape::Reference(name)),
        _ => Some(Shape::Escaped {
            first_dollar: first_dollar(value),
        }),
    }
}

/// Where the `$` signs of a value shaped like a reference start (the first `$`, which no space
/// precedes but the value's leading ones).
fn first_dollar(value: &str) -> usize {
    value.find('$').unwrap_or(0)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_replaced_by_the_variable_value() {
        let env = EnvLookup::from_pairs([("A_1", "v")]);
        assert_eq!(resolve(" ${env:A_1} ".into(), &env), Ok("v".into()));
    }

    #[test]
    fn unset_reference_names_the_variable_only() {
        let env = EnvLookup::empty();
        let err = resolve("${env:MISSING_X}".into(), &env).unwrap_err();
        assert_eq!(err, RefError::Unset("MISSING_X".into()));
        assert!(err.to_string().contains("MISSING_X"));
    }

    #[test]
    fn text_around_a_reference_makes_it_literal() {
        let env = EnvLookup::from_pairs([("A", "v")]);
        assert_eq!(resolve("x${env:A}".into(), &env), Ok("x${env:A}".into()));
        assert_eq!(resolve("${env:A}x".into(), &env), Ok("${env:A}x".into()));
    }

    #[test]
    fn invalid_names_are_reported() {
        let env = EnvLookup::empty();
        assert_eq!(
            resolve("${env:1A}".into(), &env),
            Err(RefError::BadName("1A".into()))
        );
        assert_eq!(
            resolve("${env:}".into(), &env),
            Err(RefError::BadName(String::new()))
        );
    }

    #[test]
    fn more_than_one_dollar_is_literal_less_one_dollar_and_keeps_its_spaces() {
        let env = EnvLookup::from_pairs([("X", "v")]);
        assert_eq!(resolve("$$${env:X}".into(), &env), Ok("$${env:X}".into()));
        assert_eq!(resolve(" $${env:X} ".into(), &env), Ok(" ${env:X} ".into()));
        assert_eq!(resolve("$${env:1A}".into(), &env), Ok("${env:1A}".into()));
    }

    #[test]
    fn a_literal_reads_back_as_the_value() {
        let env = EnvLookup::from_pairs([("X", "v")]);
        for value in [
            "plain",
            "${env:X}",
            "$${env:X}",
            " ${env:X} ",
            "${env:1A}",
            "a${env:X}",
            "${env:X",
            "",
        ] {
            let written = literal(value);
            assert_eq!(
                resolve(written.to_string(), &env),
                Ok(value.to_owned()),
                "{value:?} as {written:?}"
            );
        }
        assert_eq!(literal("${env:X}"), "$${env:X}");
        assert_eq!(literal("plain"), "plain");
    }

    #[test]
    fn a_reference_names_a_valid_environment_variable() {
        assert_eq!(reference("DBT_API_KEY"), "${env:DBT_API_KEY}");
        assert_eq!(reference("dbt-api key"), "${env:dbt_api_key}");
        assert_eq!(reference("1PASSWORD"), "${env:_1PASSWORD}");
        let env = EnvLookup::from_pairs([("_1PASSWORD", "s")]);
        assert_eq!(resolve(reference("1PASSWORD"), &env), Ok("s".into()));
    }

    proptest::proptest! {
        #[test]
        fn any_value_written_as_a_literal_reads_back_unchanged(
            value in proptest::prop_oneof![" ?[$]{0,3}[{]env:[A-Z1]{0,2}[}]? ?", proptest::prelude::any::<String>()]
        ) {
            proptest::prop_assert_eq!(resolve(literal(&value).into_owned(), &EnvLookup::empty()), Ok(value));
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let env = EnvLookup::from_pairs([("A", "hunter2")]);
        assert!(!format!("{env:?}").contains("hunter2"));
    }

    #[test]
    fn lookups_come_from_the_given_pairs() {
        use crate::read::input::EnvLookup;
        let env = EnvLookup::from_pairs([("KEY", "value")]);
        assert_eq!(env.get("KEY").as_deref(), Some("value"));
        assert_eq!(env.get("OTHER"), None);
    }

    #[test]
    fn references_resolve_and_plain_values_pass_through() {
        use crate::read::input::secret_ref::{resolve, EnvLookup, RefError};
        let env = EnvLookup::from_pairs([("TOKEN", "s3cr3t")]);
        assert_eq!(resolve("${env:TOKEN}".into(), &env).unwrap(), "s3cr3t");
        assert_eq!(resolve("plain".into(), &env).unwrap(), "plain");
        assert_eq!(
            resolve("$${env:TOKEN}".into(), &env).unwrap(),
            "${env:TOKEN}"
        );
        assert_eq!(
            resolve("${env:NOPE}".into(), &env),
            Err(RefError::Unset("NOPE".into()))
        );
    }
}
