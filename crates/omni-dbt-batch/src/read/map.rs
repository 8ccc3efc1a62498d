//! `--map-connections`: a CSV `from,to` of connection ids, and the rewrite of every row's
//! connection through it before the row is judged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use omni_dbt_core::{ConnectionId, FieldError};

use super::id_file::{IdFile, IdFileError};
use super::input::field::Field;
use super::input::{Format, InputRow, RowProblem};

/// Which connection each row's connection becomes: read from a CSV with the header `from,to`,
/// one connection id each. For moving environments to another connection, organization or
/// instance: the input (an export, say) keeps its ids, the map says where they go.
///
/// Every row's connection is rewritten before the row is validated, so duplicates, shards,
/// fingerprints and results all see the target connection. A row whose connection is not in
/// the map is invalid. Cheap to clone.
///
/// ```
/// use omni_dbt_batch::ConnectionMap;
/// use omni_dbt_core::ConnectionId;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("map.csv");
/// std::fs::write(&path, "from,to\n\
///     550e8400-e29b-41d4-a716-446655440000,6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6\n").unwrap();
/// let map = ConnectionMap::read(&path).unwrap();
/// let from: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
/// assert_eq!(map.target(&from).unwrap().to_string(), "6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6");
/// assert_eq!(map.len(), 1);
///
/// std::fs::write(&path, "from,to\n\
///     550e8400-e29b-41d4-a716-446655440000,6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6\n\
///     550e8400-e29b-41d4-a716-446655440000,7f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6\n").unwrap();
/// let twice = ConnectionMap::read(&path).unwrap_err().to_string();
/// assert!(twice.ends_with("map.csv:3: from: 550e8400-e29b-41d4-a716-446655440000 is mapped \
///     twice (first on line 2); keep one line for it"), "{twice}");
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionMap {
    file: String,
    targets: Arc<HashMap<ConnectionId, ConnectionId>>,
}

/// The columns of a map.
const COLUMNS: [&str; 2] = ["from", "to"];

impl ConnectionMap {
    /// Reads the map at `path`: a header naming `from` and `to` (other columns are ignored),
    /// then one `from,to` pair of connection ids a line. A missing file, a bad header, a cell
    /// that is not a UUID and a `from` given twice are errors naming the file and line. Two
    /// connections may map to the same target.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, IdFileError> {
        let mut file = IdFile::open(path.as_ref(), &COLUMNS, "a connection map")?;
        let mut targets = HashMap::new();
        let mut lines = HashMap::new();
        while let Some(record) = file.next_record()? {
            let from = file.connection(record.line, COLUMNS[0], &record.cells[0])?;
            let to = file.connection(record.line, COLUMNS[1], &record.cells[1])?;
            if let Some(first) = lines.insert(from, record.line) {
                return Err(file.invalid(
                    record.line,
                    format!("from: {from} is mapped twice (first on line {first}); keep one line for it"),
                ));
            }
            targets.insert(from, to);
        }
        Ok(Self {
            file: file.name().to_owned(),
            targets: Arc::new(targets),
        })
    }

    /// Where rows of connection `from` go, if the map says.
    pub fn target(&self, from: &ConnectionId) -> Option<ConnectionId> {
        self.targets.get(from).copied()
    }

    /// The map's file, as messages name it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How many connections the map moves.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the map moves no connection (then every row is invalid).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The row with its connection rewritten; a row whose connection the map does not name
    /// becomes a problem. A problem keeps its other findings, its connection rewritten when
    /// the map names it.
    pub(crate) fn rewrite(
        &self,
        item: Result<InputRow, RowProblem>,
        format: Format,
    ) -> Result<InputRow, RowProblem> {
        match item {
            Ok(mut row) => match self.target(&row.connection) {
                Some(target) => {
                    row.connection = target;
                    Ok(row)
                }
                None => Err(RowProblem {
                    row: row.row,
                    line: row.line,
                    column: None,
                    connection_id: row.connection.to_string(),
                    name: row.environment.name,
                    problems: vec![self.unmapped(&row.connection, format)],
                    problem_lines: Box::default(),
                }),
            },
            Err(mut problem) => {
                if let Ok(from) = problem.connection_id.parse::<ConnectionId>() {
                    match self.target(&from) {
                        Some(target) => problem.connection_id = target.to_string(),
                        None => problem.problems.push(self.unmapped(&from, format)),
                    }
                }
                Err(problem)
            }
        }
    }

    fn unmapped(&self, from: &ConnectionId, format: Format) -> FieldError {
        FieldError::new(
            Field::ConnectionId.spelling(format),
            format!(
                "{from} is not in the map {}; add a line `{from},<target connection id>` to it",
                self.file
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_core::NewEnvironment;

    const FROM: &str = "550e8400-e29b-41d4-a716-446655440000";
    const TO: &str = "6f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6";
    const OTHER: &str = "7f1c7e2a-3b4d-4c5e-8f60-718293a4b5c6";

    fn map(text: &str) -> (tempfile::TempDir, Result<ConnectionMap, IdFileError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.csv");
        std::fs::write(&path, text).unwrap();
        let map = ConnectionMap::read(&path);
        (dir, map)
    }

    fn row(connection: &str) -> InputRow {
        InputRow {
            row: 1,
            line: 2,
            connection: connection.parse().unwrap(),
            environment: NewEnvironment::new("dev", "dbt_dev"),
        }
    }

    #[test]
    fn a_mapped_row_moves_to_its_target() {
        let (_dir, map) = map(&format!("from,to\n{FROM},{TO}\n"));
        let moved = map.unwrap().rewrite(Ok(row(FROM)), Format::Csv).unwrap();
        assert_eq!(moved.connection.to_string(), TO);
    }

    #[test]
    fn an_unmapped_row_is_a_problem_naming_the_map() {
        let (_dir, map) = map(&format!("from,to\n{FROM},{TO}\n"));
        let map = map.unwrap();
        let problem = map.rewrite(Ok(row(OTHER)), Format::Csv).unwrap_err();
        assert_eq!((problem.line, problem.connection_id.as_str()), (2, OTHER));
        let text = problem.display_with("envs.csv").to_string();
        assert!(
            text.starts_with(&format!(
                "envs.csv:2: connection_id: {OTHER} is not in the map {}",
                map.file()
            )),
            "{text}"
        );
        let jsonl = map.rewrite(Ok(row(OTHER)), Format::Jsonl).unwrap_err();
        assert_eq!(jsonl.problems[0].field, "connectionId");
    }

    #[test]
    fn a_problem_row_keeps_its_findings_and_gets_the_target() {
        let (_dir, map) = map(&format!("from,to\n{FROM},{TO}\n"));
        let problem = RowProblem {
            row: 1,
            line: 2,
            column: None,
            connection_id: FROM.into(),
            name: String::new(),
            problems: vec![FieldError::new("name", "must not be empty or blank")],
            problem_lines: Box::default(),
        };
        let problem = map.unwrap().rewrite(Err(problem), Format::Csv).unwrap_err();
        assert_eq!(problem.connection_id, TO);
        assert_eq!(problem.problems.len(), 1);
    }

    #[test]
    fn a_malformed_map_names_its_line() {
        for (text, line, needle) in [
            ("source,target\n".to_owned(), 1, "a header naming `from,to`"),
            (
                format!("from,to\n{FROM},nope\n"),
                2,
                "to: \"nope\" is not a connection id",
            ),
            (
                format!("from,to\n{FROM},{TO}\n\n{FROM},{OTHER}\n"),
                4,
                "mapped twice (first on line 2)",
            ),
        ] {
            let (_dir, map) = map(&text);
            match map {
                Err(IdFileError::Invalid {
                    line: at, message, ..
                }) => {
                    assert_eq!(at, line, "{message}");
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
