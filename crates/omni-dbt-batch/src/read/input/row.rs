//! Turning the cells of one input row, in either format, into an [`InputRow`] or a [`RowProblem`].

use omni_dbt_core::{ConnectionId, FieldError, NewEnvironment, NewVariable};

use super::field::{input_spelling, Field};
use super::secret_ref::{resolve, EnvLookup};
use super::{Format, InputRow, RowProblem};

/// The cells of one row as read, before checks. Filled by the CSV and JSONL readers.
#[derive(Debug, Default)]
pub(crate) struct RawRow {
    /// Values of the fixed fields, indexed by [`Field::index`].
    pub fields: [Option<String>; 7],
    /// Variables with references already resolved; `None` when the row has none.
    pub variables: Option<Vec<NewVariable>>,
    /// Problems found while reading the cells.
    pub problems: Vec<FieldError>,
    /// The 1-based column of the first problem, when the format knows it.
    pub column: Option<u64>,
    /// The row's shape is broken (not JSON, wrong number of fields): its cells are not worth
    /// judging further, so Omni's rules are not applied to them.
    pub broken: bool,
}

impl RawRow {
    /// Sets a fixed field.
    pub(super) fn set(&mut self, field: Field, value: String) {
        self.fields[field.index()] = Some(value);
    }

    /// The raw value of a fixed field.
    pub(super) fn get(&self, field: Field) -> Option<&str> {
        self.fields[field.index()].as_deref()
    }

    /// Resolves `value` and adds the variable; an unresolvable reference is recorded as a
    /// problem under `label` (and the variable kept with an empty value, to keep indexes).
    pub(super) fn push_variable(
        &mut self,
        name: String,
        value: String,
        secret: bool,
        env: &EnvLookup,
        label: impl FnOnce() -> String,
    ) {
        let value = resolve(value, env).unwrap_or_else(|err| {
            self.problems
                .push(FieldError::new(label(), err.to_string()));
            String::new()
        });
        let variable = if secret {
            NewVariable::secret(name, value)
        } else {
            NewVariable::plain(name, value)
        };
        self.variables.get_or_insert_with(Vec::new).push(variable);
    }

    /// Adds a variable that could not be read, so that later variables keep their index in
    /// problem paths. The row is invalid anyway and is never sent.
    pub(super) fn push_placeholder(&mut self, name: String, secret: bool) {
        let variable = if secret {
            NewVariable::secret(name, String::new())
        } else {
            NewVariable::plain(name, String::new())
        };
        self.variables.get_or_insert_with(Vec::new).push(variable);
    }

    /// Checks the connection id, builds the create body, and returns the row, or every problem
    /// found (including the core validation's, so that a user sees them all at once).
    pub(super) fn finish(
        mut self,
        row: u64,
        line: u64,
        format: Format,
    ) -> Result<InputRow, RowProblem> {
        let connection = self.connection(format);
        let raw_connection = self.fields[Field::ConnectionId.index()].take();
        let environment = self.environment();
        match connection {
            Some(connection) if self.problems.is_empty() => Ok(InputRow {
                row,
                line,
                connection,
                environment,
            }),
            _ => {
                let mut problems = self.problems;
                let judged = if self.broken {
                    Ok(())
                } else {
                    environment.validate()
                };
                if let Err(errors) = judged {
                    problems.extend(errors.into_iter().map(|e| FieldError {
                        field: input_spelling(format, &environment, &e.field),
                        message: e.message,
                    }));
                }
                Err(RowProblem {
                    row,
                    line,
                    column: self.column,
                    connection_id: raw_connection.unwrap_or_default(),
                    name: environment.name,
                    problems,
                    problem_lines: Box::default(),
                })
            }
        }
    }

    fn connection(&mut self, format: Format) -> Option<ConnectionId> {
        let field = Field::ConnectionId.spelling(format);
        let raw = self.get(Field::ConnectionId).map(str::trim).unwrap_or("");
        if raw.is_empty() {
            self.problems.push(FieldError::new(
                field,
                "is required: the id (a UUID) of the Omni connection",
            ));
            return None;
        }
        match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                let shown: String = raw.chars().take(48).collect();
                self.problems.push(FieldError::new(
                    field,
                    format!(
                        "must be a connection id (a UUID such as \
                         550e8400-e29b-41d4-a716-446655440000), found {shown:?}"
                    ),
                ));
                None
            }
        }
    }

    fn environment(&mut self) -> NewEnvironment {
        let mut take = |field: Field| self.fields[field.index()].take();
        let optional = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        NewEnvironment {
            name: trimmed(take(Field::Name).unwrap_or_default()),
            target_schema: take(Field::TargetSchema).unwrap_or_default(),
            owner_id: optional(take(Field::OwnerId)),
            target_database: optional(take(Field::TargetDatabase)),
            target_name: optional(take(Field::TargetName)),
            target_role: optional(take(Field::TargetRole)),
            variables: self.variables.take(),
        }
    }
}

/// A name as the run means it: without leading or trailing whitespace, which a spreadsheet
/// easily adds and nobody sees. It is sent, matched against Omni's names and recorded that way,
/// so that creating and matching follow one rule.
fn trimmed(name: String) -> String {
    match name.trim() {
        trimmed if trimmed.len() == name.len() => name,
        trimmed => trimmed.to_owned(),
    }
}
