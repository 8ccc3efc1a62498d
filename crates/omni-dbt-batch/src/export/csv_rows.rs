//! The CSV of an export: the input's columns, then one column per variable, one row per
//! environment, every cell through the CSV writer every file of this tool goes through.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io;

use omni_dbt_core::{ConnectionId, Environment};

use super::shape::{exported, fixed_fields, VariableColumn};
use super::summary::Unwritable;
use crate::csv_cells::CsvLine;
use crate::read::input::field::Field;

/// Why one environment has no CSV row: the variable at fault (as its column) and the reason.
pub(crate) type Refusal = (String, Unwritable);

/// Encodes the header and the rows of a CSV export.
#[derive(Debug)]
pub(crate) struct CsvRows {
    columns: Vec<VariableColumn>,
    line: CsvLine,
}

impl CsvRows {
    /// Rows with the fixed columns and one column per variable of `columns`.
    pub(crate) fn new(columns: BTreeSet<VariableColumn>) -> Self {
        Self {
            columns: columns.into_iter().collect(),
            line: CsvLine::default(),
        }
    }

    /// The header line.
    pub(crate) fn header(&mut self) -> io::Result<&[u8]> {
        let fixed = Field::ALL.into_iter().map(|f| f.snake().to_owned());
        let variables = self.columns.iter().map(VariableColumn::header);
        self.line
            .encode(fixed.chain(variables))
            .map_err(io::Error::other)
    }

    /// The line of `environment`, or why CSV cannot hold it.
    pub(crate) fn row(
        &mut self,
        connection: &ConnectionId,
        environment: &Environment,
    ) -> io::Result<Result<&[u8], Refusal>> {
        let cells = match self.cells(connection, environment) {
            Ok(cells) => cells,
            Err(refusal) => return Ok(Err(refusal)),
        };
        self.line.encode(cells).map(Ok).map_err(io::Error::other)
    }

    fn cells<'a>(
        &self,
        connection: &ConnectionId,
        environment: &'a Environment,
    ) -> Result<Vec<Cow<'a, str>>, Refusal> {
        let mut cells: Vec<Cow<'a, str>> = fixed_fields(connection, environment)
            .into_iter()
            .map(|field| Cow::Owned(field.unwrap_or_default()))
            .collect();
        let fixed = cells.len();
        cells.resize(fixed + self.columns.len(), Cow::Borrowed(""));
        let mut filled = vec![false; self.columns.len()];
        for variable in &environment.variables {
            let column = VariableColumn::of(variable);
            let refuse = |reason| Err((column.header(), reason));
            if variable.name.trim() != variable.name {
                return refuse(Unwritable::PaddedName);
            }
            let value = exported(variable).value;
            if !variable.is_secret && value.trim().is_empty() {
                return refuse(Unwritable::BlankPlainValue);
            }
            let Ok(i) = self.columns.binary_search(&column) else {
                // Every column was gathered from these same environments.
                continue;
            };
            if std::mem::replace(&mut filled[i], true) {
                return refuse(Unwritable::RepeatedName);
            }
            cells[fixed + i] = value;
        }
        Ok(cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(variables: serde_json::Value) -> Environment {
        serde_json::from_value(serde_json::json!({
            "id": "7d444840-9dc0-11d1-b245-5ffdce74fad2", "name": "=dev", "targetSchema": "s",
            "targetRole": "", "ownerId": null, "variables": variables
        }))
        .unwrap()
    }

    fn rows(env: &Environment) -> CsvRows {
        CsvRows::new(env.variables.iter().map(VariableColumn::of).collect())
    }

    const CONNECTION: &str = "550e8400-e29b-41d4-a716-446655440000";

    #[test]
    fn a_row_has_a_cell_per_column_secrets_as_references() {
        let env = environment(serde_json::json!([
            {"name": "B", "value": null, "isSecret": true},
            {"name": "A", "value": "${env:X}", "isSecret": false},
        ]));
        let mut rows = rows(&env);
        let header = String::from_utf8(rows.header().unwrap().to_vec()).unwrap();
        assert_eq!(
            header,
            "connection_id,name,target_schema,target_database,target_name,target_role,owner_id,var:A,secret:B\n"
        );
        let connection = CONNECTION.parse().unwrap();
        let line = rows.row(&connection, &env).unwrap().unwrap().to_vec();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            format!("{CONNECTION},'=dev,s,,,,,$${{env:X}},${{env:B}}\n")
        );
    }

    #[test]
    fn what_csv_cannot_hold_is_refused_naming_the_column() {
        let connection = CONNECTION.parse().unwrap();
        for (variables, column, reason) in [
            (
                serde_json::json!([{"name": "E", "value": "", "isSecret": false}]),
                "var:E",
                Unwritable::BlankPlainValue,
            ),
            (
                serde_json::json!([{"name": "E", "value": null, "isSecret": false}]),
                "var:E",
                Unwritable::BlankPlainValue,
            ),
            (
                serde_json::json!([{"name": " E", "value": "x", "isSecret": false}]),
                "var: E",
                Unwritable::PaddedName,
            ),
            (
                serde_json::json!([
                    {"name": "E", "value": null, "isSecret": true},
                    {"name": "E", "value": null, "isSecret": true}
                ]),
                "secret:E",
                Unwritable::RepeatedName,
            ),
        ] {
            let env = environment(variables);
            let refused = rows(&env).row(&connection, &env).unwrap().unwrap_err();
            assert_eq!(refused, (column.to_owned(), reason));
        }
    }
}
