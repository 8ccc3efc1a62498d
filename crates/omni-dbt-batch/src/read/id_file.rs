//! Small CSV files of connection ids with a header (a connection map, a list of connections):
//! the cells of the columns asked for, record by record, each with its line.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use omni_dbt_core::ConnectionId;

use crate::csv_cells::LineRecords;

/// A file of connection ids that cannot be used (`--map-connections`, `--connections-from`):
/// it cannot be read, or a line of it is wrong. Messages name the file, and the line when the
/// contents are at fault.
///
/// ```
/// use omni_dbt_batch::{ConnectionMap, IdFileError};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("map.csv");
/// std::fs::write(&path, "from,to\nnot-a-uuid,550e8400-e29b-41d4-a716-446655440000\n").unwrap();
/// let error = ConnectionMap::read(&path).unwrap_err();
/// assert!(matches!(error, IdFileError::Invalid { line: 2, .. }));
/// assert!(error.to_string().ends_with(
///     "map.csv:2: from: \"not-a-uuid\" is not a connection id (a UUID such as \
///      550e8400-e29b-41d4-a716-446655440000)"), "{error}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdFileError {
    /// The file cannot be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of the file is wrong.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The file, as given.
        file: String,
        /// The 1-based line.
        line: u64,
        /// What is wrong, and what to write instead.
        message: String,
    },
}

/// One record of an id file: its line and the cells of the columns asked for, trimmed, in the
/// order they were asked for.
#[derive(Debug)]
pub(crate) struct IdRecord {
    /// The line the record starts on.
    pub(crate) line: u64,
    /// The cells.
    pub(crate) cells: Vec<String>,
}

/// A CSV file with a header, read for some of its columns.
pub(crate) struct IdFile {
    file: String,
    records: LineRecords<File>,
    /// Where each column asked for sits in a record.
    positions: Vec<usize>,
    /// Cells in the header.
    width: usize,
}

impl IdFile {
    /// Opens `path`, whose header must name each of `columns` (any letter case, `_` ignored, so
    /// `connectionId` is `connection_id`); other columns are ignored. `what` says what the file
    /// is for, in messages ("a connection map").
    pub(crate) fn open(path: &Path, columns: &[&str], what: &str) -> Result<Self, IdFileError> {
        let open_error = |source| IdFileError::Open {
            path: path.to_path_buf(),
            source,
        };
        if path.is_dir() {
            return Err(open_error(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory, not a CSV file",
            )));
        }
        let file = File::open(path).map_err(open_error)?;
        let mut id_file = Self {
            file: path.display().to_string(),
            records: LineRecords::new(file),
            positions: Vec::new(),
            width: 0,
        };
        let expected = columns.join(",");
        let Some(line) = id_file.next_line()? else {
            return Err(id_file.invalid(
                1,
                format!("is empty: {what} starts with the header `{expected}`"),
            ));
        };
        let header: Vec<String> = id_file.cells(line)?;
        id_file.width = header.len();
        for column in columns {
            let Some(position) = header.iter().position(|cell| fold(cell) == fold(column)) else {
                return Err(id_file.invalid(
                    line,
                    format!(
                        "{what} needs a header naming `{expected}`; found `{}`",
                        header.join(",")
                    ),
                ));
            };
            id_file.positions.push(position);
        }
        Ok(id_file)
    }

    /// How messages name the file.
    pub(crate) fn name(&self) -> &str {
        &self.file
    }

    /// The next record, `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<IdRecord>, IdFileError> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        let row = self.cells(line)?;
        if row.len() != self.width {
            return Err(self.invalid(
                line,
                format!(
                    "has {} fields but the header has {}; quote values that contain commas",
                    row.len(),
                    self.width
                ),
            ));
        }
        let cells = self.positions.iter().map(|&i| row[i].clone()).collect();
        Ok(Some(IdRecord { line, cells }))
    }

    /// Parses the cell of `column` on `line` as a connection id.
    pub(crate) fn connection(
        &self,
        line: u64,
        column: &str,
        cell: &str,
    ) -> Result<ConnectionId, IdFileError> {
        cell.parse().map_err(|_| {
            let shown: String = cell.chars().take(48).collect();
            self.invalid(
                line,
                format!(
                    "{column}: {shown:?} is not a connection id (a UUID such as \
                     550e8400-e29b-41d4-a716-446655440000)"
                ),
            )
        })
    }

    /// An error on `line` of this file.
    pub(crate) fn invalid(&self, line: u64, message: String) -> IdFileError {
        IdFileError::Invalid {
            file: self.file.clone(),
            line,
            message,
        }
    }

    fn next_line(&mut self) -> Result<Option<u64>, IdFileError> {
        self.records.next_record().map_err(|error| {
            let line = error.position().map_or(1, |p| p.line());
            self.invalid(line, format!("cannot be read as CSV: {error}"))
        })
    }

    /// The cells of the record just read, trimmed (a BOM before the first one removed).
    fn cells(&self, line: u64) -> Result<Vec<String>, IdFileError> {
        self.records
            .cells()
            .map(|bytes| match std::str::from_utf8(bytes) {
                Ok(text) => Ok(text.trim_start_matches('\u{feff}').trim().to_owned()),
                Err(_) => Err(self.invalid(
                    line,
                    "is not valid UTF-8; save the file as UTF-8".to_owned(),
                )),
            })
            .collect()
    }
}

/// A column name as matched: lowercase, without `_`.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str, columns: &[&str]) -> (tempfile::TempDir, Result<IdFile, IdFileError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.csv");
        std::fs::write(&path, text).unwrap();
        let file = IdFile::open(&path, columns, "a list");
        (dir, file)
    }

    #[test]
    fn the_columns_asked_for_are_read_in_order_with_their_lines() {
        let (_dir, file) = open(
            "\u{feff}note,ConnectionId\r\nx, a \r\n\r\n\"y\",'=b\r\n",
            &["connection_id"],
        );
        let mut file = file.unwrap();
        let first = file.next_record().unwrap().unwrap();
        assert_eq!((first.line, first.cells), (2, vec!["a".to_owned()]));
        let second = file.next_record().unwrap().unwrap();
        assert_eq!((second.line, second.cells), (4, vec!["=b".to_owned()]));
        assert!(file.next_record().unwrap().is_none());
    }

    #[test]
    fn a_missing_column_names_the_header_line() {
        let (_dir, file) = open("source,target\n", &["from", "to"]);
        let error = file.err().unwrap().to_string();
        assert!(
            error.ends_with(
                "ids.csv:1: a list needs a header naming `from,to`; found `source,target`"
            ),
            "{error}"
        );
    }

    #[test]
    fn an_empty_file_and_a_short_row_are_refused_with_their_lines() {
        let (_dir, file) = open("", &["from"]);
        assert!(matches!(file, Err(IdFileError::Invalid { line: 1, .. })));
        let (_dir, file) = open("from,to\na,b\nc\n", &["from", "to"]);
        let mut file = file.unwrap();
        file.next_record().unwrap();
        let error = file.next_record().unwrap_err();
        assert!(
            matches!(error, IdFileError::Invalid { line: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let error = IdFile::open(dir.path(), &["from"], "a list").err().unwrap();
        assert!(error.to_string().contains("is a directory"), "{error}");
    }
}
