//! The JSONL reader: one JSON object per line, checked key by key so problems name their field.

use std::io::{BufRead, BufReader};

use omni_dbt_core::FieldError;
use serde_json::{Map, Value};

use super::field::Field;
use super::row::RawRow;
use super::secret_ref::EnvLookup;
use super::suggest::closest;
use super::{Format, InputError, ReadItem, Source};

/// Keys of a variable object, canonical then alias.
const VARIABLE_KEYS: [&str; 4] = ["name", "value", "isSecret", "is_secret"];

/// Streaming JSONL rows of one input.
pub(crate) struct JsonlRows {
    file: String,
    reader: BufReader<Source>,
    buf: Vec<u8>,
    line: u64,
    row: u64,
    env: EnvLookup,
}

impl JsonlRows {
    /// Wraps `source`; nothing is read yet.
    pub(super) fn new(source: Source, file: String, env: EnvLookup) -> Self {
        Self {
            file,
            reader: BufReader::with_capacity(64 * 1024, source),
            buf: Vec::new(),
            line: 0,
            row: 0,
            env,
        }
    }

    /// The next row, a fatal error, or `None` at the end. Blank lines are skipped.
    pub(super) fn next_row(&mut self) -> Option<ReadItem> {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(InputError::Read {
                        file: self.file.clone(),
                        line: Some(self.line + 1),
                        source,
                    }))
                }
            }
            self.line += 1;
            let mut text = self.buf.as_slice();
            if self.line == 1 {
                text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            }
            text = text.strip_suffix(b"\n").unwrap_or(text);
            text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.row += 1;
            let raw = parse_line(text, &self.env);
            return Some(Ok(raw.finish(self.row, self.line, Format::Jsonl)));
        }
    }
}

/// Parses one non-blank line into cells and problems.
fn parse_line(text: &[u8], env: &EnvLookup) -> RawRow {
    let mut raw = RawRow {
        broken: true,
        ..RawRow::default()
    };
    let object = match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            raw.problems.push(FieldError::new(
                "json",
                format!(
                    "each line must be one JSON object {{\"connectionId\": ..., \"name\": ..., \
                     \"targetSchema\": ...}}, found {}",
                    kind(&other)
                ),
            ));
            return raw;
        }
        Err(err) => {
            let column = err.column() as u64;
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = err.to_string();
            let message = message.strip_suffix(&suffix).unwrap_or(&message);
            raw.problems.push(FieldError::new(
                "json",
                format!("invalid JSON at column {column}: {message}"),
            ));
            raw.column = Some(column);
            salvage_key(text, &mut raw);
            return raw;
        }
    };
    raw.broken = false;
    for (key, value) in object {
        read_entry(&mut raw, key, value, env);
    }
    raw
}

/// Reads one top-level key.
fn read_entry(raw: &mut RawRow, key: String, value: Value, env: &EnvLookup) {
    if key == "variables" {
        read_variables(raw, value, env);
        return;
    }
    let Some(field) = Field::from_exact(&key) else {
        raw.problems.push(unknown_key(
            &key,
            Field::ALL
                .into_iter()
                .flat_map(|f| [f.camel(), f.snake()])
                .chain(["variables"]),
        ));
        return;
    };
    if raw.get(field).is_some() {
        raw.problems.push(FieldError::new(
            field.camel(),
            format!("given twice (as {} and {})", field.camel(), field.snake()),
        ));
        return;
    }
    match value {
        Value::String(text) => raw.set(field, text),
        Value::Null => {}
        other => raw.problems.push(FieldError::new(
            field.camel(),
            format!("must be a string, found {}", kind(&other)),
        )),
    }
}

fn read_variables(raw: &mut RawRow, value: Value, env: &EnvLookup) {
    let items = match value {
        Value::Null => return,
        Value::Array(items) => items,
        other => {
            raw.problems.push(FieldError::new(
                "variables",
                format!(
                    "must be a list of {{\"name\", \"value\", \"isSecret\"}} objects, found {}",
                    kind(&other)
                ),
            ));
            return;
        }
    };
    if items.is_empty() {
        // Keep the empty list: core validation explains that it must be omitted instead.
        raw.variables = Some(Vec::new());
    }
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("variables[{i}]");
        match item {
            Value::Object(object) => read_variable(raw, &path, object, env),
            other => {
                raw.problems.push(FieldError::new(
                    path,
                    format!(
                        "must be an object {{\"name\", \"value\", \"isSecret\"}}, found {}",
                        kind(&other)
                    ),
                ));
                raw.push_placeholder(format!("#{i}"), false);
            }
        }
    }
}

fn read_variable(raw: &mut RawRow, path: &str, object: Map<String, Value>, env: &EnvLookup) {
    let (mut name, mut value, mut secret) = (None, None, None);
    let before = raw.problems.len();
    for (key, entry) in object {
        let field = format!("{path}.{key}");
        match (key.as_str(), entry) {
            ("name", Value::String(text)) => name = Some(text),
            ("value", Value::String(text)) => value = Some(text),
            ("isSecret" | "is_secret", Value::Bool(flag)) if secret.is_none() => {
                secret = Some(flag);
            }
            ("isSecret" | "is_secret", Value::Bool(_)) => raw.problems.push(FieldError::new(
                field,
                "given twice (as isSecret and is_secret)",
            )),
            ("name" | "value", other) => raw.problems.push(FieldError::new(
                field,
                format!("must be a string, found {}", kind(&other)),
            )),
            ("isSecret" | "is_secret", other) => raw.problems.push(FieldError::new(
                field,
                format!("must be true or false, found {}", kind(&other)),
            )),
            (_, _) => raw
                .problems
                .push(unknown_key_at(&field, &key, VARIABLE_KEYS)),
        }
    }
    match value {
        Some(value) if raw.problems.len() == before => {
            let label = format!("{path}.value");
            raw.push_variable(
                name.unwrap_or_default(),
                value,
                secret.unwrap_or(false),
                env,
                || label,
            );
        }
        value => {
            if value.is_none() {
                raw.problems.push(FieldError::new(
                    format!("{path}.value"),
                    "is required (a string)",
                ));
            }
            raw.push_placeholder(name.unwrap_or_default(), secret.unwrap_or(false));
        }
    }
}

fn unknown_key<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> FieldError {
    unknown_key_at(key, key, known)
}

fn unknown_key_at<'a>(
    field: &str,
    key: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> FieldError {
    let hint = closest(key, known).map_or_else(String::new, |k| format!("; did you mean {k:?}?"));
    FieldError::new(field, format!("unknown field{hint}"))
}

/// Salvages `connectionId` and `name` from a line that is not valid JSON, for the report.
fn salvage_key(text: &[u8], raw: &mut RawRow) {
    let text = String::from_utf8_lossy(text);
    for field in [Field::ConnectionId, Field::Name] {
        for key in [field.camel(), field.snake()] {
            let needle = format!("\"{key}\"");
            let Some(at) = text.find(&needle) else {
                continue;
            };
            let rest = text[at + needle.len()..].trim_start();
            let Some(rest) = rest.strip_prefix(':').map(str::trim_start) else {
                continue;
            };
            if let Some(value) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                raw.set(field, value.to_owned());
                break;
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EnvLookup, InputReader, InputRow, RowProblem};
    use super::*;

    const CONN: &str = "550e8400-e29b-41d4-a716-446655440000";

    fn read_with(data: &str, env: EnvLookup) -> Vec<Result<InputRow, RowProblem>> {
        let cursor = std::io::Cursor::new(data.as_bytes().to_vec());
        InputReader::from_reader(cursor, Format::Jsonl, "t.jsonl", env)
            .unwrap()
            .map(|item| item.unwrap())
            .collect()
    }

    fn read(data: &str) -> Vec<Result<InputRow, RowProblem>> {
        read_with(data, EnvLookup::empty())
    }

    fn problem(row: &Result<InputRow, RowProblem>) -> &RowProblem {
        row.as_ref().unwrap_err()
    }

    #[test]
    fn names_are_trimmed_when_read() {
        let rows = read(&format!(
            r#"{{"connectionId":"{CONN}","name":"  gamma ","targetSchema":"s"}}"#
        ));
        assert_eq!(rows[0].as_ref().unwrap().environment.name, "gamma");
    }

    #[test]
    fn api_shape_is_read() {
        let rows = read(&format!(
            r#"{{"connectionId":"{CONN}","name":"dev","targetSchema":"s","targetRole":"r","variables":[{{"name":"K","value":"v","isSecret":true}}]}}"#
        ));
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.environment.target_role.as_deref(), Some("r"));
        let vars = row.environment.variables.as_ref().unwrap();
        assert!(vars[0].value.is_secret());
    }

    #[test]
    fn snake_case_aliases_are_accepted() {
        let rows = read(&format!(
            r#"{{"connection_id":"{CONN}","name":"dev","target_schema":"s","owner_id":"{CONN}","variables":[{{"name":"K","value":"v","is_secret":false}}]}}"#
        ));
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.environment.target_schema, "s");
        assert_eq!(row.environment.owner_id.as_deref(), Some(CONN));
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let line = format!(r#"{{"connectionId":"{CONN}","name":"a","targetSchema":"s"}}"#);
        let rows = read(&format!("\n  \r\n{line}\n\n{line}\n"));
        assert_eq!(rows.len(), 2);
        let second = rows[1].as_ref().unwrap();
        assert_eq!((second.row, second.line), (2, 5));
    }

    #[test]
    fn unknown_field_is_named() {
        let rows = read(&format!(
            r#"{{"connectionId":"{CONN}","name":"a","targetSchema":"s","targetShema":"x"}}"#
        ));
        let p = problem(&rows[0]);
        assert_eq!(p.problems[0].field, "targetShema");
        assert!(p.problems[0].message.contains("targetSchema"), "{p:?}");
    }

    #[test]
    fn malformed_line_has_line_and_column() {
        let good = format!(r#"{{"connectionId":"{CONN}","name":"a","targetSchema":"s"}}"#);
        let rows = read(&format!(
            "{good}\n{{\"connectionId\": \"{CONN}\", \"name\": \"b\",\n{good}\n"
        ));
        let p = problem(&rows[1]);
        assert_eq!(p.line, 2);
        assert!(p.column.is_some());
        assert_eq!(p.problems[0].field, "json");
        assert_eq!(p.name, "b", "key salvaged for the report");
        assert!(rows[2].is_ok(), "reading goes on after a malformed line");
    }

    #[test]
    fn wrong_types_are_named_by_path() {
        let rows = read(&format!(
            r#"{{"connectionId":"{CONN}","name":5,"targetSchema":"s","variables":[{{"name":"K","value":1}}]}}"#
        ));
        let fields: Vec<_> = problem(&rows[0])
            .problems
            .iter()
            .map(|p| p.field.as_str())
            .collect();
        assert!(fields.contains(&"name"), "{fields:?}");
        assert!(fields.contains(&"variables[0].value"), "{fields:?}");
    }

    #[test]
    fn missing_reference_names_the_variable_path() {
        let rows = read(&format!(
            r#"{{"connectionId":"{CONN}","name":"a","targetSchema":"s","variables":[{{"name":"K","value":"${{env:NOT_SET_X}}","isSecret":true}}]}}"#
        ));
        let p = problem(&rows[0]);
        assert_eq!(p.problems[0].field, "variables[0].value");
        assert!(p.problems[0].message.contains("NOT_SET_X"));
    }

    #[test]
    fn resolved_reference_fills_the_value() {
        let env = EnvLookup::from_pairs([("SET_X", "val")]);
        let rows = read_with(
            &format!(
                r#"{{"connectionId":"{CONN}","name":"a","targetSchema":"s","variables":[{{"name":"K","value":"${{env:SET_X}}"}}]}}"#
            ),
            env,
        );
        let vars = rows[0]
            .as_ref()
            .unwrap()
            .environment
            .variables
            .clone()
            .unwrap();
        assert_eq!(vars[0].value.plain(), Some("val"));
    }

    #[test]
    fn a_non_object_line_is_a_problem() {
        let rows = read("[1,2]\n");
        assert_eq!(problem(&rows[0]).problems[0].field, "json");
    }
}
