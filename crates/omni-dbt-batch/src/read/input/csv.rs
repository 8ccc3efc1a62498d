//! The CSV reader: header checks, then one reused byte record per row.

use std::collections::HashMap;
use std::io;

use omni_dbt_core::FieldError;

use super::field::{variable_column, Field};
use super::row::RawRow;
use super::secret_ref::EnvLookup;
use super::suggest::closest;
use super::{Format, InputError, ReadItem, Source};
use crate::csv_cells::LineRecords;

/// What a column holds.
#[derive(Debug)]
enum Column {
    /// A fixed field.
    Known(Field),
    /// A variable (`var:NAME` or `secret:NAME`).
    Variable { name: String, secret: bool },
}

impl Column {
    /// The column's name in problems.
    fn label(&self) -> String {
        match self {
            Column::Known(field) => field.snake().to_owned(),
            Column::Variable { name, secret } => variable_column(name, *secret),
        }
    }
}

/// Streaming CSV rows of one input.
pub(crate) struct CsvRows {
    file: String,
    records: LineRecords<Source>,
    columns: Vec<Column>,
    row: u64,
    env: EnvLookup,
}

impl CsvRows {
    /// Reads and checks the header.
    pub(super) fn new(source: Source, file: String, env: EnvLookup) -> Result<Self, InputError> {
        let mut rows = Self {
            file,
            records: LineRecords::new(source),
            columns: Vec::new(),
            row: 0,
            env,
        };
        let line = match rows.read_next() {
            Ok(Some(line)) => line,
            Ok(None) => return Err(InputError::Empty { file: rows.file }),
            Err(e) => return Err(e),
        };
        rows.columns = parse_header(&rows.records, &rows.file, line)?;
        Ok(rows)
    }

    /// The next row, a fatal error, or `None` at the end.
    pub(super) fn next_row(&mut self) -> Option<ReadItem> {
        let line = match self.read_next() {
            Ok(Some(line)) => line,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        self.row += 1;
        Some(Ok(self.parse_record().finish(self.row, line, Format::Csv)))
    }

    /// Reads the next non-blank record; returns the line it starts on.
    fn read_next(&mut self) -> Result<Option<u64>, InputError> {
        self.records
            .next_record()
            .map_err(|e| read_error(&self.file, e))
    }

    fn parse_record(&self) -> RawRow {
        let mut raw = RawRow::default();
        if self.records.len() != self.columns.len() {
            raw.broken = true;
            raw.problems.push(FieldError::new(
                "row",
                format!(
                    "has {} fields but the header has {}; quote values that contain commas",
                    self.records.len(),
                    self.columns.len()
                ),
            ));
        }
        for (column, bytes) in self.columns.iter().zip(self.records.cells()) {
            let Ok(text) = std::str::from_utf8(bytes) else {
                raw.problems.push(FieldError::new(
                    column.label(),
                    "is not valid UTF-8; save the file as UTF-8",
                ));
                match column {
                    Column::Known(field) => {
                        raw.set(*field, String::from_utf8_lossy(bytes).into_owned());
                    }
                    Column::Variable { name, secret } => {
                        raw.push_placeholder(name.clone(), *secret);
                    }
                }
                continue;
            };
            match column {
                Column::Known(field) => raw.set(*field, text.to_owned()),
                Column::Variable { .. } if text.trim().is_empty() => {}
                Column::Variable { name, secret } => {
                    raw.push_variable(name.clone(), text.to_owned(), *secret, &self.env, || {
                        column.label()
                    })
                }
            }
        }
        raw
    }
}

fn read_error(file: &str, error: ::csv::Error) -> InputError {
    let line = error.position().map(|p| p.line());
    let source = match error.into_kind() {
        ::csv::ErrorKind::Io(source) => source,
        other => io::Error::other(format!("{other:?}")),
    };
    InputError::Read {
        file: file.to_owned(),
        line,
        source,
    }
}

/// Classifies every header cell, rejecting unknown, duplicate and missing columns.
fn parse_header(
    record: &LineRecords<Source>,
    file: &str,
    line: u64,
) -> Result<Vec<Column>, InputError> {
    let bad = |message: String| InputError::BadHeader {
        file: file.to_owned(),
        line,
        message,
    };
    let mut columns = Vec::with_capacity(record.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, bytes) in record.cells().enumerate() {
        let position = i + 1;
        let text = std::str::from_utf8(bytes).map_err(|_| {
            bad(format!(
                "column {position} is not valid UTF-8; save the file as UTF-8"
            ))
        })?;
        let text = text.trim_start_matches('\u{feff}').trim();
        let column = classify(text, position, file, line)?;
        if let Column::Variable { name, .. } = &column {
            if name.is_empty() {
                return Err(bad(format!(
                    "column {position} ({text:?}) names no variable; write var:NAME or secret:NAME"
                )));
            }
        }
        if let Some(first) = seen.insert(column.label(), position) {
            return Err(InputError::DuplicateColumn {
                file: file.to_owned(),
                line,
                column: text.to_owned(),
                first,
                second: position,
            });
        }
        columns.push(column);
    }
    let missing: Vec<String> = Field::REQUIRED
        .into_iter()
        .filter(|f| {
            !columns
                .iter()
                .any(|c| matches!(c, Column::Known(k) if k == f))
        })
        .map(|f| f.snake().to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(InputError::MissingColumns {
            file: file.to_owned(),
            line,
            missing,
        });
    }
    Ok(columns)
}

fn classify(text: &str, position: usize, file: &str, line: u64) -> Result<Column, InputError> {
    if let Some((prefix, name)) = text.split_once(':') {
        let secret = match prefix.trim().to_ascii_lowercase().as_str() {
            "var" => Some(false),
            "secret" => Some(true),
            _ => None,
        };
        if let Some(secret) = secret {
            return Ok(Column::Variable {
                name: name.trim().to_owned(),
                secret,
            });
        }
    }
    if let Some(field) = Field::from_loose(text) {
        return Ok(Column::Known(field));
    }
    if text.is_empty() {
        return Err(InputError::BadHeader {
            file: file.to_owned(),
            line,
            message: format!(
                "column {position} has no name; remove the empty column (a trailing comma?) \
                 or name it"
            ),
        });
    }
    let suggestion = match text.split_once(':') {
        Some((prefix, name)) => {
            closest(prefix.trim(), ["var", "secret"]).map(|p| format!("{p}:{}", name.trim()))
        }
        None => closest(
            text,
            Field::ALL.into_iter().flat_map(|f| [f.snake(), f.camel()]),
        )
        .map(str::to_owned),
    };
    Err(InputError::UnknownColumn {
        file: file.to_owned(),
        line,
        column: text.to_owned(),
        position,
        suggestion,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{EnvLookup, InputReader, InputRow, RowProblem};
    use super::*;

    const CONN: &str = "550e8400-e29b-41d4-a716-446655440000";

    fn read_with(data: &[u8], env: EnvLookup) -> Vec<Result<InputRow, RowProblem>> {
        let reader =
            InputReader::from_reader(io::Cursor::new(data.to_vec()), Format::Csv, "t.csv", env)
                .unwrap();
        reader.map(|item| item.unwrap()).collect()
    }

    fn read(data: &str) -> Vec<Result<InputRow, RowProblem>> {
        read_with(data.as_bytes(), EnvLookup::empty())
    }

    fn open_err(data: &str) -> InputError {
        InputReader::from_reader(
            io::Cursor::new(data.as_bytes().to_vec()),
            Format::Csv,
            "t.csv",
            EnvLookup::empty(),
        )
        .unwrap_err()
    }

    fn ok(row: &Result<InputRow, RowProblem>) -> &InputRow {
        row.as_ref().unwrap()
    }

    #[test]
    fn names_are_trimmed_when_read() {
        let rows = read(&format!(
            "connection_id,name,target_schema\n{CONN},\" alpha \",s\n{CONN},\"\tbeta\",s\n"
        ));
        assert_eq!(ok(&rows[0]).environment.name, "alpha");
        assert_eq!(ok(&rows[1]).environment.name, "beta");
    }

    #[test]
    fn bom_is_ignored() {
        let rows = read(&format!(
            "\u{feff}connection_id,name,target_schema\n{CONN},a,s\n"
        ));
        assert_eq!(ok(&rows[0]).connection.to_string(), CONN);
    }

    #[test]
    fn crlf_line_endings_are_read_with_right_lines() {
        let rows = read(&format!(
            "connection_id,name,target_schema\r\n{CONN},a,s\r\n{CONN},b,s\r\n"
        ));
        assert_eq!(rows.len(), 2);
        assert_eq!(ok(&rows[1]).line, 3);
        assert_eq!(ok(&rows[1]).environment.target_schema, "s");
    }

    #[test]
    fn quoted_newlines_keep_line_numbers_right() {
        let rows = read(&format!(
            "connection_id,name,target_schema,var:NOTE\n{CONN},a,s,\"two\nlines\"\n{CONN},b,s,x\n"
        ));
        assert_eq!((ok(&rows[0]).row, ok(&rows[0]).line), (1, 2));
        assert_eq!((ok(&rows[1]).row, ok(&rows[1]).line), (2, 4));
        let vars = ok(&rows[0]).environment.variables.as_ref().unwrap();
        assert_eq!(vars[0].value.plain(), Some("two\nlines"));
    }

    #[test]
    fn crlf_quoted_newlines_and_blank_lines_keep_line_numbers_right() {
        let rows = read(&format!(
            "\r\nconnection_id,name,target_schema\r\n\r\n{CONN},a,\"s\r\n2\"\r\n\n\n{CONN},b,\"s\"\r\n{CONN},c,s"
        ));
        let lines: Vec<u64> = rows.iter().map(|r| ok(r).line).collect();
        assert_eq!(lines, [4, 8, 9]);
        assert_eq!(ok(&rows[0]).environment.target_schema, "s\r\n2");
        assert_eq!(ok(&rows[1]).environment.target_schema, "s", "no stray CR");
        assert_eq!(ok(&rows[2]).environment.target_schema, "s");
    }

    #[test]
    fn camel_case_headers_are_accepted() {
        let rows = read(&format!(
            "connectionId,name,targetSchema,targetDatabase,targetName,targetRole,ownerId\n\
             {CONN},a,s,db,tn,role,{CONN}\n"
        ));
        let env = &ok(&rows[0]).environment;
        assert_eq!(env.target_database.as_deref(), Some("db"));
        assert_eq!(env.target_name.as_deref(), Some("tn"));
        assert_eq!(env.target_role.as_deref(), Some("role"));
        assert_eq!(env.owner_id.as_deref(), Some(CONN));
    }

    #[test]
    fn unknown_column_suggests_the_closest_known_one() {
        let err = open_err("connection_id,name,target_shema\n");
        match &err {
            InputError::UnknownColumn {
                column,
                position,
                suggestion,
                line,
                ..
            } => {
                assert_eq!(column, "target_shema");
                assert_eq!((*position, *line), (3, 1));
                assert_eq!(suggestion.as_deref(), Some("target_schema"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.starts_with("t.csv:1: "), "{text}");
        assert!(text.contains("target_schema"), "{text}");
    }

    #[test]
    fn misspelt_variable_prefix_suggests_the_right_one() {
        let err = open_err("connection_id,name,target_schema,vars:DBT_TARGET\n");
        assert!(
            matches!(&err, InputError::UnknownColumn { suggestion: Some(s), .. } if s == "var:DBT_TARGET"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_columns_are_refused() {
        let err = open_err("connection_id,name,target_schema,connectionId\n");
        assert!(
            matches!(
                err,
                InputError::DuplicateColumn {
                    first: 1,
                    second: 4,
                    ..
                }
            ),
            "{err}"
        );
        let err = open_err("connection_id,name,target_schema,var:A,var:A\n");
        assert!(matches!(err, InputError::DuplicateColumn { .. }), "{err}");
    }

    #[test]
    fn missing_required_columns_are_listed() {
        let err = open_err("name,target_database\n");
        match err {
            InputError::MissingColumns { missing, .. } => {
                assert_eq!(missing, ["connection_id", "target_schema"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(open_err(""), InputError::Empty { .. }));
    }

    #[test]
    fn var_and_secret_columns_become_variables() {
        let rows = read(&format!(
            "connection_id,name,target_schema,var:DBT_TARGET,secret:DBT_API_KEY\n{CONN},a,s,dev,k3y\n"
        ));
        let vars = ok(&rows[0]).environment.variables.as_ref().unwrap();
        assert_eq!(vars.len(), 2);
        assert_eq!(
            (vars[0].name.as_str(), vars[0].value.plain()),
            ("DBT_TARGET", Some("dev"))
        );
        assert_eq!(vars[1].name, "DBT_API_KEY");
        assert!(vars[1].value.is_secret());
    }

    #[test]
    fn empty_cells_mean_absent() {
        let rows = read(&format!(
            "connection_id,name,target_schema,target_role,owner_id,var:A,secret:B\n{CONN},a,s,,  ,,\n"
        ));
        let env = &ok(&rows[0]).environment;
        assert_eq!(env.target_role, None);
        assert_eq!(env.owner_id, None);
        assert!(env.variables.is_none(), "no variables at all means omitted");
    }

    #[test]
    fn secret_references_are_resolved_from_the_lookup() {
        let env = EnvLookup::from_pairs([("MY_KEY", "k3y")]);
        let data = format!(
            "connection_id,name,target_schema,secret:DBT_API_KEY,var:T\n{CONN},a,s,${{env:MY_KEY}},${{env:MY_KEY}}\n"
        );
        let rows = read_with(data.as_bytes(), env);
        let vars = ok(&rows[0]).environment.variables.clone().unwrap();
        assert_eq!(vars[1].value.plain(), Some("k3y"));
        let json = serde_json::to_value(&vars[0]).unwrap();
        assert_eq!(json["value"], "k3y");
    }

    #[test]
    fn missing_secret_reference_names_column_and_variable() {
        let rows = read(&format!(
            "connection_id,name,target_schema,secret:DBT_API_KEY\n{CONN},a,s,${{env:NOPE_UNSET}}\n"
        ));
        let problem = rows[0].as_ref().unwrap_err();
        assert_eq!(problem.line, 2);
        assert_eq!(problem.problems[0].field, "secret:DBT_API_KEY");
        assert!(problem.problems[0].message.contains("NOPE_UNSET"));
    }

    #[test]
    fn wrong_field_count_is_a_row_problem_with_its_line() {
        let rows = read(&format!(
            "connection_id,name,target_schema\n{CONN},a,s\n{CONN},b,s,extra\n{CONN},c,s\n"
        ));
        assert!(rows[0].is_ok() && rows[2].is_ok());
        let problem = rows[1].as_ref().unwrap_err();
        assert_eq!((problem.row, problem.line), (2, 3));
        assert_eq!(problem.name, "b");
        assert_eq!(problem.problems[0].field, "row");
    }

    #[test]
    fn invalid_utf8_is_a_row_problem_with_its_line() {
        let mut data =
            format!("connection_id,name,target_schema\n{CONN},ok,s\n{CONN},").into_bytes();
        data.extend_from_slice(b"bad\xFF\xFEname,s\n");
        let rows = read_with(&data, EnvLookup::empty());
        let problem = rows[1].as_ref().unwrap_err();
        assert_eq!(problem.line, 3);
        assert_eq!(problem.problems[0].field, "name");
        assert!(problem.problems[0].message.contains("UTF-8"));
    }

    #[test]
    fn bad_connection_id_is_a_row_problem() {
        let rows = read("connection_id,name,target_schema\nnot-a-uuid,a,s\n");
        let problem = rows[0].as_ref().unwrap_err();
        assert_eq!(problem.connection_id, "not-a-uuid");
        assert_eq!(problem.problems[0].field, "connection_id");
    }
}
