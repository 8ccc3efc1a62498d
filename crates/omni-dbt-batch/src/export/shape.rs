//! An environment as an export writes it: what Omni returns, in the shape `run` reads back to
//! the same request. Secret variables become references to environment variables (Omni never
//! returns their values), plain values that would read as references are escaped.

use std::borrow::Cow;

use omni_dbt_core::{ConnectionId, Environment, Variable};

use crate::read::input::field::variable_column;
use crate::read::input::secret_ref::{literal, reference};

/// A variable column of a CSV export: `var:NAME` or `secret:NAME`. Ordered by name, plain first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VariableColumn {
    /// The variable's name.
    pub(crate) name: String,
    /// Whether it is a `secret:` column.
    pub(crate) secret: bool,
}

impl VariableColumn {
    /// The column a variable of Omni's goes in.
    pub(crate) fn of(variable: &Variable) -> Self {
        Self {
            name: variable.name.clone(),
            secret: variable.is_secret,
        }
    }

    /// The column's header, `var:NAME` or `secret:NAME`.
    pub(crate) fn header(&self) -> String {
        variable_column(&self.name, self.secret)
    }
}

/// A variable as an export writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExportedVariable<'a> {
    /// Its name.
    pub(crate) name: &'a str,
    /// The value to write: a reference for a secret, the literal text of a plain value.
    pub(crate) value: Cow<'a, str>,
    /// Whether it is secret.
    pub(crate) secret: bool,
}

/// The value written for `variable`: `${env:NAME}` for a secret, else its plain value (Omni's
/// `null` is empty) escaped so that it is not read as a reference.
pub(crate) fn exported(variable: &Variable) -> ExportedVariable<'_> {
    let value = match (variable.is_secret, &variable.value) {
        (true, _) => Cow::Owned(reference(&variable.name)),
        (false, Some(value)) => literal(value),
        (false, None) => Cow::Borrowed(""),
    };
    ExportedVariable {
        name: &variable.name,
        value,
        secret: variable.is_secret,
    }
}

/// The environment variable a secret's reference names (`DBT_API_KEY` for `${env:DBT_API_KEY}`).
pub(crate) fn secret_variable(name: &str) -> String {
    let reference = reference(name);
    reference
        .strip_prefix("${env:")
        .and_then(|rest| rest.strip_suffix('}'))
        .map_or_else(|| name.to_owned(), str::to_owned)
}

/// An optional field as written: Omni's `null` and an empty value alike are left out (a row
/// that leaves a field empty leaves Omni's value as it is).
pub(crate) fn optional(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

/// The fixed fields of an environment in the order of the input's columns: connection, name,
/// target schema, database, name and role, owner.
pub(crate) fn fixed_fields(
    connection: &ConnectionId,
    environment: &Environment,
) -> [Option<String>; 7] {
    [
        Some(connection.to_string()),
        Some(environment.name.clone()),
        Some(environment.target_schema.clone()),
        optional(&environment.target_database).map(str::to_owned),
        optional(&environment.target_name).map(str::to_owned),
        optional(&environment.target_role).map(str::to_owned),
        optional(&environment.owner_id).map(str::to_owned),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(name: &str, value: Option<&str>, is_secret: bool) -> Variable {
        Variable {
            id: None,
            name: name.into(),
            value: value.map(Into::into),
            is_secret,
        }
    }

    #[test]
    fn secrets_become_references_and_plain_references_are_escaped() {
        let secret = variable("DBT_API_KEY", None, true);
        assert_eq!(exported(&secret).value, "${env:DBT_API_KEY}");
        let literal = variable("TEMPLATE", Some("${env:HOME}"), false);
        assert_eq!(exported(&literal).value, "$${env:HOME}");
        let null = variable("EMPTY", None, false);
        assert_eq!(exported(&null).value, "");
        assert_eq!(secret_variable("dbt-key"), "dbt_key");
    }

    #[test]
    fn columns_order_by_name_then_plain_before_secret() {
        let mut columns = [
            VariableColumn::of(&variable("B", None, false)),
            VariableColumn::of(&variable("A", None, true)),
            VariableColumn::of(&variable("A", None, false)),
        ];
        columns.sort();
        let headers: Vec<String> = columns.iter().map(VariableColumn::header).collect();
        assert_eq!(headers, ["var:A", "secret:A", "var:B"]);
    }
}
