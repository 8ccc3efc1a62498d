//! Field-level differences between an environment Omni holds and the row that describes it.
//!
//! What counts as drift, field by field:
//! - `target_schema` (required in every row), `target_database`, `target_name`, `target_role`
//!   and `owner_id` (compared as UUIDs, so letter case does not matter) differ when the row
//!   gives a value Omni does not hold. A field the row leaves empty is not managed by the row:
//!   the update leaves it as it is, and the plan notes the value Omni keeps.
//! - A plain variable differs when Omni lacks it, holds another value, or holds it as secret.
//! - A secret variable differs when Omni lacks it or holds it as plain. Omni never returns
//!   secret values, so two secrets of one name cannot be compared: the plan says so.
//! - A variable Omni holds and the row does not name is kept: Omni's update cannot delete
//!   variables. The plan notes it.
//!
//! A [`Drift`] never holds a secret value, so neither its `Debug` nor its `Display` can show one.

use std::fmt;

use omni_dbt_core::{Environment, NewEnvironment, NewVariable, Variable};

/// A field of an environment that a row sets, spelled as the input's column.
///
/// ```
/// use omni_dbt_batch::Field;
/// assert_eq!(Field::TargetRole.to_string(), "target_role");
/// let secret = Field::Variable { name: "DBT_API_KEY".into(), secret: true };
/// assert_eq!(secret.to_string(), "secret:DBT_API_KEY");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `target_schema`.
    TargetSchema,
    /// `target_database`.
    TargetDatabase,
    /// `target_name`.
    TargetName,
    /// `target_role`.
    TargetRole,
    /// `owner_id`.
    OwnerId,
    /// A variable: `var:NAME`, or `secret:NAME` when `secret`.
    Variable {
        /// The variable's name.
        name: String,
        /// Whether it is secret: as the row declares it, or for a variable the row does not
        /// name, as Omni holds it.
        secret: bool,
    },
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = match self {
            Field::TargetSchema => "target_schema",
            Field::TargetDatabase => "target_database",
            Field::TargetName => "target_name",
            Field::TargetRole => "target_role",
            Field::OwnerId => "owner_id",
            Field::Variable { name, secret } => {
                let prefix = if *secret { "secret" } else { "var" };
                return write!(f, "{prefix}:{name}");
            }
        };
        f.write_str(column)
    }
}

/// One side of a difference, as the plan may show it.
///
/// ```
/// use omni_dbt_batch::FieldValue;
/// assert_eq!(FieldValue::Plain("dbt_alice".into()).to_string(), "\"dbt_alice\"");
/// assert_eq!(FieldValue::Absent.to_string(), "(none)");
/// assert_eq!(FieldValue::Secret.to_string(), "(secret)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// No value: the field is unset, or the variable does not exist.
    Absent,
    /// A plain value.
    Plain(String),
    /// A secret variable. Its value is never held here: Omni does not return it, and the row's
    /// must not be shown.
    Secret,
}

impl FieldValue {
    fn is_secret(&self) -> bool {
        matches!(self, FieldValue::Secret)
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Absent => f.write_str("(none)"),
            FieldValue::Plain(value) => write!(f, "{value:?}"),
            FieldValue::Secret => f.write_str("(secret)"),
        }
    }
}

/// A field whose value in Omni differs from the row's: what an update changes.
///
/// When either side is secret, plain values are not shown either: a value being made secret
/// (or one that was secret) should not land in a log.
///
/// ```
/// use omni_dbt_batch::{Field, FieldChange, FieldValue};
/// let change = FieldChange {
///     field: Field::TargetSchema,
///     old: FieldValue::Plain("dbt_old".into()),
///     new: FieldValue::Plain("dbt_new".into()),
/// };
/// assert_eq!(change.to_string(), r#"target_schema: "dbt_old" -> "dbt_new""#);
/// let made_secret = FieldChange {
///     field: Field::Variable { name: "TOKEN".into(), secret: true },
///     old: FieldValue::Plain("abc".into()),
///     new: FieldValue::Secret,
/// };
/// assert_eq!(made_secret.to_string(), "secret:TOKEN: (plain, not shown) -> (secret)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field.
    pub field: Field,
    /// Its value in Omni.
    pub old: FieldValue,
    /// The row's value.
    pub new: FieldValue,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide_plain = self.old.is_secret() || self.new.is_secret();
        let side = |value: &FieldValue| match value {
            FieldValue::Plain(_) if hide_plain => "(plain, not shown)".to_owned(),
            other => other.to_string(),
        };
        write!(
            f,
            "{}: {} -> {}",
            self.field,
            side(&self.old),
            side(&self.new)
        )
    }
}

/// Something Omni holds that an update leaves as it is, worth knowing when reading a plan.
///
/// ```
/// use omni_dbt_batch::{Field, Note};
/// let note = Note::SecretNotCompared { name: "DBT_API_KEY".into() };
/// assert_eq!(
///     note.to_string(),
///     "secret:DBT_API_KEY: value not compared (Omni never returns secret values)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The row leaves `field` empty and Omni holds `value`: left as it is.
    LeftAsIs {
        /// The field.
        field: Field,
        /// Omni's value.
        value: String,
    },
    /// Omni holds a variable the row does not name: kept, since Omni's update cannot delete
    /// variables.
    NotInRow {
        /// The variable, spelled by how Omni holds it (`var:` or `secret:`).
        field: Field,
    },
    /// A secret variable in Omni and in the row: its value cannot be compared, since Omni never
    /// returns secret values.
    SecretNotCompared {
        /// The variable's name.
        name: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::LeftAsIs { field, value } => {
                write!(
                    f,
                    "{field}: {value:?} in Omni, empty in the row: left as it is"
                )
            }
            Note::NotInRow { field } => write!(
                f,
                "{field}: in Omni, not in the row: kept (Omni's update cannot delete variables)"
            ),
            Note::SecretNotCompared { name } => write!(
                f,
                "secret:{name}: value not compared (Omni never returns secret values)"
            ),
        }
    }
}

/// How an environment in Omni differs from the row that names it: the changes an update makes,
/// and notes on what it leaves as it is.
///
/// ```
/// use omni_dbt_batch::{Drift, Field, FieldValue, Note};
/// use omni_dbt_core::{Environment, NewEnvironment, NewVariable};
///
/// let in_omni: Environment = serde_json::from_value(serde_json::json!({
///     "id": "550e8400-e29b-41d4-a716-446655440000",
///     "name": "dev_alice",
///     "targetSchema": "dbt_alice",
///     "targetRole": "ANALYST",
///     "variables": [
///         {"id": "7d444840-9dc0-11d1-b245-5ffdce74fad2", "name": "DBT_TARGET", "value": "dev", "isSecret": false},
///         {"id": "7d444841-9dc0-11d1-b245-5ffdce74fad2", "name": "DBT_API_KEY", "value": null, "isSecret": true}
///     ]
/// })).unwrap();
/// let row = NewEnvironment::new("dev_alice", "dbt_alice")
///     .with_variable(NewVariable::plain("DBT_TARGET", "prod"))
///     .with_variable(NewVariable::secret("DBT_API_KEY", "hunter2"));
///
/// let drift = Drift::between(&in_omni, &row);
/// assert!(drift.has_changes());
/// assert_eq!(drift.changes.len(), 1);
/// assert_eq!(drift.changes[0].to_string(), r#"var:DBT_TARGET: "dev" -> "prod""#);
/// assert!(drift.notes.contains(&Note::SecretNotCompared { name: "DBT_API_KEY".into() }));
/// assert!(drift.notes.contains(&Note::LeftAsIs { field: Field::TargetRole, value: "ANALYST".into() }));
/// assert!(!format!("{drift:?}").contains("hunter2"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// The fields an update changes, in the order of the row's columns.
    pub changes: Vec<FieldChange>,
    /// What an update leaves as it is.
    pub notes: Vec<Note>,
}

impl Drift {
    /// How `existing` differs from `wanted`, field by field (see the module rules above: fields
    /// the row leaves empty are not compared; secret values cannot be).
    pub fn between(existing: &Environment, wanted: &NewEnvironment) -> Self {
        let mut drift = Drift::default();
        drift.compare(
            Field::TargetSchema,
            Some(&existing.target_schema),
            Some(&wanted.target_schema),
        );
        let targets = [
            (
                Field::TargetDatabase,
                &existing.target_database,
                &wanted.target_database,
            ),
            (
                Field::TargetName,
                &existing.target_name,
                &wanted.target_name,
            ),
            (
                Field::TargetRole,
                &existing.target_role,
                &wanted.target_role,
            ),
        ];
        for (field, have, want) in targets {
            drift.compare(field, have.as_ref(), want.as_ref());
        }
        drift.compare_owner(existing.owner_id.as_ref(), wanted.owner_id.as_ref());
        let wanted_variables = wanted.variables.as_deref().unwrap_or_default();
        for variable in wanted_variables {
            drift.compare_variable(variable_named(existing, &variable.name), variable);
        }
        for variable in &existing.variables {
            if !wanted_variables.iter().any(|w| w.name == variable.name) {
                drift.notes.push(Note::NotInRow {
                    field: Field::Variable {
                        name: variable.name.clone(),
                        secret: variable.is_secret,
                    },
                });
            }
        }
        drift
    }

    /// Whether an update would change anything.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    fn compare(&mut self, field: Field, have: Option<&String>, want: Option<&String>) {
        let have = have.filter(|value| !value.is_empty());
        match (have, want) {
            (have, Some(want)) if have != Some(want) => self.change(field, have, want),
            (Some(have), None) => self.notes.push(Note::LeftAsIs {
                field,
                value: have.clone(),
            }),
            _ => {}
        }
    }

    /// Owner ids are UUIDs, which Omni may spell in another letter case than the row.
    fn compare_owner(&mut self, have: Option<&String>, want: Option<&String>) {
        let same_uuid = |a: &String, b: &String| matches!((a.parse::<uuid::Uuid>(), b.parse::<uuid::Uuid>()), (Ok(a), Ok(b)) if a == b);
        match (have, want) {
            (Some(have), Some(want)) if same_uuid(have, want) => {}
            _ => self.compare(Field::OwnerId, have, want),
        }
    }

    fn change(&mut self, field: Field, have: Option<&String>, want: &str) {
        self.changes.push(FieldChange {
            field,
            old: have.map_or(FieldValue::Absent, |v| FieldValue::Plain(v.clone())),
            new: FieldValue::Plain(want.to_owned()),
        });
    }

    fn compare_variable(&mut self, have: Option<&Variable>, want: &NewVariable) {
        let field = Field::Variable {
            name: want.name.clone(),
            secret: want.value.is_secret(),
        };
        let new = match want.value.plain() {
            Some(value) => FieldValue::Plain(value.to_owned()),
            None => FieldValue::Secret,
        };
        let old = match have {
            None => FieldValue::Absent,
            Some(have) if have.is_secret => FieldValue::Secret,
            // Omni may send `null` for an empty plain value.
            Some(have) => FieldValue::Plain(have.value.clone().unwrap_or_default()),
        };
        match (&old, &new) {
            (FieldValue::Secret, FieldValue::Secret) => self.notes.push(Note::SecretNotCompared {
                name: want.name.clone(),
            }),
            (old, new) if old == new => {}
            _ => self.changes.push(FieldChange { field, old, new }),
        }
    }
}

/// The environment's variable of that name: names are matched exactly, as they are sent.
pub(crate) fn variable_named<'a>(environment: &'a Environment, name: &str) -> Option<&'a Variable> {
    environment
        .variables
        .iter()
        .find(|variable| variable.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_core::EnvironmentId;

    const OWNER: &str = "6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6";

    fn in_omni() -> Environment {
        Environment {
            id: EnvironmentId::new(uuid::Uuid::from_u128(7)),
            name: "dev".into(),
            is_default_environment: false,
            owner_id: Some(OWNER.into()),
            target_database: Some("analytics".into()),
            target_name: Some("dev".into()),
            target_role: Some("ANALYST".into()),
            target_schema: "dbt_dev".into(),
            variables: vec![
                variable("DBT_TARGET", Some("dev"), false),
                variable("DBT_API_KEY", None, true),
            ],
        }
    }

    fn variable(name: &str, value: Option<&str>, is_secret: bool) -> Variable {
        Variable {
            id: Some(format!("id-{name}")),
            name: name.into(),
            value: value.map(Into::into),
            is_secret,
        }
    }

    /// A row that matches [`in_omni`] in every comparable field.
    fn matching_row() -> NewEnvironment {
        NewEnvironment::new("dev", "dbt_dev")
            .with_owner_id(OWNER)
            .with_target_database("analytics")
            .with_target_name("dev")
            .with_target_role("ANALYST")
            .with_variable(NewVariable::plain("DBT_TARGET", "dev"))
            .with_variable(NewVariable::secret("DBT_API_KEY", "hunter2"))
    }

    /// A change made to [`matching_row`].
    type RowEdit = fn(NewEnvironment) -> NewEnvironment;

    fn only_change(drift: &Drift) -> String {
        assert_eq!(drift.changes.len(), 1, "{drift:?}");
        drift.changes[0].to_string()
    }

    #[test]
    fn a_row_matching_every_comparable_field_has_no_changes() {
        let drift = Drift::between(&in_omni(), &matching_row());
        assert!(!drift.has_changes(), "{drift:?}");
        assert_eq!(
            drift.notes,
            [Note::SecretNotCompared {
                name: "DBT_API_KEY".into()
            }]
        );
    }

    #[test]
    fn each_target_field_is_compared_with_its_old_and_new_value() {
        let cases: [(RowEdit, &str); 4] = [
            (
                |row| NewEnvironment {
                    target_schema: "dbt_new".into(),
                    ..row
                },
                r#"target_schema: "dbt_dev" -> "dbt_new""#,
            ),
            (
                |row| row.with_target_database("warehouse"),
                r#"target_database: "analytics" -> "warehouse""#,
            ),
            (
                |row| row.with_target_name("prod"),
                r#"target_name: "dev" -> "prod""#,
            ),
            (
                |row| row.with_target_role("ADMIN"),
                r#"target_role: "ANALYST" -> "ADMIN""#,
            ),
        ];
        for (edit, expected) in cases {
            let drift = Drift::between(&in_omni(), &edit(matching_row()));
            assert_eq!(only_change(&drift), expected);
        }
    }

    #[test]
    fn a_field_omni_lacks_is_a_change_from_none() {
        let mut omni = in_omni();
        omni.target_role = None;
        let drift = Drift::between(&omni, &matching_row());
        assert_eq!(only_change(&drift), r#"target_role: (none) -> "ANALYST""#);
        omni.target_role = Some(String::new());
        let drift = Drift::between(&omni, &matching_row());
        assert_eq!(only_change(&drift), r#"target_role: (none) -> "ANALYST""#);
    }

    #[test]
    fn a_field_the_row_leaves_empty_is_left_as_it_is_and_noted() {
        let row = NewEnvironment {
            target_role: None,
            owner_id: None,
            ..matching_row()
        };
        let drift = Drift::between(&in_omni(), &row);
        assert!(!drift.has_changes(), "{drift:?}");
        assert!(drift.notes.contains(&Note::LeftAsIs {
            field: Field::TargetRole,
            value: "ANALYST".into()
        }));
        assert!(drift.notes.contains(&Note::LeftAsIs {
            field: Field::OwnerId,
            value: OWNER.into()
        }));
    }

    #[test]
    fn owners_are_compared_as_uuids() {
        let row = matching_row().with_owner_id(OWNER.to_uppercase());
        assert!(!Drift::between(&in_omni(), &row).has_changes());
        let other = "0f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6";
        let drift = Drift::between(&in_omni(), &matching_row().with_owner_id(other));
        assert_eq!(
            only_change(&drift),
            format!("owner_id: {OWNER:?} -> {other:?}")
        );
    }

    #[test]
    fn a_plain_variable_differs_by_value_and_when_absent() {
        let mut row = matching_row();
        row.variables = Some(vec![
            NewVariable::plain("DBT_TARGET", "prod"),
            NewVariable::secret("DBT_API_KEY", "hunter2"),
            NewVariable::plain("NEW", "1"),
        ]);
        let drift = Drift::between(&in_omni(), &row);
        let shown: Vec<String> = drift.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"var:DBT_TARGET: "dev" -> "prod""#,
                r#"var:NEW: (none) -> "1""#
            ]
        );
    }

    #[test]
    fn a_plain_value_omni_sends_as_null_equals_an_empty_one() {
        let mut omni = in_omni();
        omni.variables = vec![variable("EMPTY", None, false)];
        let row =
            NewEnvironment::new("dev", "dbt_dev").with_variable(NewVariable::plain("EMPTY", ""));
        let drift = Drift::between(&omni, &row);
        assert!(drift.changes.is_empty(), "{drift:?}");
    }

    #[test]
    fn a_new_secret_variable_is_a_change_whose_value_is_not_shown() {
        let row = matching_row().with_variable(NewVariable::secret("NEW_KEY", "s3cr3t"));
        let drift = Drift::between(&in_omni(), &row);
        assert_eq!(only_change(&drift), "secret:NEW_KEY: (none) -> (secret)");
        assert!(!format!("{drift:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_plain_variable_made_secret_is_a_change_showing_neither_value() {
        let mut row = matching_row();
        row.variables = Some(vec![
            NewVariable::secret("DBT_TARGET", "dev"),
            NewVariable::secret("DBT_API_KEY", "hunter2"),
        ]);
        let drift = Drift::between(&in_omni(), &row);
        assert_eq!(
            only_change(&drift),
            "secret:DBT_TARGET: (plain, not shown) -> (secret)"
        );
    }

    #[test]
    fn a_secret_variable_made_plain_is_a_change_showing_neither_value() {
        let mut row = matching_row();
        row.variables = Some(vec![
            NewVariable::plain("DBT_TARGET", "dev"),
            NewVariable::plain("DBT_API_KEY", "now-plain"),
        ]);
        let drift = Drift::between(&in_omni(), &row);
        assert_eq!(
            only_change(&drift),
            "var:DBT_API_KEY: (secret) -> (plain, not shown)"
        );
        assert!(!drift.changes[0].to_string().contains("now-plain"));
    }

    #[test]
    fn variables_omni_holds_that_the_row_does_not_name_are_kept_and_noted() {
        let row = NewEnvironment {
            variables: None,
            ..matching_row()
        };
        let drift = Drift::between(&in_omni(), &row);
        assert!(!drift.has_changes(), "{drift:?}");
        let notes: Vec<String> = drift.notes.iter().map(ToString::to_string).collect();
        assert_eq!(
            notes,
            [
                "var:DBT_TARGET: in Omni, not in the row: kept (Omni's update cannot delete variables)",
                "secret:DBT_API_KEY: in Omni, not in the row: kept (Omni's update cannot delete variables)",
            ]
        );
    }

    #[test]
    fn variable_names_are_matched_exactly() {
        let row = NewEnvironment::new("dev", "dbt_dev")
            .with_variable(NewVariable::plain("dbt_target", "dev"));
        let drift = Drift::between(&in_omni(), &row);
        assert_eq!(only_change(&drift), r#"var:dbt_target: (none) -> "dev""#);
    }
}
