//! Client-side validation of create bodies: every problem, each with its field path.

use std::collections::HashSet;
use std::fmt;

use uuid::Uuid;

use crate::model::NewEnvironment;

/// One problem with one field, such as `variables[2].name: must not be empty`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request body's camelCase spelling (`targetSchema`, `variables[0].name`).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in one request body. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// The problems, in field order.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// Wraps a list of problems; `None` when the list is empty.
    pub fn from_vec(errors: Vec<FieldError>) -> Option<Self> {
        (!errors.is_empty()).then_some(Self(errors))
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Checks a create body against Omni's rules and returns every problem at once.
///
/// Rules: `name` and `targetSchema` non-empty and not only whitespace; `ownerId`, when given, a
/// UUID; `variables`, when given, at least one; every variable name non-empty and unique within
/// the environment. Values are never echoed back, so a secret cannot leak through a message.
///
/// ```
/// use omni_dbt_core::{validate, NewEnvironment, NewVariable};
/// let env = NewEnvironment::new(" ", "analytics")
///     .with_owner_id("not-a-uuid")
///     .with_variable(NewVariable::plain("A", "1"))
///     .with_variable(NewVariable::plain("A", "2"));
/// let errors = validate(&env).unwrap_err();
/// let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["name", "ownerId", "variables[1].name"]);
/// ```
pub fn validate(env: &NewEnvironment) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    if env.name.trim().is_empty() {
        errors.push(FieldError::new("name", "must not be empty or blank"));
    }
    if env.target_schema.trim().is_empty() {
        errors.push(FieldError::new(
            "targetSchema",
            "must not be empty or blank",
        ));
    }
    if let Some(owner) = &env.owner_id {
        if Uuid::parse_str(owner.trim()).is_err() {
            errors.push(FieldError::new(
                "ownerId",
                "must be a user id (UUID, e.g. 550e8400-e29b-41d4-a716-446655440000)",
            ));
        }
    }
    if let Some(variables) = &env.variables {
        if variables.is_empty() {
            errors.push(FieldError::new(
                "variables",
                "must hold at least one variable when present (omit it for none)",
            ));
        }
        let mut seen = HashSet::new();
        for (i, variable) in variables.iter().enumerate() {
            let name = variable.name.trim();
            if name.is_empty() {
                errors.push(FieldError::new(
                    format!("variables[{i}].name"),
                    "must not be empty",
                ));
            } else if !seen.insert(name) {
                errors.push(FieldError::new(
                    format!("variables[{i}].name"),
                    format!("duplicate variable name {name:?} in this environment"),
                ));
            }
        }
    }
    ValidationErrors::from_vec(errors).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewVariable;

    fn fields(env: &NewEnvironment) -> Vec<String> {
        validate(env)
            .err()
            .map(|e| e.into_iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_complete_body_is_valid() {
        let env = NewEnvironment::new("dev", "dbt_dev")
            .with_owner_id("550e8400-e29b-41d4-a716-446655440000")
            .with_variable(NewVariable::secret("KEY", "v"));
        assert_eq!(validate(&env), Ok(()));
    }

    #[test]
    fn blank_required_fields_are_reported_together() {
        assert_eq!(
            fields(&NewEnvironment::new("", "\t ")),
            ["name", "targetSchema"]
        );
    }

    #[test]
    fn empty_variable_list_is_rejected() {
        let env = NewEnvironment {
            variables: Some(vec![]),
            ..NewEnvironment::new("n", "s")
        };
        assert_eq!(fields(&env), ["variables"]);
    }

    #[test]
    fn variable_names_must_be_present_and_unique() {
        let env = NewEnvironment::new("n", "s")
            .with_variable(NewVariable::plain("", "x"))
            .with_variable(NewVariable::plain("A", "x"))
            .with_variable(NewVariable::secret("A", "x"));
        assert_eq!(fields(&env), ["variables[0].name", "variables[2].name"]);
    }

    #[test]
    fn messages_never_echo_secret_values() {
        let env = NewEnvironment::new("", "s")
            .with_variable(NewVariable::secret("A", "s3cr3t-value"))
            .with_variable(NewVariable::secret("A", "s3cr3t-value"));
        let text = validate(&env).unwrap_err().to_string();
        assert!(!text.contains("s3cr3t-value"), "{text}");
    }
}
