//! One output (target) of a profile as one environment: the adapter's settings mapped to Omni's fields, each `env_var` as a variable.
//!
//! | Omni | dbt output |
//! |---|---|
//! | `targetSchema` | `schema` (BigQuery: or `dataset`) |
//! | `targetDatabase` | `database` or `dbname` (BigQuery: or `project`; Databricks: or `catalog`) |
//! | `targetRole` | `role` |
//! | `targetName` | the output's key |
//! | `name` | the name template, from the profile's and the output's names |
//! | `variables` | one per environment variable read with `env_var` anywhere in the output |
//!
//! A variable is secret when its name starts with `DBT_ENV_SECRET_`, dbt's own convention. A
//! secret may not feed `schema`, `database` or `role`: Omni would show it as plain text there.

use omni_dbt_core::{FieldError, NewEnvironment, NewVariable};

use super::super::field::Field;
use super::super::secret_ref::EnvLookup;
use super::super::{InputRow, RowProblem};
use super::is_secret;
use super::jinja::render;
use super::options::NameTemplate;
use super::profiles::SelectedOutput;
use super::yaml::{Node, Value};

/// The environment `selected` describes, or every problem found in it, each with its line.
pub(super) fn to_row(
    selected: &SelectedOutput<'_>,
    template: &NameTemplate,
    env: &EnvLookup,
) -> Result<InputRow, RowProblem> {
    let output = selected.output;
    let name = template.render(selected.profile, &output.key);
    let mut reader = OutputReader::default();
    let Some(entries) = output.value.entries() else {
        reader.problem(
            output.value.line,
            &output.key,
            format!(
                "an output is a mapping of settings (type, schema, ...), found {}",
                output.value.kind()
            ),
        );
        return reader.finish(selected, NewEnvironment::new(name, ""));
    };
    let settings: Vec<Setting<'_>> = entries
        .iter()
        .map(|entry| Setting {
            key: &entry.key,
            line: entry.value.line,
            value: reader.walk(&entry.key, &entry.value, env),
        })
        .collect();
    let mapped = Mapped::of(&settings, output.line, &mut reader);
    let environment = NewEnvironment {
        name,
        target_schema: mapped.schema.clone().unwrap_or_default(),
        owner_id: None,
        target_database: mapped.database,
        target_name: Some(output.key.clone()),
        target_role: mapped.role,
        variables: reader.variables(),
    };
    if let Err(errors) = environment.validate() {
        // A schema that is missing or unusable has its own problem already.
        let judged = |field: &str| field != "targetSchema" || mapped.schema.is_some();
        for error in errors.into_iter().filter(|e| judged(&e.field)) {
            let (field, line) =
                reader.spelling(&error.field, mapped.schema_at.as_ref(), output.line);
            reader.problem(line, &field, error.message);
        }
    }
    reader.finish(selected, environment)
}

/// A top-level setting of the output, rendered.
struct Setting<'a> {
    key: &'a str,
    line: u64,
    value: Rendered,
}

/// What a value became once rendered.
enum Rendered {
    /// Text, and whether a secret variable went into it.
    Text { text: String, secret: bool },
    /// `~`, `null` or nothing.
    Null,
    /// A mapping or a list (`kind` says which); its own values were rendered.
    Collection(&'static str),
    /// It could not be rendered; the problem is recorded.
    Broken,
}

/// Omni's fields, taken from the settings.
struct Mapped {
    schema: Option<String>,
    /// The key and line the schema came from, for problems Omni's rules find in it.
    schema_at: Option<(String, u64)>,
    database: Option<String>,
    role: Option<String>,
}

impl Mapped {
    /// Omni's fields from an output's settings; `key_line` is the line of the output's key.
    fn of(settings: &[Setting<'_>], key_line: u64, reader: &mut OutputReader) -> Self {
        let adapter = settings
            .iter()
            .find(|s| s.key == "type")
            .and_then(|s| match &s.value {
                Rendered::Text { text, .. } => Some(text.trim().to_ascii_lowercase()),
                _ => None,
            })
            .unwrap_or_default();
        let schema_keys: &[&str] = match adapter.as_str() {
            "bigquery" => &["schema", "dataset"],
            _ => &["schema"],
        };
        let database_keys: &[&str] = match adapter.as_str() {
            "bigquery" => &["database", "dbname", "project"],
            "databricks" => &["database", "dbname", "catalog"],
            _ => &["database", "dbname"],
        };
        let schema_setting = pick(settings, schema_keys, reader);
        if schema_setting.is_none() {
            let dataset = if adapter == "bigquery" {
                " (BigQuery: or dataset)"
            } else {
                ""
            };
            reader.problem(
                key_line,
                "schema",
                format!(
                    "is required{dataset}: the schema dbt builds into, which becomes the \
                     environment's target schema; add `schema: NAME` to this output"
                ),
            );
        }
        Self {
            schema: schema_setting.and_then(|s| text_of(s, reader)),
            schema_at: schema_setting.map(|s| (s.key.to_owned(), s.line)),
            database: pick(settings, database_keys, reader).and_then(|s| text_of(s, reader)),
            role: pick(settings, &["role"], reader).and_then(|s| text_of(s, reader)),
        }
    }
}

/// The setting among `keys` (names of one dbt setting, aliases included) that the output gives;
/// giving two of them is a problem, since dbt would not know which to use either.
fn pick<'s, 'a>(
    settings: &'s [Setting<'a>],
    keys: &[&str],
    reader: &mut OutputReader,
) -> Option<&'s Setting<'a>> {
    let mut given = settings
        .iter()
        .filter(|s| keys.contains(&s.key) && !matches!(s.value, Rendered::Null));
    let first = given.next()?;
    for other in given {
        reader.problem(
            other.line,
            other.key,
            format!(
                "{} and {} are the same setting (given on lines {} and {}); keep one",
                first.key, other.key, first.line, other.line
            ),
        );
    }
    Some(first)
}

/// The text of a mapped setting; a collection, or text that holds a secret, is a problem.
fn text_of(setting: &Setting<'_>, reader: &mut OutputReader) -> Option<String> {
    match &setting.value {
        Rendered::Text { secret: true, .. } => {
            reader.problem(
                setting.line,
                setting.key,
                "reads a DBT_ENV_SECRET_ variable, but Omni shows this field as plain text; \
                 read it from a variable without the DBT_ENV_SECRET_ prefix, or write the value",
            );
            None
        }
        Rendered::Text { text, .. } => Some(text.clone()),
        Rendered::Collection(kind) => {
            reader.problem(
                setting.line,
                setting.key,
                format!("must be text, found {kind}"),
            );
            None
        }
        Rendered::Null | Rendered::Broken => None,
    }
}

/// Collects one output's variables and problems while its values are rendered.
#[derive(Default)]
struct OutputReader {
    /// Problems and their lines, in the order found.
    problems: Vec<(u64, FieldError)>,
    /// Variables in the order first read. No `Debug`: values may be secrets.
    variables: Vec<ReadVariable>,
}

/// A variable read with `env_var`: its value, and the line of its first `env_var`.
struct ReadVariable {
    name: String,
    value: String,
    line: u64,
}

impl OutputReader {
    fn problem(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.problems.push((line, FieldError::new(field, message)));
    }

    /// Renders every text value under `node`; `path` names it in problems (`keyfile_json.private_key`).
    fn walk(&mut self, path: &str, node: &Node, env: &EnvLookup) -> Rendered {
        match &node.value {
            Value::Null => Rendered::Null,
            Value::Text(text) => match render(text, env) {
                Ok(rendered) => {
                    let secret = rendered.uses.iter().any(|u| is_secret(&u.name));
                    for used in rendered.uses {
                        self.variable(used.name, used.value, node.line, path);
                    }
                    Rendered::Text {
                        text: rendered.text,
                        secret,
                    }
                }
                Err(error) => {
                    self.problem(node.line, path, error.to_string());
                    Rendered::Broken
                }
            },
            Value::Mapping(entries) => {
                for entry in entries {
                    self.walk(&format!("{path}.{}", entry.key), &entry.value, env);
                }
                Rendered::Collection(node.kind())
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(&format!("{path}[{i}]"), item, env);
                }
                Rendered::Collection(node.kind())
            }
        }
    }

    /// Records the variable `name`; read twice with different values (two defaults), it is a
    /// problem, since Omni holds one value per name.
    fn variable(&mut self, name: String, value: String, line: u64, path: &str) {
        let Some(known) = self.variables.iter().find(|v| v.name == name) else {
            self.variables.push(ReadVariable { name, value, line });
            return;
        };
        if known.value != value {
            let first = known.line;
            self.problem(
                line,
                path,
                format!(
                    "env_var('{name}') gives a different value here than on line {first} \
                     (different defaults); Omni holds one value per variable: use one default"
                ),
            );
        }
    }

    /// The variables as Omni's, secret when dbt would treat them as secrets.
    fn variables(&self) -> Option<Vec<NewVariable>> {
        let variables: Vec<NewVariable> = self
            .variables
            .iter()
            .map(|v| {
                if is_secret(&v.name) {
                    NewVariable::secret(v.name.clone(), v.value.clone())
                } else {
                    NewVariable::plain(v.name.clone(), v.value.clone())
                }
            })
            .collect();
        (!variables.is_empty()).then_some(variables)
    }

    /// How a field of Omni's rules is named in a profile, and the line to point at.
    fn spelling(
        &self,
        core_field: &str,
        schema_at: Option<&(String, u64)>,
        key_line: u64,
    ) -> (String, u64) {
        if core_field == "targetSchema" {
            if let Some((key, line)) = schema_at {
                return (key.clone(), *line);
            }
        }
        let variable = core_field
            .strip_prefix("variables[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| self.variables.get(index));
        match variable {
            Some(variable) => (format!("env_var('{}')", variable.name), variable.line),
            None => match Field::from_exact(core_field) {
                Some(field) => (super::spelling(field).to_owned(), key_line),
                None => (core_field.to_owned(), key_line),
            },
        }
    }

    fn finish(
        mut self,
        selected: &SelectedOutput<'_>,
        environment: NewEnvironment,
    ) -> Result<InputRow, RowProblem> {
        if self.problems.is_empty() {
            return Ok(InputRow {
                row: selected.row,
                line: selected.output.line,
                connection: selected.connection,
                environment,
            });
        }
        self.problems.sort_by_key(|(line, _)| *line);
        let (problem_lines, problems): (Vec<u64>, _) = self.problems.into_iter().unzip();
        Err(RowProblem {
            row: selected.row,
            line: selected.output.line,
            column: None,
            connection_id: selected.connection.to_string(),
            name: environment.name,
            problems,
            problem_lines: problem_lines.into_boxed_slice(),
        })
    }
}
